"""Where plans run, behind one small interface, and what the operator is told when a home's
plan is late or fails.

The service and its controllers hand a job to a :class:`PlannerBackend` and await its result;
they do not care whether it runs in this machine's process pool
(:class:`hems.planner_pool.PlannerPool`) or on a Dask cluster
(:class:`hems.planner_dask.DaskPlanner`). Each slot's re-plans of every home are one batch with
a deadline (:meth:`hems.service.CemService.cycle_all`); a home whose plan misses it, or whose
plan raises, keeps its last plan and is flagged in :class:`PlanFlags`, which ``/ready`` and
``GET /admin/planner`` show.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal, Protocol, TypeVar

from hems.planner_pool import PlanFailedError as PlanFailedError  # raised by every backend
from hems.planner_pool import PlanLateError
from optimiser import CacheStats

T = TypeVar("T")


async def by_deadline(deadline_s: float | None, job: Awaitable[T]) -> T:
    """``job``'s result, or :class:`~hems.planner_pool.PlanLateError` once
    ``time.monotonic()`` passes ``deadline_s`` (the job is cancelled: a Dask task is cancelled
    on the cluster, a thread or a process-pool job finishes unheard). None: no deadline."""
    if deadline_s is None:
        return await job
    try:
        return await asyncio.wait_for(job, timeout=max(0.0, deadline_s - time.monotonic()))
    except TimeoutError:
        raise PlanLateError(
            "the plan was not back by its slot's deadline (plan_deadline_s); the home keeps "
            "its last plan"
        ) from None


@dataclass(frozen=True, slots=True)
class BackendHealth:
    """What the planner backend says of itself."""

    backend: str
    """Where plans run: ``local pool of N processes`` or ``dask tcp://host:port``."""
    fallback: str = ""
    """Why plans run on this machine instead of the cluster given; empty when they do not."""


class PlannerBackend(Protocol):
    """What runs plans. Usable from any event loop; a job is a picklable module-level function
    and its arguments."""

    async def run(self, fn: Callable[..., T], *args: Any, affinity: str | None = None) -> T:
        """``fn(*args)`` somewhere else than the event loop's thread; ``affinity``: a key (a
        home's) whose jobs should run in the same worker while it lives, where the models it
        keeps are (a hint a backend may ignore); raises what ``fn`` raised,
        :class:`~hems.planner_pool.PlanFailedError` when its worker died every time, and
        :class:`~hems.planner_pool.PlanningUnavailableError` when nothing can plan now."""
        ...

    async def heal(self) -> None:
        """Repair what broke (a dead worker, a cluster lost); the scheduler calls it often."""
        ...

    def close(self) -> None:
        """Stop the workers this backend started or the connection it holds."""
        ...

    def unavailable_reason(self) -> str | None:
        """Why plans cannot be made now, or None when they can."""
        ...

    @property
    def down_reason(self) -> str:
        """Why a plan asked for now would fail at once; empty when it would not."""
        ...

    def health(self) -> BackendHealth:
        """Where plans run and whether it is a fallback."""
        ...

    def worker_models(self) -> dict[str, CacheStats | None]:
        """Each worker's kept models (:meth:`optimiser.ModelCache.stats`; None before its
        first plan), by worker; empty when the workers cannot be asked one by one. Blocking:
        call it from a thread."""
        ...


FlagKind = Literal["late", "failed"]


@dataclass(frozen=True, slots=True)
class HomeFlag:
    """A home's plans that were late for their slot or failed, since the service started."""

    late: int = 0
    failed: int = 0
    last_kind: FlagKind = "late"
    last_reason: str = ""
    last_at_utc: datetime | None = None


@dataclass(frozen=True, slots=True)
class BatchReport:
    """One slot's batch of re-plans (:meth:`hems.service.CemService.cycle_all`)."""

    slot_start_utc: datetime
    deadline_s: float
    """The time the batch was given from its start [s]."""
    homes: int
    late: int
    failed: int
    took_s: float


class PlanFlags:
    """Homes flagged by the batches, for the operator; thread-safe (the API reads it from its
    worker threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._homes: dict[int, HomeFlag] = {}
        self.last_batch: BatchReport | None = None

    def flag(self, home_id: int, kind: FlagKind, reason: str, at_utc: datetime) -> None:
        with self._lock:
            was = self._homes.get(home_id, HomeFlag())
            self._homes[home_id] = replace(
                was,
                late=was.late + (kind == "late"),
                failed=was.failed + (kind == "failed"),
                last_kind=kind,
                last_reason=reason[:500],
                last_at_utc=at_utc,
            )

    def forget(self, home_id: int) -> None:
        with self._lock:
            self._homes.pop(home_id, None)

    def homes(self) -> dict[int, HomeFlag]:
        with self._lock:
            return dict(self._homes)
