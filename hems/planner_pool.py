"""The planner's worker processes, kept alive: a worker that dies (killed, out of memory, a
crash in the solver) breaks a :class:`concurrent.futures.ProcessPoolExecutor` for good, so
:class:`PlannerPool` notices the broken pool, replaces it with a fresh one (same initialiser,
warmed before it is used) and runs the plans it lost again.

A job that crashes its worker every time (a poison problem) must not take planning down with
it: a job caught in a crash is tried again *alone* in the pool, so a crash then is its own, and
after ``max_attempts`` it fails with :class:`PlanFailedError` while other jobs go on. Restarts
that keep failing back off (1 s doubling up to 5 min) and say why in the meantime.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from hems.planner_backend import BackendHealth
    from optimiser import CacheStats

log = logging.getLogger(__name__)
T = TypeVar("T")

POLL_S = 0.05
"""How often a job waiting for a restart or for its turn alone looks again [s]. Polling keeps
the pool usable from any event loop (the tests run several) and never blocks a thread."""


class PlanningUnavailableError(RuntimeError):
    """No plan can be made now (the message says why, for a 503): the planner's worker process
    stopped and is being replaced, or could not be started."""


class PlanFailedError(PlanningUnavailableError):
    """This job's worker died on every attempt (a poison problem); other jobs go on."""

    audit_action = "plan.failed"
    """What the home's audit log records."""


class PlanLateError(PlanFailedError):
    """The plan did not come back before its slot's deadline (:mod:`hems.planner_backend`):
    the home keeps its last plan, and the work is cancelled where the backend can."""

    audit_action = "plan.late"


def _ready() -> bool:
    """A no-op job: once it returns, a worker has started and run the initialiser."""
    return True


class PlannerPool:
    """``processes`` spawned worker processes running ``initializer(*initargs)`` at start-up,
    restarted when one dies. Thread-safe; usable from any event loop."""

    def __init__(
        self,
        processes: int,
        initializer: Callable[..., object] | None = None,
        initargs: tuple[Any, ...] = (),
        *,
        max_attempts: int = 3,
        retry_backoff_s: float = 0.5,
        start_timeout_s: float = 120.0,
    ) -> None:
        self.processes = processes
        self.initializer = initializer
        self.initargs = initargs
        self.max_attempts = max_attempts
        self.retry_backoff_s = retry_backoff_s
        self.start_timeout_s = start_timeout_s
        self.restarts = 0
        """Pools started to replace a broken one (for the log and the tests)."""
        self._lock = threading.Lock()  # guards the fields below, held for moments only
        self._executor: ProcessPoolExecutor | None = None
        self._restarting = False
        self._down_reason = ""  # why the last restart failed; empty when the pool is up
        self._next_restart_s = 0.0  # time.monotonic() before which no restart is tried
        self._restart_delay_s = 1.0
        self._running = 0  # jobs in the pool
        self._alone = False  # a job caught in a crash runs alone
        self._waiting_alone = 0

    # -- state -------------------------------------------------------------------------------
    def unavailable_reason(self) -> str | None:
        """Why plans cannot be made now, or None when they can (also before the first plan:
        the pool starts on first use)."""
        with self._lock:
            if self._restarting:
                return "the planner's worker process stopped; a new one is starting"
            if self._down_reason:
                return self._down_reason
            if self._executor is not None and _broken(self._executor):
                return "the planner's worker process stopped; it is being replaced"
        return None

    @property
    def down_reason(self) -> str:
        """Why the pool could not be started, while it waits to try again (a job now would
        fail at once); empty otherwise (a job waits for a restart under way)."""
        with self._lock:
            return self._down_reason

    def pids(self) -> list[int]:
        """The worker processes' ids (none before the first plan)."""
        with self._lock:
            ex = self._executor
        procs = getattr(ex, "_processes", None) or {}
        return sorted(int(p) for p in procs)

    def health(self) -> BackendHealth:
        """Where plans run (:class:`hems.planner_backend.PlannerBackend`)."""
        from hems.planner_backend import BackendHealth  # it imports this module's errors

        return BackendHealth(backend=f"local pool of {self.processes} processes")

    def worker_models(self) -> dict[str, CacheStats | None]:
        """Empty: a job cannot be sent to a chosen process of the pool."""
        return {}

    @property
    def busy(self) -> int:
        """Jobs submitted and not finished."""
        return self._running

    # -- running jobs ------------------------------------------------------------------------
    async def run(self, fn: Callable[..., T], *args: Any, affinity: str | None = None) -> T:
        """``fn(*args)`` in a worker process (any: ``affinity`` is not used, the pool's
        workers are not addressable). A job lost to a dying worker is run again on a
        fresh pool, alone, up to ``max_attempts`` times in all; raises
        :class:`PlanFailedError` when its worker died every time, and
        :class:`PlanningUnavailableError` when no pool can be started."""
        loop = asyncio.get_running_loop()
        attempts = 0
        while True:
            alone = attempts > 0
            await self._enter(alone)
            try:
                executor = await self._healthy_executor()
                try:
                    future = loop.run_in_executor(executor, partial(fn, *args))
                except BrokenProcessPool:
                    continue  # broken before this job was given to it: not its attempt
                try:
                    return await future
                except BrokenProcessPool as exc:
                    attempts += 1
                    log.warning(
                        "planner worker died running %s (attempt %d of %d): %s",
                        getattr(fn, "__name__", "a job"),
                        attempts,
                        self.max_attempts,
                        exc,
                    )
            finally:
                self._leave(alone)
            if attempts >= self.max_attempts:
                raise PlanFailedError(
                    f"the planner's worker process died on each of {attempts} attempts at "
                    "this plan; the home keeps its last plan and is tried again at the next "
                    "cycle"
                )
            await asyncio.sleep(self.retry_backoff_s * 2 ** (attempts - 1))

    async def heal(self) -> None:
        """Replace a broken pool now (the scheduler calls this every few seconds, so a worker
        that dies while idle is replaced before the next plan needs it)."""
        with self._lock:
            broken = self._executor is not None and _broken(self._executor)
        if broken or self._down_reason:
            try:
                await self._healthy_executor()
            except PlanningUnavailableError as exc:
                log.warning("planner pool not restarted: %s", exc)

    def close(self) -> None:
        """Stop the worker processes."""
        with self._lock:
            ex, self._executor = self._executor, None
        if ex is not None:
            ex.shutdown(wait=False, cancel_futures=True)

    async def _enter(self, alone: bool) -> None:
        """Wait for the job's turn: a job running alone waits for the pool to empty and keeps
        others out until it is done; other jobs share the pool."""
        if alone:
            with self._lock:
                self._waiting_alone += 1
        try:
            while True:
                with self._lock:
                    free = not self._alone and (
                        self._running == 0 if alone else self._waiting_alone == 0
                    )
                    if free:
                        self._alone = alone
                        self._running += 1
                        return
                await asyncio.sleep(POLL_S)
        finally:
            if alone:
                with self._lock:
                    self._waiting_alone -= 1

    def _leave(self, alone: bool) -> None:
        with self._lock:
            self._running -= 1
            if alone:
                self._alone = False

    async def _healthy_executor(self) -> ProcessPoolExecutor:
        """The pool, replaced first if it is broken (one restart, however many jobs saw the
        break; the others wait for it)."""
        while True:
            with self._lock:
                ex = self._executor
                if not self._restarting:
                    if ex is None and not self._down_reason:
                        self._executor = ex = self._new_executor()
                        return ex
                    if ex is not None and not _broken(ex):
                        return ex
                    if time.monotonic() < self._next_restart_s:
                        raise PlanningUnavailableError(self._down_reason)
                    self._restarting = True
                    restart = True
                else:
                    restart = False
            if restart:
                await asyncio.to_thread(self._restart, ex)
            else:
                await asyncio.sleep(POLL_S)

    def _restart(self, broken: ProcessPoolExecutor | None) -> None:
        """Shut the broken pool down and start a new one, warmed (the initialiser has run in a
        worker) before any job is given to it. Runs in a thread: starting takes seconds."""
        try:
            if broken is not None:
                broken.shutdown(wait=False, cancel_futures=True)
            fresh = self._new_executor()
            try:
                fresh.submit(_ready).result(timeout=self.start_timeout_s)
            except Exception as exc:
                fresh.shutdown(wait=False, cancel_futures=True)
                with self._lock:
                    self._executor = None
                    self._down_reason = (
                        f"the planner's worker process could not be started ({exc or 'timeout'}); "
                        f"trying again in {self._restart_delay_s:.0f} s"
                    )
                    self._next_restart_s = time.monotonic() + self._restart_delay_s
                    self._restart_delay_s = min(self._restart_delay_s * 2, 300.0)
                log.error("planner pool: %s", self._down_reason)
                return
            with self._lock:
                self._executor = fresh
                self._down_reason = ""
                self._restart_delay_s = 1.0
                self.restarts += 1
            log.warning("planner pool restarted (%d restarts so far)", self.restarts)
        finally:
            with self._lock:
                self._restarting = False

    def _new_executor(self) -> ProcessPoolExecutor:
        """Spawned, so no thread state of the service is forked."""
        return ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=self.initializer,
            initargs=self.initargs,
        )


def _broken(executor: ProcessPoolExecutor) -> bool:
    """Whether a worker died: the executor's own flag (set by its manager thread within
    moments of the death; the standard library offers no public way to ask)."""
    return bool(getattr(executor, "_broken", False))
