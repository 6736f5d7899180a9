"""When the car comes home, learnt from its plug-ins, so that the plan holds tonight's charge
while the car is still away (issue 28).

The service records each plug-in it sees (:meth:`hems.controller.HomeController.read_states`,
audit action :data:`PLUG_IN_ACTION`, with the car's SoC when the charger reports one). From the
plug-ins of the last :data:`LOOKBACK_DAYS` days:

* the **arrival time** per weekday (UK local) is the median of that weekday's plug-ins, shrunk
  towards a prior worth :data:`PRIOR_WEIGHT` plug-ins: the median of all plug-ins when there
  are some, else :data:`DEFAULT_ARRIVAL_LOCAL` (a commuter's 18:00). A weekday's own habit takes
  over after a few weeks; one late evening moves it by a fraction;
* the **SoC at arrival** is the median of the recorded SoCs, else :data:`DEFAULT_ARRIVAL_SOC`.

Times of day are counted from :data:`DAY_STARTS_LOCAL` (04:00), so a plug-in after midnight
belongs to the evening before and an average never wraps through midnight.

The expected arrival is put on the planning grid at the start of the first slot that begins
at or after it: the plan counts on the car only from a slot it is home for in full, and the
plan card says "expected home by" that time.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from hems.domain.devices import DeviceKind
from hems.domain.home import HomeSpec
from kernel.devices import DeviceState
from kernel.timegrid import TimeGrid

UK = ZoneInfo("Europe/London")
PLUG_IN_ACTION = "ev.plugged_in"
"""The audit log's action for a car plugged in (detail: ``device``, ``soc`` or null)."""
DEFAULT_ARRIVAL_LOCAL = time(18, 0)
"""Expected arrival with no plug-in recorded yet (UK local)."""
DEFAULT_ARRIVAL_SOC = 0.4
"""Expected SoC at arrival with no SoC recorded yet [0-1]: a commuter's car back from a day's
driving (the demo's cars arrive with 30-50 %)."""
PRIOR_WEIGHT = 2.0
"""How many plug-ins the prior counts as."""
LOOKBACK_DAYS = 56
"""Plug-ins older than this are forgotten [days]: eight of each weekday."""
DAY_STARTS_LOCAL = time(4, 0)
LATE_BY = timedelta(hours=6)
"""A car this much later than its expected arrival is no longer expected that day."""


@dataclass(frozen=True, slots=True)
class PlugIn:
    """A recorded plug-in: when (UTC) and the car's SoC then [0-1], if reported."""

    at_utc: datetime
    soc: float | None = None


@dataclass(frozen=True, slots=True)
class ArrivalHabit:
    """The car's learnt habit: expected arrival per weekday (0 = Monday) as minutes after
    :data:`DAY_STARTS_LOCAL`, its SoC at arrival, and how many plug-ins it is learnt from."""

    minutes_by_weekday: tuple[float, ...]
    arrival_soc: float
    plug_ins: int

    def arrival_on(self, day_local: datetime) -> datetime:
        """The expected arrival (UTC) on the day of ``day_local`` (a UK local moment)."""
        base = datetime.combine(_day_of(day_local), DAY_STARTS_LOCAL, tzinfo=UK)
        minutes = self.minutes_by_weekday[_day_of(day_local).weekday()]
        return (base + timedelta(minutes=minutes)).astimezone(day_local.tzinfo)


@dataclass(frozen=True, slots=True)
class ExpectedArrival:
    """A car expected home at ``at_utc`` (on the planning grid) with ``soc`` [0-1]."""

    at_utc: datetime
    soc: float


def _day_of(local: datetime) -> datetime:
    """The local "day" a moment belongs to (days start at :data:`DAY_STARTS_LOCAL`)."""
    start = datetime.combine(local.date(), DAY_STARTS_LOCAL, tzinfo=UK)
    day = local.date() if local >= start else local.date() - timedelta(days=1)
    return datetime.combine(day, time(0), tzinfo=UK)


def _minutes(at_utc: datetime) -> float:
    local = at_utc.astimezone(UK)
    start = datetime.combine(_day_of(local).date(), DAY_STARTS_LOCAL, tzinfo=UK)
    return (local - start).total_seconds() / 60.0


def learn_habit(plug_ins: Sequence[PlugIn], now_utc: datetime) -> ArrivalHabit:
    """The habit from the plug-ins of the last :data:`LOOKBACK_DAYS` days before ``now_utc``."""
    recent = [p for p in plug_ins if now_utc - timedelta(days=LOOKBACK_DAYS) <= p.at_utc <= now_utc]
    default = _minutes(datetime.combine(datetime(2026, 1, 5), DEFAULT_ARRIVAL_LOCAL, tzinfo=UK))
    everyone = [_minutes(p.at_utc) for p in recent]
    prior = statistics.median(everyone) if everyone else default
    by_day: list[float] = []
    for weekday in range(7):
        own = [
            _minutes(p.at_utc)
            for p in recent
            if _day_of(p.at_utc.astimezone(UK)).weekday() == weekday
        ]
        if own:
            n = len(own)
            by_day.append((PRIOR_WEIGHT * prior + n * statistics.median(own)) / (PRIOR_WEIGHT + n))
        else:
            by_day.append(prior)
    socs = [p.soc for p in recent if p.soc is not None]
    soc = statistics.median(socs) if socs else DEFAULT_ARRIVAL_SOC
    return ArrivalHabit(tuple(by_day), float(min(max(soc, 0.0), 1.0)), len(recent))


def expected_arrival(
    habit: ArrivalHabit, now_utc: datetime, grid: TimeGrid
) -> ExpectedArrival | None:
    """When a car that is away now is expected home: the next expected arrival not more than
    :data:`LATE_BY` ago (a late car is expected from the next slot), put on ``grid`` (the start
    of the first slot at or after it); None when that is past the grid's end."""
    local_now = now_utc.astimezone(UK)
    for days in range(-1, 8):
        arrival = habit.arrival_on(local_now + timedelta(days=days))
        if arrival + LATE_BY > now_utc:
            break
    else:  # pragma: no cover - an arrival is expected every day
        return None
    step = timedelta(minutes=grid.step_minutes)
    earliest = max(arrival, now_utc)
    slots = -(-(earliest - grid.start_utc) // step)  # ceiling: a slot the car is home for in full
    at = grid.start_utc + slots * step
    if at >= grid.end_utc:
        return None
    return ExpectedArrival(at_utc=at, soc=habit.arrival_soc)


def expected_arrivals(
    recorded: Sequence[tuple[datetime, Mapping[str, object]]],
    away: Iterable[str],
    now_utc: datetime,
    grid: TimeGrid,
) -> dict[str, ExpectedArrival]:
    """Each car in ``away`` with its expected arrival on ``grid``, learnt from the
    ``recorded`` plug-ins (the audit log's (time, detail) of :data:`PLUG_IN_ACTION`)."""
    out = {}
    for name in away:
        plug_ins = [
            PlugIn(at, _soc(detail.get("soc")))
            for at, detail in recorded
            if detail.get("device") == name
        ]
        expected = expected_arrival(learn_habit(plug_ins, now_utc), now_utc, grid)
        if expected is not None:
            out[name] = expected
    return out


def unplugged_evs(home: HomeSpec, states: Mapping[str, DeviceState]) -> frozenset[str]:
    """The home's EV chargers that report no car (one not read yet is not counted)."""
    return frozenset(
        d.name
        for d in home.devices
        if d.kind is DeviceKind.EV_CHARGER
        and (state := states.get(d.name)) is not None
        and state.plugged_in is False
    )


def _soc(value: object) -> float | None:
    """A recorded SoC, or None when it was not reported."""
    return float(value) if isinstance(value, int | float) else None


class PlugInLog(Protocol):
    """Where plug-ins are recorded and read (the store's audit log)."""

    def audit_entries(
        self, home_id: int, action: str, since: datetime
    ) -> list[tuple[datetime, dict[str, Any]]]: ...

    def record_audit(
        self, home_id: int | None, now: datetime, actor: str, action: str, detail: dict[str, Any]
    ) -> None: ...


def plug_ins(
    before: Mapping[str, DeviceState], after: Mapping[str, DeviceState]
) -> dict[str, DeviceState]:
    """Each car plugged in between two reads of the home's devices, by charger (a charger read
    for the first time is not a plug-in: the car may have been there for hours)."""
    return {
        name: state
        for name, state in after.items()
        if (was := before.get(name)) is not None and state.plugged_in and not was.plugged_in
    }


def record_plug_ins(
    log: PlugInLog, home_id: int, now_utc: datetime, plugged: Mapping[str, DeviceState]
) -> None:
    """Record each car ``plugged`` in (:func:`plug_ins`), to learn the car's arrivals from."""
    for name, state in plugged.items():
        detail = {"device": name, "soc": state.soc}
        log.record_audit(home_id, now_utc, "cem", PLUG_IN_ACTION, detail)


def expected_from_log(
    log: PlugInLog,
    home_id: int,
    home: HomeSpec,
    states: Mapping[str, DeviceState],
    grid: TimeGrid,
    now_utc: datetime,
) -> dict[str, ExpectedArrival]:
    """When each of the home's cars that is away now is expected home, learnt from its
    plug-ins recorded in the last :data:`LOOKBACK_DAYS` days."""
    away = unplugged_evs(home, states)
    if not away:
        return {}
    since = now_utc - timedelta(days=LOOKBACK_DAYS)
    recorded = log.audit_entries(home_id, PLUG_IN_ACTION, since)
    return expected_arrivals(recorded, away, now_utc, grid)
