"""Backtests: replay a period for one home slot by slot and compare strategies (docs/backtest.md).

Quick start::

    from hems.backtest import BacktestConfig, run_backtest
    runs = run_backtest(BacktestConfig(days=2), ["planner", "naive"])
    runs.summary   # one row per strategy: bill, carbon, comfort, EV shortfall, plans per second
    runs.daily     # one row per strategy and local day
"""

from hems.backtest.config import BacktestConfig, Cadence
from hems.backtest.engine import RunResult, Strategy, run_strategy
from hems.backtest.kpis import BacktestResults, daily_frame, summary_frame
from hems.backtest.markets import actual_market
from hems.backtest.runner import run_backtest
from hems.backtest.strategies import (
    STRATEGY_NAMES,
    EvWindowStrategy,
    NaiveStrategy,
    PlannerStrategy,
    strategy_named,
)

__all__ = [
    "STRATEGY_NAMES",
    "BacktestConfig",
    "BacktestResults",
    "Cadence",
    "EvWindowStrategy",
    "NaiveStrategy",
    "PlannerStrategy",
    "RunResult",
    "Strategy",
    "actual_market",
    "daily_frame",
    "run_backtest",
    "run_strategy",
    "strategy_named",
    "summary_frame",
]
