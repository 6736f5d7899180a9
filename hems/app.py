"""The service's HTTP app, assembled in one place above its two surfaces: the API
(:mod:`hems.api`) and the consumer web app (:mod:`hems.web`), which share the operations
(:mod:`hems.usecases`) and the HTTP plumbing (:mod:`hems.serving`) and never import each other.
Built by :func:`create_app` (no import-time singletons)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from hems.api.docs_pages import DOCS_SURFACES
from hems.api.routes import install_api
from hems.runtime import (
    Runtime,
    build_runtime,
    start_devices,
    start_scheduler,
    stop_devices,
    stop_scheduler,
)
from hems.serving.rate_limits import AuthGuard
from hems.serving.security_headers import SecurityHeaders
from hems.settings import Settings
from hems.web import WEB_SURFACE, mount_web


def create_app(
    settings: Settings, runtime: Runtime | None = None, *, run_scheduler: bool = True
) -> FastAPI:
    """The API and the web app over ``runtime`` (built from ``settings`` when not given).
    With ``run_scheduler`` the planning loop runs in the app's event loop while it serves."""
    rt = runtime or build_runtime(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if rt.dsrsp is not None:
            await rt.dsrsp.start()
        await start_devices(rt)
        if run_scheduler:
            start_scheduler(rt)
        try:
            yield
        finally:
            _app.state.conformance_runs.stop()  # a conformance run under way is killed
            _app.state.tariff_comparisons.stop()  # so is a tariff comparison
            await stop_scheduler(rt)
            await stop_devices(rt)
            if rt.dsrsp is not None:
                await rt.dsrsp.stop()
            await rt.service.settle()
            rt.service.close()

    app = FastAPI(
        title="Customer Energy Manager",
        version="0.1.0",
        description="Plans and drives a home's EV, heat pump, battery and PV; takes part in DSR.",
        lifespan=lifespan,
        # FastAPI's Swagger UI and ReDoc load their JavaScript from a CDN: not on an offline
        # home machine, nor from a third party's supply chain. hems.api.docs_pages serves them
        # at the same addresses from bundled files.
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = rt.service
    app.state.runtime = rt
    app.state.auth_guard = AuthGuard(  # one guard for both surfaces: docs/service.md, Security
        per_client=settings.auth_failures_per_client,
        overall=settings.auth_failures_overall,
        window_s=settings.auth_failure_window_s,
        requests_per_minute=settings.api_requests_per_minute,
    )
    install_api(app, rt, run_scheduler=run_scheduler)
    mount_web(app)  # the consumer web app under /app (docs/webapp.md)
    app.add_middleware(SecurityHeaders, surfaces=[WEB_SURFACE, *DOCS_SURFACES])
    if settings.trusted_proxies:  # the client's address and scheme as these proxies say
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    return app
