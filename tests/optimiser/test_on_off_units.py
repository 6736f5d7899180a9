"""An on/off heat pump's start and search (issue 27, rough edge 1): its modes are read from a
relaxation by tracking the relaxation's indoor temperature, and the plan is improved window by
window, so the planner comes within its gap of the optimum in its budget."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from benchmarks.reference_home import reference_home
from optimiser import HotWaterTank, Problem, SolverOptions
from optimiser import relax_and_fix as relax_and_fix_module
from optimiser import round_solver as round_solver_module
from optimiser import window_search as window_search_module
from optimiser.highs_backend import HighsModel
from optimiser.model import BuiltModel, build_model
from optimiser.planner import (
    all_candidate_slots,
    initial_binary_slots,
    minimum_power_keys,
    optimise,
)
from optimiser.relax_and_fix import relax_and_fix
from optimiser.window_search import window_search

OPTIMUM_DAY_2_GBP = 0.9998890236705643
"""``on_off_day(2)``'s optimum, proved by HiGHS (1e-6 gap, every binary; 17 s loaded)."""


def on_off_day(seed: int) -> Problem:
    """A day (48 half-hours) of the reference home with its heat pump on/off."""
    problem = reference_home(seed, n_steps=48)
    pumps = tuple(replace(hp, modulating=False) for hp in problem.heat_pumps)
    return replace(problem, heat_pumps=pumps)


def full_model(problem: Problem, options: SolverOptions) -> tuple[BuiltModel, HighsModel]:
    """The model with every minimum-power and on/off binary, in HiGHS."""
    slots = initial_binary_slots(problem)
    for key in minimum_power_keys(problem):
        slots = slots.with_added(key, all_candidate_slots(problem, key))
    built = build_model(problem, slots)
    return built, HighsModel(built.model, options)


def fixings(built: BuiltModel, hm: HighsModel) -> tuple[dict[int, float], dict[int, float]]:
    """The modes the loaded solution implies: the planner's, and "on where powered"."""
    col = hm.reader.column_of
    ctx = built.context
    planner = {col[id(var)]: value for var, value in ctx.modes_from_powers()}
    powered = {col[id(m.var)]: m.mode_from_powers() or 0.0 for m in ctx.mode_binaries}
    return planner, powered


@pytest.mark.parametrize("seed", [1, 2])
def test_the_relaxations_modes_track_its_temperature_not_its_powers(seed):
    built, hm = full_model(on_off_day(seed), SolverOptions())
    relaxed = hm.solve_relaxation(10.0)
    planner, powered = fixings(built, hm)
    assert planner != powered  # on/off units round their own way
    tracked = hm.solve_with_integers_fixed(planner, 10.0)
    naive = hm.solve_with_integers_fixed(powered, 10.0)
    # running wherever the relaxation heats a little overheats the home all day
    assert tracked.objective - relaxed.objective < 0.25 * (naive.objective - relaxed.objective)


def test_a_solutions_own_modes_are_read_back_from_it():
    """A later round fixes the last solution's modes: the tracking must return them."""
    built, hm = full_model(on_off_day(1), SolverOptions())
    hm.solve_relaxation(10.0)
    planner, powered = fixings(built, hm)
    for modes in (planner, powered):  # two different plans the unit can run
        assert hm.solve_with_integers_fixed(modes, 10.0).status.has_solution
        assert fixings(built, hm)[0] == modes


def test_the_window_search_improves_a_poor_start_to_near_the_optimum(monkeypatch):
    monkeypatch.setattr(window_search_module, "WINDOW_LIMIT_S", 60.0)  # each window to its end
    problem = on_off_day(2)
    built, hm = full_model(problem, SolverOptions())
    hm.solve_relaxation(10.0)
    _, powered = fixings(built, hm)
    start = hm.solve_with_integers_fixed(powered, 10.0)
    lp = hm.highs.getLp()
    lower, upper = list(lp.col_lower_), list(lp.col_upper_)
    slot_of = {hm.reader.column_of[id(m.var)]: m.slot for m in built.context.mode_binaries}

    found = window_search(hm, slot_of, (start.objective, hm.current_values()), 120.0)

    assert found.windows >= 2
    assert start.objective > 1.4 * OPTIMUM_DAY_2_GBP
    assert OPTIMUM_DAY_2_GBP - 1e-6 <= found.objective <= OPTIMUM_DAY_2_GBP * 1.001
    lp = hm.highs.getLp()
    assert (list(lp.col_lower_), list(lp.col_upper_)) == (lower, upper)  # restored
    block = built.blocks["Heat pump"]
    on = [found.values[hm.reader.column_of[id(block.on[t])]] for t in block.on]
    assert len(on) == problem.grid.n_steps
    assert set(np.round(on, 6)) <= {0.0, 1.0}  # a plan the unit can run


def test_a_unit_with_a_tank_tracks_both_temperatures():
    problem = on_off_day(1)
    draw = np.zeros(problem.grid.n_steps)
    draw[[14, 15, 38, 39]] = 3.0  # an hour's shower at 19:00 and 07:00
    tank = HotWaterTank(volume_litres=200, initial_temperature_c=50, draw_kw=draw)
    hp = replace(problem.heat_pumps[0], tank=tank)
    built, hm = full_model(replace(problem, heat_pumps=(hp,)), SolverOptions())
    hm.solve_relaxation(10.0)
    planner, powered = fixings(built, hm)
    naive = hm.solve_with_integers_fixed(powered, 10.0)
    tracked = hm.solve_with_integers_fixed(planner, 10.0)  # loaded
    assert tracked.objective < naive.objective - 0.5  # 2.91 against 3.72 GBP
    block = built.blocks["Heat pump"]
    tank_c = [block.tank_c[t].value for t in block.tank_c]
    assert min(tank_c) >= tank.min_temperature_c - 1.0  # the tank kept hot enough


@pytest.mark.parametrize("seed", [1, 2])
def test_an_on_off_home_starts_with_every_minimum_power_binary(seed):
    # its search runs to the limit; a charger's minimum failing a check after it cost a third
    # round or threw the resumed search's result away
    problem = on_off_day(seed)
    slots = initial_binary_slots(problem)
    for key in minimum_power_keys(problem):
        assert slots.get(key) == all_candidate_slots(problem, key)
    plan = optimise(problem, SolverOptions(time_limit_s=5.0))
    assert plan.solver.rounds == 1


OPTIMUM_TANK_DAY_1_GBP = 2.280555100970116
"""``tank_day(1)``'s optimum, proved by HiGHS (1e-6 gap, every binary; 1.8 s CPU)."""


def tank_day(seed: int) -> Problem:
    """``on_off_day(seed)`` with a 200 L tank drawn from for an hour at 19:00 and 07:00."""
    problem = on_off_day(seed)
    draw = np.zeros(problem.grid.n_steps)
    draw[[14, 15, 38, 39]] = 3.0
    tank = HotWaterTank(volume_litres=200, initial_temperature_c=50, draw_kw=draw)
    return replace(problem, heat_pumps=(replace(problem.heat_pumps[0], tank=tank),))


def tracked_start(problem: Problem) -> tuple[BuiltModel, HighsModel, float, dict[int, int | None]]:
    """The full model with the tracked modes' solution loaded: its objective, and each mode
    binary's slot (the searches' input)."""
    built, hm = full_model(problem, SolverOptions())
    hm.solve_relaxation(10.0)
    planner, _ = fixings(built, hm)
    tracked = hm.solve_with_integers_fixed(planner, 10.0)
    slot_of = {hm.reader.column_of[id(m.var)]: m.slot for m in built.context.mode_binaries}
    return built, hm, tracked.objective, slot_of


def test_relax_and_fix_plans_a_unit_with_a_tank_where_tracking_cannot(monkeypatch):
    monkeypatch.setattr(relax_and_fix_module, "STEP_LIMIT_S", 60.0)  # each step to its end
    _, hm, tracked, slot_of = tracked_start(tank_day(1))
    lp = hm.highs.getLp()
    before = (list(lp.col_lower_), list(lp.col_upper_), list(lp.integrality_))

    found = relax_and_fix(hm, slot_of, hm.current_values(), 120.0)

    assert tracked > 1.25 * OPTIMUM_TANK_DAY_1_GBP  # 2.91 GBP
    assert found.windows == 4  # 48 slots in steps of 12
    assert found.objective == pytest.approx(OPTIMUM_TANK_DAY_1_GBP, rel=1e-3)
    lp = hm.highs.getLp()
    assert (list(lp.col_lower_), list(lp.col_upper_), list(lp.integrality_)) == before
    on = [found.values[col] for col in slot_of]
    assert set(np.round(on, 6)) <= {0.0, 1.0}  # every binary decided


def test_relax_and_fix_out_of_time_keeps_the_starts_modes():
    _, hm, tracked, slot_of = tracked_start(tank_day(1))
    found = relax_and_fix(hm, slot_of, hm.current_values(), 0.0)
    assert found.windows == 0
    assert found.objective == pytest.approx(tracked)


def test_only_a_unit_with_a_tank_is_built_forwards():
    # tracking alone starts a unit without a tank 1.2-4 % above its optimum, and the window
    # search closes that; relax and fix's start led it elsewhere (1.5 % above on seed 1)
    for problem, expected in ((on_off_day(1), set()), (tank_day(1), {"hp:Heat pump"})):
        built = build_model(problem, initial_binary_slots(problem))
        assert built.context.relax_and_fix_keys == expected


def test_relax_and_fix_looking_a_day_ahead_finds_what_six_hours_miss(monkeypatch):
    monkeypatch.setattr(relax_and_fix_module, "STEP_LIMIT_S", 60.0)  # each step to its end
    _, hm, _, slot_of = tracked_start(tank_day(2))
    start = hm.current_values()
    six_hours = relax_and_fix(hm, slot_of, start, 120.0, lookahead_slots=12)
    twelve_hours = relax_and_fix(hm, slot_of, start, 120.0, lookahead_slots=24)
    assert twelve_hours.windows == 3  # integer 24 slots ahead, fixing 12: 0-11, 12-23, 24-47
    # 1.4032 against 1.4291 GBP; a 120 s branch and bound stopped at 1.4042 (bound 1.3555)
    assert twelve_hours.objective < six_hours.objective - 0.02
    assert twelve_hours.objective <= 1.4042


def test_the_planner_runs_both_relax_and_fix_passes(monkeypatch):
    passes: list[int] = []

    def recorded(hm, slot_of, start, time_limit_s, lookahead_slots):
        passes.append(lookahead_slots)
        return relax_and_fix(hm, slot_of, start, time_limit_s, lookahead_slots)

    monkeypatch.setattr(round_solver_module, "relax_and_fix", recorded)
    plan = optimise(tank_day(1), SolverOptions(time_limit_s=30.0))
    assert passes == [12, 24]
    assert plan.solver.objective_gbp == pytest.approx(OPTIMUM_TANK_DAY_1_GBP, rel=1e-3)


def test_a_kept_models_rounding_reads_the_next_problems_unit():
    """A kept model (optimiser.model_cache) is built with its first plan's unit; its rounding
    for a later plan tracks from that plan's measured temperature, not the first one's."""
    first = on_off_day(1)
    built, hm = full_model(first, SolverOptions())
    hm.solve_relaxation(10.0)
    (rounding,) = built.context.on_off_roundings.values()
    hp = first.heat_pumps[0]
    colder = replace(hp, building=replace(hp.building, initial_indoor_temperature_c=15.0))
    later = replace(first, heat_pumps=(colder,))
    before = rounding()
    built.context.problem = later  # as PersistentModel.prepare does
    after = rounding()
    assert sum(after.values()) > sum(before.values())  # 15 C at the start: it runs sooner
    assert after[0] == 1.0
