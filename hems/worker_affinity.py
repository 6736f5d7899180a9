"""Which Dask worker a home's plans go to: the same one while it lives, so the persistent model
that worker keeps for the home's shape (:class:`optimiser.ModelCache`) is hit.

The choice is rendezvous (highest random weight) hashing of the home's key over the
scheduler's current worker addresses: each (key, worker) pair gets a fixed pseudo-random
weight and the key goes to the heaviest worker. It needs no table shared between service
replicas, spreads keys evenly, and when a worker leaves only that worker's keys move (a new
worker takes about its share from each of the others). The choice is a hint: the task is
submitted with ``allow_other_workers=True``, so a dead worker does not hold it and Dask's work
stealing may move it off a busy one.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Sequence


def rendezvous_worker(key: str, workers: Sequence[str]) -> str:
    """The worker of ``workers`` (not empty) with the highest weight for ``key``."""
    return max(workers, key=lambda w: _weight(key, w))


def _weight(key: str, worker: str) -> bytes:
    return hashlib.blake2b(f"{key}\0{worker}".encode(), digest_size=8).digest()


class WorkerChoice:
    """The cluster's worker addresses, read at most every ``refresh_every_s`` through
    ``read_workers`` (a round trip to the scheduler), and each key's worker among them,
    remembered until the set of workers changes. Thread-safe."""

    def __init__(
        self, read_workers: Callable[[], Sequence[str]], refresh_every_s: float = 1.0
    ) -> None:
        self.read_workers = read_workers
        self.refresh_every_s = refresh_every_s
        self.rehashes = 0
        """How many times the worker set changed (the choices were made again)."""
        self._lock = threading.Lock()
        self._workers: tuple[str, ...] = ()
        self._read_at_s: float | None = None  # time.monotonic() of the last read
        self._chosen: dict[str, str] = {}

    def stale(self) -> bool:
        """Whether the worker set is due to be read again."""
        read_at = self._read_at_s
        return read_at is None or time.monotonic() - read_at >= self.refresh_every_s

    def workers(self) -> tuple[str, ...]:
        """The worker addresses, read again when stale (blocking: call from a thread)."""
        with self._lock:
            if self.stale():
                workers = tuple(sorted(self.read_workers()))
                self._read_at_s = time.monotonic()
                if workers != self._workers:
                    self._workers = workers
                    self._chosen.clear()
                    self.rehashes += 1
            return self._workers

    def known_workers(self) -> tuple[str, ...]:
        """The worker addresses as last read (no round trip)."""
        return self._workers

    def choose(self, key: str) -> str | None:
        """``key``'s worker among those last read; None when there are none."""
        with self._lock:
            if not self._workers:
                return None
            chosen = self._chosen.get(key)
            if chosen is None:
                chosen = self._chosen[key] = rendezvous_worker(key, self._workers)
            return chosen

    def forget(self) -> None:
        """Read the workers again at the next use (a new connection)."""
        with self._lock:
            self._read_at_s = None
