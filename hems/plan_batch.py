"""A slot's re-plans of every home as one batch with a deadline.

The scheduler's cycle (:meth:`hems.service.CemService.cycle_all`) hands every home's pass to
:func:`run_batch`: the homes' plans go to the planner backend together (on a Dask cluster they
spread over its workers), and each must come back within ``plan_deadline_s`` of the slot's
start (a batch that starts late, at start-up mid-slot, gets at least half of that from its own
start). A plan late for its slot is cancelled and flagged, and the home keeps its last
plan, dispatched for the new slot; a home whose pass raises (broken data, a plan that kills its
workers) is flagged and the others go on. The flags (:class:`hems.planner_backend.PlanFlags`)
are what ``/ready`` and ``GET /admin/planner`` show.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

from hems.controller import HomeController
from hems.domain.home import HomeSpec
from hems.planner_backend import BatchReport, FlagKind, PlanFlags
from hems.planner_pool import PlanFailedError, PlanLateError, PlanningUnavailableError
from kernel.timegrid import TimeGrid

log = logging.getLogger(__name__)


def slot_start(now: datetime, slot_minutes: int) -> datetime:
    """The start of the slot ``now`` is in (UTC)."""
    return TimeGrid.starting_at(now, step_minutes=slot_minutes, horizon_hours=1).start_utc


def batch_budget_s(now: datetime, slot_minutes: int, allowance_s: float) -> float:
    """Seconds from ``now`` to the batch's deadline: ``allowance_s`` after the slot's start,
    but at least half of it from ``now`` (a batch that starts late, at start-up mid-slot or
    after a long pass, is not late before it could plan)."""
    on_time = slot_start(now, slot_minutes) + timedelta(seconds=allowance_s)
    return max((on_time - now).total_seconds(), allowance_s / 2)


async def run_batch(
    controllers: Sequence[HomeController],
    now: datetime,
    allowance_s: float,
    flags: PlanFlags,
    on_unavailable: Callable[[int, PlanningUnavailableError], None],
    read: Mapping[int, HomeSpec] | None = None,
) -> BatchReport:
    """Every home's pass (read, re-plan if due, dispatch) side by side, the plans due by the
    deadline; each home's failure is flagged and stops no other. ``on_unavailable``: told of a
    home whose plan could not be made because planning was down (re-planned when it is back).
    ``read``: the records of the homes whose devices were just read (not read again)."""
    read = read or {}
    minutes = controllers[0].settings.slot_minutes if controllers else 30
    budget_s = batch_budget_s(now, minutes, allowance_s)
    started = time.monotonic()
    deadline = started + budget_s

    async def one(ctl: HomeController) -> FlagKind | None:
        kind: FlagKind = "failed"
        try:
            await ctl.cycle(deadline_s=deadline, read=read.get(ctl.home_id))
            return None
        except PlanLateError as exc:
            kind = "late"
            flags.flag(ctl.home_id, kind, str(exc), now)
        except PlanFailedError as exc:  # logged and audited by the controller
            flags.flag(ctl.home_id, kind, str(exc), now)
        except PlanningUnavailableError as exc:
            log.warning("home %s: not planned: %s", ctl.home_id, exc)
            flags.flag(ctl.home_id, kind, f"planning unavailable: {exc}", now)
            on_unavailable(ctl.home_id, exc)
        except Exception as exc:
            log.exception("home %s: cycle failed; it will run again at the next slot", ctl.home_id)
            flags.flag(ctl.home_id, kind, f"{type(exc).__name__}: {exc}", now)
        try:  # the last plan, in the new slot
            await ctl.dispatch()
        except Exception:
            log.exception("home %s: its last plan could not be dispatched", ctl.home_id)
        return kind

    kinds = await asyncio.gather(*(one(c) for c in controllers))
    report = BatchReport(
        slot_start_utc=slot_start(now, minutes),
        deadline_s=budget_s,
        homes=len(controllers),
        late=kinds.count("late"),
        failed=kinds.count("failed"),
        took_s=time.monotonic() - started,
    )
    flags.last_batch = report
    if report.late or report.failed:
        log.warning(
            "slot %s: %d of %d homes late for the slot, %d failed (they keep their last plans)",
            report.slot_start_utc,
            report.late,
            report.homes,
            report.failed,
        )
    return report
