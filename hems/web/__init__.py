"""The consumer web app (server-rendered pages under ``/app``), mounted on the API's FastAPI
app by :func:`mount_web`. See docs/webapp.md."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from hems.web.sessions import SESSION_COOKIE, SessionStore

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",  # plotly.js sets styles on its SVG elements
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class WebSecurityHeaders:
    """Adds the security headers to every response under ``/app`` (pages get ``no-store``
    unless they say otherwise). A plain ASGI middleware: the API's responses pass untouched."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/app"):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in names)
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def mount_web(
    app: FastAPI,
    *,
    session_idle: timedelta = timedelta(minutes=30),
    session_absolute: timedelta = timedelta(hours=12),
    poll_seconds: float = 5.0,
) -> None:
    """Serve the consumer web app from ``app``: pages, static files, sessions and headers."""
    from hems.web import routes, static

    app.state.web_sessions = SessionStore(idle=session_idle, absolute=session_absolute)
    app.state.web_poll_ms = int(poll_seconds * 1000)
    app.include_router(static.router)
    app.include_router(routes.router)
    app.add_middleware(WebSecurityHeaders)

    async def login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, routes.LoginRequiredError)
        where = "/app/login" + (f"?reason={exc.reason}" if exc.reason else "")
        response = RedirectResponse(where, status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/app")
        return response

    async def web_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, routes.WebError)
        return routes.templates.TemplateResponse(
            request,
            "error.html",
            {"user": None, "message": exc.message, "status_code": exc.status_code},
            status_code=exc.status_code,
        )

    app.add_exception_handler(routes.LoginRequiredError, login_required)
    app.add_exception_handler(routes.WebError, web_error)

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/app", status_code=307)
