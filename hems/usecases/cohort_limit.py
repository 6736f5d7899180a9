"""The cohort import limit an operator sets and clears (admin; docs/cohort.md). The slot's
batches coordinate the homes under it (:mod:`hems.cohort_limit`); setting or clearing it
re-plans the homes this process runs at their next pass."""

from __future__ import annotations

import asyncio
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from hems.service import CemService
from hems.storage.cohort_limits import CohortLimit
from hems.usecases.errors import InvalidInputError
from hems.usecases.finite import FiniteFloat


class CohortLimitIn(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    limit_kw: FiniteFloat = Field(gt=0, description="The cohort's summed import at most [kW].")
    start: AwareDatetime = Field(alias="from", description="When it starts (UTC offset given).")
    end: AwareDatetime = Field(alias="until", description="When it ends; after `from`.")

    @model_validator(mode="after")
    def _ordered(self) -> CohortLimitIn:
        if self.end <= self.start:
            raise ValueError("`until` must be after `from`")
        return self


class CohortLimitPublic(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    limit_kw: float
    start: datetime = Field(alias="from")
    end: datetime = Field(alias="until")
    set_by: str
    set_at: datetime
    in_force: bool = Field(description="Whether it holds now (set, begun and not ended).")


def _public(limit: CohortLimit, now: datetime) -> CohortLimitPublic:
    return CohortLimitPublic.model_validate(
        {
            "limit_kw": limit.limit_kw,
            "from": limit.start,
            "until": limit.end,
            "set_by": limit.set_by,
            "set_at": limit.set_at,
            "in_force": limit.start <= now < limit.end,
        }
    )


async def set_limit(service: CemService, body: CohortLimitIn, actor: str) -> CohortLimitPublic:
    """Put the limit in force (replacing the one before); the homes re-plan under it."""
    now = service.clock.now()
    if body.end <= now:
        raise InvalidInputError(("body", "until"), "must be in the future", body.end.isoformat())
    limit = CohortLimit(
        limit_kw=body.limit_kw, start=body.start, end=body.end, set_by=actor, set_at=now
    )
    await asyncio.to_thread(service.store.set_cohort_limit, limit)
    _replan_all(service, "cohort limit set")
    return _public(limit, now)


async def current_limit(service: CemService) -> CohortLimitPublic | None:
    """The limit set and not cleared, or None."""
    limit = await asyncio.to_thread(service.store.cohort_limit)
    return None if limit is None else _public(limit, service.clock.now())


async def clear_limit(service: CemService) -> bool:
    """Clear the limit; False when none was set."""
    cleared = await asyncio.to_thread(service.store.clear_cohort_limit, service.clock.now())
    if cleared:
        _replan_all(service, "cohort limit cleared")
    return cleared


def _replan_all(service: CemService, reason: str) -> None:
    """Ask the homes this process runs to re-plan at their next pass (the slot's batch, which
    coordinates them; a re-plan of one home alone now could not share the limit)."""
    for ctl in service.controllers.values():
        if service.runs(ctl.home_id):
            ctl.request_replan(reason)
