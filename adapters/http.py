"""One GET-JSON helper shared by every fetch_* function: timeouts, bounded retries with
exponential backoff, and typed errors.

Retried: timeouts, transport errors (connection refused, reset), HTTP 5xx and 429. Not retried:
other 4xx (a wrong product code stays wrong) and bodies that are not JSON.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from adapters.errors import FetchError, ParseError

USER_AGENT = "cem-home-energy-manager/0.1"


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How hard a fetch tries.

    Attributes:
        timeout_s: connect and read timeout per attempt [s].
        attempts: total attempts (1 = no retry).
        backoff_s: wait before the second attempt [s]; doubles after each failure.
        max_backoff_s: cap on a single wait [s].
    """

    timeout_s: float = 10.0
    attempts: int = 3
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0

    def wait_before(self, attempt: int) -> float:
        """Seconds [s] to wait before attempt number ``attempt`` (2, 3, ...)."""
        return float(min(self.max_backoff_s, self.backoff_s * 2.0 ** (attempt - 2)))


DEFAULT_POLICY = RetryPolicy()
MAX_BODY_BYTES = 32 * 1024 * 1024
"""The largest body read by default [bytes] (a year of hourly weather is ~1 MB)."""


def _body(response: httpx.Response, source: str, max_bytes: int) -> bytes:
    """The response's body, or b"" for an error status (not read: it is not used)."""
    if response.status_code >= 400:
        return b""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise ParseError(source, f"body of {declared} bytes, over the limit of {max_bytes}")
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise ParseError(source, f"body over the limit of {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def get_json(
    url: str,
    *,
    source: str,
    params: Mapping[str, str | int | float] | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
    client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
    max_bytes: int = MAX_BODY_BYTES,
) -> Any:
    """GET ``url`` and decode its JSON body, retrying transient failures per ``policy``. The
    body is read as it streams in and refused past ``max_bytes``, so a hostile or broken
    source cannot fill the memory.

    Raises:
        FetchError: the source kept failing, or answered a non-retryable 4xx.
        ParseError: the body is not JSON, or is longer than ``max_bytes``.
    """
    owned = client is None
    http = client or httpx.Client(headers={"User-Agent": USER_AGENT})
    last_reason = "no attempt made"
    last_status: int | None = None
    try:
        for attempt in range(1, policy.attempts + 1):
            if attempt > 1:
                sleep(policy.wait_before(attempt))
            try:
                with http.stream("GET", url, params=params, timeout=policy.timeout_s) as response:
                    body = _body(response, source, max_bytes)
            except httpx.TimeoutException as exc:
                last_reason, last_status = f"timed out ({type(exc).__name__})", None
                continue
            except httpx.TransportError as exc:
                last_reason, last_status = f"transport error ({type(exc).__name__}: {exc})", None
                continue
            if response.status_code >= 500 or response.status_code == 429:
                last_reason, last_status = f"HTTP {response.status_code}", response.status_code
                continue
            if response.status_code >= 400:
                raise FetchError(
                    source,
                    f"HTTP {response.status_code}",
                    attempts=attempt,
                    status_code=response.status_code,
                )
            try:
                return json.loads(body)
            except ValueError as exc:
                raise ParseError(source, f"body is not JSON: {exc}") from exc
        raise FetchError(source, last_reason, attempts=policy.attempts, status_code=last_status)
    finally:
        if owned:
            http.close()
