"""Hand a Pyomo model to HiGHS (highspy) and load the solution back.

Pyomo's ``LinearStandardFormCompiler`` turns the model into sparse matrices; this module passes
them to ``highspy.Highs.passModel`` and writes the column values back into the Pyomo variables.
It replaces Pyomo's own HiGHS interfaces: on a T=96 test model the standard-form compile took
34 ms where ``appsi``'s translate-and-solve took 152 ms (``docs/architecture.md``), and going
through highspy directly gives HiGHS's own status, dual bound, gap and time limit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler


@dataclass(frozen=True, slots=True, kw_only=True)
class SolverOptions:
    """HiGHS settings, recorded with every result.

    Attributes:
        time_limit_s: wall-clock limit for one plan [s], across all solver rounds.
        mip_rel_gap: relative MIP gap at which HiGHS stops (1e-4 = 0.01 %).
        threads: HiGHS threads (1 = one core per home; fleets parallelise across homes).
        random_seed: HiGHS's seed (solve times vary with it; results do not beyond the gap).
        presolve: ``"choose"``, ``"on"`` or ``"off"``.
        highs_options: further HiGHS options as ``(name, value)`` pairs, for analysts'
            experiments (e.g. ``(("mip_heuristic_run_rins", False),)``).
    """

    time_limit_s: float = 10.0
    mip_rel_gap: float = 1e-4
    threads: int = 1
    random_seed: int = 0
    presolve: str = "choose"
    highs_options: tuple[tuple[str, bool | int | float | str], ...] = ()


class SolveStatus(StrEnum):
    OPTIMAL = "optimal"
    TIME_LIMIT = "time_limit"  # stopped at the limit with a feasible solution
    NO_SOLUTION = "no_solution"  # stopped (limit, infeasible, error) without one


@dataclass(frozen=True, slots=True, kw_only=True)
class SolveOutcome:
    """What HiGHS did with one model."""

    status: SolveStatus
    highs_status: str
    objective: float
    bound: float
    gap: float
    translate_s: float
    solve_s: float
    n_columns: int
    n_rows: int
    n_integer: int


def solve_with_highs(
    model: pyo.ConcreteModel, options: SolverOptions, time_limit_s: float
) -> SolveOutcome:
    """Translate, solve and load values into ``model``'s variables (when a solution exists)."""
    t0 = time.perf_counter()
    sf = LinearStandardFormCompiler().write(model, mixed_form=True, set_sense=None)
    columns = sf.columns
    n_col = len(columns)
    a = sf.A.tocsc()
    inf = highspy.kHighsInf
    bounds = [v.bounds for v in columns]
    lower = np.array([-inf if lb is None else lb for lb, _ in bounds], dtype=np.float64)
    upper = np.array([inf if ub is None else ub for _, ub in bounds], dtype=np.float64)
    integer = np.array([v.is_integer() for v in columns], dtype=bool)
    rhs = np.asarray(sf.rhs, dtype=np.float64)
    kinds = np.array([r.bound_type for r in sf.rows], dtype=np.int64)
    row_lower = np.where(kinds >= 0, np.where(kinds == 0, rhs, -inf), rhs)
    row_upper = np.where(kinds <= 0, np.where(kinds == 0, rhs, inf), rhs)
    cost = np.zeros(n_col)
    if sf.c.shape[0]:
        cost = np.asarray(sf.c.toarray()).ravel()
    offset = float(np.asarray(sf.c_offset).ravel()[0]) if np.size(sf.c_offset) else 0.0

    lp = highspy.HighsLp()
    lp.num_col_ = n_col
    lp.num_row_ = a.shape[0]
    lp.col_cost_ = cost
    lp.col_lower_ = lower
    lp.col_upper_ = upper
    lp.row_lower_ = row_lower
    lp.row_upper_ = row_upper
    lp.offset_ = offset
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(np.float64)
    if integer.any():
        lp.integrality_ = [
            highspy.HighsVarType.kInteger if flag else highspy.HighsVarType.kContinuous
            for flag in integer
        ]
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", options.threads)
    h.setOptionValue("random_seed", options.random_seed)
    h.setOptionValue("mip_rel_gap", options.mip_rel_gap)
    h.setOptionValue("presolve", options.presolve)
    h.setOptionValue("time_limit", max(0.01, time_limit_s))
    for name, value in options.highs_options:
        h.setOptionValue(name, value)
    h.passModel(lp)
    t1 = time.perf_counter()
    h.run()
    t2 = time.perf_counter()

    model_status = h.getModelStatus()
    info = h.getInfo()
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    if model_status == highspy.HighsModelStatus.kOptimal and has_solution:
        status = SolveStatus.OPTIMAL
    elif has_solution and model_status in (
        highspy.HighsModelStatus.kTimeLimit,
        highspy.HighsModelStatus.kInterrupt,
        highspy.HighsModelStatus.kIterationLimit,
        highspy.HighsModelStatus.kSolutionLimit,
    ):
        status = SolveStatus.TIME_LIMIT
    else:
        status = SolveStatus.NO_SOLUTION
    objective = float(info.objective_function_value) if has_solution else float("nan")
    if integer.any():
        bound = float(info.mip_dual_bound)
        gap = float(info.mip_gap) if has_solution else float("inf")
    else:
        bound, gap = objective, 0.0
    if has_solution:
        values = h.getSolution().col_value
        for var, x in zip(columns, values, strict=True):
            var.set_value(round(x) if var.is_integer() else x, skip_validation=True)
    return SolveOutcome(
        status=status,
        highs_status=h.modelStatusToString(model_status),
        objective=objective,
        bound=bound,
        gap=gap,
        translate_s=t1 - t0,
        solve_s=t2 - t1,
        n_columns=n_col,
        n_rows=int(a.shape[0]),
        n_integer=int(integer.sum()),
    )
