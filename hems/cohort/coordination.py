"""Coordinating a cohort's plans under a cohort import limit by iterative capacity allocation
(docs/cohort.md).

A DNO constraint or a DSRSP's request gives the cohort an import limit ``L_t`` per slot. Each
home plans alone first (the uncoordinated plans). Then each round:

1. a slot whose cohort import is over ``L_t``, or a shared slot with capacity left while a
   home is held at its share there (imports within ``tolerance_kw / 2`` of it), is shared
   among the homes max-min fairly (:func:`hems.cohort.shares.fair_shares`): a held home
   counts as wanting more, another as wanting its planned import plus ``tolerance_kw``; no
   home gets less than its floor, the import it cannot avoid (base load net of PV);
2. a home re-plans through the normal optimiser when a share of its grew by more than
   ``tolerance_kw`` or its plan imports above a share, with each share as an ``IMPORT_CAP``
   DSR request over its slots (soft, priced at ``penalty_gbp_per_kwh``, far above energy
   prices, so a home exceeds its share only where physics or a costlier wish forbids less).
   A share that shrank but still holds the plan's import leaves that plan optimal: no
   re-plan, which is what stops capacity from being passed back and forth.

A slot once shared stays shared, so the shares of shared slots add up to their limit: when no
unshared slot is over its limit the cohort is within it. It converges when a round leaves no
slot over and no home to re-plan; it stops unconverged after ``max_iterations`` rounds or when
a slot stays over with no home to re-plan (a home cannot keep to its share), or when a home's
plan failed or came back late (``batch``: each round's plans made together, on the planner
backend in the service, :mod:`hems.cohort_rounds`). The limit's cost
is the cohort's bill (the homes' net energy cost) with it less without it, next to the EV
energy it leaves short of the wishes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from hems.cohort.measures import (
    CohortMeasures,
    FloatArray,
    cohort_measures,
    flexible_kw,
    flexible_names,
    import_kw,
)
from hems.cohort.shares import fair_shares
from kernel.dsr import DsrKind
from kernel.errors import ProblemError
from kernel.timegrid import TimeGrid
from optimiser import DsrRequest, Plan, Problem, optimise, rule_based_plan

RoundPlanner = Callable[[Sequence[int], Sequence[Problem]], Sequence[Plan | None]]
"""Plans one round: the homes (their indices) and their problems in, a plan per home out, or
None for a home whose plan failed or came back late (the coordination then stops)."""

SHARE_EVENT_ID = "cohort-share"
"""The ``event_id`` of the DSR requests that carry a home's shares."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CoordinationOptions:
    """How hard the coordination tries.

    Attributes:
        max_iterations: re-planning rounds at most, after the uncoordinated plans.
        tolerance_kw: a slot is over its limit, a home at its share, a share changed, by more
            than this [kW].
        penalty_gbp_per_kwh: the price of each kWh a home imports above its share.
        deadline_s: see the field.
    """

    max_iterations: int = 12
    tolerance_kw: float = 0.05
    penalty_gbp_per_kwh: float = 20.0
    deadline_s: float | None = None
    """A ``time.monotonic()`` after which no round starts (unconverged; a slot's batch)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Coordination:
    """The cohort's plans without and with the limit, and how they were reached."""

    limit_kw: FloatArray
    """The limit per slot (``inf``: none)."""
    uncoordinated: tuple[Plan, ...]
    plans: tuple[Plan, ...]
    shares_kw: FloatArray
    """Each home's share per slot, (homes, slots); ``inf`` where the slot was never shared."""
    iterations: int
    plans_made: int
    converged: bool
    peak_by_iteration_kw: tuple[float, ...]
    """The cohort's peak import after the uncoordinated plans and after each round."""
    unreachable_slots: tuple[int, ...]
    """Slots where the homes' floors alone exceed the limit (every home gets its floor)."""
    before: CohortMeasures
    after: CohortMeasures
    bill_before_gbp: float
    bill_after_gbp: float
    over_limit_kw: float
    """The cohort's largest import above the limit in any slot (0 within it)."""
    over_share_kw: float
    """The largest import of any home above its share in any slot (0 within them)."""
    ev_shortfall_kwh: tuple[float, float] = field(default=(0.0, 0.0))
    """The homes' EV energy short of their targets, without and with the limit."""
    failed_homes: tuple[int, ...] = ()
    """Homes (indices) whose plan failed or was late in the round the coordination stopped
    at; each counts with its plan of the round before (the first: its rule-based plan)."""

    @property
    def cost_of_limit_gbp(self) -> float:
        """The cohort's bill with the limit less without it [GBP]."""
        return self.bill_after_gbp - self.bill_before_gbp


def coordinate(
    problems: Sequence[Problem],
    limit_kw: float | Sequence[float] | FloatArray,
    *,
    planner: Callable[[Problem], Plan] = optimise,
    planners: Sequence[Callable[[Problem], Plan]] | None = None,
    options: CoordinationOptions | None = None,
    batch: RoundPlanner | None = None,
) -> Coordination:
    """Plan ``problems`` (one per home, all on the same grid) so their summed import stays
    within ``limit_kw`` (one value, or one per slot; ``inf`` for none). See the module.

    ``planner`` plans every home, one after another; ``planners``, one per home, instead (a
    home's model extensions, mode memory or kept model go with it); ``batch`` plans each
    round's homes together instead of both (:data:`RoundPlanner`)."""
    opts = options or CoordinationOptions()
    plan_round = batch if batch is not None else _one_by_one(problems, planner, planners)
    grid = _common_grid(problems)
    n_slots = 0 if grid is None else grid.n_steps
    limit = _limit(limit_kw, n_slots)
    tol = opts.tolerance_kw
    floors = _matrix([_floor_kw(p) for p in problems], n_slots)
    unreachable = floors.sum(axis=0) > limit + tol
    first = _planned(plan_round, range(len(problems)), problems)
    failed = [h for h, p in enumerate(first) if p is None]
    uncoordinated = [
        rule_based_plan(q) if p is None else p for p, q in zip(first, problems, strict=True)
    ]
    plans = list(uncoordinated)
    imports = _matrix([import_kw(p.schedule) for p in plans], n_slots)
    shares = np.full(imports.shape, np.inf)
    shared = np.zeros(n_slots, dtype=bool)
    peaks = [_peak(imports)]
    made, rounds, converged = len(plans) - len(failed), 0, False
    while rounds < opts.max_iterations and not failed:
        total = imports.sum(axis=0)
        short = np.array([_misses_wishes(p) for p in plans], dtype=bool)[:, None]
        held = np.isfinite(shares) & ((imports >= shares - tol / 2) | short)
        over = (total > limit + tol) & ~(unreachable & shared)
        idle = shared & (limit - total > tol) & held.any(axis=0)
        shared |= over
        wants = np.where(held, np.inf, imports + tol)
        new = shares.copy()
        for t in np.flatnonzero(over | idle):
            new[:, t] = fair_shares(float(limit[t]), floors[:, t], wants[:, t])
        replan = np.flatnonzero(_needs_replan(shares, new, imports, tol))
        shares = new
        if replan.size == 0:
            converged = not over.any()
            break
        if opts.deadline_s is not None and time.monotonic() > opts.deadline_s:
            break
        rounds += 1
        homes: list[int] = replan.tolist()
        capped = [with_shares(problems[h], shares[h], opts.penalty_gbp_per_kwh) for h in homes]
        failed = _replanned(plan_round(homes, capped), homes, plans, imports)
        made += len(homes) - len(failed)
        peaks.append(_peak(imports))
    return Coordination(
        limit_kw=limit,
        uncoordinated=tuple(uncoordinated),
        plans=tuple(plans),
        shares_kw=shares,
        iterations=rounds,
        plans_made=made,
        converged=converged,
        peak_by_iteration_kw=tuple(peaks),
        unreachable_slots=tuple(int(t) for t in np.flatnonzero(unreachable)),
        before=measures_of(problems, uncoordinated),
        after=measures_of(problems, plans),
        bill_before_gbp=sum(p.totals.net_energy_cost_gbp for p in uncoordinated),
        bill_after_gbp=sum(p.totals.net_energy_cost_gbp for p in plans),
        over_limit_kw=float(np.clip(imports.sum(axis=0) - limit, 0.0, None).max(initial=0.0)),
        over_share_kw=float(np.clip(imports - shares, 0.0, None).max(initial=0.0)),
        ev_shortfall_kwh=(
            sum(p.totals.ev_shortfall_kwh for p in uncoordinated),
            sum(p.totals.ev_shortfall_kwh for p in plans),
        ),
        failed_homes=tuple(failed),
    )


def measures_of(problems: Sequence[Problem], plans: Sequence[Plan]) -> CohortMeasures:
    """The cohort measures of plans of ``problems`` (same order)."""
    return cohort_measures(
        [import_kw(p.schedule) for p in plans],
        [flexible_kw(p.schedule, flexible_names(q)) for q, p in zip(problems, plans, strict=True)],
    )


def with_shares(problem: Problem, shares_kw: FloatArray, penalty_gbp_per_kwh: float) -> Problem:
    """``problem`` with an ``IMPORT_CAP`` request per run of equal finite shares."""
    requests = share_requests(problem.grid, shares_kw, penalty_gbp_per_kwh)
    return replace(problem, dsr_requests=(*problem.dsr_requests, *requests))


def share_requests(
    grid: TimeGrid, shares_kw: FloatArray, penalty_gbp_per_kwh: float
) -> tuple[DsrRequest, ...]:
    """An ``IMPORT_CAP`` request (``SHARE_EVENT_ID``) per run of equal finite shares."""
    requests: list[DsrRequest] = []
    t = 0
    while t < grid.n_steps:
        value = float(shares_kw[t])
        end = t + 1
        while end < grid.n_steps and float(shares_kw[end]) == value:
            end += 1
        if np.isfinite(value):
            requests.append(
                DsrRequest(
                    kind=DsrKind.IMPORT_CAP,
                    start_utc=grid.slot_start(t),
                    end_utc=grid.slot_start(end),
                    value_kw=max(value, 0.0),
                    penalty_gbp_per_kwh=penalty_gbp_per_kwh,
                    event_id=SHARE_EVENT_ID,
                )
            )
        t = end
    return tuple(requests)


def _one_by_one(
    problems: Sequence[Problem],
    planner: Callable[[Problem], Plan],
    planners: Sequence[Callable[[Problem], Plan]] | None,
) -> RoundPlanner:
    """A round planned one home after another in this thread."""
    plan_of = list(planners) if planners is not None else [planner] * len(problems)
    if len(plan_of) != len(problems):
        raise ProblemError("planners", f"needs one per home ({len(problems)}), got {len(plan_of)}")

    def plan_round(homes: Sequence[int], round_problems: Sequence[Problem]) -> list[Plan | None]:
        return [plan_of[h](p) for h, p in zip(homes, round_problems, strict=True)]

    return plan_round


def _replanned(
    new: Sequence[Plan | None], homes: list[int], plans: list[Plan], imports: FloatArray
) -> list[int]:
    """``plans`` and ``imports`` with the ``homes``' ``new`` plans; the homes whose plan did
    not come back (they count with their plan of the round before)."""
    if len(new) != len(homes):
        raise ProblemError("batch", f"needs a plan per home ({len(homes)}), got {len(new)}")
    failed = []
    for h, plan in zip(homes, new, strict=True):
        if plan is None:
            failed.append(h)
        else:
            plans[h] = plan
            imports[h] = import_kw(plan.schedule)
    return failed


def _planned(
    plan_round: RoundPlanner, homes: Sequence[int], problems: Sequence[Problem]
) -> list[Plan | None]:
    plans = list(plan_round(list(homes), list(problems)))
    if len(plans) != len(problems):
        raise ProblemError("batch", f"needs a plan per home ({len(problems)}), got {len(plans)}")
    return plans


def _common_grid(problems: Sequence[Problem]) -> TimeGrid | None:
    if not problems:
        return None
    grid = problems[0].grid
    for i, p in enumerate(problems[1:], start=1):
        if p.grid != grid:
            raise ProblemError(f"problems[{i}].grid", "every home must plan on the same grid")
    return grid


def _limit(limit_kw: float | Sequence[float] | FloatArray, n_slots: int) -> FloatArray:
    values = np.asarray(limit_kw, dtype=np.float64)
    if values.ndim == 0:
        values = np.full(n_slots, float(values))
    if values.shape != (n_slots,):
        raise ProblemError("limit_kw", f"needs one value or {n_slots}, got {values.size}")
    if np.isnan(values).any() or (values < 0).any():
        raise ProblemError("limit_kw", "must be >= 0 (inf for no limit)")
    return values


def _floor_kw(problem: Problem) -> FloatArray:
    """The import a home cannot avoid: its base load net of all its PV."""
    pv = sum((a.forecast for a in problem.pv), np.zeros(problem.grid.n_steps))
    return np.clip(problem.base_load - pv, 0.0, None)


def _matrix(rows: list[FloatArray], n_slots: int) -> FloatArray:
    return np.vstack(rows) if rows else np.zeros((0, n_slots))


def _peak(imports: FloatArray) -> float:
    return float(imports.sum(axis=0).max(initial=0.0))


def _misses_wishes(plan: Plan) -> bool:
    """Whether a plan leaves a car short or a room cold: such a home may need more of a slot
    than it imports there (a car charges at its charger's minimum power or not at all)."""
    t = plan.totals
    return bool(t.ev_shortfall_kwh > 1e-3 or t.comfort_violation_kelvin_hours > 1e-3)


def _needs_replan(old: FloatArray, new: FloatArray, imports: FloatArray, tol: float) -> FloatArray:
    """Per home: whether its plan must be made again under the ``new`` shares: a share grew by
    more than ``tol`` (it may use more) or its plan imports above a share. A share that shrank
    but still holds the plan's import leaves that plan optimal: no re-plan."""
    grown = np.where(np.isfinite(new), new, 0.0) - np.where(np.isfinite(old), old, np.inf) > tol
    broken = imports > new + 1e-6
    return np.asarray((grown | broken).any(axis=1))
