"""Plans on an existing Dask distributed cluster (``hems run --scheduler tls://host:8786``,
setting ``planner_scheduler``; its transport: :mod:`hems.planner_security`), with this machine
as the fallback.

Each job is one Dask task (:func:`run_in_worker`: the first task in a worker process prepares
it for planning, like the service's own workers). Dask gives what a fleet needs without code
of ours: tasks spread over the workers, and a task whose worker dies is run again on another
(up to the scheduler's ``distributed.scheduler.allowed-failures``, then
:class:`~distributed.KilledWorker`, which becomes :class:`PlanFailedError` here). A job
cancelled on our side (its slot's deadline passed) is cancelled on the cluster too.

A home's plans go to the same worker while it lives (:mod:`hems.worker_affinity`), where the
model kept for its shape is. A cluster with no worker is treated as one that cannot be reached.

A cluster that cannot be reached, at start or later, is not an outage: plans run on the local
backend (``planner_processes`` workers, or a thread), the change is logged once and shown in
:meth:`DaskPlanner.health`, and :meth:`DaskPlanner.heal` connects again every
``retry_every_s``; plans go back to the cluster once it answers.

The client is Dask's synchronous one (its own event loop in a thread), so jobs can be awaited
from any asyncio loop; a finished task wakes the awaiting loop through a done-callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import CancelledError
from typing import TYPE_CHECKING, Any, TypeVar

from hems.planner_backend import BackendHealth, PlannerBackend
from hems.planner_pool import PlanFailedError
from hems.worker_affinity import WorkerChoice
from optimiser import CacheStats, prepare_planner_process, process_cache_stats

if TYPE_CHECKING:
    from distributed import Client
    from distributed.security import Security

log = logging.getLogger(__name__)
T = TypeVar("T")

_PREPARED_PIDS: set[int] = set()


def run_in_worker(fn: Callable[..., T], *args: Any) -> T:
    """A planner job in a Dask worker; the first in each worker process warms the solver stack
    and freezes its start-up heap (:func:`optimiser.prepare_planner_process`)."""
    if os.getpid() not in _PREPARED_PIDS:
        prepare_planner_process()
        _PREPARED_PIDS.add(os.getpid())
    return fn(*args)


class ClusterLostError(RuntimeError):
    """The cluster stopped answering while a job was on it (the job runs locally instead)."""


class DaskPlanner:
    """Jobs on the Dask scheduler at ``address``; on ``local`` (None: a thread of this process)
    while the cluster cannot be reached. ``security``: the client's TLS for a ``tls://``
    address (:func:`hems.planner_security.dask_security`)."""

    def __init__(
        self,
        address: str,
        local: PlannerBackend | None,
        *,
        connect_timeout_s: float = 5.0,
        retry_every_s: float = 30.0,
        security: Security | None = None,
    ) -> None:
        self.address = address
        self.local = local
        self.security = security
        self.connect_timeout_s = connect_timeout_s
        self.retry_every_s = retry_every_s
        self.plans_on_cluster = 0
        self.plans_local = 0
        self._lock = threading.Lock()
        self._client: Client | None = None
        self._fallback = ""  # why plans run locally; empty while the cluster is used
        self._next_try_s = 0.0  # time.monotonic() before which no connection is tried
        self._connecting: asyncio.Future[None] | None = None
        self.choice = WorkerChoice(self._read_workers)
        """The workers and each home's among them."""

    # -- state -------------------------------------------------------------------------------
    def health(self) -> BackendHealth:
        return BackendHealth(backend=f"dask {self.address}", fallback=self._fallback)

    def worker_models(self) -> dict[str, CacheStats | None]:
        """Each cluster worker's kept models (asked of every worker at once); empty while
        plans run here."""
        client = self._cluster()
        if client is None:
            return {}
        try:
            answers: dict[str, object] = client.run(process_cache_stats, on_error="return")
        except (OSError, TimeoutError) as exc:
            log.warning("planner: the cluster's workers could not be asked: %s", exc)
            return {}
        return {
            worker: answer
            for worker, answer in answers.items()
            if answer is None or isinstance(answer, CacheStats)
        }

    def unavailable_reason(self) -> str | None:
        if self._planning_here() and self.local is not None:
            return self.local.unavailable_reason()
        return None

    @property
    def down_reason(self) -> str:
        if self._planning_here() and self.local is not None:
            return self.local.down_reason
        return ""

    def _planning_here(self) -> bool:
        """Whether plans run on this machine now (no cluster, or one with no worker)."""
        return self._cluster() is None or bool(self._fallback)

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()
        if self.local is not None:
            self.local.close()

    # -- running jobs ------------------------------------------------------------------------
    async def run(self, fn: Callable[..., T], *args: Any, affinity: str | None = None) -> T:
        client = await self._connected()
        if client is not None:
            try:
                result: T = await self._on_cluster(client, fn, args, affinity)
                self.plans_on_cluster += 1
                return result
            except ClusterLostError as exc:
                self._fall_back(str(exc))
        self.plans_local += 1
        if self.local is None:
            return await asyncio.to_thread(fn, *args)
        return await self.local.run(fn, *args)

    async def heal(self) -> None:
        """Connect again when the cluster was lost and the retry time has come; heal the local
        backend too."""
        await self._connected()
        if self.local is not None:
            await self.local.heal()

    async def _on_cluster(
        self, client: Client, fn: Callable[..., T], args: tuple[Any, ...], affinity: str | None
    ) -> T:
        """One task, awaited without blocking the loop or a thread; cancelled on the cluster
        when the awaiting coroutine is cancelled. With ``affinity``: on that key's worker
        (:attr:`choice`) if it can take it, else on any."""
        from distributed import KilledWorker

        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        def wake(_: object) -> None:  # in Dask's callback thread
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(_settle, done)

        worker = None if affinity is None else self.choice.choose(affinity)
        name = getattr(fn, "__name__", "plan")  # one task group per fn; the key names the home
        key = (
            f"{name}-{uuid.uuid4().hex}"
            if affinity is None
            else f"{name}-{affinity}-{uuid.uuid4().hex}"
        )
        future = client.submit(
            run_in_worker,
            fn,
            *args,
            key=key,
            pure=False,
            workers=None if worker is None else [worker],
            allow_other_workers=worker is not None,
        )
        future.add_done_callback(wake)
        try:
            await done
        except asyncio.CancelledError:
            future.cancel()
            raise
        try:
            result: T = await asyncio.to_thread(future.result)
        except KilledWorker as exc:
            raise PlanFailedError(
                f"the cluster's workers died on each attempt at this plan ({exc}); the home "
                "keeps its last plan and is tried again at the next cycle"
            ) from exc
        except CancelledError as exc:  # not by us: the client lost the scheduler
            raise ClusterLostError(f"the cluster at {self.address} was lost ({exc})") from exc
        except OSError as exc:
            raise ClusterLostError(f"the cluster at {self.address} was lost ({exc})") from exc
        return result

    # -- the connection ----------------------------------------------------------------------
    def _read_workers(self) -> list[str]:
        """The scheduler's worker addresses (a round trip; blocking)."""
        client = self._cluster()
        return [] if client is None else list(client.nthreads())

    def _cluster(self) -> Client | None:
        """The client while it is connected."""
        with self._lock:
            client = self._client
        return client if client is not None and client.status == "running" else None

    async def _connected(self) -> Client | None:
        """The connected client, connecting first when there is none and the retry time has
        come (one attempt at a time; the others wait for it); None: plan locally."""
        client = self._cluster()
        if client is None:
            client = await self._reconnected()
        if client is None:
            return None
        if self.choice.stale():
            try:
                await asyncio.to_thread(self.choice.workers)
            except (OSError, TimeoutError) as exc:
                self._fall_back(f"the cluster at {self.address} stopped answering ({exc})")
                return None
        if not self.choice.known_workers():  # its tasks would wait for one: plans late
            self._fall_back(f"the cluster at {self.address} has no workers")
            return None
        if self._fallback:  # reconnected (on its own or by us), or workers back
            self._back()
        return client

    async def _reconnected(self) -> Client | None:
        """A client once more when the old one gave up and the retry time has come; None
        meanwhile."""
        with self._lock:
            dead = self._client
            gone = dead is not None and dead.status in ("closing", "closed")
            if gone:
                self._client = None  # gave up reconnecting: a new client below
        if dead is not None:
            self._fall_back(f"the cluster at {self.address} stopped answering")
            if not gone:
                return None  # reconnecting on its own: locally meanwhile
        if self._connecting is None or self._connecting.get_loop() is not _loop():
            if time.monotonic() < self._next_try_s:
                return None
            self._connecting = asyncio.ensure_future(self._connect())
        await asyncio.shield(self._connecting)
        self._connecting = None
        return self._cluster()

    async def _connect(self) -> None:
        from distributed import Client

        self._next_try_s = time.monotonic() + self.retry_every_s
        try:
            client = await asyncio.to_thread(
                Client,
                self.address,
                timeout=self.connect_timeout_s,
                set_as_default=False,
                security=self.security,
            )
        except (OSError, TimeoutError, ValueError) as exc:  # a TLS handshake refused: OSError
            self._fall_back(f"the cluster at {self.address} cannot be reached ({exc})")
            return
        with self._lock:
            self._client = client
        self.choice.forget()
        if not self._fallback:
            log.info("planner: plans run on the cluster at %s", self.address)

    def _back(self) -> None:
        log.warning("planner: the cluster at %s answers again: plans run on it", self.address)
        self._fallback = ""

    def _fall_back(self, reason: str) -> None:
        """Plan locally from now on; logged once per outage."""
        if not self._fallback:
            log.warning(
                "planner: %s; planning on this machine until it answers (tried again every %.0f s)",
                reason,
                self.retry_every_s,
            )
        self._fallback = f"{reason}; planning on this machine"


def _settle(done: asyncio.Future[None]) -> None:
    if not done.done():
        done.set_result(None)


def _loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()
