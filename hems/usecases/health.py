"""Whether the service can serve: the database answers, the planning loop runs, a plan can be
made."""

from __future__ import annotations

from hems.service import CemService
from hems.storage.health import database_answers


def not_ready_reason(service: CemService, *, scheduler_down: bool) -> str | None:
    """Why the service is not ready (``/ready`` answers 503 with it), or None.
    ``scheduler_down``: the planning loop should run and does not."""
    if not database_answers(service.store.engine):
        return "database unavailable"
    if scheduler_down:
        return "scheduler not running"
    planning = service.planning_unavailable()
    if planning is not None:
        return f"planning: {planning}"
    return None


def planner_summary(service: CemService) -> dict[str, object]:
    """Where plans run, why on this machine if a cluster was given, and how many homes were
    late or failed in the last slot's batch: what ``/ready`` shows anyone (no home named)."""
    health = None if service.planner is None else service.planner.health()
    batch = service.plan_flags.last_batch
    return {
        "backend": "thread" if health is None else health.backend,
        "fallback": None if health is None or not health.fallback else health.fallback,
        "homes_late": 0 if batch is None else batch.late,
        "homes_failed": 0 if batch is None else batch.failed,
    }
