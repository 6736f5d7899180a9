"""A plan awaited until its slot's deadline (:mod:`hems.plan_batch`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import TypeVar

from hems.planner_pool import PlanLateError

T = TypeVar("T")


async def by_deadline(deadline_s: float | None, job: Awaitable[T]) -> T:
    """``job``'s result, or :class:`PlanLateError` once ``time.monotonic()`` passes
    ``deadline_s`` (the job is cancelled: a Dask task is cancelled on the cluster, a thread or
    a process-pool job finishes unheard). None: no deadline."""
    if deadline_s is None:
        return await job
    try:
        return await asyncio.wait_for(job, timeout=max(0.0, deadline_s - time.monotonic()))
    except TimeoutError:
        raise PlanLateError(
            "the plan was not back by its slot's deadline (plan_deadline_s); the home keeps "
            "its last plan"
        ) from None
