"""What a cohort import limit would do to the homes' current plans (admin; docs/cohort.md): the
homes' last problems coordinated under the limit (:func:`hems.cohort.coordination.coordinate`),
each round's plans on the planner backend (:mod:`hems.cohort_rounds`). A what-if: the plans
in force, their dispatch and the store are unchanged.

Only the homes whose last problem is on the grid most of them share are coordinated (a home
planned in another slot is left out and named). Each home plans with its own extensions (its
peak-hour and pause rules), as the service plans it. A home whose plan in it fails stops it
unconverged and is named."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, Field

from hems.cohort.coordination import Coordination
from hems.cohort.measures import CohortMeasures
from hems.cohort_rounds import BackendRounds, coordinate_on
from hems.service import CemService
from hems.usecases.finite import FiniteFloat
from optimiser import ModelExtension, Problem, SolverOptions


class CoordinationIn(BaseModel):
    limit_kw: FiniteFloat = Field(gt=0, description="The cohort's import limit in every slot [kW].")


class CoordinatedMeasures(BaseModel):
    peak_import_kw: float
    peak_slot_start: datetime | None
    herding_index: float | None
    coincidence_factor: float | None


class CoordinationPublic(BaseModel):
    limit_kw: float
    homes: list[int] = Field(description="The homes coordinated.")
    left_out: list[int] = Field(description="Homes without a plan, or planned on another grid.")
    failed: list[int] = Field(
        default_factory=list,
        description="Homes whose plan in the coordination failed (it stopped unconverged).",
    )
    converged: bool
    iterations: int
    plans_made: int
    before: CoordinatedMeasures | None
    after: CoordinatedMeasures | None
    bill_before_gbp: float
    bill_after_gbp: float
    cost_of_limit_gbp: float
    ev_shortfall_kwh_before: float
    ev_shortfall_kwh_after: float
    over_limit_kw: float
    unreachable_slots: int


async def coordination(service: CemService, limit_kw: float) -> CoordinationPublic:
    """The homes' last problems coordinated under ``limit_kw`` (see the module)."""
    problems: dict[int, tuple[Problem, Sequence[ModelExtension]]] = {}
    without: list[int] = []
    for home_id in service.store.home_ids():
        ctl = service.controllers.get(home_id)
        if ctl is None or ctl.last_problem is None:
            without.append(home_id)
        else:
            problems[home_id] = (ctl.last_problem[1], tuple(ctl.last_problem[2]))
    grids = Counter(p.grid for p, _ext in problems.values())
    common = grids.most_common(1)[0][0] if grids else None
    chosen = {h: pe for h, pe in problems.items() if pe[0].grid == common}
    left_out = sorted([*without, *(h for h in problems if h not in chosen)])
    rounds = BackendRounds(
        planner=service.planner,
        loop=None,
        home_ids=list(chosen),
        extensions=[ext for _p, ext in chosen.values()],
        options=SolverOptions(time_limit_s=service.settings.solver_time_limit_s),
        model_shapes=service.settings.planner_model_cache_shapes,
    )
    result = await coordinate_on(rounds, [p for p, _ext in chosen.values()], limit_kw)
    starts = [] if common is None else [common.slot_start(t) for t in range(common.n_steps)]
    public = _public(result, limit_kw, sorted(chosen), left_out, starts)
    public.failed = sorted(rounds.home_ids[h] for h in rounds.failures)
    return public


def _measures(m: CohortMeasures, starts: list[datetime]) -> CoordinatedMeasures | None:
    if m.homes == 0:
        return None
    return CoordinatedMeasures(
        peak_import_kw=round(m.peak_import_kw, 3),
        peak_slot_start=None if m.peak_slot is None else starts[m.peak_slot],
        herding_index=None if m.herding_index is None else round(m.herding_index, 4),
        coincidence_factor=None if m.coincidence_factor is None else round(m.coincidence_factor, 4),
    )


def _public(
    r: Coordination, limit_kw: float, homes: list[int], left_out: list[int], starts: list[datetime]
) -> CoordinationPublic:
    return CoordinationPublic(
        limit_kw=limit_kw,
        homes=homes,
        left_out=left_out,
        converged=r.converged,
        iterations=r.iterations,
        plans_made=r.plans_made,
        before=_measures(r.before, starts),
        after=_measures(r.after, starts),
        bill_before_gbp=round(r.bill_before_gbp, 4),
        bill_after_gbp=round(r.bill_after_gbp, 4),
        cost_of_limit_gbp=round(r.cost_of_limit_gbp, 4),
        ev_shortfall_kwh_before=round(float(r.ev_shortfall_kwh[0]), 3),
        ev_shortfall_kwh_after=round(float(r.ev_shortfall_kwh[1]), 3),
        over_limit_kw=round(r.over_limit_kw, 3),
        unreachable_slots=len(r.unreachable_slots),
    )
