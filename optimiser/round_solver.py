"""Solve one planner round: an LP dive that proves its own optimality, the MIP only if not.

A round's model has a few mode binaries (import or export, charge or discharge, a charger on
or off) and is otherwise an LP. HiGHS's branch and cut spent most of a summer plan's time on
root cuts and heuristics for 8-11 grid binaries (~100 ms), and a second lazy round most of
its time proving a start that was already optimal. So a round first tries:

1. (first round only) the LP relaxation: its objective is a lower bound on the round's
   optimum, and so on the full problem's (every round's model is a relaxation of the full
   problem: it has at most the full problem's binaries). Later rounds keep the best bound
   found so far (an LP bound, or a MIP's dual bound);
2. the modes the solution's powers imply (:meth:`ModelContext.modes_from_powers`: import
   where the relaxation imports more than it exports, a charger on where it charges, ...),
   fixed, and the LP solved again from the relaxation's basis;
3. if that solution is within the gap of the bound (``mip_rel_gap`` or ``mip_abs_gap``,
   whichever is looser, as HiGHS's own stopping rule), it is the round's optimum: no MIP.

With ``hints`` (the modes a home's last plan chose, :mod:`optimiser.mode_memory`), step 2
first fixes the hinted modes (the relaxation's for binaries without a hint) and then, if that
does not close, the relaxation's own.

Otherwise a small branch and bound of LPs over the relaxation's fractional modes
(:mod:`optimiser.mode_branching`) tries to prove the better feasible fixing (or finds a better
one); if it gives up, HiGHS's MIP runs with the best fixing as a complete start (with none when
every fixing was infeasible); in a model with an on/off unit's binaries that start is instead
improved window by window (:mod:`optimiser.window_search`) before the MIP, after relax and
fix (:mod:`optimiser.relax_and_fix`) has built a plan forwards in time where the unit asked
for it (one heating a hot-water tank) and that plan is better. Models whose
integer columns are not all mode binaries (an appliance's start slot, an analyst's binaries)
and maximising models go to the MIP directly. The bound is what makes this exact to the
gap: the site's cover rows (``optimiser.model``) keep the LP relaxation within ~0.05 % of the
optimum on those plans.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from optimiser.context import ModelContext
from optimiser.highs_backend import HighsModel, SolveOutcome, SolveStatus
from optimiser.mode_branching import MAX_NODE_LPS, BranchResult, branch_on_modes
from optimiser.relax_and_fix import LOOKAHEADS_SLOTS, relax_and_fix
from optimiser.var_values import load_values
from optimiser.window_search import window_search

WINDOW_SEARCH_SHARE = 0.7
"""Most of a round's time the window search over on/off units' binaries may take before the
branch and bound starts from its plan (it stops earlier when a pass improves nothing)."""

RELAX_AND_FIX_SHARE = 0.5
"""Most of a round's time relax and fix may take to build an on/off unit's plan
(:mod:`optimiser.relax_and_fix`), within the window search's share."""

ON_OFF_HIGHS_OPTIONS: tuple[tuple[str, bool | int | float | str], ...] = (
    ("mip_allow_restart", True),
)
"""HiGHS options for the branch and bound of a model with an on/off unit's binaries: HiGHS
restarts after its root's reduced-cost fixing (re-presolved with the columns it fixed, its
cuts rebuilt), which ``SolverOptions.highs_options`` turns off for the many MIPs a start nearly
solves. On the on/off reference homes (``benchmarks/onoff_heat_pump.py``) the bound after the
root's cuts rose from 0.7-2.9 % below the best known to 0.3-0.8 % (no tank) and 0.4-1.8 %
(200 L), the 10 s bound with it on 9 of 12 seeds; HiGHS's heuristics on as well (RINS, RENS,
...) took the tree's time and left the bound lower (``docs/performance.md``)."""

RESUME_HIGHS_OPTIONS: tuple[tuple[str, bool | int | float | str], ...] = (
    ("mip_heuristic_run_rins", True),
    ("mip_heuristic_run_rens", True),
    ("mip_heuristic_run_root_reduced_cost", True),
    ("mip_heuristic_run_feasibility_jump", True),
    ("mip_detect_symmetry", True),
    ("mip_allow_restart", True),
)
"""HiGHS's own heuristics for a round run on after its time share (:meth:`RoundSolver.resume`):
``SolverOptions.highs_options`` turns them off for the many MIPs a start already nearly
solves; a MIP that ran to its limit is not one of them."""


@dataclass(slots=True)
class RoundSolver:
    """The HiGHS model of one plan, its build context and the best lower bound so far."""

    highs: HighsModel
    context: ModelContext
    hints: list[tuple[Any, float]] = field(default_factory=list)
    """Mode binaries (Pyomo variables) and the mode to try first (a home's last plan's)."""
    lower_bound: float = -math.inf
    rounds: int = 0
    dives_closed: int = 0
    branches_closed: int = 0
    """Rounds proved by :func:`branch_on_modes` instead of HiGHS's MIP."""

    def solve(self, time_limit_s: float) -> SolveOutcome:
        """Solve the model as it stands (see the module docstring); loads the solution.

        The outcome's ``solve_s`` is this call's wall time; its ``translate_s`` the HiGHS
        translation done before the call (the model's, or the rows added since the last
        round), which is not part of ``solve_s``."""
        started = time.perf_counter()
        self.rounds += 1
        hm = self.highs
        modes = self._modes()
        if modes is None or not hm.minimises:
            if self.rounds > 1:  # HiGHS drops its solution when columns are added
                hm.set_start(self._integer_values())
            outcome = hm.solve(time_limit_s)
            self._keep_bound(outcome)  # e.g. a first round without binaries: an LP optimum
            return replace(outcome, solve_s=time.perf_counter() - started)
        translate_s = 0.0
        root: tuple[float, np.ndarray] | None = None  # the relaxation's objective and values
        if self.rounds == 1:
            relaxed = hm.solve_relaxation(time_limit_s)
            translate_s += relaxed.translate_s
            if relaxed.status is not SolveStatus.OPTIMAL:
                return self._mip(None, time_limit_s, started, translate_s)
            self.lower_bound = max(self.lower_bound, relaxed.objective)
            root = (relaxed.objective, hm.solution_values())
            modes = self._modes() or modes
        fixings = [modes]
        hinted = self._hinted(modes) if self.rounds == 1 else None
        if hinted is not None:
            fixings.insert(0, hinted)
        best: tuple[float, np.ndarray] | None = None
        for fixing in fixings:  # values loaded into Pyomo only for the solution returned
            left = self._left(time_limit_s, started)
            fixed = hm.solve_with_integers_fixed(fixing, left, load=False)
            translate_s += fixed.translate_s
            if fixed.status is not SolveStatus.OPTIMAL:
                continue
            values = hm.solution_values()
            if self._within_gap(fixed.objective):
                self._load(values)
                self.dives_closed += 1
                z = fixed.objective
                return replace(
                    fixed,
                    highs_status="Optimal (fixed modes within the gap of the LP bound)",
                    bound=self.lower_bound,
                    gap=(z - self.lower_bound) / max(abs(z), 1e-9),
                    translate_s=translate_s,
                    solve_s=time.perf_counter() - started,
                    n_integer=len(hm.integer_columns),
                )
            if best is None or fixed.objective < best[0]:
                best = (fixed.objective, values)
        slot_of = self._on_off_slots() if best is not None else {}
        if best is not None and slot_of:
            best = self._search(slot_of, best, self._left(time_limit_s, started))
        elif best is not None:
            left = self._left(time_limit_s, started)
            searched = branch_on_modes(hm, best, left, MAX_NODE_LPS, root)
            best = (searched.objective, searched.values)
            if searched.proved:
                self.lower_bound = max(self.lower_bound, searched.bound)
                if self._within_gap(searched.objective):
                    self.branches_closed += 1
                    return self._branched(searched, translate_s, started)
        if best is not None and slot_of:
            with hm.options_changed(ON_OFF_HIGHS_OPTIONS):
                return self._mip(best[1], time_limit_s, started, translate_s)
        return self._mip(None if best is None else best[1], time_limit_s, started, translate_s)

    def _branched(self, searched: BranchResult, translate_s: float, started: float) -> SolveOutcome:
        """The round's outcome when :func:`branch_on_modes` proved its best solution, loaded
        here into the Pyomo variables (they hold the relaxation's)."""
        hm = self.highs
        self._load(searched.values)
        z = searched.objective
        return SolveOutcome(
            status=SolveStatus.OPTIMAL,
            highs_status="Optimal (fixed modes within the gap of a bound branched on their LP)",
            objective=z,
            bound=self.lower_bound,
            gap=(z - self.lower_bound) / max(abs(z), 1e-9),
            translate_s=translate_s,
            solve_s=time.perf_counter() - started,
            n_columns=len(hm.columns),
            n_rows=int(hm.highs.getNumRow()),
            n_integer=len(hm.integer_columns),
        )

    def _search(
        self, slot_of: dict[int, int | None], best: tuple[float, np.ndarray], left_s: float
    ) -> tuple[float, np.ndarray]:
        """An on/off unit's plan before the branch and bound: ``best`` (the tracked modes'
        solution), or the best of relax and fix's passes where better (units registered for
        it; the passes within :data:`RELAX_AND_FIX_SHARE` of ``left_s``), improved window by
        window, within :data:`WINDOW_SEARCH_SHARE` of ``left_s``."""
        now = time.perf_counter()
        until, built_by = now + left_s * WINDOW_SEARCH_SHARE, now + left_s * RELAX_AND_FIX_SHARE
        for lookahead in LOOKAHEADS_SLOTS if self.context.relax_and_fix_keys else ():
            left = built_by - time.perf_counter()
            if left <= 0:
                break
            built = relax_and_fix(self.highs, slot_of, best[1], left, lookahead)
            if built.objective < best[0]:
                best = (built.objective, built.values)
        found = window_search(self.highs, slot_of, best, until - time.perf_counter())
        return found.objective, found.values

    def _on_off_slots(self) -> dict[int, int | None]:
        """Each integer column's slot when the model has an on/off unit's binaries (the
        window search's input, :mod:`optimiser.window_search`); empty otherwise."""
        keys = self.context.on_off_keys
        if not keys:
            return {}
        column_of = self.highs.reader.column_of
        slot_of: dict[int, int | None] = {}
        on_off = False
        for mode in self.context.mode_binaries:
            col = column_of.get(id(mode.var))
            if col is not None:
                slot_of[col] = mode.slot
                on_off = on_off or mode.key in keys
        return slot_of if on_off else {}

    def resume(self, time_limit_s: float, last: SolveOutcome) -> SolveOutcome:
        """Run the MIP again from ``last``'s solution (loaded, stopped at its time share) for
        the time the plan has left, instead of returning with it unused.

        HiGHS starts the search afresh from that complete start, so the result is never worse;
        the best bound of every run is kept in the outcome. The caller checks the result as
        any round's (a different solution may fail a check ``last``'s passed)."""
        started = time.perf_counter()
        hm = self.highs
        before = hm.current_values()
        hm.offer_values(before)
        with hm.options_changed(RESUME_HIGHS_OPTIONS):
            outcome = hm.solve(time_limit_s)
        self._keep_bound(outcome)
        worse = outcome.objective > last.objective + 1e-9  # HiGHS refused the start
        if not outcome.status.has_solution or (hm.minimises and worse):
            for var, x in zip(hm.columns, before, strict=True):
                var.set_value(float(x), skip_validation=True)
            return replace(last, solve_s=time.perf_counter() - started, translate_s=0.0)
        z = outcome.objective
        bound = max(outcome.bound, self.lower_bound) if hm.minimises else outcome.bound
        gap = (z - bound) / max(abs(z), 1e-9) if hm.minimises else outcome.gap
        return replace(outcome, bound=bound, gap=gap, solve_s=time.perf_counter() - started)

    def _hinted(self, modes: dict[int, float]) -> dict[int, float] | None:
        """``modes`` with the hinted ones in their place; None when no hint changes one."""
        column_of = self.highs.reader.column_of
        hinted = dict(modes)
        for var, value in self.hints:
            col = column_of.get(id(var))
            if col is not None and col in hinted:
                hinted[col] = value
        return hinted if hinted != modes else None

    def _mip(
        self, start: np.ndarray | None, time_limit_s: float, started: float, translate_s: float
    ) -> SolveOutcome:
        """HiGHS's branch and bound, from ``start`` (a feasible fixed-mode LP's solution: a
        complete start) when there is one; an infeasible fixing is not offered (HiGHS would
        only repeat that LP)."""
        hm = self.highs
        if start is not None:
            hm.offer_values(start)
        outcome = hm.solve(self._left(time_limit_s, started))
        self._keep_bound(outcome)
        translate_s += outcome.translate_s
        return replace(
            outcome,
            translate_s=translate_s,
            solve_s=time.perf_counter() - started,
        )

    def _load(self, values: np.ndarray) -> None:
        """Load a solution (every column's value) into the Pyomo variables; the integer
        columns rounded, as :meth:`HighsModel.solve` loads a MIP's."""
        xs = values.tolist()
        for col in self.highs.integer_columns:
            xs[col] = round(xs[col])
        load_values(self.highs.columns, xs)

    def _integer_values(self) -> dict[int, float]:
        """The integer columns' current values (the last round's, or a new binary's start)."""
        columns = self.highs.columns
        return {
            col: float(columns[col].value)
            for col in self.highs.integer_columns
            if columns[col].value is not None
        }

    def _keep_bound(self, outcome: SolveOutcome) -> None:
        """Raise the lower bound with a solve's: an optimum's, or a MIP's dual bound when it
        stopped at its limit (an LP stopped early bounds nothing)."""
        if not self.highs.minimises or not math.isfinite(outcome.bound):
            return
        mip_stopped = outcome.status is SolveStatus.TIME_LIMIT and outcome.n_integer > 0
        if outcome.status is SolveStatus.OPTIMAL or mip_stopped:
            self.lower_bound = max(self.lower_bound, outcome.bound)

    def _modes(self) -> dict[int, float] | None:
        """Column -> mode for every integer column, or None if one is not a mode binary."""
        hm = self.highs
        if not hm.integer_columns:
            return None
        column_of = hm.reader.column_of
        modes: dict[int, float] = {}
        for var, value in self.context.modes_from_powers():
            col = column_of.get(id(var))
            if col is not None:
                modes[col] = value
        return modes if modes.keys() == set(hm.integer_columns) else None

    def _within_gap(self, objective: float) -> bool:
        rel_gap, abs_gap = self.highs.gap_tolerances()
        return objective - self.lower_bound <= max(abs_gap, rel_gap * abs(objective))

    @staticmethod
    def _left(time_limit_s: float, started: float) -> float:
        return max(0.0, time_limit_s - (time.perf_counter() - started))
