"""Hand a Pyomo model to HiGHS (highspy) and load the solution back.

:mod:`optimiser.translate` reads the model's linear constraints and objective into column and
row arrays, which go to ``highspy.Highs`` with ``addCols`` / ``addRows``; the solution is
written back into the Pyomo variables. This replaced Pyomo's ``LinearStandardFormCompiler``
(~25 ms of a T=96 home, the reader ~15 ms; ``docs/performance.md``), which had replaced
Pyomo's own HiGHS interfaces (``appsi`` took 152 ms to translate and solve the same model).
Going through highspy directly gives HiGHS's own status, dual bound, gap and time limit, and
lets a :class:`HighsModel` take later additions (binaries and their rows) without re-reading.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np
import pyomo.environ as pyo

from optimiser.mip_start_guard import run_again_without_start, values_match_objective
from optimiser.termination import SolveStatus
from optimiser.translate import LinearReader, column_arrays
from optimiser.var_values import load_values

__all__ = ["HighsModel", "SolveOutcome", "SolveStatus", "SolverOptions", "solve_with_highs"]

_PRESOLVE_SETTINGS = ("choose", "on", "off")


@dataclass(frozen=True, slots=True, kw_only=True)
class SolverOptions:
    """HiGHS settings, recorded with every result.

    Attributes:
        time_limit_s: wall-clock limit for one plan [s], across all solver rounds.
        mip_rel_gap: relative MIP gap at which HiGHS stops (5e-4 = 0.05 %: half the 0.1 % a
            plan may be off the exact optimum; 1e-4 made the planner's second rounds ~25 %
            slower for 0.002 % on the reference homes' objectives, docs/performance.md).
        mip_abs_gap: absolute MIP gap at which a plan stops [objective units: GBP], whichever
            of the two gaps it reaches first. A plan's objective has an arbitrary offset (the
            value of energy left at the end), so near zero the relative gap alone asks for
            nothing a consumer could see: 0.05 % of a summer plan's -0.85 GBP is 0.04 p.
            0.05 p keeps any plan of 0.5 GBP or more within 0.1 % of its optimum (the issue's
            measure); 0.1 p was ~20 % faster on summer plans but put a 0.86 GBP reference
            plan 0.11 % off (docs/performance.md).
        threads: HiGHS threads (1 = one core per home; fleets parallelise across homes).
        random_seed: HiGHS's seed (solve times vary with it; results do not beyond the gap).
        presolve: ``"choose"``, ``"on"`` or ``"off"`` (the MIP's and a plain LP's).
        lp_presolve: the same for the LP solves of a planner round (the relaxation and the
            fixed-mode dives, :mod:`optimiser.round_solver`). Off: on these LPs of ~500
            columns HiGHS's presolve cost more than it saved; the planner's plans on three
            2-day real-data backtests of 2020 (January, April, July; median of 3 interleaved
            runs) took 197.8 -> 190.4 ms of CPU summed, the same bills (docs/performance.md).
        highs_options: further HiGHS options as ``(name, value)`` pairs (default: the root
            sub-MIP heuristics, feasibility jump, symmetry detection and restarts off, see
            below); pass ``()`` for HiGHS's own defaults.
        later_round_highs_options: options changed from the planner's second lazy round on
            (default: none).
    """

    time_limit_s: float = 10.0
    mip_rel_gap: float = 5e-4
    mip_abs_gap: float = 5e-4
    threads: int = 1
    random_seed: int = 0
    presolve: str = "choose"
    lp_presolve: str = "off"
    # Off: HiGHS's root sub-MIP heuristics (RINS, RENS, root reduced-cost). A later lazy round
    # starts from the last solution's modes, which is usually already optimal, so these
    # searches for a better incumbent mostly repeat work. Measured on the reference home's
    # second rounds (9 homes, T=96, CPU time, min of 3): mean 164 -> 128 ms, median 117 ->
    # 122 ms, same objectives (docs/performance.md).
    # Also off: the feasibility-jump heuristic and symmetry detection, which run before the
    # root LP on every MIP and find nothing on these models (a handful of mode binaries,
    # no symmetric devices). Measured on the 20 reference homes (T=96, CPU time, min of 2,
    # two interleaved runs): mean 170-182 -> 126-137 ms per plan, same objectives.
    # And no restarts: after reduced-cost fixing HiGHS re-presolved the model and rebuilt its
    # cuts up to three times, while a plan mostly starts from the last plan's modes, already
    # within the gap or nearly. On real 2020 spring plans (export dearer than import in ~40 %
    # of the slots, ~40 mode binaries), 120 of an April backtest's plans: CPU 34.5 -> 25.2 s at
    # the backtest's 1 % gap, 59.3 -> 42.5 s at the default gap, objectives within 1 p; a
    # January and a September week and the 20 reference homes at T=96: within +-9 %
    # (docs/performance.md). They were off from the second lazy round only until 2026-11-28.
    highs_options: tuple[tuple[str, bool | int | float | str], ...] = (
        ("mip_heuristic_run_rins", False),
        ("mip_heuristic_run_rens", False),
        ("mip_heuristic_run_root_reduced_cost", False),
        ("mip_heuristic_run_feasibility_jump", False),
        ("mip_detect_symmetry", False),
        ("mip_allow_restart", False),
    )
    later_round_highs_options: tuple[tuple[str, bool | int | float | str], ...] = ()

    def __post_init__(self) -> None:
        for name in ("presolve", "lp_presolve"):
            value = getattr(self, name)
            if value not in _PRESOLVE_SETTINGS:
                raise ValueError(f"{name} must be one of {_PRESOLVE_SETTINGS}, got {value!r}")


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
    return HighsModel(model, options).solve(time_limit_s)


class HighsModel:
    """A Pyomo model held in HiGHS, kept in step as constraints are added to the Pyomo model.

    The first :meth:`update` (run by the constructor) reads the whole model; later ones append
    only the columns and rows added since (e.g. binaries and their linking rows), so a second
    solver round neither rebuilds nor re-reads the model, and HiGHS keeps its model in memory.
    """

    def __init__(self, model: pyo.ConcreteModel, options: SolverOptions) -> None:
        self.model = model
        self.options = options
        self.reader = LinearReader()
        self.highs = highspy.Highs()  # type: ignore[no-untyped-call]
        h = self.highs
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", options.threads)
        h.setOptionValue("random_seed", options.random_seed)
        h.setOptionValue("mip_rel_gap", options.mip_rel_gap)
        h.setOptionValue("mip_abs_gap", options.mip_abs_gap)
        h.setOptionValue("presolve", options.presolve)
        for name, value in options.highs_options:
            h.setOptionValue(name, value)
        self.translate_s = 0.0
        self._objective_read = False
        self._relaxed = False
        self.minimises = True
        self._col_lower: list[float] = []  # each column's bounds as read (HiGHS's may be fixed
        self._col_upper: list[float] = []  # for a moment by solve_with_integers_fixed)
        self._deadline = math.inf  # perf_counter() at which the running solve is interrupted
        self._partial_start = False  # set_start offered values HiGHS must complete
        self._relaxed_columns: set[int] = set()  # integer columns continuous in this solve
        self.remember_lp_basis = False  # keep the next optimal LP solve's basis (lp_basis)
        # that basis's basic variables (HiGHS's getBasicVariables: column j as j, row i as
        # -1 - i), for a persistent model's next plan (optimiser.model_cache)
        self.lp_basis: np.ndarray | None = None
        h.cbMipInterrupt.subscribe(self._interrupt_at_deadline)
        self.update()

    @property
    def columns(self) -> list[Any]:
        return self.reader.columns

    @property
    def integer_columns(self) -> list[int]:
        """Indices of the integer (binary) columns."""
        return self.reader.integer_columns

    def update(self) -> None:
        """Append the model's columns and rows that HiGHS does not hold yet."""
        t0 = time.perf_counter()
        h = self.highs
        part = self.reader.read_new(self.model)
        cost: dict[int, float] = {}
        if not self._objective_read:
            cost, offset, maximise = self.reader.read_objective(self.model, part)
            h.changeObjectiveOffset(offset)
            if maximise:
                h.changeObjectiveSense(highspy.ObjSense.kMaximize)
            self.minimises = not maximise
            self._objective_read = True
        n_old = h.getNumCol()
        n_new = len(part.columns)
        if n_new:
            lower, upper, integer = column_arrays(part)
            self._col_lower.extend(lower.tolist())
            self._col_upper.extend(upper.tolist())
            col_cost = np.zeros(n_new)
            for col, c in cost.items():
                col_cost[col - n_old] = c
            h.addCols(n_new, col_cost, lower, upper, 0, _NO_INT, _NO_INT, _NO_FLOAT)
            if integer.any():
                idx = np.flatnonzero(integer).astype(np.int32) + n_old
                h.changeColsIntegrality(len(idx), idx, np.full(len(idx), _INTEGER, dtype=np.uint8))
        if part.n_rows:
            h.addRows(
                part.n_rows,
                np.asarray(part.row_lower, dtype=np.float64),
                np.asarray(part.row_upper, dtype=np.float64),
                len(part.row_index),
                np.asarray(part.row_start[:-1], dtype=np.int32),
                np.asarray(part.row_index, dtype=np.int32),
                np.asarray(part.row_value, dtype=np.float64),
            )
        self.translate_s += time.perf_counter() - t0

    def forget_columns_from(self, first: int) -> None:
        """Drop the bounds kept for columns ``first`` on (deleted from HiGHS by a persistent
        model's restore, :mod:`optimiser.model_cache`) and any translation time not reported."""
        del self._col_lower[first:]
        del self._col_upper[first:]
        self.translate_s = 0.0

    def set_options(self, options: tuple[tuple[str, bool | int | float | str], ...]) -> None:
        """Change HiGHS options for the next solves (e.g. for a later lazy round)."""
        for name, value in options:
            self.highs.setOptionValue(name, value)

    @contextmanager
    def options_changed(
        self, options: tuple[tuple[str, bool | int | float | str], ...]
    ) -> Iterator[None]:
        """HiGHS options changed for the solves inside, restored after (a persistent model
        keeps the plan's options for its next plan)."""
        h = self.highs
        kept = [(name, h.getOptionValue(name)[1]) for name, _ in options]
        try:
            self.set_options(options)
            yield
        finally:
            for name, value in kept:
                h.setOptionValue(name, value)

    def set_start(self, values: dict[int, float]) -> None:
        """Offer HiGHS a (partial) starting solution: column index -> value."""
        if not values:
            return
        idx = np.fromiter(values.keys(), dtype=np.int32, count=len(values))
        val = np.fromiter(values.values(), dtype=np.float64, count=len(values))
        self.highs.setSolution(len(idx), idx, val)
        self._partial_start = True

    def current_values(self) -> np.ndarray:
        """Every column's value as last loaded (0 where none)."""
        return np.fromiter(
            (0.0 if v._value is None else v._value for v in self.reader.columns),
            dtype=np.float64,
            count=len(self.reader.columns),
        )

    def offer_values(self, values: np.ndarray) -> None:
        """Offer HiGHS a complete starting solution, one value per column (e.g. a feasible
        one from :meth:`solve_with_integers_fixed`, which then needs no completion)."""
        sol = self.highs.getSolution()
        sol.col_value = values.tolist()
        sol.value_valid = True
        self.highs.setSolution(sol)

    def solve_relaxation(self, time_limit_s: float) -> SolveOutcome:
        """Solve the LP relaxation (integrality dropped for this solve only) and load its
        values; its objective is a lower bound on the MIP's optimum (minimisation)."""
        with self._integrality_relaxed():
            return self.solve(time_limit_s)

    def solve_with_integers_fixed(
        self, values: dict[int, float], time_limit_s: float, *, load: bool = True
    ) -> SolveOutcome:
        """Solve the LP with the integer columns in ``values`` fixed (column -> value, clipped
        to each column's own bounds, e.g. an extension's), load its values when feasible
        (unless ``load`` is false: :meth:`solution_values` has them), and restore the columns'
        bounds. Run right after :meth:`solve_relaxation`, HiGHS starts from that LP's basis."""
        with self._columns_fixed(values), self._integrality_relaxed():
            return self.solve(time_limit_s, load=load)

    def solution_values(self) -> np.ndarray:
        """Every column's value in HiGHS's last solution (not loaded into Pyomo: loading
        ~700 variables cost as much as a warm-started LP's simplex)."""
        return np.asarray(self.highs.getSolution().col_value, dtype=np.float64)

    def solve_with_columns_fixed(
        self, values: dict[int, float], time_limit_s: float, start: np.ndarray | None = None
    ) -> SolveOutcome:
        """Solve the MIP with the columns in ``values`` fixed (as
        :meth:`solve_with_integers_fixed`) and the other integer columns free: a restriction of
        the model, whose solutions are the model's but whose bound is not. ``start``: a
        complete solution that agrees with ``values``, offered once the columns are fixed
        (HiGHS drops a solution offered before its bounds change, so a window stopped at its
        limit returned its own first find, often far worse than its start)."""
        with self._columns_fixed(values):
            if start is not None:
                self.offer_values(start)
            return self.solve(time_limit_s)

    def solve_with_columns_relaxed(
        self, fixed: dict[int, float], relaxed: list[int], time_limit_s: float
    ) -> SolveOutcome:
        """Solve the MIP with the columns in ``fixed`` fixed (as
        :meth:`solve_with_columns_fixed`) and the integer columns in ``relaxed`` continuous
        for this solve; the others stay integer. Neither its objective nor its bound is the
        model's (a step of :mod:`optimiser.relax_and_fix`); its values are not loaded
        (:meth:`solution_values` has them)."""
        idx = np.asarray(relaxed, dtype=np.int32)
        h = self.highs
        with self._columns_fixed(fixed):
            _check(
                h.changeColsIntegrality(len(idx), idx, np.zeros(len(idx), dtype=np.uint8)),
                "relax integrality",
            )
            self._relaxed_columns = set(relaxed)
            try:
                return self.solve(time_limit_s, load=False)
            finally:
                self._relaxed_columns = set()
                ones = np.full(len(idx), _INTEGER, dtype=np.uint8)
                _check(h.changeColsIntegrality(len(idx), idx, ones), "restore integrality")

    @contextmanager
    def _columns_fixed(self, values: dict[int, float]) -> Iterator[None]:
        h = self.highs
        idx = np.fromiter(values.keys(), dtype=np.int32, count=len(values))
        val = np.fromiter(values.values(), dtype=np.float64, count=len(values))
        lower = np.fromiter((self._col_lower[c] for c in idx), dtype=np.float64, count=len(idx))
        upper = np.fromiter((self._col_upper[c] for c in idx), dtype=np.float64, count=len(idx))
        val = np.clip(val, lower, upper)
        _check(h.changeColsBounds(len(idx), idx, val, val), "fix the columns")
        try:
            yield
        finally:
            _check(h.changeColsBounds(len(idx), idx, lower, upper), "restore their bounds")

    @contextmanager
    def _integrality_relaxed(self) -> Iterator[None]:
        h = self.highs
        idx = np.asarray(self.reader.integer_columns, dtype=np.int32)
        _, presolve = h.getOptionValue("presolve")
        try:
            self._relaxed = True
            h.setOptionValue("presolve", self.options.lp_presolve)
            _check(
                h.changeColsIntegrality(len(idx), idx, np.zeros(len(idx), dtype=np.uint8)),
                "relax integrality",
            )
            yield
        finally:
            self._relaxed = False
            h.setOptionValue("presolve", presolve)
            _check(
                h.changeColsIntegrality(len(idx), idx, np.full(len(idx), _INTEGER, dtype=np.uint8)),
                "restore integrality",
            )

    def gap_tolerances(self) -> tuple[float, float]:
        """The relative and absolute MIP gaps HiGHS stops at (``highs_options`` may have
        overridden :class:`SolverOptions`'s)."""
        h = self.highs
        _, rel_gap = h.getOptionValue("mip_rel_gap")
        _, abs_gap = h.getOptionValue("mip_abs_gap")
        return float(rel_gap), float(abs_gap)

    def _interrupt_at_deadline(self, event: Any) -> None:
        """HiGHS's MIP callback: stop the branch and bound at the round's wall-clock limit
        (reported as an interrupt, a limit like the time limit). The flag is written either
        way: HiGHS keeps the last run's, so a round after an interrupted one would stop at
        once."""
        event.interrupt(time.perf_counter() >= self._deadline)

    def solve(self, time_limit_s: float, *, load: bool = True) -> SolveOutcome:
        """Run HiGHS and load the solution (if any) into the Pyomo variables (unless
        ``load`` is false)."""
        h = self.highs
        # HiGHS measures an LP and a partial MIP start's completion against the run time summed
        # over every run() of this instance, its branch and bound (and the sub-MIPs of its
        # heuristics) from the MIP's own start: a 2 s round after a 7 s one ran 9 s when the
        # limit was the run time plus 2 s. The wall-clock deadline (a MIP callback) holds the
        # branch and bound to it where the limit must count from the first run.
        limit_s = max(0.01, time_limit_s)
        integral = len(self.reader.integer_columns) - len(self._relaxed_columns)
        summed = self._relaxed or self._partial_start or integral <= 0
        h.setOptionValue("time_limit", limit_s + (h.getRunTime() if summed else 0.0))
        self._partial_start = False
        self._deadline = time.perf_counter() + limit_s
        translate_s, self.translate_s = self.translate_s, 0.0
        t1 = time.perf_counter()
        h.run()
        columns = self.reader.columns
        integer_columns = self.reader.integer_columns
        n_int = 0 if self._relaxed else max(0, integral)
        if n_int == 0 and h.getModelStatus() == _M.kUnknown:
            self._run_again_cold(limit_s - (time.perf_counter() - t1))
        elif n_int and not values_match_objective(h):  # HiGHS handed back the start's values
            run_again_without_start(h, limit_s - (time.perf_counter() - t1))
        t2 = time.perf_counter()
        model_status = h.getModelStatus()
        info = h.getInfo()
        has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
        status = termination(model_status, has_solution=has_solution)
        if self.remember_lp_basis and status is SolveStatus.OPTIMAL and not n_int:
            got, basic = h.getBasicVariables()  # type: ignore[attr-defined]  # (not in its stubs)
            if got == highspy.HighsStatus.kOk:
                self.lp_basis, self.remember_lp_basis = np.array(basic), False
        objective = float(info.objective_function_value) if has_solution else float("nan")
        if n_int:
            bound = float(info.mip_dual_bound)
            gap = float(info.mip_gap) if has_solution else float("inf")
        else:
            bound, gap = objective, 0.0
        if has_solution and load:
            values = h.getSolution().col_value
            if not self._relaxed:
                for col in integer_columns:
                    if col not in self._relaxed_columns:
                        values[col] = round(values[col])
            load_values(columns, values)
        return SolveOutcome(
            status=status,
            highs_status=h.modelStatusToString(model_status),
            objective=objective,
            bound=bound,
            gap=gap,
            translate_s=translate_s,
            solve_s=t2 - t1,
            n_columns=len(columns),
            n_rows=int(h.getNumRow()),
            n_integer=n_int,
        )

    def _run_again_cold(self, limit_s: float) -> None:
        """Run an LP that ended ``Unknown`` once more, from no basis and with presolve.

        HiGHS's simplex ends an LP ``Unknown`` when it stops with a primal feasible point it
        cannot prove optimal: seen (issue 29's fleet run, ~0.6 % of the plans) where a kept
        model's re-plan started from the last plan's basis (:mod:`optimiser.model_cache`):
        the dual simplex's clean-up handed a few dual infeasibilities (~1e-4) to the primal
        simplex, whose only improving basis change was one its cycling guard had barred
        ("Only basis change is taboo"). Without a basis, and presolved, the simplex takes
        another path (the same LP planned fresh was optimal). A retry costs one cold LP
        (a few ms), only in that case."""
        h = self.highs
        h.clearSolver()  # the basis and the solution it ended with
        h.setOptionValue("time_limit", max(0.01, limit_s) + h.getRunTime())
        _, presolve = h.getOptionValue("presolve")
        h.setOptionValue("presolve", "on")
        try:
            h.run()
        finally:
            h.setOptionValue("presolve", presolve)


_M = highspy.HighsModelStatus
_LIMITS = frozenset({_M.kTimeLimit, _M.kInterrupt, _M.kIterationLimit, _M.kSolutionLimit})
_NO_SOLUTION: dict[Any, SolveStatus] = {
    _M.kInfeasible: SolveStatus.INFEASIBLE,
    _M.kUnbounded: SolveStatus.UNBOUNDED,
    _M.kUnboundedOrInfeasible: SolveStatus.INFEASIBLE_OR_UNBOUNDED,
    _M.kLoadError: SolveStatus.ERROR,
    _M.kModelError: SolveStatus.ERROR,
    _M.kPresolveError: SolveStatus.ERROR,
    _M.kSolveError: SolveStatus.ERROR,
    _M.kPostsolveError: SolveStatus.ERROR,
    _M.kMemoryLimit: SolveStatus.ERROR,
}


def termination(model_status: Any, *, has_solution: bool) -> SolveStatus:
    """HiGHS's model status (and whether it holds a feasible solution) as a :class:`SolveStatus`.
    Only an optimum, or a limit's stop with a solution, counts as a solution: a solution
    left beside any other status (an objective bound, an unknown stop) is not used."""
    if model_status == _M.kOptimal and has_solution:
        return SolveStatus.OPTIMAL
    if model_status in _LIMITS:
        return SolveStatus.TIME_LIMIT if has_solution else SolveStatus.TIME_LIMIT_NO_SOLUTION
    return _NO_SOLUTION.get(model_status, SolveStatus.NO_SOLUTION)


def _check(status: Any, what: str) -> None:
    if status == highspy.HighsStatus.kError:
        raise RuntimeError(f"HiGHS could not {what}")


_NO_INT = np.zeros(0, dtype=np.int32)
_NO_FLOAT = np.zeros(0, dtype=np.float64)
_INTEGER = 1  # HighsVarType.kInteger
