"""Security headers on every response of the service: the API, ``/openapi.json`` and the web
app, each surface with the Content-Security-Policy that fits it (docs/service.md, Security).

One plain ASGI middleware, so error answers (401, 404, 422, 429) carry the headers too:

- every response: ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY`` and a CSP
  with ``frame-ancestors 'none'`` (nothing of ours is meant to be framed: clickjacking);
- over https (uvicorn's own TLS, or a trusted proxy's ``X-Forwarded-Proto``):
  ``Strict-Transport-Security``, so a browser never falls back to plain http; never over http,
  where it would mean nothing and could pin a name that has no TLS yet;
- the API: ``default-src 'none'`` (JSON is never a document that may load anything),
  ``Referrer-Policy: no-referrer``, and ``Cache-Control: no-store`` on any request that carries
  credentials, so no proxy or browser cache keeps a home's data;
- the web app (``/app``): its own CSP (:mod:`hems.web`), ``Referrer-Policy: same-origin`` (with
  ``no-referrer`` browsers send ``Origin: null`` on the app's own form posts, which would
  weaken its origin check), and ``no-store`` on pages unless a route says otherwise.

A header a route sets itself is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

HSTS = (b"strict-transport-security", b"max-age=31536000")
"""One year, the usual figure; no ``includeSubDomains``: the service does not own the
domain it is served under."""

API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"


@dataclass(frozen=True)
class Surface:
    """The headers of the responses under ``prefix``."""

    prefix: str
    headers: tuple[tuple[bytes, bytes], ...]
    no_store: bool = False
    """``Cache-Control: no-store`` on every response (else only on credentialed requests)."""


API_SURFACE = Surface(
    "/",
    (
        (b"content-security-policy", API_CONTENT_SECURITY_POLICY.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (b"cross-origin-resource-policy", b"same-origin"),
    ),
)


class SecurityHeaders:
    """Adds the headers of the first surface whose prefix the path starts with (the API's
    when none does)."""

    def __init__(self, app: Any, surfaces: Sequence[Surface] = ()) -> None:
        self.app = app
        self.surfaces = (*surfaces, API_SURFACE)

    def surface(self, path: str) -> Surface:
        return next(s for s in self.surfaces if path.startswith(s.prefix))

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        surface = self.surface(scope["path"])
        request_headers = {k.lower() for k, _ in scope.get("headers", [])}
        no_store = surface.no_store or b"authorization" in request_headers
        extra = [*surface.headers, *([HSTS] if scope.get("scheme") == "https" else [])]

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers.extend(h for h in extra if h[0] not in names)
                if no_store and b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
