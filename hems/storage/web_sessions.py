"""The web app's sessions in the database (table ``web_sessions``), so a restart keeps the
consumers signed in and every process of a fleet on one database sees the same sessions.

Rows are keyed by the SHA-256 of the session id (the cookie's value), as API tokens are: the
database alone opens no session. Each method is one short statement in its own transaction
(writes through :meth:`Store.write_transaction`, queued with the store's other writers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, or_, select, update

from hems.storage.store import Store
from hems.storage.tables import WebSessionRow


@dataclass
class StoredWebSession:
    home_id: int
    token_id: int
    csrf: str
    created_at: datetime
    last_seen: datetime
    flash: list[tuple[str, str]] = field(default_factory=list)
    """Messages for the next page (kind, text): confirmations and refusals."""


class WebSessionRows:
    """The ``web_sessions`` table, by session id hash."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def add(self, id_hash: str, session: StoredWebSession) -> None:
        with self._store.write_transaction() as s:
            s.add(
                WebSessionRow(
                    id_hash=id_hash,
                    home_id=session.home_id,
                    token_id=session.token_id,
                    csrf=session.csrf,
                    created_at=session.created_at,
                    last_seen=session.last_seen,
                    flash=[list(f) for f in session.flash],
                )
            )

    def get(self, id_hash: str) -> StoredWebSession | None:
        with self._store.session() as s:
            row = s.get(WebSessionRow, id_hash)
            if row is None:
                return None
            return StoredWebSession(
                row.home_id,
                row.token_id,
                row.csrf,
                row.created_at,
                row.last_seen,
                [(str(kind), str(text)) for kind, text in row.flash],
            )

    def touch(self, id_hash: str, last_seen: datetime) -> None:
        self._update(id_hash, last_seen=last_seen)

    def set_flash(self, id_hash: str, flash: list[tuple[str, str]]) -> None:
        self._update(id_hash, flash=[list(f) for f in flash])

    def _update(self, id_hash: str, **values: object) -> None:
        with self._store.write_transaction() as s:
            s.execute(update(WebSessionRow).where(WebSessionRow.id_hash == id_hash).values(values))

    def delete(self, id_hash: str) -> None:
        with self._store.write_transaction() as s:
            s.execute(delete(WebSessionRow).where(WebSessionRow.id_hash == id_hash))

    def delete_home(self, home_id: int) -> None:
        with self._store.write_transaction() as s:
            s.execute(delete(WebSessionRow).where(WebSessionRow.home_id == home_id))

    def purge(self, idle_before: datetime, created_before: datetime) -> int:
        """Delete the sessions idle since ``idle_before`` or created before ``created_before``."""
        with self._store.write_transaction() as s:
            result = s.execute(
                delete(WebSessionRow).where(
                    or_(
                        WebSessionRow.last_seen < idle_before,
                        WebSessionRow.created_at < created_before,
                    )
                )
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def count(self) -> int:
        with self._store.session() as s:
            return int(s.scalar(select(func.count()).select_from(WebSessionRow)) or 0)
