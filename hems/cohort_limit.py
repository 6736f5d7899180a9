"""A slot's batch under the cohort import limit the operator set (docs/cohort.md).

While a limit is set (``PUT /admin/cohort/limit``) and overlaps the planning horizon, the
slot's batch first coordinates the homes this process runs
(:func:`hems.cohort.coordination.coordinate` on each home's problem of this slot, without its
old share), under ``limit_kw x`` this replica's fraction of the cohort's homes in the slots of
the limit. Each home's share then becomes its ``IMPORT_CAP`` requests
(:attr:`hems.controller.HomeController.cohort_share`, kept for the re-plans between slots) and
the normal batch (:func:`hems.plan_batch.run_batch`) re-plans and dispatches every home with
it. A slot the coordination never shared gets shares too (each home its planned import plus an
even part of what is left), so a re-plan cannot move load into it unseen.

The coordination's rounds run on the planner backend (:mod:`hems.cohort_rounds`: each round
one batch, each home on its worker) and it has 60 % of the batch's time: when it does not
converge by then, or a home's plan in it fails or is late, each home keeps the shares of the
last coordination that converged (or, for its first, the ones reached) and is flagged with
the reason (the home whose plan failed: failed, the others late). When the limit is cleared
or has ended, the shares are dropped and the homes re-plan without them; a limit that begins
after the horizon changes nothing yet.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np

from hems.cohort.coordination import SHARE_EVENT_ID, CoordinationOptions, share_requests
from hems.cohort.measures import FloatArray, import_kw
from hems.cohort_rounds import BackendRounds, RoundFailure, coordinate_on
from hems.controller import HomeController
from hems.domain.home import HomeSpec
from hems.plan_batch import batch_budget_s, run_batch
from hems.planner_backend import BatchReport, PlanFlags
from hems.planner_pool import PlanningUnavailableError
from hems.problem_builder import build_problem
from hems.storage.cohort_limits import CohortLimit
from hems.storage.store import Store
from kernel.timegrid import TimeGrid
from optimiser import ModelExtension, Problem, SolverOptions

log = logging.getLogger(__name__)

COORDINATION_SHARE_OF_BUDGET = 0.6
"""The part of the batch's time the coordination may take; the re-plans have the rest."""


def limit_by_slot_kw(limit: CohortLimit, grid: TimeGrid, fraction: float) -> FloatArray:
    """``limit_kw x fraction`` in the grid's slots that start within the limit, ``inf`` else."""
    starts = [grid.slot_start(t) for t in range(grid.n_steps)]
    return np.array(
        [limit.limit_kw * fraction if limit.start <= s < limit.end else np.inf for s in starts]
    )


def full_shares(shares_kw: FloatArray, imports_kw: FloatArray, limit_kw: FloatArray) -> FloatArray:
    """``shares_kw`` (homes x slots) with the limited slots never shared given shares too: each
    home its import plus an even part of what the cohort leaves of the limit there."""
    n_homes = max(shares_kw.shape[0], 1)
    spare = np.clip(limit_kw - imports_kw.sum(axis=0), 0.0, None) / n_homes
    unshared = ~np.isfinite(shares_kw) & np.isfinite(limit_kw)[None, :]
    return np.where(unshared, imports_kw + spare[None, :], shares_kw)


async def cohort_batch(
    store: Store,
    controllers: Sequence[HomeController],
    now: datetime,
    allowance_s: float,
    flags: PlanFlags,
    on_unavailable: Callable[[int, PlanningUnavailableError], None],
    read: Mapping[int, HomeSpec] | None = None,
) -> BatchReport:
    """The slot's batch (:func:`hems.plan_batch.run_batch`; ``read``: the homes whose devices
    were just read), coordinated under the cohort limit when one is set and overlaps the
    horizon (see the module)."""
    limit = await asyncio.to_thread(store.cohort_limit)
    settings = controllers[0].settings if controllers else None
    if settings is None or limit is None or not _overlaps(limit, now, settings.horizon_hours):
        for ctl in controllers:
            if ctl.cohort_share:
                ctl.cohort_share = []
                ctl.request_replan("cohort limit cleared")
        return await run_batch(controllers, now, allowance_s, flags, on_unavailable, read)
    budget_s = batch_budget_s(now, settings.slot_minutes, allowance_s)
    deadline = time.monotonic() + COORDINATION_SHARE_OF_BUDGET * budget_s
    built = {ctl.home_id: await _built(ctl, now) for ctl in controllers}
    coordinated = [ctl for ctl in controllers if built[ctl.home_id] is not None]
    if coordinated:  # a home whose problem cannot be built keeps its shares (its plan fails)
        n_homes = max(len(await asyncio.to_thread(store.home_ids)), 1)
        problems = [b for ctl in coordinated if (b := built[ctl.home_id]) is not None]
        fraction = len(coordinated) / n_homes
        await _coordinate(coordinated, problems, limit, fraction, deadline, now, flags)
    return await run_batch(controllers, now, allowance_s, flags, on_unavailable, read)


async def _coordinate(
    controllers: Sequence[HomeController],
    built: Sequence[tuple[Problem, list[ModelExtension]]],
    limit: CohortLimit,
    fraction: float,
    deadline_s: float,
    now: datetime,
    flags: PlanFlags,
) -> None:
    """The homes' problems ``built`` coordinated under ``limit x fraction`` on the planner
    backend, their shares set in their controllers (see the module)."""
    settings = controllers[0].settings
    grid = built[0][0].grid
    limit_kw = limit_by_slot_kw(limit, grid, fraction)
    rounds = BackendRounds(
        planner=controllers[0].planner,
        loop=None,
        home_ids=[ctl.home_id for ctl in controllers],
        extensions=[ext for _p, ext in built],
        options=SolverOptions(time_limit_s=settings.solver_time_limit_s),
        model_shapes=settings.planner_model_cache_shapes,
        deadline_s=deadline_s,
    )
    options = CoordinationOptions(deadline_s=deadline_s)
    result = await coordinate_on(rounds, [p for p, _ext in built], limit_kw, options)
    imports = np.vstack([import_kw(p.schedule) for p in result.plans])
    shares = full_shares(result.shares_kw, imports, limit_kw)
    for h, ctl in enumerate(controllers):
        if result.converged or not ctl.cohort_share:
            ctl.cohort_share = list(share_requests(grid, shares[h], options.penalty_gbp_per_kwh))
        if not result.converged:
            _flag_unconverged(flags, ctl.home_id, rounds.failures.get(h), now)
        ctl.request_replan(f"cohort import limit from the operator ({limit.limit_kw:g} kW)")


async def _built(ctl: HomeController, now: datetime) -> tuple[Problem, list[ModelExtension]] | None:
    """The home's problem of this slot, or None (logged) when its data cannot make one."""
    try:
        return await asyncio.to_thread(_problem, ctl, now, await ctl.home())
    except Exception:
        log.exception("home %s: left out of the cohort's coordination", ctl.home_id)
        return None


def _overlaps(limit: CohortLimit, now: datetime, horizon_hours: float) -> bool:
    """Whether the limit holds in a slot of a plan made ``now``."""
    return limit.end > now and limit.start < now + timedelta(hours=horizon_hours)


def _problem(
    ctl: HomeController, now: datetime, home: HomeSpec
) -> tuple[Problem, list[ModelExtension]]:
    """The home's problem of this slot without its old share (the coordination shares anew)."""
    inputs = ctl.plan_inputs(now, home)
    kept = [r for r in inputs.dsr_requests if r.event_id != SHARE_EVENT_ID]
    return build_problem(replace(inputs, dsr_requests=kept))


def _flag_unconverged(
    flags: PlanFlags, home_id: int, failure: RoundFailure | None, now: datetime
) -> None:
    """A home of a coordination that did not converge: late (its shares kept), or how its own
    plan in it failed."""
    kept = "; last feasible shares kept"
    if failure is not None:
        reason = f"cohort limit: its plan in the coordination {failure.kind}: {failure.reason}"
        flags.flag(home_id, failure.kind, reason + kept, now)
    else:
        reason = "cohort limit: coordination did not converge by the deadline or a home's plan "
        flags.flag(home_id, "late", reason + "in it failed" + kept, now)
