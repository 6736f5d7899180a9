"""A planner's market with chosen inputs as they actually were (``with_actual_inputs``)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from benchmarks.bench_planner_days import main as bench_planner_days
from hems.backtest import BacktestConfig, HistoricalForecast, with_actual_inputs
from hems.market import BASE_LOAD_P90, COLUMNS, ReplayedMarket
from optimiser import TimeGrid
from tests.hems.backtest.synthetic import START, home_data


def _config() -> BacktestConfig:
    data = home_data(days=1)
    return BacktestConfig(
        start_utc=START,
        days=1,
        market=HistoricalForecast(data, pv="weather"),
        actuals=ReplayedMarket(data.actuals),
        noise=0.0,
        data_report=data.report,
    )


def test_the_chosen_columns_are_the_actuals_and_the_rest_the_forecasts() -> None:
    config = _config()
    home = config.home
    grid = TimeGrid.starting_at(START + timedelta(hours=9), step_minutes=30, horizon_hours=36)
    chosen = ("pv_kw_per_kwp", "base_load_kw")
    seen = with_actual_inputs(config, chosen).market.series(grid, home)
    forecast = config.market.series(grid, home)
    assert config.actuals is not None
    actual = config.actuals.series(grid, home)
    for column in COLUMNS:
        expected = actual if column in chosen else forecast
        np.testing.assert_allclose(seen[column].to_numpy(), expected[column].to_numpy())
    # a perfect load forecast has no spread: its P90 is the actual load
    np.testing.assert_allclose(seen[BASE_LOAD_P90].to_numpy(), actual["base_load_kw"].to_numpy())
    # the forecasts differ from the actuals, so the check above tells the two apart
    for column in chosen:
        assert not np.allclose(forecast[column].to_numpy(), actual[column].to_numpy())


def test_an_unknown_column_or_a_config_without_actuals_is_refused() -> None:
    config = _config()
    with pytest.raises(ValueError, match="unknown market columns"):
        with_actual_inputs(config, ["pv"])
    with pytest.raises(ValueError, match="given actuals"):
        with_actual_inputs(BacktestConfig(), ["pv_kw_per_kwp"])


def test_the_benchmark_refuses_an_unknown_column(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        bench_planner_days(["--actual-inputs", "pv_kw_per_kwp,sunshine"])
    assert "unknown market columns ['sunshine']" in capsys.readouterr().err
