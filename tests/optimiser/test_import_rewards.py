"""A consumer DSR session (optimiser/import_rewards.py): a reward per kWh imported below a
baseline moves the flexible loads out of the session; the totals report what the scheme pays
(below the baseline only) and the objective counts the linear reward term, as the solver."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from optimiser import ImportReward, Problem, ProblemError, optimise

from .conftest import START, plugged_ev


def _problem(hourly_grid, rewards=()):
    return Problem(
        grid=hourly_grid,
        import_price_gbp_per_kwh=[0.10, 0.11, 0.11, 0.12, 0.20, 0.30, 0.30, 0.30, 0.30, 0.30],
        base_load_kw=0.5,
        evs=(
            plugged_ev(arrive_h=1, leave_h=5, arrival_soc=0.2, target_soc=0.4, capacity_kwh=50.0),
        ),
        import_rewards=tuple(rewards),
    )


def test_a_session_moves_the_car_out_and_the_reward_is_reported(hourly_grid):
    plain = optimise(_problem(hourly_grid))
    ev = plain.schedule["EV.power_kw"].to_numpy()
    assert ev[1:3].sum() > 5  # without a session the car charges in the cheap slots 1-2
    session = ImportReward(
        start_utc=START + timedelta(hours=1),
        end_utc=START + timedelta(hours=3),
        reward_gbp_per_kwh=2.0,
        baseline_kw=0.5 + 7.4,  # what the home would have imported
        session_id="saving-1",
    )
    plan = optimise(_problem(hourly_grid, [session]))
    imp = plan.schedule["grid_import_kw"].to_numpy()
    np.testing.assert_allclose(imp[1:3], 0.5, atol=1e-6)  # the household's load alone
    assert plan.schedule["EV.power_kw"].to_numpy()[1:3].max() == pytest.approx(0.0, abs=1e-6)
    assert plan.totals.ev_shortfall_kwh == pytest.approx(0.0, abs=1e-6)  # charged after
    assert plan.totals.import_reward_gbp == pytest.approx(2.0 * 2 * 7.4)
    assert plain.totals.import_reward_gbp == 0.0
    # the objective is the solver's: the linear term (2 GBP on each kWh imported) included
    assert plan.totals.objective_gbp == pytest.approx(plan.solver.objective_gbp, abs=1e-3)


def test_a_session_is_checked_like_any_input(hourly_grid):
    bad = ImportReward(
        start_utc=START + timedelta(hours=2),
        end_utc=START + timedelta(hours=1),
        reward_gbp_per_kwh=1.0,
    )
    with pytest.raises(ProblemError, match=r"import_rewards\[0\]\.end_utc"):
        _problem(hourly_grid, [bad])
    negative = ImportReward(
        start_utc=START, end_utc=START + timedelta(hours=1), reward_gbp_per_kwh=-1.0
    )
    with pytest.raises(ProblemError, match="reward_gbp_per_kwh"):
        _problem(hourly_grid, [negative])
