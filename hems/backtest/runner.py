"""Run several strategies on one config and gather their KPIs."""

from __future__ import annotations

from collections.abc import Sequence

from hems.backtest.config import BacktestConfig, Cadence
from hems.backtest.engine import Progress, Strategy, run_strategy
from hems.backtest.kpis import BacktestResults, results_for
from hems.backtest.strategies import strategy_named


def run_backtest(
    config: BacktestConfig,
    strategies: Sequence[str | Strategy] = ("planner", "naive"),
    *,
    cadence: Cadence | str = Cadence.HOURLY,
    progress: Progress | None = None,
) -> BacktestResults:
    """Run each strategy (a name from :data:`STRATEGY_NAMES` or a :class:`Strategy`) over the
    same period, actuals and car arrivals; ``cadence`` applies to the ``planner`` by name."""
    chosen = [
        strategy_named(s, config, Cadence(cadence)) if isinstance(s, str) else s for s in strategies
    ]
    runs = tuple(run_strategy(config, s, progress=progress) for s in chosen)
    return results_for(runs, config, config.data_report)
