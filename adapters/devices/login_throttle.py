"""Throttling of failed device logins at the WebSocket handshake (OCPP chargers, S2 RMs).

Why: a device secret is verified with scrypt, ~0.1 s of CPU on purpose (credentials.py), and
a charger's identity or an RM's id is no secret. Without a limit, anyone who reaches the port
could repeat handshakes to burn the service's CPU and to guess the secret. So:

- After :data:`FAILURES_PER_KEY` failed logins for one identity, or from one peer address,
  within :data:`FAILURE_WINDOW_S`, its further attempts are refused at once (the servers answer
  429 with ``Retry-After``), before any scrypt work, for a backoff that starts at
  :data:`FIRST_BACKOFF_S` and doubles at each lockout up to :data:`MAX_BACKOFF_S`. A key quiet
  for :data:`FAILURE_WINDOW_S` after its lockout ended starts over.
- A success resets its identity, not its address: one right secret must not buy a guesser more
  guesses at the other identities.
- At most :data:`CONCURRENT_VERIFICATIONS` scrypt checks run at once in the whole process (one
  small thread pool for both servers); a check still queued when its handshake gives up (the
  WebSocket open timeout) is dropped without running.
- A lockout is logged as a warning once, the attempts it refuses at debug level (a flood must
  not flood the log).
- Memory is bounded: at most :data:`MAX_KEYS` keys, the least recently failed dropped first.

The window is the API's (``auth_failure_window_s``, hems/serving/rate_limits.py) and the count
smaller than its 10 per client: a device presents one configured secret and never mistypes it,
so a few failures in a row already mean a wrong configuration or a guesser. The price: a
guesser who knows a charger's identity can keep that charger locked out (for at most
MAX_BACKOFF_S after each round of failures), which is preferred to letting it guess without end.
Counters are per process, like the API's.
"""

from __future__ import annotations

import asyncio
import http
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Response

FAILURES_PER_KEY = 5
"""Failed logins for one identity, or from one address, within the window before a lockout."""
FAILURE_WINDOW_S = 300.0
"""Seconds over which failures are counted (the API's ``auth_failure_window_s`` default)."""
FIRST_BACKOFF_S = 60.0
"""Seconds of the first lockout; each further lockout of the same key doubles it."""
MAX_BACKOFF_S = 900.0
"""Longest lockout: a charger locked out by a guesser is let try again within 15 minutes."""
CONCURRENT_VERIFICATIONS = 2
"""scrypt checks running at once in the process; more wait (queued, no CPU) for a slot."""
MAX_KEYS = 10_000
"""Identities and addresses remembered; beyond, the least recently failed are forgotten."""

log = logging.getLogger(__name__)

Clock = Callable[[], float]
"""Seconds from an arbitrary origin (``time.monotonic``; tests pass their own)."""

_VERIFIERS = ThreadPoolExecutor(CONCURRENT_VERIFICATIONS, thread_name_prefix="device-login")


class LoginThrottledError(Exception):
    """Too many failed logins lately: answer 429 with ``Retry-After: retry_after_s``."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__("too many failed logins; try again after Retry-After seconds")
        self.retry_after_s = max(1, math.ceil(retry_after_s))


@dataclass(slots=True)
class _Failures:
    times: deque[float] = field(default_factory=deque)  # recent failures, oldest first
    lockouts: int = 0
    locked_until: float = -math.inf


class LoginThrottle:
    """One server's record of failed logins; :meth:`verify` is the only way in."""

    def __init__(
        self,
        *,
        failures: int = FAILURES_PER_KEY,
        window_s: float = FAILURE_WINDOW_S,
        first_backoff_s: float = FIRST_BACKOFF_S,
        max_backoff_s: float = MAX_BACKOFF_S,
        clock: Clock = time.monotonic,
        max_keys: int = MAX_KEYS,
        executor: Executor = _VERIFIERS,
    ) -> None:
        self.failures = failures
        self.window_s = window_s
        self.first_backoff_s = first_backoff_s
        self.max_backoff_s = max_backoff_s
        self._clock = clock
        self._max_keys = max_keys
        self._executor = executor
        self._keys: dict[str, _Failures] = {}  # least recently failed first

    async def verify(self, identity: str, peer: str, check: Callable[[], bool]) -> bool:
        """Whether ``check()`` (the scrypt verification, run in the shared pool) passes, counted
        for ``identity`` and the address ``peer``.

        Raises:
            LoginThrottledError: either is locked out; ``check`` is not run.
        """
        keys = (f"id:{identity}", f"peer:{peer}")
        now = self._clock()
        waits = [s.locked_until - now for k in keys if (s := self._keys.get(k)) is not None]
        wait = max(waits, default=0.0)
        if wait > 0:
            raise LoginThrottledError(wait)
        loop = asyncio.get_running_loop()
        if await loop.run_in_executor(self._executor, check):
            self._keys.pop(keys[0], None)
            return True
        for key in keys:
            self._failed(key)
        return False

    def _failed(self, key: str) -> None:
        now = self._clock()
        state = self._keys.pop(key, None) or _Failures()
        if state.lockouts and now - state.locked_until > self.window_s:
            state.lockouts = 0
        while state.times and state.times[0] <= now - self.window_s:
            state.times.popleft()
        state.times.append(now)
        if len(state.times) >= self.failures:
            backoff_s = self.first_backoff_s * 2 ** min(state.lockouts, 32)
            state.locked_until = now + min(self.max_backoff_s, backoff_s)
            state.lockouts += 1
            log.warning(  # once per lockout; the refusals during it are logged at debug level
                "device logins for %s locked out for %.0f s after %d failures",
                key,
                state.locked_until - now,
                len(state.times),
            )
            state.times.clear()
        self._keys[key] = state
        while len(self._keys) > self._max_keys:
            del self._keys[next(iter(self._keys))]


def peer_host(remote_address: Any) -> str:
    """The address of a connection's peer (``ServerConnection.remote_address``), port left out:
    a guesser opens each handshake from a new port."""
    return str(remote_address[0]) if remote_address else "unknown"


def throttled_response(connection: ServerConnection, error: LoginThrottledError) -> Response:
    """The handshake's answer to a locked-out login: 429 with ``Retry-After``."""
    response = connection.respond(
        http.HTTPStatus.TOO_MANY_REQUESTS,
        "Too many failed logins; try again after Retry-After seconds\n",
    )
    response.headers["Retry-After"] = str(error.retry_after_s)
    return response
