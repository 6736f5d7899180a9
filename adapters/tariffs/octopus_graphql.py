"""Octopus Energy's GraphQL API (Kraken) with a consumer's API key: a Kraken token obtained with
the key and cached until shortly before it expires, queries and mutations sent with it, and
every way the API or the network can fail turned into a typed error.

The API (``POST {"query", "variables"}``) has two hosts: ``https://api.octopus.energy/v1/graphql/``
(:data:`GRAPHQL_URL`: the token, the account, Intelligent Octopus Go's dispatches) and
``https://api.backend.octopus.energy/v1/graphql/`` (:data:`BACKEND_GRAPHQL_URL`: Saving
Sessions, moved there by Octopus in February-March 2026; a query names its host with
``request(..., backend=True)``). The token is obtained from the first and accepted by both:

* ``obtainKrakenToken(input: {APIKey})`` returns ``token`` (a JWT, sent back as the bare
  ``Authorization`` header, as Octopus's guide says and the backend host requires; the
  public clients send ``JWT <token>`` to the first host only) and ``payload.exp`` (its
  expiry, epoch seconds; about an hour);
* a failure is HTTP 200 with ``{"errors": [{"message", "extensions": {"errorCode"}}]}``:
  ``KT-CT-1124`` is an expired token (obtained again once, then the request repeated),
  ``KT-CT-1199`` is rate limiting; an error while obtaining the token is the key refused.

Errors: :class:`OctopusAuthError` (the key refused, HTTP 401/403), :class:`OctopusGraphQLError`
(the answer's ``errors``), :class:`adapters.errors.FetchError` (unreachable, 429, 5xx after
the bounded retries), :class:`adapters.errors.ParseError` (not JSON, no ``data``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from adapters.errors import AdapterError, FetchError, ParseError
from adapters.http import DEFAULT_POLICY, USER_AGENT, RetryPolicy

GRAPHQL_URL = "https://api.octopus.energy/v1/graphql/"
BACKEND_GRAPHQL_URL = "https://api.backend.octopus.energy/v1/graphql/"
"""The host Saving Sessions' queries and mutation moved to (docs/service.md says the sources)."""
SOURCE = "octopus graphql"
EXPIRED_TOKEN = "KT-CT-1124"
RATE_LIMITED = "KT-CT-1199"
TOKEN_MARGIN = timedelta(minutes=5)
"""A token is obtained again this long before its ``exp``, so none expires in flight."""
DEFAULT_TOKEN_LIFETIME = timedelta(minutes=30)
"""Used when the token's ``payload.exp`` is missing or absurd (Kraken's tokens last an hour)."""

TOKEN_MUTATION = """mutation ObtainToken($apiKey: String!) {
  obtainKrakenToken(input: {APIKey: $apiKey}) { token payload }
}"""


class OctopusGraphQLError(AdapterError):
    """The API answered with ``errors`` (``codes``: their ``extensions.errorCode`` values)."""

    def __init__(self, messages: list[str], codes: list[str]) -> None:
        self.messages = messages
        self.codes = codes
        shown = "; ".join(f"{m} ({c})" if c else m for m, c in zip(messages, codes, strict=True))
        super().__init__(f"{SOURCE}: {shown}")


class OctopusAuthError(OctopusGraphQLError):
    """The API key was refused (a wrong or revoked key): asking again will not mend it."""


@dataclass(frozen=True, slots=True)
class KrakenToken:
    """A Kraken token and when it stops being accepted (UTC)."""

    token: str
    expires_at: datetime


def graphql_errors(body: Mapping[str, Any]) -> OctopusGraphQLError | None:
    """The ``errors`` of an answer as one typed error, or None when it has none."""
    errors = body.get("errors")
    if not errors:
        return None
    if not isinstance(errors, list):
        return OctopusGraphQLError([f"malformed errors: {str(errors)[:200]}"], [""])
    messages, codes = [], []
    for e in errors:
        e = e if isinstance(e, dict) else {"message": str(e)}
        ext = e.get("extensions")
        code = ext.get("errorCode") if isinstance(ext, dict) else None
        messages.append(str(e.get("message", "no message"))[:300])
        codes.append(str(code) if code is not None else "")
    return OctopusGraphQLError(messages, codes)


def parse_token(data: Any, now: datetime) -> KrakenToken:
    """The token of ``obtainKrakenToken``'s ``data`` (ParseError without one); its expiry from
    ``payload.exp``, else :data:`DEFAULT_TOKEN_LIFETIME` from ``now``."""
    got = data.get("obtainKrakenToken") if isinstance(data, dict) else None
    token = got.get("token") if isinstance(got, dict) else None
    if not isinstance(token, str) or not token:
        raise ParseError(SOURCE, "obtainKrakenToken answered without a token")
    payload = got.get("payload") if isinstance(got, dict) else None
    exp = payload.get("exp") if isinstance(payload, dict) else None
    expires = now + DEFAULT_TOKEN_LIFETIME
    if isinstance(exp, int | float) and not isinstance(exp, bool) and math.isfinite(exp):
        at = datetime.fromtimestamp(min(max(exp, 0), 4e9), UTC)
        if now < at <= now + timedelta(days=1):  # an absurd expiry is not trusted
            expires = at
    return KrakenToken(token, expires)


class OctopusGraphQL:
    """One consumer's GraphQL session: ``request`` sends a query or mutation with a valid
    token, obtaining one when none is cached or it is within :data:`TOKEN_MARGIN` of its end.

    Not thread-safe: one instance per account, used by one task at a time."""

    def __init__(
        self,
        api_key: str,
        *,
        url: str = GRAPHQL_URL,
        backend_url: str = BACKEND_GRAPHQL_URL,
        policy: RetryPolicy = DEFAULT_POLICY,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._api_key = api_key
        self.url = url
        self.backend_url = backend_url
        self._policy = policy
        self._now = now
        self._client = client
        self._sleep = sleep
        self.token: KrakenToken | None = None
        self.tokens_obtained = 0

    def __repr__(self) -> str:  # the key never appears in a log or a traceback
        return f"OctopusGraphQL(url={self.url!r})"

    def request(self, query: str, variables: Mapping[str, Any], *, backend: bool = False) -> Any:
        """The ``data`` of ``query`` sent with ``variables`` (to the ``backend`` host when
        asked); the token obtained again once when the API says it expired."""
        url = self.backend_url if backend else self.url
        body = self._post(url, query, variables, self._valid_token())
        error = graphql_errors(body)
        if error is not None and EXPIRED_TOKEN in error.codes:
            self.token = None
            body = self._post(url, query, variables, self._valid_token())
            error = graphql_errors(body)
        if error is not None:
            if RATE_LIMITED in error.codes:
                raise FetchError(SOURCE, f"rate limited ({RATE_LIMITED})")
            raise error
        return _data(body)

    def _valid_token(self) -> str:
        now = self._now()
        if self.token is None or now >= self.token.expires_at - TOKEN_MARGIN:
            body = self._post(self.url, TOKEN_MUTATION, {"apiKey": self._api_key}, None)
            error = graphql_errors(body)
            if error is not None:
                if RATE_LIMITED in error.codes:
                    raise FetchError(SOURCE, f"rate limited ({RATE_LIMITED})")
                raise OctopusAuthError(error.messages, error.codes)
            self.token = parse_token(_data(body), now)
            self.tokens_obtained += 1
        return self.token.token

    def _post(self, url: str, query: str, variables: Mapping[str, Any], token: str | None) -> Any:
        """POST once per attempt; retried like :func:`adapters.http.get_json` (timeouts,
        transport errors, 5xx, 429); 401/403 are :class:`OctopusAuthError`."""
        headers = {"User-Agent": USER_AGENT}
        if token is not None:
            headers["Authorization"] = token
        payload = {"query": query, "variables": dict(variables)}
        http = self._client or httpx.Client()
        reason = "no attempt made"
        try:
            for attempt in range(1, self._policy.attempts + 1):
                if attempt > 1:
                    self._sleep(self._policy.wait_before(attempt))
                try:
                    r = http.post(
                        url, json=payload, headers=headers, timeout=self._policy.timeout_s
                    )
                except httpx.TimeoutException as exc:
                    reason = f"timed out ({type(exc).__name__})"
                    continue
                except httpx.TransportError as exc:
                    reason = f"transport error ({type(exc).__name__})"
                    continue
                if r.status_code >= 500 or r.status_code == 429:
                    reason = f"HTTP {r.status_code}"
                    continue
                if r.status_code in (401, 403):
                    raise OctopusAuthError([f"HTTP {r.status_code}"], [""])
                try:
                    body = r.json()
                except ValueError:
                    body = None
                if r.status_code == 400 and isinstance(body, dict) and body.get("errors"):
                    return body  # a query the API refuses (a field it no longer has): its errors
                if r.status_code >= 400:
                    raise FetchError(SOURCE, f"HTTP {r.status_code}", attempts=attempt)
                if body is None:
                    raise ParseError(SOURCE, "the answer is not JSON")
                if not isinstance(body, dict):
                    raise ParseError(SOURCE, "the answer is not a JSON object")
                return body
            raise FetchError(SOURCE, reason, attempts=self._policy.attempts)
        finally:
            if self._client is None:
                http.close()


def _data(body: Mapping[str, Any]) -> dict[str, Any]:
    data = body.get("data")
    if not isinstance(data, dict):
        raise ParseError(SOURCE, "the answer has no data")
    return data
