"""A planner round proved by its LP bound: fixed modes within the gap of the relaxation, else MIP.

The dive may only skip the MIP when its solution is provably within the gap of the optimum, so
the tests compare its results and bounds against exact solves (zero gap) of the same model or
of the full problem (every candidate binary), and check that the solver's state is left as
it was."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from optimiser import (
    Battery,
    DeferrableAppliance,
    ElectricVehicle,
    PlugInSession,
    Problem,
    PvArray,
    SolverOptions,
    TimeGrid,
    optimise,
)
from optimiser.context import BinarySlots
from optimiser.highs_backend import HighsModel, SolveOutcome, SolveStatus, solve_with_highs
from optimiser.model import GRID_BINARY_KEY, build_model
from optimiser.plan import PlanStatus
from optimiser.planner import all_candidate_slots, initial_binary_slots
from optimiser.round_solver import RoundSolver

from .conftest import START, plugged_ev

JUNE = datetime(2026, 6, 15, 0, 0, tzinfo=UTC)


def summer_home(
    seed: int, *, cheap_midday: bool = False, degradation: float = 0.02, appliance: bool = False
) -> Problem:
    """A sunny June day on Agile-like import against a flat 5.5 p export, 4 kWp of PV, a
    battery with a throughput cost [GBP/kWh] and an overnight car. Import drops just below the
    export price overnight (the grid needs mode binaries there, as on the real June nights of
    2020), and with ``cheap_midday`` also at midday (0-7 p, while the PV exports)."""
    rng = np.random.default_rng(seed)
    grid = TimeGrid(start_utc=JUNE, step_minutes=30, n_steps=48)
    hod = np.arange(48) * 0.5
    price = 0.14 + 0.03 * rng.standard_normal(48) + np.where((hod >= 16) & (hod < 19), 0.12, 0)
    night = hod < 5
    price[night] = rng.uniform(0.045, 0.06, int(night.sum()))
    if cheap_midday:
        midday = (hod >= 10) & (hod < 15)
        price[midday] = rng.uniform(0.0, 0.07, int(midday.sum()))
    pv = np.clip(np.sin((hod - 5) / 16 * np.pi), 0, None) * rng.uniform(2.5, 4.0)
    ev = ElectricVehicle(
        name="EV",
        battery_capacity_kwh=60.0,
        min_charge_kw=1.4,
        max_charge_kw=7.4,
        sessions=(
            PlugInSession(
                arrival_utc=JUNE + timedelta(hours=float(rng.integers(0, 3))),
                departure_utc=JUNE + timedelta(hours=7.5),
                arrival_soc=float(rng.uniform(0.3, 0.5)),
                target_soc=0.8,
            ),
        ),
    )
    appliances = (
        (
            DeferrableAppliance(
                name="Washer",
                power_kw=2.0,
                run_minutes=90,
                earliest_start_utc=JUNE + timedelta(hours=8),
                latest_end_utc=JUNE + timedelta(hours=20),
            ),
        )
        if appliance
        else ()
    )
    return Problem(
        grid=grid,
        import_price_gbp_per_kwh=price,
        export_price_gbp_per_kwh=0.055,
        base_load_kw=0.3 + 0.3 * rng.random(48),
        export_limit_kw=5.0,
        pv=(PvArray(name="PV", forecast_kw=pv),),
        batteries=(
            Battery(
                capacity_kwh=10.0,
                initial_soc=0.3,
                max_charge_kw=3.5,
                max_discharge_kw=3.5,
                degradation_gbp_per_kwh=degradation,
            ),
        ),
        evs=(ev,),
        appliances=appliances,
    )


def exact_objective(
    problem: Problem, *, cover_rows: bool = True, slots: BinarySlots | None = None
) -> float:
    """Every candidate binary in place (or only ``slots``), solved to a zero gap."""
    if slots is None:
        slots = initial_binary_slots(problem)
        keys = [GRID_BINARY_KEY, *(b.binary_key for b in problem.batteries)]
        keys += [k for ev in problem.evs for k in (ev.binary_key, ev.min_power_key)]
        for key in keys:
            slots = slots.with_added(key, all_candidate_slots(problem, key))
    model = build_model(problem, slots).model
    if not cover_rows:
        model.import_cover.deactivate()
        model.export_cover.deactivate()
    outcome = solve_with_highs(model, SolverOptions(mip_rel_gap=0.0, mip_abs_gap=0.0), 60)
    assert outcome.status is SolveStatus.OPTIMAL
    return outcome.objective


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("cheap_midday", [False, True])
def test_the_cover_rows_never_change_the_optimum(seed, cheap_midday):
    # import <= load * y + consumption and export <= supply - load * (1 - y) hold in every plan
    # without simultaneous import and export; adding them must leave the exact optimum alone
    problem = summer_home(seed, cheap_midday=cheap_midday)
    assert exact_objective(problem) == pytest.approx(
        exact_objective(problem, cover_rows=False), abs=1e-7
    )


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("cheap_midday", [False, True])
def test_a_plan_is_within_the_gap_of_the_exact_optimum_whichever_way_it_was_proved(
    seed, cheap_midday
):
    # cheap midday: import at 0-7 p while the PV exports and a battery without a throughput
    # cost: the LP relaxation buys and sells in the same slot there, its bound is loose, and
    # the MIP decides
    problem = (
        summer_home(seed, cheap_midday=True, degradation=0.0) if cheap_midday else summer_home(seed)
    )
    options = SolverOptions()
    plan = optimise(problem, options)
    exact = exact_objective(problem)
    r = plan.solver
    allowed = max(options.mip_abs_gap, options.mip_rel_gap * abs(r.objective_gbp))
    assert r.bound_gbp <= exact + 1e-7  # the bound it reports is a real lower bound
    assert exact - 1e-7 <= r.objective_gbp <= exact + allowed + 1e-7


def first_round(problem: Problem) -> tuple[RoundSolver, SolveOutcome]:
    built = build_model(problem, initial_binary_slots(problem))
    solver = RoundSolver(HighsModel(built.model, SolverOptions()), built.context)
    return solver, solver.solve(10)


def test_a_summer_night_plan_is_proved_by_its_lp_bound_without_branch_and_bound():
    # export paying more than import overnight gives the grid mode binaries; with the cover
    # rows the LP relaxation is tight enough there that the fixed-mode LP proves itself
    options = SolverOptions()
    for seed in range(6):
        problem = summer_home(seed)
        solver, outcome = first_round(problem)
        assert solver.highs.integer_columns  # the grid's night-time binaries
        assert solver.dives_closed == 1, (seed, outcome.highs_status)
        exact = exact_objective(problem, slots=initial_binary_slots(problem))  # same model
        allowed = max(options.mip_abs_gap, options.mip_rel_gap * abs(outcome.objective))
        assert outcome.bound <= exact + 1e-7
        assert exact - 1e-7 <= outcome.objective <= exact + allowed + 1e-7


def test_where_the_lp_bound_is_loose_branch_and_bound_decides_from_the_dive():
    # cheap midday while the PV exports, battery without a throughput cost: the fixed-mode LP
    # is not provably good enough, so a branch and bound decides from that solution (the
    # search over the relaxation's fractional modes, else HiGHS's MIP) and still ends within
    # the gap of the same model's exact optimum
    options = SolverOptions()
    for seed in range(3):
        problem = summer_home(seed, cheap_midday=True, degradation=0.0)
        solver, outcome = first_round(problem)
        assert solver.dives_closed == 0
        assert outcome.status is SolveStatus.OPTIMAL
        exact = exact_objective(problem, slots=initial_binary_slots(problem))
        allowed = max(options.mip_abs_gap, options.mip_rel_gap * abs(outcome.objective))
        assert exact - 1e-7 <= outcome.objective <= exact + allowed + 1e-7


def test_binaries_that_are_not_modes_go_to_branch_and_bound(monkeypatch):
    # an appliance's start slot is not a mode read from powers: no dive, HiGHS's MIP decides
    def no_dive(*_args):
        raise AssertionError("the dive ran on a model with an appliance")

    monkeypatch.setattr(HighsModel, "solve_relaxation", no_dive)
    monkeypatch.setattr(HighsModel, "solve_with_integers_fixed", no_dive)
    problem = summer_home(0, appliance=True)
    plan = optimise(problem)
    assert plan.status is PlanStatus.OPTIMAL
    assert plan.schedule["Washer.power_kw"].sum() * 0.5 == pytest.approx(3.0)  # 1.5 h at 2 kW


def test_the_relaxation_and_the_fixed_lp_leave_the_mip_as_it_was():
    problem = summer_home(1)
    built = build_model(problem, initial_binary_slots(problem))
    highs = HighsModel(built.model, SolverOptions())
    lp = highs.highs.getLp()
    lower, upper = np.array(lp.col_lower_), np.array(lp.col_upper_)
    integrality = list(lp.integrality_)
    relaxed = highs.solve_relaxation(10)
    assert relaxed.status is SolveStatus.OPTIMAL
    ints = highs.integer_columns
    fixed = highs.solve_with_integers_fixed(dict.fromkeys(ints, 1.0), 10)  # import mode everywhere
    assert fixed.status is SolveStatus.OPTIMAL
    assert fixed.objective >= relaxed.objective - 1e-9
    lp = highs.highs.getLp()
    np.testing.assert_array_equal(np.array(lp.col_lower_), lower)
    np.testing.assert_array_equal(np.array(lp.col_upper_), upper)
    assert list(lp.integrality_) == integrality
    mip = highs.solve(10)  # integrality is back: HiGHS's own values are integral
    assert mip.status is SolveStatus.OPTIMAL
    assert mip.objective >= relaxed.objective - 1e-9
    raw = np.array(highs.highs.getSolution().col_value)[ints]
    np.testing.assert_allclose(raw, np.round(raw), atol=1e-6)


def test_a_second_round_that_only_lifts_a_charger_to_its_minimum_costs_one_lp():
    # the first round is a pure LP (no mode binaries): its optimum leaves 0.2 kWh for a
    # 1.4 kW charger. Its objective bounds the full problem, and moving 1.2 kWh into a slot
    # dearer by 0.01 p is within the gap, so the second round needs no branch and bound
    grid = TimeGrid(start_utc=START, step_minutes=60, n_steps=10)
    ev = plugged_ev(arrive_h=1, leave_h=9, arrival_soc=0.5, target_soc=0.8, capacity_kwh=50.0)
    prices = [0.2, 0.1001, 0.1, 0.1, 0.12, 0.15, 0.11, 0.13, 0.2, 0.2]
    problem = Problem(grid=grid, import_price_gbp_per_kwh=prices, evs=(ev,))
    plan = optimise(problem)
    assert plan.solver.rounds == 2
    assert "fixed modes" in plan.solver.message
    charging = plan.schedule["EV.power_kw"].to_numpy()
    assert ((charging < 1e-6) | (charging >= 1.4 - 1e-6)).all()
    assert charging.sum() == pytest.approx(15.0)
    exact = exact_objective(problem)
    assert exact - 1e-7 <= plan.solver.objective_gbp <= exact + SolverOptions().mip_abs_gap


def test_fixing_modes_keeps_each_binarys_own_bounds():
    # an analyst's extension fixed a grid slot to "import only"; asking the fixed-mode LP for
    # "export" there must keep the extension's bound (the mode is clipped to it)
    problem = summer_home(2)
    built = build_model(problem, initial_binary_slots(problem))
    t = sorted(built.context.binary_slots.get(GRID_BINARY_KEY))[0]
    built.model.importing[t].setlb(1)
    highs = HighsModel(built.model, SolverOptions())
    fixed = highs.solve_with_integers_fixed(dict.fromkeys(highs.integer_columns, 0.0), 10)
    assert fixed.status is SolveStatus.OPTIMAL
    assert built.model.importing[t].value == pytest.approx(1.0)
    assert built.model.export_kw[t].value == pytest.approx(0.0, abs=1e-9)
