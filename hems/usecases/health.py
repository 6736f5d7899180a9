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
