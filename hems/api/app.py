"""The FastAPI application, built by :func:`create_app` (no import-time singletons)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy import text
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from hems.api import consumer, errors, events, homes, plans
from hems.api.auth import Service
from hems.api.rate_limits import AuthGuard
from hems.api.security_headers import SecurityHeaders
from hems.planner_pool import PlanningUnavailableError
from hems.runtime import Runtime, build_runtime, start_scheduler, stop_scheduler
from hems.settings import Settings
from hems.web import WEB_SURFACE, mount_web


def create_app(
    settings: Settings, runtime: Runtime | None = None, *, run_scheduler: bool = True
) -> FastAPI:
    """The API over ``runtime`` (built from ``settings`` when not given). With
    ``run_scheduler`` the planning loop runs in the app's event loop while it serves."""
    rt = runtime or build_runtime(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if rt.dsrsp is not None:
            await rt.dsrsp.start()
        if run_scheduler:
            start_scheduler(rt)
        try:
            yield
        finally:
            await stop_scheduler(rt)
            if rt.dsrsp is not None:
                await rt.dsrsp.stop()
            await rt.service.settle()
            rt.service.close()

    app = FastAPI(
        title="Customer Energy Manager",
        version="0.1.0",
        description="Plans and drives a home's EV, heat pump, battery and PV; takes part in DSR.",
        lifespan=lifespan,
        # Swagger UI and ReDoc load their JavaScript from a CDN: not on an offline home
        # machine, nor from a third party's supply chain. The schema stays at /openapi.json.
        docs_url=None,
        redoc_url=None,
    )
    errors.install(app)
    app.state.service = rt.service
    app.state.runtime = rt
    app.state.auth_guard = AuthGuard(  # docs/service.md, Security
        per_client=settings.auth_failures_per_client,
        overall=settings.auth_failures_overall,
        window_s=settings.auth_failure_window_s,
        requests_per_minute=settings.api_requests_per_minute,
    )
    for module in (homes, consumer, plans, events):
        app.include_router(module.router)
    mount_web(app)  # the consumer web app under /app (docs/webapp.md)
    app.add_middleware(SecurityHeaders, surfaces=[WEB_SURFACE])
    if settings.trusted_proxies:  # the client's address and scheme as these proxies say
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)

    @app.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        """The process answers."""
        return {"status": "ok"}

    @app.get("/ready", tags=["health"], responses=errors.responses(503))
    def ready(service: Service) -> dict[str, str]:
        """The database answers and, when it should, the planning loop runs."""
        try:
            with service.store.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE, "database unavailable"
            ) from None
        if run_scheduler and (rt.scheduler is None or not rt.scheduler.running):
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "scheduler not running")
        planning = service.planning_unavailable()
        if planning is not None:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"planning: {planning}")
        return {"status": "ready"}

    @app.exception_handler(PlanningUnavailableError)
    async def planning_unavailable(_request: Request, exc: Exception) -> JSONResponse:
        """A call that needs a plan while the planner cannot make one: 503 saying why, never a
        500 (the planner's worker is replaced within seconds: hems.planner_pool)."""
        return JSONResponse(
            {"detail": str(exc)},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "5"},
        )

    return app
