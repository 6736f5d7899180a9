"""The consumer's DSR sessions (Octopus Saving Sessions, the Demand Flexibility Service): enter
one, list them with what each earned, cancel one (:mod:`hems.saving_sessions` for the
baseline, the plan's reward and the reward earned). Entering or cancelling re-plans the home
at once, so the plan moves load out of the session (or back)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from hems.planner_pool import PlanningUnavailableError
from hems.saving_sessions import MAX_AHEAD, import_rewards, session_baseline, session_result
from hems.service import CemService
from hems.storage.saving_sessions import OverlapError, StoredSavingSession
from hems.usecases.errors import InvalidInputError
from optimiser import TimeGrid

MAX_SESSION = timedelta(hours=24)


class SavingSessionRequest(BaseModel):
    """A session as the scheme announced it: UTC offsets required (``2026-12-08T17:00:00Z``),
    on half-hour boundaries, at most 24 h long, not ended; the reward in pence per kWh of
    import saved below the baseline (Octopus's points converted: 800 points = 1 GBP)."""

    start: AwareDatetime
    end: AwareDatetime
    reward_p_per_kwh: float = Field(gt=0, le=1000, allow_inf_nan=False)

    @model_validator(mode="after")
    def _times(self) -> SavingSessionRequest:
        for name in ("start", "end"):
            at: datetime = getattr(self, name)
            if at.minute % 30 or at.second or at.microsecond:
                raise ValueError(f"{name} must be on a half hour (:00 or :30), got {at}")
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if self.end - self.start > MAX_SESSION:
            raise ValueError("a session lasts at most 24 hours")
        return self


class SavingSessionPublic(BaseModel):
    id: int
    start: datetime
    end: datetime
    reward_p_per_kwh: float
    status: Literal["upcoming", "running", "ended", "cancelled"]
    baseline_method: str = Field(description="metered (the home's 10-day average) or plan")
    baseline_kw: list[float] = Field(description="per half-hour of the session")
    planned_reward_gbp: float | None = Field(
        description="what the latest plan's import in the session earns (None: not planned)"
    )
    measured_half_hours: int = Field(description="half-hours ended with meter readings")
    reduced_kwh: float | None = Field(description="import saved below the baseline, metered")
    earned_reward_gbp: float | None = Field(description="the reward earned so far, metered")
    source: Literal["consumer", "octopus"] = Field(
        description="consumer (entered) or octopus (fetched from the linked Octopus account)"
    )
    octopus_event_id: str | None = Field(description="Octopus's event id (fetched sessions)")


async def add_session(
    service: CemService, home_id: int, request: SavingSessionRequest, actor: str
) -> SavingSessionPublic:
    """Enter a session (baseline fixed now: the home's metered history, else its latest plan)
    and re-plan the home. Raises :class:`InvalidInputError` (422) for a session that has
    ended, starts more than 14 days ahead, overlaps another, or has no baseline to be had."""
    store, now = service.store, service.clock.now()
    start, end = request.start.astimezone(UTC), request.end.astimezone(UTC)
    if end <= now:
        raise InvalidInputError(("body", "end"), "the session has already ended", request.end)
    if start > now + MAX_AHEAD:
        raise InvalidInputError(("body", "start"), "more than 14 days ahead", request.start)
    service.check_planning()
    found = session_baseline(store, home_id, start, end)
    if found is None:
        raise InvalidInputError(
            ("body", "start"),
            "no baseline: the home has neither metered history nor a plan covering the session",
            request.start,
        )
    method, baseline = found
    entry = StoredSavingSession(
        id=0,
        home_id=home_id,
        start=start,
        end=end,
        reward_p_per_kwh=request.reward_p_per_kwh,
        baseline_kw=baseline,
        baseline_method=method,
        created_at=now,
        cancelled_at=None,
    )
    try:
        stored = store.add_saving_session(home_id, entry, actor)
    except OverlapError as exc:
        raise InvalidInputError(("body", "start"), str(exc), request.start) from None
    await _replan(service, home_id, "saving session entered")
    return public(service, stored)


def sessions(service: CemService, home_id: int) -> list[SavingSessionPublic]:
    """The home's sessions with their planned and metered rewards, by start."""
    service.store.home(home_id)  # NotFoundError for no such home
    return [public(service, s) for s in service.store.saving_sessions(home_id)]


async def cancel_session(service: CemService, home_id: int, session_id: int, actor: str) -> None:
    """Cancel a session (NotFoundError for none) and re-plan the home."""
    service.store.cancel_saving_session(home_id, session_id, service.clock.now(), actor)
    await _replan(service, home_id, "saving session cancelled")


async def _replan(service: CemService, home_id: int, reason: str) -> None:
    try:
        await service.replan_and_dispatch(home_id, reason)
    except PlanningUnavailableError as exc:
        raise PlanningUnavailableError(
            f"the session is recorded; the home re-plans when planning is back: {exc}"
        ) from None


def public(service: CemService, s: StoredSavingSession) -> SavingSessionPublic:
    """A session as the API and the web app show it."""
    now = service.clock.now()
    status: Literal["upcoming", "running", "ended", "cancelled"] = (
        "cancelled"
        if s.cancelled_at is not None
        else "upcoming"
        if now < s.start
        else "running"
        if now < s.end
        else "ended"
    )
    result = session_result(service.store, s, now)
    return SavingSessionPublic(
        id=s.id,
        start=s.start,
        end=s.end,
        reward_p_per_kwh=s.reward_p_per_kwh,
        status=status,
        baseline_method=s.baseline_method,
        baseline_kw=list(s.baseline_kw),
        planned_reward_gbp=_planned_reward(service, s),
        measured_half_hours=0 if result is None else result.measured_half_hours,
        reduced_kwh=None
        if result is None or not result.measured_half_hours
        else result.reduced_kwh,
        earned_reward_gbp=None
        if result is None or not result.measured_half_hours
        else result.reward_gbp,
        source="octopus" if s.source == "octopus" else "consumer",
        octopus_event_id=s.octopus_event_id,
    )


def _planned_reward(service: CemService, s: StoredSavingSession) -> float | None:
    """What the latest plan's import earns in the session's half-hours it covers."""
    plan = service.store.latest_plan(s.home_id)
    if plan is None or s.cancelled_at is not None or "grid_import_kw" not in plan.schedule:
        return None
    index = plan.schedule.index
    step = int((index[1] - index[0]).total_seconds() // 60) if len(index) > 1 else 30
    grid = TimeGrid(start_utc=index[0].to_pydatetime(), step_minutes=step, n_steps=len(index))
    rewards = import_rewards([s], grid)
    if not rewards:
        return None
    imports = plan.schedule["grid_import_kw"].to_numpy(dtype=float)
    return round(rewards[0].reward_gbp(grid, imports), 4)
