"""Backtests: replay a period for one home slot by slot and compare strategies (docs/backtest.md).

Quick start::

    from hems.backtest import BacktestConfig, run_backtest
    runs = run_backtest(BacktestConfig(days=2), ["planner", "naive"])
    runs.summary   # one row per strategy: bill, carbon, comfort, EV shortfall, plans per second
    runs.daily     # one row per strategy and local day
"""

from hems.backtest.chunks import run_chunked
from hems.backtest.config import BacktestConfig, Cadence
from hems.backtest.data import (
    DATA_DIR_ENV,
    DataGapError,
    DataMissingError,
    DataReport,
    EvSessions,
    SeriesReport,
    data_dir,
    draw_ev_stays,
    load_agile_import,
    load_carbon_intensity,
    load_dundee_sessions,
    load_era5_temperature,
    load_household_kwh,
    load_pvgis_kw_per_kwp,
)
from hems.backtest.engine import RunResult, Strategy, run_strategy
from hems.backtest.forecast_market import HistoricalForecast
from hems.backtest.home_data import HomeData, assemble_home_data, load_home_data
from hems.backtest.kpis import (
    BacktestResults,
    daily_frame,
    dsr_frame,
    results_of,
    slots_frame,
    summary_frame,
)
from hems.backtest.markets import WithActualColumns, actual_market, with_actual_inputs
from hems.backtest.parallel import run_many
from hems.backtest.reference import real_data_config, reference_home
from hems.backtest.runner import run_backtest
from hems.backtest.strategies import (
    BASELINE_NAMES,
    STRATEGY_NAMES,
    BatterySelfConsumptionStrategy,
    BatteryTimerStrategy,
    EvWindowStrategy,
    NaiveStrategy,
    PlannerStrategy,
    strategy_named,
)

__all__ = [
    "BASELINE_NAMES",
    "DATA_DIR_ENV",
    "STRATEGY_NAMES",
    "BacktestConfig",
    "BacktestResults",
    "BatterySelfConsumptionStrategy",
    "BatteryTimerStrategy",
    "Cadence",
    "DataGapError",
    "DataMissingError",
    "DataReport",
    "EvSessions",
    "EvWindowStrategy",
    "HistoricalForecast",
    "HomeData",
    "NaiveStrategy",
    "PlannerStrategy",
    "RunResult",
    "SeriesReport",
    "Strategy",
    "WithActualColumns",
    "actual_market",
    "assemble_home_data",
    "daily_frame",
    "data_dir",
    "draw_ev_stays",
    "dsr_frame",
    "load_agile_import",
    "load_carbon_intensity",
    "load_dundee_sessions",
    "load_era5_temperature",
    "load_home_data",
    "load_household_kwh",
    "load_pvgis_kw_per_kwp",
    "real_data_config",
    "reference_home",
    "results_of",
    "run_backtest",
    "run_chunked",
    "run_many",
    "run_strategy",
    "slots_frame",
    "strategy_named",
    "summary_frame",
    "with_actual_inputs",
]
