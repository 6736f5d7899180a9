"""What every part of the store shares: one engine, one session factory and one way to write
(:meth:`StoreBase.write_transaction`), the errors, and the audit row every change adds."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hems.storage.engine import WRITE_LOCK, session_factory
from hems.storage.fencing import Fencing
from hems.storage.tables import AuditRow, HomeRow


class NotFoundError(LookupError):
    """No such record (or not visible to the caller)."""


class ConflictError(ValueError):
    """The record clashes with an existing one (e.g. a CEM serial already registered)."""


class StoreBase:
    """One engine's sessions and write transactions, and this process's change counters: the
    base of each part of :class:`hems.storage.store.Store` (one per record type)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._session = session_factory(engine)
        self._versions: dict[tuple[str, int], int] = {}
        self.fencing: Fencing | None = None
        """The home leases this replica holds (:mod:`hems.storage.fencing`): plans and
        setpoints of other homes are refused. None: one process, every home is its own."""
        # SQLite has one writer at a time: this process's writers take turns here
        self._writer: AbstractContextManager[Any] = (
            threading.Lock() if engine.dialect.name == "sqlite" else nullcontext()
        )

    def version(self, kind: str, home_id: int) -> int:
        """How many times this store has changed a home's ``kind`` of record
        (``preferences``, ``events``, ``plans``, ``home``: its record and devices) since it
        was opened: a cache key for what the API serves. Bumped after each commit, so a reader
        never keeps data older than the version it read. Counts the writes of this process
        only (a kept home record is also aged out, :mod:`hems.kept_home`, for other
        replicas' writes)."""
        return self._versions.get((kind, home_id), 0)

    def changed(self, kind: str, home_id: int) -> None:
        """Count a committed change of a home's ``kind`` of record (:meth:`version`)."""
        self._versions[(kind, home_id)] = self._versions.get((kind, home_id), 0) + 1

    def session(self) -> Session:
        return self._session()

    @contextmanager
    def write_transaction(self, lock_home: int | None = None) -> Iterator[Session]:
        """One transaction of a method that writes, holding the write lock from its first
        statement, so what it reads is still true when it writes.

        SQLite: ``BEGIN IMMEDIATE`` takes the database's write lock at once, waiting up to the
        busy timeout for another writer (thread or process). A deferred ``BEGIN`` would read
        first, and its upgrade to a writer fails at once with "database is locked" when another
        write committed in between (the snapshot is stale; the busy timeout does not apply),
        which failed ``mark_setpoint`` and ``cancel_override`` within milliseconds. The writers
        of this process also queue on a lock of their own first: SQLite's busy handler polls
        (sleeps of up to 100 ms), and a dozen threads polling for one lock starved some past
        the busy timeout; queued here, only other processes' writers poll.

        PostgreSQL (READ COMMITTED): each statement sees the latest commit, and writers of
        different rows never wait for each other, so the lock is taken where the data needs it.
        A method that reads a row and writes it back reads it ``with_for_update`` (a concurrent
        writer of that row waits; its read then sees this commit). A method whose writes
        depend on which rows exist (supersede a device's pending setpoints, then insert) passes
        ``lock_home``: the home's row is locked ``FOR NO KEY UPDATE`` first, so such writers
        of one home take turns; it does not block inserts that only reference the home (they
        take ``FOR KEY SHARE``). A pure insert needs neither. On SQLite ``FOR UPDATE`` renders
        nothing: the database lock already covers it."""
        with self._writer, self.session() as s, s.begin():
            s.connection(execution_options=WRITE_LOCK)
            if lock_home is not None:
                lock_home_row(s, lock_home)
            yield s


def lock_home_row(s: Session, home_id: int) -> None:
    """Take the home's row lock for a writer whose writes depend on which of the home's rows
    exist (PostgreSQL; see :meth:`StoreBase.write_transaction`)."""
    s.execute(select(HomeRow.id).where(HomeRow.id == home_id).with_for_update(key_share=True))


def audit_row(
    home_id: int | None, now: datetime, actor: str, action: str, detail: dict[str, Any]
) -> AuditRow:
    return AuditRow(home_id=home_id, at=now, actor=actor, action=action, detail=detail)


def vars_of(obj: Any) -> dict[str, Any]:
    """A dataclass's fields as a JSON-ready dict (datetimes as ISO strings)."""
    out: dict[str, Any] = {}
    for name in obj.__slots__ if hasattr(obj, "__slots__") else vars(obj):
        value = getattr(obj, name)
        out[name] = value.isoformat() if isinstance(value, datetime) else value
    return out
