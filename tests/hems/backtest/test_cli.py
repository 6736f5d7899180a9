"""`hems backtest` writes its KPIs per strategy and per day as CSV."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from hems.cli import app


def test_hems_backtest_writes_the_csv(tmp_path):
    out = tmp_path / "results.csv"
    result = CliRunner().invoke(
        app,
        [
            "backtest",
            "--days",
            "1",
            "--strategies",
            "planner,naive",
            "--slot-minutes",
            "60",
            "--horizon-hours",
            "24",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out, index_col="strategy")
    assert list(frame.index) == ["planner", "naive"]
    assert {"bill_gbp", "carbon_kg", "ev_short_kwh", "plans_per_s"} <= set(frame.columns)
    daily = pd.read_csv(tmp_path / "results_daily.csv")
    assert len(daily) == 2


def test_hems_backtest_refuses_an_unknown_strategy(tmp_path):
    result = CliRunner().invoke(
        app, ["backtest", "--strategies", "magic", "--out", str(tmp_path / "r.csv")]
    )
    assert result.exit_code == 2
