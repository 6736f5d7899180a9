"""Sign-in sessions and CSRF tokens for the consumer web app.

Sessions are held server-side, in the database (:mod:`hems.storage.web_sessions`), so a
restart keeps consumers signed in and every process on one database shares them. The cookie
carries only a random 256-bit session id, and the database keeps its SHA-256, so neither the
home's token nor anything that could be replayed against the API is in the cookie or the
database. A session ends after ``idle`` without a request (to the minute: ``last_seen`` is
written at most once a minute, not at every 5-second poll), at ``absolute`` after sign-in, at
sign-out (its row is deleted), and when the home's token stops working (deleted data).
Expired rows are deleted when found and at every sign-in.

Each session has its own CSRF token, embedded in every form and checked on every POST. The
sign-in form, which has no session yet, uses a double-submit cookie instead.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from hems.storage.web_sessions import StoredWebSession, WebSessionRows

WebSession = StoredWebSession
"""A signed-in browser: home, token, CSRF token, times and the next page's messages."""

SESSION_COOKIE = "hems_session"
LOGIN_CSRF_COOKIE = "hems_login_csrf"


def _key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def same_secret(a: str | None, b: str | None) -> bool:
    """Constant-time comparison; an empty or missing value never matches."""
    if not a or not b:
        return False
    return hmac.compare_digest(a.encode(), b.encode())


TOUCH_EVERY = timedelta(minutes=1)
"""How stale a session's ``last_seen`` may be before a request writes it again."""


class SessionStore:
    """The signed-in browsers, by the hash of their session id, in the database."""

    def __init__(
        self,
        rows: WebSessionRows,
        idle: timedelta = timedelta(minutes=30),
        absolute: timedelta = timedelta(hours=12),
    ) -> None:
        self.idle = idle
        self.absolute = absolute
        self._rows = rows

    def create(self, home_id: int, token_id: int, now: datetime) -> tuple[str, WebSession]:
        """A new session (a fresh id at every sign-in: no session fixation)."""
        self._rows.purge(idle_before=now - self.idle, created_before=now - self.absolute)
        session_id = secrets.token_urlsafe(32)
        session = WebSession(home_id, token_id, secrets.token_urlsafe(32), now, now)
        self._rows.add(_key(session_id), session)
        return session_id, session

    def get(self, session_id: str | None, now: datetime) -> WebSession | None:
        """The session, if it exists and has not expired (which also keeps it alive)."""
        if not session_id:
            return None
        key = _key(session_id)
        session = self._rows.get(key)
        if session is None:
            return None
        if self._expired(session, now):
            self._rows.delete(key)
            return None
        if now - session.last_seen >= TOUCH_EVERY:
            session.last_seen = now
            self._rows.touch(key, now)
        return session

    def set_flash(self, session_id: str, flash: list[tuple[str, str]]) -> None:
        self._rows.set_flash(_key(session_id), flash)

    def delete(self, session_id: str | None) -> None:
        if session_id:
            self._rows.delete(_key(session_id))

    def end_home(self, home_id: int) -> None:
        """End every session of a home (its data was deleted)."""
        self._rows.delete_home(home_id)

    def _expired(self, session: WebSession, now: datetime) -> bool:
        return now - session.last_seen > self.idle or now - session.created_at > self.absolute

    def __len__(self) -> int:
        return self._rows.count()
