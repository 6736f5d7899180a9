"""Intelligent Octopus Go's smart-charge dispatches through the GraphQL API
(:mod:`adapters.tariffs.octopus_graphql`): the ones Octopus has planned for the account's car
and the ones it completed lately.

The shape (as Octopus's app and the Home Assistant integrations query it):

* ``plannedDispatches(accountNumber) { start end delta meta { source location } }`` and the
  same fields of ``completedDispatches``: ``start``/``end`` ISO 8601 times, ``delta`` the
  energy the car is to take (kWh, negative: charging; a string or a number, may be null),
  ``meta.source`` ``smart-charge`` (Octopus's schedule) or ``bump-charge`` (the consumer's
  boost, billed at the normal rate).

A dispatch whose values make no sense (times that do not parse or lack an offset, an end not
after its start, longer than :data:`MAX_DISPATCH`, a ``delta`` that is not a finite number)
is left out and said in ``rejected``, so one bad dispatch does not hide the others; a payload
of the wrong shape is a :class:`ParseError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from adapters.errors import ParseError
from adapters.tariffs.octopus_graphql import SOURCE, OctopusGraphQL

MAX_DISPATCH = timedelta(hours=24)
"""Longer than any charge a car takes; a dispatch beyond it is nonsense."""
MAX_DISPATCHES = 500
"""More entries than this in one list is not a car's schedule: the answer is refused."""
SMART_CHARGE = "smart-charge"
BUMP_CHARGE = "bump-charge"

DISPATCHES_QUERY = """query Dispatches($accountNumber: String!) {
  plannedDispatches(accountNumber: $accountNumber) {
    start end delta meta { source location }
  }
  completedDispatches(accountNumber: $accountNumber) {
    start end delta meta { source location }
  }
}"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Dispatch:
    """A dispatch ``[start, end)`` (aware); ``source`` as Octopus says it (``""`` when not
    said), ``delta_kwh`` when given."""

    start: datetime
    end: datetime
    source: str
    delta_kwh: float | None

    @property
    def smart_charge(self) -> bool:
        """Octopus's own schedule (not the consumer's bump charge, which is not off-peak)."""
        return self.source != BUMP_CHARGE


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


def _time(raw: Any) -> datetime:
    if not isinstance(raw, str):
        raise ValueError("missing")
    at = datetime.fromisoformat(raw)
    if at.utcoffset() is None:
        raise ValueError("no UTC offset")
    return at


def _delta(raw: Any) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ValueError(f"not a number ({str(raw)[:40]})")
    value = float(raw)  # ValueError on text that is no number
    if not math.isfinite(value) or abs(value) > 1000:
        raise ValueError(f"{value} kWh")
    return value


def parse_dispatch(raw: Any, where: str) -> Dispatch | RejectedDispatch:
    """One dispatch entry, checked (module docstring)."""
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
    try:
        delta = _delta(raw.get("delta"))
    except ValueError as exc:
        return RejectedDispatch(where, f"delta is not a usable kWh figure ({exc})")
    meta = raw.get("meta")
    source = meta.get("source") if isinstance(meta, dict) else None
    source = source.strip()[:40] if isinstance(source, str) else ""
    return Dispatch(start=start, end=end, source=source, delta_kwh=delta)


def _parse_list(data: dict[str, Any], name: str) -> tuple[list[Dispatch], list[RejectedDispatch]]:
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
        parsed = parse_dispatch(entry, f"{name.removesuffix('Dispatches')}[{i}]")
        if isinstance(parsed, RejectedDispatch):
            rejected.append(parsed)
        else:
            got.append(parsed)
    return got, rejected


def parse_dispatches(data: Any) -> AccountDispatches:
    """The ``data`` of :data:`DISPATCHES_QUERY`, each list in time order."""
    if not isinstance(data, dict):
        raise ParseError(SOURCE, "the dispatches answer is not an object")
    planned, rejected_p = _parse_list(data, "plannedDispatches")
    completed, rejected_c = _parse_list(data, "completedDispatches")
    return AccountDispatches(
        planned=tuple(sorted(planned, key=lambda d: d.start)),
        completed=tuple(sorted(completed, key=lambda d: d.start)),
        rejected=tuple(rejected_p + rejected_c),
    )


def fetch_dispatches(client: OctopusGraphQL, account_number: str) -> AccountDispatches:
    """The account's planned and completed dispatches.

    Raises:
        adapters.errors.AdapterError: the fetch failed (see :mod:`~.octopus_graphql`).
    """
    data = client.request(DISPATCHES_QUERY, {"accountNumber": account_number})
    return parse_dispatches(data)
