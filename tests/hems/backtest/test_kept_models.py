"""The backtests plan through kept models (``BacktestConfig.model_cache_shapes``), as the
service's planner workers do, and their bills equal fresh plans' to the solver's gap."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hems.backtest import BacktestConfig, Cadence, PlannerStrategy, run_strategy, strategy_named
from hems.settings import Settings
from optimiser import CacheStats

DAYS = 2
BILL_TOLERANCE = 10 * 5e-4
"""Relative: each plan's objective is within the planner's 0.05 % gap of its optimum, fresh or
kept, so two runs may take different near-optimal plans and their homes' states drift apart;
ten times the gap bounds a run's bill with margin (the demo home's bills agreed exactly)."""


def _run(config: BacktestConfig, name: str) -> tuple[float, int, CacheStats | None]:
    strategy = strategy_named(name, config, Cadence.HOURLY)
    assert isinstance(strategy, PlannerStrategy)
    result = run_strategy(config, strategy)
    stats = strategy.model_cache_stats
    assert result.plans_kept_model == (0 if stats is None else stats.hits)
    return result.totals["bill_gbp"], result.plans, stats


@pytest.mark.parametrize("name", ["planner", "perfect_foresight"])
def test_a_rolling_backtest_plans_through_kept_models_for_the_same_bill(name: str) -> None:
    # the bound rolls hourly here (it plans the period at once up to foresight_once_max_days:
    # a grid of another length each plan, no shape kept)
    config = BacktestConfig(days=DAYS, foresight_once_max_days=0, foresight_cadence=Cadence.HOURLY)
    bill, plans, stats = _run(config, name)
    assert stats is not None
    # a shape's first plan is fresh, its second builds the kept model, the rest hit (a few
    # shapes: as many EV stays overlapping the horizon)
    assert stats.uncovered == 0, stats
    assert stats.hits >= 0.85 * plans, stats
    fresh_bill, fresh_plans, fresh_stats = _run(replace(config, model_cache_shapes=0), name)
    assert fresh_stats is None
    assert fresh_plans == plans
    assert bill == pytest.approx(fresh_bill, rel=BILL_TOLERANCE)


def test_the_backtests_keep_as_many_shapes_as_the_service_by_default() -> None:
    default = Settings.model_fields["planner_model_cache_shapes"].default
    assert BacktestConfig().model_cache_shapes == default


def test_a_negative_number_of_shapes_is_refused() -> None:
    with pytest.raises(ValueError, match="model_cache_shapes"):
        BacktestConfig(model_cache_shapes=-1)
