"""The current plan with its explanation, history, and savings against the baseline."""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Response, status

from hems.api.auth import HomeId, Service
from hems.api.errors import HOME, responses
from hems.api.schemas import (
    History,
    PlanPublic,
    PlanSummary,
    SavingsDay,
    SetpointPublic,
    ViolationPublic,
)
from hems.service import CemService
from hems.storage.store import PlanDocument, StoredPlan

router = APIRouter(tags=["plans"])
UK = ZoneInfo("Europe/London")


@router.get("/homes/{home_id}/plan", response_model=PlanPublic, responses=responses(HOME))
async def current_plan(home_id: HomeId, service: Service) -> Response:
    """The latest plan. ``violations`` explains each wish it cannot meet, in words."""
    latest = service.store.latest_plan_id(home_id)
    if latest is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no plan yet")
    cached = service.plan_json.get(home_id)
    if cached is None or cached[0] != latest:
        # read and rendered in a worker thread: the event loop keeps serving meanwhile
        cached = await asyncio.to_thread(_plan_json, service, home_id)
        service.plan_json[home_id] = cached
    return Response(content=cached[1], media_type="application/json")


def _plan_json(service: CemService, home_id: int) -> tuple[int, bytes]:
    """The latest plan's id and its JSON as the API serves it (runs once per new plan, in a
    thread of the API's interpreter)."""
    doc = service.store.latest_plan_document(home_id)
    if doc is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no plan yet")
    return doc.id, public_plan(doc).model_dump_json().encode()


def public_plan(doc: PlanDocument) -> PlanPublic:
    """The plan as the API and the web app show it, built from the stored JSON columns: no
    DataFrame round trip, which held the API interpreter's GIL for ~100 ms per new plan."""
    columns = [str(c) for c in doc.schedule["columns"]]
    slots = [
        {"slot_start": start, **{c: _json_value(v) for c, v in zip(columns, row, strict=True)}}
        for start, row in zip(doc.schedule["index"], doc.schedule["data"], strict=True)
    ]
    return PlanPublic.model_construct(  # our own stored data: already the right types
        id=doc.id,
        created_at=doc.created_at,
        trigger=doc.trigger,
        status=doc.status,
        slots=slots,
        totals=doc.totals.public(),
        violations=[ViolationPublic(**v.as_json()) for v in doc.violations],
        solver=doc.solver.as_json(),
    )


def _json_value(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


@router.get("/homes/{home_id}/history", response_model=History, responses=responses(HOME))
def history(
    home_id: HomeId,
    service: Service,
    hours: int = Query(default=24, ge=1, le=24 * 31),
) -> History:
    """Plans made and setpoints sent in the last ``hours``."""
    now = service.clock.now()
    since = now - timedelta(hours=hours)
    plans = service.store.plans_between(home_id, since, now + timedelta(seconds=1))
    return History(
        plans=[
            PlanSummary(
                id=p.id,
                created_at=p.created_at,
                trigger=p.trigger,
                status=p.status,
                planned_cost_gbp=p.totals.net_energy_cost_gbp,
            )
            for p in plans
        ],
        setpoints=[
            SetpointPublic(
                device=s.device_name,
                power_kw=s.power_kw,
                reason=s.reason,
                kind=s.kind,
                follow_site=s.follow_site,
                store_surplus=s.store_surplus,
                status=s.status,
                effective_at=s.effective_at,
                applied_at=s.applied_at,
                attempts=s.attempts,
                last_error=s.last_error,
            )
            for s in service.store.setpoints(home_id, since)
        ],
    )


@router.get("/homes/{home_id}/savings", response_model=list[SavingsDay], responses=responses(HOME))
def savings(
    home_id: HomeId, service: Service, days: int = Query(default=7, ge=1, le=366)
) -> list[SavingsDay]:
    """Per local day: the cost and carbon of the slots each plan ran (from the plan's start to
    the next plan), against the rule-based baseline for the same slots."""
    now = service.clock.now()
    plans = service.store.plans_between(home_id, now - timedelta(days=days), now + timedelta(1))
    return executed_savings(plans, now)


def executed_savings(plans: list[StoredPlan], now: datetime) -> list[SavingsDay]:
    sums: dict[date, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    for i, plan in enumerate(plans):
        until = plans[i + 1].created_at if i + 1 < len(plans) else now
        sched = plan.schedule
        base_cost = plan.totals.baseline_cost_gbp_by_slot
        base_carbon = plan.totals.baseline_carbon_kg_by_slot
        step = sched.index[1] - sched.index[0] if len(sched) > 1 else timedelta(minutes=30)
        for t, start in enumerate(sched.index):
            # The part of this slot that ran under this plan.
            lo = max(start.to_pydatetime(), plan.created_at)
            hi = min((start + step).to_pydatetime(), until)
            if hi <= lo:
                if start.to_pydatetime() >= until:
                    break
                continue
            share = (hi - lo) / step
            acc = sums[start.tz_convert(UK).date()]
            acc[0] += share * float(sched["cost_gbp"].iloc[t])
            acc[1] += share * float(base_cost[t]) if t < len(base_cost) else 0.0
            acc[2] += share * float(sched["carbon_kg"].iloc[t])
            acc[3] += share * float(base_carbon[t]) if t < len(base_carbon) else 0.0
    return [
        SavingsDay(
            day=day,
            cost_gbp=round(v[0], 4),
            baseline_cost_gbp=round(v[1], 4),
            savings_gbp=round(v[1] - v[0], 4),
            carbon_kg=round(v[2], 4),
            baseline_carbon_kg=round(v[3], 4),
        )
        for day, v in sorted(sums.items())
    ]


@router.get("/homes/{home_id}/flexibility", responses=responses(HOME, 503))
async def flexibility(home_id: HomeId, service: Service) -> dict[str, object]:
    """PAS 1878 power profiles of the current plan: intended operation (IO), least delayed (LD)
    and most delayed (MD), per slot: the grid power and each device's power [kW]."""
    profiles = await service.controller(home_id).flexibility()
    if profiles is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no plan yet")
    out: dict[str, object] = {"plan_id": profiles.plan_id}
    for name in ("intended", "least_delayed", "most_delayed"):
        frame = getattr(profiles, name).round(3)
        out[name] = {
            "slot_start": [t.isoformat() for t in frame.index],
            **{c: frame[c].tolist() for c in frame.columns},
        }
    return out
