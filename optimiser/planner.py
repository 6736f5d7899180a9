"""Plan a home: build the model, solve it with HiGHS, check it, and never fail.

Binaries only where they matter
-------------------------------
A home model needs binaries for three things: no simultaneous import and export, no
simultaneous charge and discharge of a battery (or V2G car), and devices that cannot run below a
minimum power (EV chargers, some heat pumps, on/off units). Most of them never bind, and they
cost most of the solve time (``docs/performance.md``). The planner therefore:

1. starts with binaries only in the slots where prices can make them bind: import/export where
   export pays at least the (carbon-weighted) import price, charge/discharge where importing is
   free or paid, and both wherever a DSR request asks for export or a setpoint;
2. solves, then checks the solution for each condition the missing binaries would have
   enforced (simultaneous flows, a power between 0 and a device's minimum);
3. if a check fails, adds binaries in the failing slots (in all the device's slots for a
   minimum-power failure, or on a second failure of the same device) and solves again; after
   ``MAX_ROUNDS`` it adds them everywhere. The binaries and their rows are added to the solved
   Pyomo model and appended to the HiGHS model in memory (no rebuild, no re-reading), and each
   new binary starts from the mode the last solution used.

Each round is solved by :class:`optimiser.round_solver.RoundSolver`: the LP relaxation gives a
lower bound, the modes its powers imply are fixed and the LP solved again, and HiGHS's branch
and bound runs only when that solution is not provably within the gap of the bound (it then
starts from it). A later round fixes the last solution's modes and compares against the best
bound so far, so a second round that only repairs a charger's minimum usually costs one LP.

Because the problem with fewer binaries is a relaxation of the full problem, an optimal
solution of it that passes every check is optimal for the full problem too.

Failure modes
-------------
* the time limit with a solution: the best solution, status ``TIME_LIMIT``; a round that may
  be followed by another gets at most ``ROUND_TIME_SHARE`` of the time left, so a round stopped
  with a solution that fails a check is repaired by the next one (starting from its modes)
  instead of leaving no time and ending in the rule-based plan; a round stopped there with a
  solution that passes every check is run on for the time left (:meth:`RoundSolver.resume`),
  so the budget (the whole plan's) is used, not left;
* no solution (limit, infeasible, numerical trouble, a solver error): the rule-based plan
  (:mod:`optimiser.fallback`), status ``FALLBACK``, with the solver's termination in
  ``solver.termination`` (a :class:`~optimiser.termination.SolveStatus`) and in words in
  ``solver.message``.
* a hard comfort band (``Problem.hard_comfort``) that cannot be held: the same, with
  ``solver.message`` saying which heat pump, when and why (:mod:`optimiser.hard_comfort`) and
  ``solver.termination`` ``INFEASIBLE`` when that cause alone proves it.
Bad input raises :class:`ProblemError` when the :class:`Problem` is built, before any solve.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, replace

import numpy as np
import pyomo.environ as pyo

from kernel.dsr import DsrKind
from optimiser.asset_kind import FLOW_TOL_KW
from optimiser.context import BinarySlots, ModelExtension
from optimiser.extensions import replayed_extensions_cost_gbp
from optimiser.fallback import rule_based_dispatch
from optimiser.hard_comfort import hard_comfort_infeasibility
from optimiser.highs_backend import HighsModel, SolveOutcome, SolverOptions, SolveStatus
from optimiser.mode_memory import ModeMemory
from optimiser.model import GRID_BINARY_KEY, BuiltModel, build_model
from optimiser.model_cache import ModelCache, PersistentModel
from optimiser.plan import Dispatch, Plan, PlanStatus, SolverReport, assemble_plan
from optimiser.problem import Problem
from optimiser.registry import ASSET_KINDS
from optimiser.round_solver import RoundSolver
from optimiser.var_values import load_values, slot_values_or_zero, unset_variables

log = logging.getLogger(__name__)

MAX_ROUNDS = 4
ROUND_TIME_SHARE = 0.7
"""A round that may be followed by another gets at most this share of the time left, so a
round stopped at its limit with a solution that fails a check leaves the next round time to
repair it from that solution's modes (rounds usually take milliseconds; this matters on hard
models, e.g. two days of negative prices, where a first round can use the whole limit)."""


MIN_RESUME_S = 0.05
"""A round that stopped at its time share with a solution that passes every check is run on
for the time left when more than this is left (the plan's budget is there to be used)."""


def _resume(
    problem: Problem,
    built: BuiltModel,
    solver: RoundSolver,
    outcome: SolveOutcome,
    left_s: float,
) -> tuple[SolveOutcome, Dispatch]:
    """The last round's MIP run on for ``left_s`` from its solution (which passed every
    check); its solution when that also passes them, else ``outcome``'s, restored."""
    before = solver.highs.current_values()
    resumed = solver.resume(left_s, outcome)
    dispatch = read_dispatch(problem, built)
    if failed_checks(problem, built, dispatch):
        load_values(solver.highs.columns, before.tolist())
        return replace(outcome, solve_s=resumed.solve_s), read_dispatch(problem, built)
    return resumed, dispatch


def initial_binary_slots(problem: Problem) -> BinarySlots:
    """Slots where prices or DSR requests can make a no-simultaneity binary bind."""
    grid = problem.grid
    price_in = problem.effective_import_price
    export_pays = set(np.flatnonzero(problem.export_price >= price_in - 1e-12).tolist())
    burn_pays = set(np.flatnonzero(price_in <= 1e-12).tolist())
    dsr_slots: set[int] = set()
    for req in problem.dsr_requests:
        if req.kind in (DsrKind.EXPORT_FLOOR, DsrKind.SETPOINT):
            dsr_slots.update(req.slots(grid))
    slots = BinarySlots()
    if problem.export_limit_kw > 0:
        slots = slots.with_added(GRID_BINARY_KEY, export_pays | dsr_slots)
    storage = burn_pays | dsr_slots
    for kind in ASSET_KINDS:
        for asset in kind.assets(problem):
            for key, key_slots in kind.initial_binaries(problem, asset, storage).items():
                slots = slots.with_added(key, key_slots)
    if any(not hp.modulating for hp in problem.heat_pumps):
        # An on/off unit's relaxation runs it at part power, so its binaries come in the second
        # round anyway, and its search runs to the time limit: a charger's minimum then failed
        # a check after it (a third round, or the resumed search's result thrown away; the
        # 200 L tank home of seed 1 ended 4.2 % above its best known). All of them at once.
        for key in minimum_power_keys(problem):
            slots = slots.with_added(key, all_candidate_slots(problem, key))
    return slots


def read_dispatch(problem: Problem, built: BuiltModel) -> Dispatch:
    """The decisions of a solved model."""
    n = problem.grid.n_steps
    d = Dispatch()
    for kind in ASSET_KINDS:
        decisions = d.of(kind.field)
        for asset in kind.assets(problem):
            decisions[asset.name] = kind.read(built.blocks[asset.name], n)
    return d


def failed_checks(problem: Problem, built: BuiltModel, dispatch: Dispatch) -> dict[str, set[int]]:
    """Slots, per binary key, where the solution does what a missing binary would forbid."""
    out: dict[str, set[int]] = {}
    m = built.model
    n = problem.grid.n_steps
    imp = slot_values_or_zero(m.import_kw, n)
    exp = slot_values_or_zero(m.export_kw, n)
    both = set(np.flatnonzero((imp > FLOW_TOL_KW) & (exp > FLOW_TOL_KW)).tolist())
    if both - built.context.binary_slots.get(GRID_BINARY_KEY):
        out[GRID_BINARY_KEY] = both
    for kind in ASSET_KINDS:
        decisions = dispatch.of(kind.field)
        for asset in kind.assets(problem):
            out.update(kind.failed_checks(problem, asset, decisions[asset.name]))
    return out


def all_candidate_slots(problem: Problem, key: str) -> set[int]:
    """Every slot where ``key``'s binary could exist (the escalation step)."""
    for kind in ASSET_KINDS:
        for asset in kind.assets(problem):
            slots = kind.candidate_slots(problem, asset, key)
            if slots is not None:
                return slots
    return set(range(problem.grid.n_steps))


def minimum_power_keys(problem: Problem) -> set[str]:
    """Binary keys whose failures get binaries in all their candidate slots at once."""
    return {
        k for kind in ASSET_KINDS for a in kind.assets(problem) for k in kind.minimum_power_keys(a)
    }


def solve_round(solver: RoundSolver, time_limit_s: float) -> SolveOutcome:
    """One solver round (a seam for tests that simulate solver failures)."""
    return solver.solve(time_limit_s)


def optimise(
    problem: Problem,
    options: SolverOptions | None = None,
    extensions: Sequence[ModelExtension] = (),
    memory: ModeMemory | None = None,
    models: ModelCache | None = None,
) -> Plan:
    """Plan ``problem``. Never raises for an unmet wish, a solver limit or a solver error.

    ``memory`` (one per home, :class:`~optimiser.mode_memory.ModeMemory`): the modes the home's
    last plan chose are tried first, and the memory is rewritten from this plan's (cleared when
    it falls back). It changes where the search starts, never what is optimal.

    ``models`` (one per process, :class:`~optimiser.model_cache.ModelCache`): a home of a shape
    planned before re-uses that model with the new numbers instead of building one; the plan
    is the same to the solver's gap."""
    started = time.perf_counter()
    options = options or SolverOptions()
    binaries = initial_binary_slots(problem)
    held = None if models is None else models.lease(problem, binaries, options, extensions)
    try:
        plan = _plan(problem, options, extensions, memory, started, (binaries, held))
    finally:
        if models is not None and held is not None:
            models.release(held)  # a plan that raised leaves it to be restored by the next
    # measured once the model and HiGHS's copy are freed (a few ms on a large home), so the
    # report's parts add up to the call's wall time
    r = plan.solver
    build_s = max(0.0, time.perf_counter() - started - r.solve_s - r.extract_s)
    return replace(plan, solver=replace(r, build_s=build_s))


def _plan(
    problem: Problem,
    options: SolverOptions,
    extensions: Sequence[ModelExtension],
    memory: ModeMemory | None,
    started: float,
    model: tuple[BinarySlots, PersistentModel | None],
) -> Plan:
    """:func:`optimise`'s work; its report's ``build_s`` is counted by the caller. ``model``:
    the initial binaries and the persistent model prepared with them (None: build one)."""
    binaries, held = model
    solve_s = 0.0
    failed_before: set[str] = set()
    minimum_power = minimum_power_keys(problem)
    outcome: SolveOutcome | None = None
    dispatch: Dispatch | None = None
    rounds = 0
    try:
        if held is None:
            built = build_model(problem, binaries, extensions)
            highs = HighsModel(built.model, options)
        else:  # every variable is a column there: none is left without a value
            built, highs = held.built, held.highs
        hints = memory.hints(built.context) if memory is not None else []
        solver = RoundSolver(highs, built.context, hints=hints)
        for rounds in range(1, MAX_ROUNDS + 2):
            if rounds > 1:
                highs.update()  # only the binaries and rows added since the last round
                if rounds == 2:
                    highs.set_options(options.later_round_highs_options)
            remaining = options.time_limit_s - (time.perf_counter() - started)
            last = rounds == MAX_ROUNDS + 1
            outcome = solve_round(solver, remaining if last else remaining * ROUND_TIME_SHARE)
            solve_s += outcome.solve_s
            if not outcome.status.has_solution:
                dispatch = None
                break
            if rounds == 1 and held is None:  # later rounds only add binaries, in own rows
                _fill_unused_variables(built.model)
            dispatch = read_dispatch(problem, built)
            failed = failed_checks(problem, built, dispatch)
            if not failed:
                left_s = options.time_limit_s - (time.perf_counter() - started)
                if outcome.status is SolveStatus.TIME_LIMIT and left_s > MIN_RESUME_S:
                    outcome, dispatch = _resume(problem, built, solver, outcome, left_s)
                    solve_s += outcome.solve_s
                break
            dispatch = None  # a solution that fails a check is never returned
            stopped = outcome.status is SolveStatus.TIME_LIMIT
            for key, slots in failed.items():
                # A charger's or heat pump's sub-minimum remainder moves to the next slot when
                # one slot gets a binary, so those devices get binaries in all their slots at once.
                if key in minimum_power or stopped or rounds >= MAX_ROUNDS or key in failed_before:
                    slots = all_candidate_slots(problem, key)
                # added to the solved model, each new binary starting from the solution's mode
                built.context.add_binaries(key, slots)
            failed_before |= set(failed)
    except Exception as exc:  # a solver or translation error must not stop the service loop
        log.exception("optimiser failed; using the rule-based plan")
        why, ended = f"solver error: {exc!r}", SolveStatus.ERROR
        return _fallback(problem, options, memory, why, ended, (solve_s, rounds))
    if dispatch is None or outcome is None:
        why = f"no solution ({outcome.highs_status if outcome else 'no solve'})"
        ended = _termination_without_plan(outcome)
        if problem.hard_comfort and ended in _INFEASIBLE:
            cause, proven = hard_comfort_infeasibility(problem)
            why = f"the hard comfort band cannot be held: {cause}"
            ended = SolveStatus.INFEASIBLE if proven else ended
        return _fallback(problem, options, memory, why, ended, (solve_s, rounds))
    if memory is not None:
        memory.remember(built.context)
    plan = _solved_plan(problem, options, outcome, dispatch, (solve_s, rounds))
    terms_gbp = replayed_extensions_cost_gbp(extensions, dispatch, problem.grid.step_hours)
    return plan if terms_gbp is None else _replayed(plan, options, terms_gbp)


_INFEASIBLE = frozenset({SolveStatus.INFEASIBLE, SolveStatus.INFEASIBLE_OR_UNBOUNDED})


def _termination_without_plan(outcome: SolveOutcome | None) -> SolveStatus:
    """The termination reported for a plan that fell back: the last round's, or
    ``NO_SOLUTION`` when that round had a solution that failed a check (unusable)."""
    if outcome is not None and not outcome.status.has_solution:
        return outcome.status
    return SolveStatus.NO_SOLUTION


def _solved_plan(
    problem: Problem,
    options: SolverOptions,
    outcome: SolveOutcome,
    dispatch: Dispatch,
    effort: tuple[float, int],
) -> Plan:
    """The plan of a solution that passed every check; ``effort`` is (solve_s, rounds)."""
    t_extract = time.perf_counter()
    solve_s, rounds = effort
    status = PlanStatus.OPTIMAL if outcome.status is SolveStatus.OPTIMAL else PlanStatus.TIME_LIMIT
    report = SolverReport(
        status=status,
        message=outcome.highs_status,
        objective_gbp=outcome.objective,
        bound_gbp=outcome.bound,
        gap=outcome.gap,
        build_s=0.0,  # counted by optimise()
        solve_s=solve_s,
        extract_s=0.0,
        rounds=rounds,
        n_binaries=outcome.n_integer,
        n_columns=outcome.n_columns,
        n_rows=outcome.n_rows,
        settings=options_settings(options),
        termination=outcome.status,
    )
    plan = assemble_plan(problem, dispatch, report)
    extract_s = time.perf_counter() - t_extract
    return replace(plan, solver=replace(plan.solver, extract_s=extract_s))


REPLAY_TOLERANCE_GBP = 1e-4
"""How far a plan's replayed cost may be from the solver's objective for it [GBP]."""


def _replayed(plan: Plan, options: SolverOptions, terms_gbp: float) -> Plan:
    """``plan`` with the solver's objective checked against its dispatch's replayed cost
    (``plan.totals`` plus the extensions' replayed terms ``terms_gbp``, e.g. the service's
    peak hours; skipped for an extension that cannot replay its terms). They must agree; when
    they do not (HiGHS once handed back its MIP start's values with the optimum's objective,
    :mod:`optimiser.mip_start_guard`), the replay is reported, with a warning and the reason in
    the message, and a plan it leaves beyond the gap of the bound is no longer called
    optimal."""
    r = plan.solver
    replayed = plan.totals.objective_gbp + terms_gbp
    if abs(replayed - r.objective_gbp) <= REPLAY_TOLERANCE_GBP:
        return plan
    log.warning(
        "plan for %s: the solver's objective %.6f GBP, its dispatch replays at %.6f GBP",
        plan.schedule.index[0].isoformat(),
        r.objective_gbp,
        replayed,
    )
    slack = replayed - r.bound_gbp
    within = slack <= max(options.mip_abs_gap, options.mip_rel_gap * abs(replayed))
    status = r.status if within else PlanStatus.TIME_LIMIT
    message = f"{r.message}; its dispatch replays at {replayed:.6g} GBP, not {r.objective_gbp:.6g}"
    gap = slack / max(abs(replayed), 1e-9)
    return replace(
        plan,
        solver=replace(r, status=status, message=message, objective_gbp=replayed, gap=gap),
    )


@functools.lru_cache(maxsize=16)
def _settings(options: SolverOptions) -> dict[str, object]:
    return asdict(options)


def options_settings(options: SolverOptions) -> dict[str, object]:
    """``asdict(options)`` for a plan's report, a copy of one made once per options
    (``asdict`` copied the nested HiGHS options anew for every plan, ~0.1 ms)."""
    return dict(_settings(options))


def _fill_unused_variables(model: pyo.ConcreteModel) -> None:
    """Variables the translator eliminated (in no constraint) have no value: take their bound
    nearest zero. Each variable component's data are walked directly (:func:`unset_variables`):
    Pyomo's ``component_data_objects`` took ~0.5 ms of a T=96 home's plan to find none."""
    for var in unset_variables(model):
        lb = var.lb if var.lb is not None else 0.0
        var.set_value(
            max(lb, 0.0) if var.ub is None else min(max(lb, 0.0), var.ub), skip_validation=True
        )


def _fallback(
    problem: Problem,
    options: SolverOptions,
    memory: ModeMemory | None,
    why: str,
    termination: SolveStatus,
    effort: tuple[float, int],
) -> Plan:
    """The rule-based plan, reported with why the solve gave none; clears ``memory``.
    ``effort`` is (solve_s, rounds)."""
    if memory is not None:
        memory.clear()
    t0 = time.perf_counter()
    solve_s, rounds = effort
    dispatch = rule_based_dispatch(problem)
    report = SolverReport(
        status=PlanStatus.FALLBACK,
        message=f"rule-based plan: {why}",
        objective_gbp=float("nan"),
        bound_gbp=float("nan"),
        gap=float("nan"),
        build_s=0.0,  # counted by optimise()
        solve_s=solve_s,
        extract_s=0.0,
        rounds=rounds,
        n_binaries=0,
        n_columns=0,
        n_rows=0,
        settings=options_settings(options),
        termination=termination,
    )
    plan = assemble_plan(problem, dispatch, report)
    plan = replace(plan, solver=replace(plan.solver, extract_s=time.perf_counter() - t0))
    log.warning(
        "plan for %s is the rule-based fallback: %s", problem.grid.start_utc.isoformat(), why
    )
    return plan
