"""The consumer web app (server-rendered pages under ``/app``), mounted on the service's app
(:mod:`hems.app`) by :func:`mount_web`. See docs/webapp.md."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from hems.serving.security_headers import Surface
from hems.storage.web_sessions import WebSessionRows
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
WEB_SURFACE = Surface(
    "/app",
    (
        (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"same-origin"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        (b"cross-origin-opener-policy", b"same-origin"),
    ),
    no_store=True,
)
"""The web app's headers, added by the service's one :class:`SecurityHeaders` middleware
(pages get ``no-store`` unless they say otherwise)."""


def mount_web(
    app: FastAPI,
    *,
    session_idle: timedelta = timedelta(minutes=30),
    session_absolute: timedelta = timedelta(hours=12),
    poll_seconds: float = 5.0,
) -> None:
    """Serve the consumer web app from ``app``: pages, static files and sessions (its headers:
    :data:`WEB_SURFACE`, added by :func:`hems.app.create_app`)."""
    from hems.web import enrolment, octopus_account, operator, routes, saving_sessions, static

    rows = WebSessionRows(app.state.service.store)
    app.state.web_sessions = SessionStore(rows, idle=session_idle, absolute=session_absolute)
    app.state.web_poll_ms = int(poll_seconds * 1000)
    app.include_router(static.router)
    app.include_router(routes.router)
    app.include_router(enrolment.router)
    app.include_router(operator.router)
    app.include_router(saving_sessions.router)
    app.include_router(octopus_account.router)

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
