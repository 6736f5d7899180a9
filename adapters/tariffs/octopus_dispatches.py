"""Intelligent Octopus Go's smart-charge dispatches through the GraphQL API
(:mod:`adapters.tariffs.octopus_graphql`): the ones Octopus has planned for the account's car
and the ones it completed lately.

The shapes (as the maintained public clients query them in 2026; docs/service.md names them),
in two requests to the first host:

* ``devices(accountNumber) { id deviceType status { current } }`` with
  ``completedDispatches(accountNumber) { start end delta meta { source location } }``: the
  account's smart-flex devices, of which those with ``deviceType`` ``ELECTRIC_VEHICLES`` and
  ``status.current`` ``LIVE`` (the car or its charge point) have dispatches, and the completed
  dispatches, ``delta`` the energy taken (kWh, negative: charging; a string or a number, may
  be null), ``meta.source`` ``smart-charge`` (Octopus's schedule) or ``bump-charge`` (the
  consumer's boost, billed at the normal rate);
* ``flexPlannedDispatches(deviceId) { start end type energyAddedKwh }`` for each such device
  (it replaced the account's ``plannedDispatches`` in 2025): ``type`` ``SMART``, ``BOOST``
  (the consumer's) or ``TEST``, ``energyAddedKwh`` a decimal string. Octopus answers
  ``KT-CT-4340`` when it cannot give a device's plan: no planned dispatch is then known for it
  (its id in ``plans_unavailable``), the completed ones still count.

A dispatch whose values make no sense (times that do not parse or lack an offset, an end not
after its start, longer than :data:`MAX_DISPATCH`, an energy that is not a finite number)
is left out and said in ``rejected``, so one bad dispatch does not hide the others; a payload
of the wrong shape is a :class:`ParseError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from adapters.errors import ParseError
from adapters.tariffs.octopus_graphql import SOURCE, OctopusGraphQL, OctopusGraphQLError

MAX_DISPATCH = timedelta(hours=24)
"""Longer than any charge a car takes; a dispatch beyond it is nonsense."""
MAX_DISPATCHES = 500
"""More entries than this in one list is not a car's schedule: the answer is refused."""
MAX_DEVICES = 10
"""More live cars than this on one account is not a home: the answer is refused."""
SMART_CHARGE = "smart-charge"
NOT_SMART = frozenset({"bump-charge", "boost", "test"})
"""Sources (lower case) that are not Octopus's smart charge: the consumer's bump charge or
boost, billed at the normal rate, and a test dispatch (not known to be off-peak)."""
PLAN_UNAVAILABLE = "KT-CT-4340"
EV_DEVICE = "ELECTRIC_VEHICLES"
LIVE = "LIVE"

DEVICES_QUERY = """query Devices($accountNumber: String!) {
  devices(accountNumber: $accountNumber) { id deviceType status { current } }
  completedDispatches(accountNumber: $accountNumber) {
    start end delta meta { source location }
  }
}"""
PLANNED_QUERY = """query PlannedDispatches($deviceId: String!) {
  flexPlannedDispatches(deviceId: $deviceId) { start end type energyAddedKwh }
}"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Dispatch:
    """A dispatch ``[start, end)`` (aware); ``source`` as Octopus says it (a completed one's
    ``meta.source``, a planned one's ``type``; ``""`` when not said), ``energy_kwh`` the
    energy the car takes in it when given (positive)."""

    start: datetime
    end: datetime
    source: str
    energy_kwh: float | None

    @property
    def smart_charge(self) -> bool:
        """Octopus's own schedule (not the consumer's bump charge or boost, which is not
        off-peak, nor a test)."""
        return self.source.lower() not in NOT_SMART


@dataclass(frozen=True, slots=True)
class RejectedDispatch:
    """A dispatch left out (``where``: ``planned[i]`` or ``completed[i]``), and why."""

    where: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountDispatches:
    """What the account's dispatches are."""

    planned: tuple[Dispatch, ...]
    completed: tuple[Dispatch, ...]
    rejected: tuple[RejectedDispatch, ...]
    plans_unavailable: tuple[str, ...] = ()
    """The cars whose planned dispatches Octopus could not give (``KT-CT-4340``)."""


def _time(raw: Any) -> datetime:
    if not isinstance(raw, str):
        raise ValueError("missing")
    at = datetime.fromisoformat(raw)
    if at.utcoffset() is None:
        raise ValueError("no UTC offset")
    return at


def _energy(raw: Any) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ValueError(f"not a number ({str(raw)[:40]})")
    value = float(raw)  # ValueError on text that is no number
    if not math.isfinite(value) or abs(value) > 1000:
        raise ValueError(f"{value} kWh")
    return abs(value)


def parse_dispatch(raw: Any, where: str) -> Dispatch | RejectedDispatch:
    """One dispatch entry, completed or planned (``where`` starts ``planned``), checked
    (module docstring)."""
    if not isinstance(raw, dict):
        return RejectedDispatch(where, "not an object")
    try:
        start, end = _time(raw.get("start")), _time(raw.get("end"))
    except ValueError as exc:
        return RejectedDispatch(where, f"start or end is not a time with an offset ({exc})")
    if end <= start:
        return RejectedDispatch(where, "ends before it starts")
    if end - start > MAX_DISPATCH:
        return RejectedDispatch(where, "lasts more than 24 hours")
    planned = where.startswith("planned")
    field = "energyAddedKwh" if planned else "delta"
    try:
        energy = _energy(raw.get(field))
    except ValueError as exc:
        return RejectedDispatch(where, f"{field} is not a usable kWh figure ({exc})")
    meta = raw.get("meta")
    source = raw.get("type") if planned else meta.get("source") if isinstance(meta, dict) else None
    source = source.strip()[:40] if isinstance(source, str) else ""
    return Dispatch(start=start, end=end, source=source, energy_kwh=energy)


def _parse_list(
    data: dict[str, Any], name: str, where: str
) -> tuple[list[Dispatch], list[RejectedDispatch]]:
    raw = data.get(name)
    if raw is None:  # no device, or none planned: Octopus answers null
        return [], []
    if not isinstance(raw, list):
        raise ParseError(SOURCE, f"{name} is not a list")
    if len(raw) > MAX_DISPATCHES:
        raise ParseError(SOURCE, f"{name} has {len(raw)} entries (at most {MAX_DISPATCHES})")
    got: list[Dispatch] = []
    rejected: list[RejectedDispatch] = []
    for i, entry in enumerate(raw):
        parsed = parse_dispatch(entry, f"{where}[{i}]")
        if isinstance(parsed, RejectedDispatch):
            rejected.append(parsed)
        else:
            got.append(parsed)
    return got, rejected


def live_cars(data: Any) -> tuple[str, ...]:
    """The ids of the account's live cars and charge points in ``devices`` (none when null)."""
    devices = data.get("devices") if isinstance(data, dict) else None
    if devices is None:
        return ()
    if not isinstance(devices, list):
        raise ParseError(SOURCE, "devices is not a list")
    ids = []
    for device in devices:
        if not isinstance(device, dict) or device.get("deviceType") != EV_DEVICE:
            continue
        status = device.get("status")
        device_id = device.get("id")
        if (
            isinstance(status, dict)
            and status.get("current") == LIVE
            and isinstance(device_id, str)
        ):
            ids.append(device_id.strip()[:100])
    if len(ids) > MAX_DEVICES:
        raise ParseError(SOURCE, f"{len(ids)} live cars (at most {MAX_DEVICES})")
    return tuple(i for i in ids if i)


def parse_dispatches(devices: Any, planned: Any = ()) -> AccountDispatches:
    """The ``data`` of :data:`DEVICES_QUERY` and each live car's :data:`PLANNED_QUERY`
    ``data``, each list in time order."""
    if not isinstance(devices, dict):
        raise ParseError(SOURCE, "the dispatches answer is not an object")
    completed, rejected = _parse_list(devices, "completedDispatches", "completed")
    got: list[Dispatch] = []
    for i, data in enumerate(planned):
        if not isinstance(data, dict):
            raise ParseError(SOURCE, "the planned dispatches answer is not an object")
        ok, bad = _parse_list(data, "flexPlannedDispatches", f"planned{'' if i == 0 else i}")
        got += ok
        rejected += bad
    return AccountDispatches(
        planned=tuple(sorted(got, key=lambda d: d.start)),
        completed=tuple(sorted(completed, key=lambda d: d.start)),
        rejected=tuple(rejected),
    )


def fetch_dispatches(client: OctopusGraphQL, account_number: str) -> AccountDispatches:
    """The account's planned (each live car's) and completed dispatches.

    Raises:
        adapters.errors.AdapterError: the fetch failed (see :mod:`~.octopus_graphql`).
    """
    devices = client.request(DEVICES_QUERY, {"accountNumber": account_number})
    planned: list[Any] = []
    unavailable: list[str] = []
    for device_id in live_cars(devices):
        try:
            planned.append(client.request(PLANNED_QUERY, {"deviceId": device_id}))
        except OctopusGraphQLError as exc:
            if PLAN_UNAVAILABLE not in exc.codes:
                raise
            unavailable.append(device_id)
    got = parse_dispatches(devices, planned)
    return replace(got, plans_unavailable=tuple(unavailable))
