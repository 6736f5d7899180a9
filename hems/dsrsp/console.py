"""The demo DSRSP's console: one read-only HTML page on its own port (127.0.0.1), what a
DSRSP's operator would look at: the registered VENs and their identity, the reports they offered,
their latest telemetry, each event's answers and opt-outs, and delivered against asked
(:mod:`hems.dsrsp.console_view`). It refreshes itself every 10 s.

Everything a VEN sent is escaped (Jinja2 autoescape); the page loads nothing (CSP
``default-src 'none'``, its style inline) and accepts only GET.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import jinja2

from hems.dsrsp.console_view import console_rows
from hems.dsrsp.ledger import Ledger

if TYPE_CHECKING:
    from aiohttp import web

HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("hems.dsrsp", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def _hms(value: datetime | None) -> str:
    return "-" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


_TEMPLATES.filters["utc"] = _hms


def render_console(ledger: Ledger, now_utc: datetime, vtn_url: str) -> str:
    """The page's HTML."""
    return _TEMPLATES.get_template("console.html").render(
        rows=console_rows(ledger, now_utc), now=now_utc, vtn_url=vtn_url
    )


def console_app(
    ledger: Ledger, vtn_url: str, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> web.Application:
    """The console's aiohttp application (GET / only)."""
    from aiohttp import web

    async def page(request: web.Request) -> web.Response:
        return web.Response(
            text=render_console(ledger, now(), vtn_url),
            content_type="text/html",
            headers=HEADERS,
        )

    app = web.Application()
    app.add_routes([web.get("/", page)])
    return app


async def serve_console(app: web.Application, port: int) -> Any:
    """Listen on 127.0.0.1:``port``; returns the runner (``await runner.cleanup()`` stops)."""
    from aiohttp import web

    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host="127.0.0.1", port=port).start()
    return runner
