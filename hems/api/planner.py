"""The planner's health for the operator (admin): where plans run, the last slot's batch and
each home whose plans were late for their slot or failed (:mod:`hems.plan_batch`)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from hems.api.auth import Admin, Service
from hems.api.errors import ADMIN, responses
from hems.usecases.health import planner_summary

router = APIRouter(tags=["planner"])


class BatchOut(BaseModel):
    slot_start_utc: datetime
    deadline_s: float
    homes: int
    late: int
    failed: int
    took_s: float


class HomeFlagOut(BaseModel):
    home_id: int
    late: int
    failed: int
    last_kind: Literal["late", "failed"]
    last_reason: str
    last_at_utc: datetime | None


class WorkerModelsOut(BaseModel):
    """A planner worker's kept models (``optimiser.ModelCache``) since it started."""

    worker: str
    max_models: int
    models: int
    hits: int
    misses: int
    uncovered: int
    not_kept: int


class PlannerOut(BaseModel):
    backend: str
    fallback: str | None
    last_batch: BatchOut | None
    homes: list[HomeFlagOut]
    workers: list[WorkerModelsOut]


@router.get("/admin/planner", responses=responses(*ADMIN))
def planner(service: Service, _principal: Admin) -> PlannerOut:
    """Where plans run (``fallback`` says why on this machine when a cluster was given), the
    last slot's batch, and each home flagged since the service started: how many of its plans
    were late for their slot or failed, and the last reason; ``workers``: on a cluster, each
    worker's kept models and how many plans hit them (none listed for the local pool, whose
    processes cannot be asked one by one, nor for a worker yet to plan)."""
    summary = planner_summary(service)
    models = {} if service.planner is None else service.planner.worker_models()
    batch = service.plan_flags.last_batch
    return PlannerOut(
        backend=str(summary["backend"]),
        fallback=None if summary["fallback"] is None else str(summary["fallback"]),
        last_batch=None if batch is None else BatchOut.model_validate(batch, from_attributes=True),
        homes=[
            HomeFlagOut(
                home_id=home_id,
                late=flag.late,
                failed=flag.failed,
                last_kind=flag.last_kind,
                last_reason=flag.last_reason,
                last_at_utc=flag.last_at_utc,
            )
            for home_id, flag in sorted(service.plan_flags.homes().items())
        ],
        workers=[
            WorkerModelsOut(worker=worker, **asdict(stats))
            for worker, stats in sorted(models.items())
            if stats is not None
        ],
    )
