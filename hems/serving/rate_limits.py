"""Throttling of failed authentication and a per-token request rate, in process.

Why hand-written: the one rate-limiting library installed (``pyrate_limiter``) comes only with
the development tools (schemathesis); the service's dependencies have none, and what is needed
is two small structures. Why in process: each service process keeps its own counters, so with
N replicas an address may fail N times the limit and a token may make N times its rate. That is
acceptable here: tokens have 256 random bits, so the limit cuts noise and load rather than
making a guess feasible or not, and a home runs one process; a fleet that wants shared limits
puts them in its reverse proxy.

- :class:`FailureWindow`: failures per key in a sliding window (the last ``limit`` times per
  key, so memory is bounded by ``limit`` per key and by ``max_keys`` keys).
- :class:`TokenBucket`: a request rate per key with a burst of one minute's allowance.
- :class:`AuthGuard`: the policy both surfaces use (API bearer tokens and the web sign-in).
  After ``per_client`` failed authentications from one client address in ``window_s``, or
  ``overall`` from all addresses together (a guess spread over many addresses), further
  attempts are answered 429 with ``Retry-After``, without the token being looked up, so a
  locked-out guesser learns nothing. A token that has already succeeded from that address
  in the window is let through: the consumer at home is not locked out by a guesser on the
  same network, and successful requests are never slowed.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from hems.storage.store import hash_token

Clock = Callable[[], float]
"""Seconds from an arbitrary origin (``time.monotonic``; tests pass their own)."""


class FailureWindow:
    """How many failures each key had in the last ``window_s`` seconds."""

    def __init__(
        self, limit: int, window_s: float, clock: Clock = time.monotonic, max_keys: int = 100_000
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._max_keys = max_keys
        self._times: dict[str, deque[float]] = {}

    def retry_after_s(self, key: str) -> float | None:
        """Seconds until ``key`` is below its limit again, or None if it is below now."""
        times = self._times.get(key)
        if times is None or len(times) < self.limit:
            return None
        wait = times[0] + self.window_s - self._clock()
        return wait if wait > 0 else None

    def add(self, key: str) -> None:
        if key not in self._times and len(self._times) >= self._max_keys:
            self._forget_quiet_keys()
        self._times.setdefault(key, deque(maxlen=self.limit)).append(self._clock())

    def _forget_quiet_keys(self) -> None:
        """Drop the keys with no failure in the window (all of them if every key is busy: the
        memory bound wins over the count of an address flooding from many keys)."""
        since = self._clock() - self.window_s
        quiet = [k for k, times in self._times.items() if times[-1] <= since]
        for key in quiet or list(self._times):
            del self._times[key]


class TokenBucket:
    """At most ``per_minute`` requests per key over any minute, up to ``per_minute`` at once."""

    def __init__(
        self, per_minute: int, clock: Clock = time.monotonic, max_keys: int = 100_000
    ) -> None:
        self.capacity = float(per_minute)
        self.rate_per_s = per_minute / 60.0
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[object, tuple[float, float]] = {}  # key -> (tokens, at)

    def take(self, key: object) -> float | None:
        """Take one request's allowance: None when granted, else seconds until one is free."""
        now = self._clock()
        tokens, at = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - at) * self.rate_per_s)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate_per_s
        if key not in self._buckets and len(self._buckets) >= self._max_keys:
            self._buckets.clear()  # every bucket refills to full within a minute anyway
        self._buckets[key] = (tokens - 1.0, now)
        return None


class TooManyRequestsError(Exception):
    """Answer 429 with ``Retry-After: retry_after_s`` (whole seconds, at least 1)."""

    def __init__(self, retry_after_s: float, message: str) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, math.ceil(retry_after_s))
        self.message = message


class AuthGuard:
    """The service's throttle of failed authentication and its per-token request rate."""

    def __init__(
        self,
        *,
        per_client: int = 10,
        overall: int = 200,
        window_s: float = 300.0,
        requests_per_minute: int = 1200,
        clock: Clock = time.monotonic,
        max_known: int = 100_000,
    ) -> None:
        self.window_s = window_s
        self._clock = clock
        self._by_client = FailureWindow(per_client, window_s, clock)
        self._overall = FailureWindow(overall, window_s, clock)
        self._rate = TokenBucket(requests_per_minute, clock) if requests_per_minute else None
        self._max_known = max_known
        self._known: dict[tuple[str, str], float] = {}  # (client, token hash) -> until

    def check(self, client: str, token: str) -> None:
        """Before a token is looked up: raise :class:`TooManyRequestsError` when this client,
        or everyone together, failed too often lately, unless the token already worked from
        this client in the window."""
        until = self._known.get((client, hash_token(token)))
        if until is not None and until > self._clock():
            return
        waits = [self._by_client.retry_after_s(client), self._overall.retry_after_s("")]
        wait = max((w for w in waits if w is not None), default=None)
        if wait is not None:
            raise TooManyRequestsError(
                wait, "too many failed authentications; try again after Retry-After seconds"
            )

    def failed(self, client: str) -> None:
        self._by_client.add(client)
        self._overall.add("")

    def succeeded(self, client: str, token: str) -> None:
        if len(self._known) >= self._max_known:
            now = self._clock()
            self._known = {k: t for k, t in self._known.items() if t > now}
            if len(self._known) >= self._max_known:
                self._known.clear()
        self._known[(client, hash_token(token))] = self._clock() + self.window_s

    def take_request(self, token_id: int) -> None:
        """Count one API request of a token against its rate (429 beyond it)."""
        if self._rate is None:
            return
        wait = self._rate.take(token_id)
        if wait is not None:
            raise TooManyRequestsError(
                wait, "too many requests for this token; try again after Retry-After seconds"
            )


def client_address(scope_client: tuple[str, int] | None) -> str:
    """The connecting client's address (``request.client``): the socket's peer, or the address
    a trusted proxy named (settings ``trusted_proxies``); never a header from anyone else."""
    return scope_client[0] if scope_client else "unknown"
