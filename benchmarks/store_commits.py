"""Counting the store's commits in a benchmark (issue 29: the fleet's cost per home per slot is
mostly durable commits, one writer at a time on SQLite, so their number is the figure to
watch, not only the wall time a loaded machine blurs).

An SQLAlchemy ``commit`` event on the engine counts every transaction committed through it,
read or write (a read-only session that ends without a commit is not counted)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event


@dataclass
class CommitCounter:
    """The commits on one engine since :func:`count_commits` attached this counter."""

    count: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def seen(self, _conn: Any) -> None:
        """The engine's ``commit`` event (from the store's worker threads: counted under a
        lock)."""
        with self._lock:
            self.count += 1


def count_commits(engine: Engine) -> CommitCounter:
    """Count every commit on ``engine`` from now on."""
    counter = CommitCounter()
    event.listen(engine, "commit", counter.seen)
    return counter
