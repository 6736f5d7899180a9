"""The API's routes and error answers, installed on the service's app by :func:`install_api`
(the app itself is assembled in :mod:`hems.app`)."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.responses import JSONResponse

from hems.api import (
    cohort,
    cohort_limit,
    conformance,
    consumer,
    devices,
    docs_pages,
    errors,
    events,
    homes,
    octopus_account,
    planner,
    plans,
    saving_sessions,
    tariffs,
)
from hems.api.auth import Service
from hems.api.json_cache import JsonCache
from hems.planner_pool import PlanningUnavailableError
from hems.replica_handover import HandedToOwnerError
from hems.runtime import Runtime
from hems.usecases.conformance import ConformanceRuns
from hems.usecases.health import not_ready_reason, planner_summary
from hems.usecases.tariff_comparison import TariffComparisons


def install_api(app: FastAPI, rt: Runtime, *, run_scheduler: bool) -> None:
    """Serve the API from ``app``: its routers, ``/health`` and ``/ready``, its error shapes
    (:mod:`hems.api.errors`) and its JSON caches (:class:`JsonCache`, emptied for a home the
    service forgets). ``run_scheduler``: ``/ready`` requires the planning loop to run."""
    errors.install(app)
    cache = JsonCache()
    app.state.json_cache = cache
    rt.service.forget_listeners.append(cache.forget)
    app.state.conformance_runs = ConformanceRuns(rt.settings)  # stopped with the app
    comparisons = TariffComparisons()  # stopped with the app
    app.state.tariff_comparisons = comparisons
    rt.service.forget_listeners.append(comparisons.forget)
    modules = (homes, devices, consumer, plans, saving_sessions, tariffs, events, conformance)
    for module in (*modules, octopus_account, cohort, cohort_limit, docs_pages, planner):
        app.include_router(module.router)

    @app.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        """The process answers."""
        return {"status": "ok"}

    @app.get("/ready", tags=["health"], responses=errors.responses(503))
    def ready(service: Service) -> dict[str, object]:
        """The database answers and, when it should, the planning loop runs; ``planner``: where
        plans run, why on this machine when a cluster was given (``fallback``), and the homes
        late or failed in the last slot's batch (``GET /admin/planner`` names them)."""
        scheduler_down = run_scheduler and (rt.scheduler is None or not rt.scheduler.running)
        reason = not_ready_reason(service, scheduler_down=scheduler_down)
        if reason is not None:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, reason)
        return {"status": "ready", "planner": planner_summary(service)}

    @app.exception_handler(HandedToOwnerError)
    async def handed_to_owner(_request: Request, exc: Exception) -> JSONResponse:
        """A change made through a replica that does not run the home: stored, and its
        owner re-plans it within a lease round (202 saying which replica and when)."""
        assert isinstance(exc, HandedToOwnerError)
        body = errors.HandedOverBody(
            detail=str(exc), replica=exc.replica_id, replan_within_s=exc.within_s
        )
        return JSONResponse(body.model_dump(), status_code=status.HTTP_202_ACCEPTED)

    @app.exception_handler(PlanningUnavailableError)
    async def planning_unavailable(_request: Request, exc: Exception) -> JSONResponse:
        """A call that needs a plan while the planner cannot make one: 503 saying why, never a
        500 (the planner's worker is replaced within seconds: hems.planner_pool)."""
        return JSONResponse(
            {"detail": str(exc)},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "5"},
        )
