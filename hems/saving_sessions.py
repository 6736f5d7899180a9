"""Consumer DSR schemes as events: an Octopus Saving Session or a Demand Flexibility Service
event the consumer enters (start, end, reward per kWh), its baseline, the plan's reward term
and the reward earned, from the home's metered import.

**Baseline** (fixed when the session is entered, so planning around the session cannot move
it), per half-hour of the session [kW]:

* ``metered``: the home's metered import (its site meter's telemetry, :data:`SITE_METER`,
  import only) in the same half-hour on the last :data:`BASELINE_WEEKDAYS` weekdays before the
  session's day (a weekend session: the last :data:`BASELINE_WEEKEND_DAYS` weekend days), UK
  local time, averaged over the days that have readings in it, within the last
  :data:`HISTORY_DAYS` days: the schemes' "10 previous working days" method, without their
  in-day adjustment. Needs :data:`MIN_BASELINE_DAYS` days with readings in every half-hour.
* ``plan``: otherwise, the import the home's latest plan (made before the session was known)
  intended in those half-hours; a half-hour past the plan's end takes its import a day (or
  two) earlier.

**Plan**: each session not cancelled becomes an :class:`optimiser.ImportReward` (the reward in
GBP per kWh imported below the baseline, on the plan's slots): the plan moves load out of the
session where the reward is worth more than what the move costs.

**Reward earned**: per half-hour ended, ``max(0, baseline - metered import) x 0.5 h x reward``,
the metered import being the mean of the meter's readings in it; a half-hour with no reading
is not counted (the session's result says how many were measured). The bill credits each
half-hour's reward to the UK day it is in (a session across midnight: both days).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from hems.measured_load import SITE_METER
from hems.storage.saving_sessions import StoredSavingSession
from hems.storage.store import Store
from optimiser import ImportReward, TimeGrid

UK = ZoneInfo("Europe/London")
HALF_HOUR = timedelta(minutes=30)
BASELINE_WEEKDAYS = 10
BASELINE_WEEKEND_DAYS = 4
MIN_BASELINE_DAYS = 3
HISTORY_DAYS = 30
MAX_AHEAD = timedelta(days=14)
"""A session is taken at most this far ahead of its start (entered or fetched)."""


def half_hours(start: datetime, end: datetime) -> list[datetime]:
    """The half-hour starts of ``[start, end)`` (both on half-hour boundaries, UTC)."""
    out, t = [], start
    while t < end:
        out.append(t)
        t += HALF_HOUR
    return out


def metered_import_kw(store: Store, home_id: int, start: datetime, end: datetime) -> pd.Series:
    """The site meter's mean import per half-hour over ``[start, end)`` [kW] (half-hours
    without a reading left out)."""
    rows = [(at, kw) for at, kw in store.telemetry_powers(home_id, SITE_METER, start) if at < end]
    if not rows:
        return pd.Series(dtype=float)
    index = pd.DatetimeIndex([at for at, _ in rows]).tz_convert("UTC")
    readings = pd.Series([max(0.0, kw) for _, kw in rows], index=index)
    return readings.resample("30min").mean().dropna()


def metered_baseline_kw(
    store: Store, home_id: int, start: datetime, end: datetime
) -> tuple[float, ...] | None:
    """The ``metered`` baseline of the session ``[start, end)`` (module docstring), or None
    without enough metered history."""
    day = start.astimezone(UK).date()
    weekend = day.weekday() >= 5
    wanted = BASELINE_WEEKEND_DAYS if weekend else BASELINE_WEEKDAYS
    earliest = day - timedelta(days=HISTORY_DAYS)
    history = metered_import_kw(
        store, home_id, start - timedelta(days=HISTORY_DAYS + 1), start - timedelta(hours=12)
    )
    if history.empty:
        return None
    local = pd.DatetimeIndex(history.index).tz_convert(UK)
    days = sorted(
        {d for d in local.date if (d.weekday() >= 5) == weekend and earliest <= d < day},
        reverse=True,
    )[:wanted]
    out = []
    for slot in half_hours(start, end):
        clock = slot.astimezone(UK).time()
        values = [
            history.iloc[i]
            for i, at in enumerate(local)
            if at.date() in days and at.time() == clock
        ]
        if len(values) < MIN_BASELINE_DAYS:
            return None
        out.append(round(float(np.mean(values)), 4))
    return tuple(out)


def plan_baseline_kw(
    schedule: pd.DataFrame | None, start: datetime, end: datetime
) -> tuple[float, ...] | None:
    """The ``plan`` baseline: the plan's import in each half-hour (a day or two earlier past
    its end), or None without a plan."""
    if schedule is None or schedule.empty or "grid_import_kw" not in schedule.columns:
        return None
    imports = schedule["grid_import_kw"]
    out = []
    for slot in half_hours(start, end):
        for days_back in range(3):
            at = pd.Timestamp(slot - timedelta(days=days_back))
            if at in imports.index:
                out.append(round(float(imports.loc[at]), 4))
                break
        else:
            return None
    return tuple(out)


def session_baseline(
    store: Store, home_id: int, start: datetime, end: datetime
) -> tuple[str, tuple[float, ...]] | None:
    """The baseline of a session being entered and its method: ``metered`` when the home has
    the history, else ``plan`` from its latest plan; None with neither."""
    metered = metered_baseline_kw(store, home_id, start, end)
    if metered is not None:
        return "metered", metered
    latest = store.latest_plan(home_id)
    planned = plan_baseline_kw(None if latest is None else latest.schedule, start, end)
    return None if planned is None else ("plan", planned)


def import_rewards(
    sessions: Sequence[StoredSavingSession], grid: TimeGrid
) -> tuple[ImportReward, ...]:
    """The sessions not cancelled that overlap ``grid``, as the plan's rewards: the baseline of
    the half-hour holding each slot's start (0 outside the session)."""
    out = []
    for s in sessions:
        if s.cancelled_at is not None or s.end <= grid.start_utc or s.start >= grid.end_utc:
            continue
        baseline = np.zeros(grid.n_steps)
        for t in range(grid.n_steps):
            at = grid.slot_start(t)
            if s.start <= at < s.end:
                baseline[t] = s.baseline_kw[int((at - s.start) / HALF_HOUR)]
        out.append(
            ImportReward(
                start_utc=s.start,
                end_utc=s.end,
                reward_gbp_per_kwh=s.reward_p_per_kwh / 100,
                baseline_kw=baseline,
                session_id=f"saving-session-{s.id}",
            )
        )
    return tuple(out)


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionResult:
    """A session's outcome so far from the meter: the half-hours ended and measured, the
    import saved below the baseline [kWh] and the reward it earns [GBP]."""

    half_hours: int
    measured_half_hours: int
    reduced_kwh: float
    reward_gbp: float


def _reductions_kwh(
    store: Store, session: StoredSavingSession, now: datetime
) -> tuple[int, dict[datetime, float]]:
    """How many of the session's half-hours have ended by ``now``, and each measured one's
    import below its baseline [kWh] (by half-hour start, UTC)."""
    ended = [t for t in half_hours(session.start, session.end) if t + HALF_HOUR <= now]
    if not ended:
        return 0, {}
    metered = metered_import_kw(store, session.home_id, session.start, ended[-1] + HALF_HOUR)
    out: dict[datetime, float] = {}
    for i, slot in enumerate(ended):
        at = pd.Timestamp(slot)
        if at in metered.index:
            out[slot] = max(0.0, session.baseline_kw[i] - float(metered.loc[at])) * 0.5
    return len(ended), out


def session_result(
    store: Store, session: StoredSavingSession, now: datetime
) -> SessionResult | None:
    """What the session earned by ``now`` from the home's metered import (module docstring);
    None before its first half-hour has ended."""
    ended, reductions = _reductions_kwh(store, session, now)
    if not ended:
        return None
    reduced = sum(reductions.values())
    return SessionResult(
        half_hours=ended,
        measured_half_hours=len(reductions),
        reduced_kwh=round(reduced, 4),
        reward_gbp=round(reduced * session.reward_p_per_kwh / 100, 4),
    )


def earned_rewards_by_day(
    store: Store, home_id: int, since: datetime, now: datetime
) -> dict[date, float]:
    """The rewards earned [GBP] by the home's sessions run within ``[since, now]``, not
    cancelled, by UK local day: the credit the savings report adds to that day's bill. Each
    half-hour's reward goes to the day it is in, so a session across midnight credits each
    day what was saved in it (the bill of the day it started is not given the next day's).
    A session counts once it is over (the scheme pays for the whole session), so a running
    one adds nothing yet."""
    out: dict[date, float] = {}
    for s in store.saving_sessions(home_id):
        if s.cancelled_at is not None or s.start < since or s.end > now:
            continue
        _ended, reductions = _reductions_kwh(store, s, now)
        for slot, kwh in reductions.items():
            if kwh > 0:
                day = slot.astimezone(UK).date()
                out[day] = out.get(day, 0.0) + kwh * s.reward_p_per_kwh / 100
    return {day: round(gbp, 4) for day, gbp in out.items()}
