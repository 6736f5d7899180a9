"""Sign-in sessions and CSRF tokens for the consumer web app.

Sessions are held server-side, in memory: the cookie carries only a random 256-bit session id,
and the server keeps its SHA-256, so neither the home's token nor anything that could be
replayed against the API is in the cookie. A session ends after ``idle`` without a request, at
``absolute`` after sign-in, at sign-out, and when the home's token stops working (deleted data).
A restart of the service ends every session (the consumer signs in again).

Each session has its own CSRF token, embedded in every form and checked on every POST. The
sign-in form, which has no session yet, uses a double-submit cookie instead.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

SESSION_COOKIE = "hems_session"
LOGIN_CSRF_COOKIE = "hems_login_csrf"


@dataclass
class WebSession:
    home_id: int
    token_id: int
    csrf: str
    created_at: datetime
    last_seen: datetime
    flash: list[tuple[str, str]] = field(default_factory=list)
    """Messages for the next page (kind, text): confirmations and refusals."""


def _key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def same_secret(a: str | None, b: str | None) -> bool:
    """Constant-time comparison; an empty or missing value never matches."""
    if not a or not b:
        return False
    return hmac.compare_digest(a.encode(), b.encode())


class SessionStore:
    """The signed-in browsers, by the hash of their session id."""

    def __init__(
        self, idle: timedelta = timedelta(minutes=30), absolute: timedelta = timedelta(hours=12)
    ) -> None:
        self.idle = idle
        self.absolute = absolute
        self._sessions: dict[str, WebSession] = {}

    def create(self, home_id: int, token_id: int, now: datetime) -> tuple[str, WebSession]:
        """A new session (a fresh id at every sign-in: no session fixation)."""
        self._prune(now)
        session_id = secrets.token_urlsafe(32)
        session = WebSession(home_id, token_id, secrets.token_urlsafe(32), now, now)
        self._sessions[_key(session_id)] = session
        return session_id, session

    def get(self, session_id: str | None, now: datetime) -> WebSession | None:
        """The session, if it exists and has not expired (which also keeps it alive)."""
        if not session_id:
            return None
        key = _key(session_id)
        session = self._sessions.get(key)
        if session is None:
            return None
        if self._expired(session, now):
            del self._sessions[key]
            return None
        session.last_seen = now
        return session

    def delete(self, session_id: str | None) -> None:
        if session_id:
            self._sessions.pop(_key(session_id), None)

    def end_home(self, home_id: int) -> None:
        """End every session of a home (its data was deleted)."""
        for key in [k for k, s in self._sessions.items() if s.home_id == home_id]:
            del self._sessions[key]

    def _expired(self, session: WebSession, now: datetime) -> bool:
        return now - session.last_seen > self.idle or now - session.created_at > self.absolute

    def _prune(self, now: datetime) -> None:
        for key in [k for k, s in self._sessions.items() if self._expired(s, now)]:
            del self._sessions[key]

    def __len__(self) -> int:
        return len(self._sessions)
