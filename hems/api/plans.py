"""The current plan with its explanation, history, and savings against the baseline
(:mod:`hems.usecases.plans`)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, HTTPException, Query, Response, status

from hems.api.auth import HomeId, Service
from hems.api.errors import HOME, responses
from hems.api.json_cache import Cache
from hems.api.schemas import History, PlanPublic, SavingsDay
from hems.service import CemService
from hems.usecases import plans as uc

router = APIRouter(tags=["plans"])


@router.get("/homes/{home_id}/plan", response_model=PlanPublic, responses=responses(HOME))
async def current_plan(home_id: HomeId, service: Service, cache: Cache) -> Response:
    """The latest plan. ``violations`` explains each wish it cannot meet, in words."""
    latest = uc.latest_plan_id(service, home_id)
    if latest is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no plan yet")
    cached = cache.plans.get(home_id)
    if cached is None or cached[0] != latest:
        # read and rendered in a worker thread: the event loop keeps serving meanwhile
        cached = await asyncio.to_thread(_plan_json, service, home_id)
        cache.plans[home_id] = cached
    return Response(content=cached[1], media_type="application/json")


def _plan_json(service: CemService, home_id: int) -> tuple[int, bytes]:
    """The latest plan's id and its JSON as the API serves it (runs once per new plan, in a
    thread of the API's interpreter)."""
    plan = uc.latest_plan(service, home_id)
    if plan is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no plan yet")
    return plan.id, plan.model_dump_json().encode()


@router.get("/homes/{home_id}/history", response_model=History, responses=responses(HOME))
def history(
    home_id: HomeId,
    service: Service,
    hours: int = Query(default=24, ge=1, le=24 * 31),
) -> History:
    """Plans made and setpoints sent in the last ``hours``."""
    return uc.history(service, home_id, hours)


@router.get("/homes/{home_id}/savings", response_model=list[SavingsDay], responses=responses(HOME))
def savings(
    home_id: HomeId, service: Service, days: int = Query(default=7, ge=1, le=366)
) -> list[SavingsDay]:
    """Per local day: the cost and carbon of the slots each plan ran (from the plan's start to
    the next plan), against the rule-based baseline for the same slots."""
    return uc.savings(service, home_id, days)


@router.get("/homes/{home_id}/flexibility", responses=responses(HOME, 503))
async def flexibility(home_id: HomeId, service: Service) -> dict[str, object]:
    """PAS 1878 power profiles of the current plan: intended operation (IO), least delayed (LD)
    and most delayed (MD), per slot: the grid power and each device's power [kW]."""
    profiles = await uc.flexibility(service, home_id)
    if profiles is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no plan yet")
    return profiles
