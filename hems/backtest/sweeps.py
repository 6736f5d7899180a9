"""Parameter sweeps over backtests, and the Pareto view of cost against carbon.

A sweep runs the same backtest (one home, one period, the same actuals and car arrivals) once per
parameter point and returns one tidy row per point and strategy, with the KPIs of
:func:`hems.backtest.run_backtest`'s summary. The parameters (:data:`SWEEP_PARAMETERS`):

* ``carbon_preference`` [0-1]: the consumer's "cost vs carbon" slider; the planner's carbon
  weight is :func:`optimiser.carbon_weight_from_preference` of it (0-0.5 GBP/kg), reported in
  the ``carbon_weight_gbp_per_kg`` column;
* ``battery_reserve_soc`` [0-0.9]: the SoC the battery keeps for outages;
* ``comfort_band_k`` [K, 0-20]: the width of the comfort band: the comfort maximum is set this far
  above the highest comfort minimum of the consumer's schedule (a wider band lets the heat pump
  pre-heat further);
* ``noise`` [relative, 0-1]: forecast quality, :attr:`BacktestConfig.noise` (how far the actuals
  stray from the planner's forecast; 0 = a perfect forecast), on the demo data;
* ``pv_forecast_error`` [relative, 0-3]: PV forecast quality on real data: the factor on the
  simulated weather PV forecast's error (:attr:`HistoricalForecast.pv_error`; 0 = the actual
  output, 1 = the default error, 2 = twice it). Needs ``market`` to be a
  :class:`~hems.backtest.forecast_market.HistoricalForecast` with ``pv="weather"``.

Quick start::

    from hems.backtest import BacktestConfig
    from hems.backtest.sweeps import run_sweep, pareto_efficient
    frame = run_sweep(BacktestConfig(days=2), {"carbon_preference": [0.0, 0.5, 1.0]})
    frame["pareto"] = pareto_efficient(frame)

Points run one after another unless ``workers`` (a process pool made here) or ``executor`` (any
:class:`concurrent.futures.Executor`, e.g. a Dask ``Client.get_executor()``) is given.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import replace
from multiprocessing import get_context

import numpy as np
import pandas as pd

from hems.backtest.config import BacktestConfig, Cadence
from hems.backtest.forecast_market import DEFAULT_PV_ERROR, HistoricalForecast
from hems.backtest.runner import run_backtest
from optimiser import carbon_weight_from_preference

SWEEP_PARAMETERS = (
    "carbon_preference",
    "battery_reserve_soc",
    "comfort_band_k",
    "noise",
    "pv_forecast_error",
)
"""The parameters a sweep can vary (see the module docstring for their units)."""

MAX_COMFORT_C = 30.0
"""The highest comfort maximum the consumer's preferences accept [°C]."""

Point = Mapping[str, float]
PointDone = Callable[[], None]
"""Called once per finished parameter point (progress bars)."""


def parameter_grid(axes: Mapping[str, Iterable[float]]) -> list[dict[str, float]]:
    """Every combination of the axes' values (the first axis varies slowest).

    Example: ``parameter_grid({"carbon_preference": [0, 1], "noise": [0, 0.1]})`` gives four
    points. Each value is checked as :func:`check_point` does.
    """
    if not axes:
        raise ValueError("a sweep needs at least one parameter axis")
    names = list(axes)
    values = []
    for name in names:
        chosen = list(axes[name])
        if not chosen:
            raise ValueError(f"the sweep axis {name!r} has no values")
        values.append(chosen)
    points = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]
    for point in points:
        check_point(point)
    return points


def check_point(point: Point) -> dict[str, float]:
    """The point as floats, or ValueError naming the parameter that is unknown or out of range."""
    if not point:
        raise ValueError("a parameter point needs at least one parameter")
    checked: dict[str, float] = {}
    for name, raw in point.items():
        if name not in SWEEP_PARAMETERS:
            raise ValueError(
                f"unknown sweep parameter {name!r}; choose from {', '.join(SWEEP_PARAMETERS)}"
            )
        if isinstance(raw, bool) or not isinstance(raw, int | float | np.number):
            raise ValueError(f"{name} must be a number, got {raw!r}")
        value = float(raw)
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value}")
        low, high = _RANGES[name]
        if not low <= value <= high:
            raise ValueError(f"{name} must be within [{low}, {high}], got {value}")
        checked[name] = value
    return checked


_RANGES = {
    "carbon_preference": (0.0, 1.0),
    "battery_reserve_soc": (0.0, 0.9),
    "comfort_band_k": (0.0, 20.0),
    "noise": (0.0, 1.0),
    "pv_forecast_error": (0.0, 3.0),
}


def configure(config: BacktestConfig, point: Point) -> BacktestConfig:
    """``config`` with the point's parameters applied to the consumer's preferences (carbon,
    reserve, comfort band) and to the backtest (``noise``, ``pv_forecast_error``)."""
    checked = check_point(point)
    prefs = config.preferences
    updates: dict[str, float] = {}
    if "carbon_preference" in checked:
        updates["carbon_preference"] = checked["carbon_preference"]
    if "battery_reserve_soc" in checked:
        updates["battery_reserve_soc"] = checked["battery_reserve_soc"]
    if "comfort_band_k" in checked:
        highest_min_c = max(p.min_c for p in prefs.comfort)
        comfort_max_c = highest_min_c + checked["comfort_band_k"]
        if comfort_max_c > MAX_COMFORT_C:
            raise ValueError(
                f"comfort_band_k={checked['comfort_band_k']} puts the comfort maximum at "
                f"{comfort_max_c} °C (highest minimum {highest_min_c} °C), above the "
                f"{MAX_COMFORT_C} °C the preferences accept"
            )
        updates["comfort_max_c"] = comfort_max_c
    # model_validate (not model_copy) so the preferences' own checks run on the new values.
    new_prefs = type(prefs).model_validate({**prefs.model_dump(), **updates})
    out = replace(config, preferences=new_prefs)
    if "noise" in checked:
        out = replace(out, noise=checked["noise"])
    if "pv_forecast_error" in checked:
        market = config.market
        if not isinstance(market, HistoricalForecast) or market.pv != "weather":
            raise ValueError(
                "pv_forecast_error needs the planner's market to be a HistoricalForecast with "
                "pv='weather' (real data: hems.backtest.real_data_config)"
            )
        factor = checked["pv_forecast_error"]
        sd0, growth = DEFAULT_PV_ERROR
        out = replace(out, market=replace(market, pv_error=(factor * sd0, factor * growth)))
    return out


def run_point(
    config: BacktestConfig,
    point: Point,
    strategies: Sequence[str] = ("planner",),
    cadence: Cadence | str = Cadence.HOURLY,
) -> pd.DataFrame:
    """One parameter point: one row per strategy with the point's parameters, the carbon weight
    the planner used [GBP/kg] and the run's KPIs (:func:`hems.backtest.run_backtest`)."""
    chosen = configure(config, point)
    summary = run_backtest(chosen, list(strategies), cadence=cadence).summary.reset_index()
    for name, value in reversed(list(check_point(point).items())):
        summary.insert(0, name, value)
    summary.insert(
        len(point) + 1,  # after the parameters and the strategy
        "carbon_weight_gbp_per_kg",
        carbon_weight_from_preference(chosen.preferences.carbon_preference),
    )
    return summary


def run_sweep(
    config: BacktestConfig,
    points: Mapping[str, Iterable[float]] | Sequence[Point],
    *,
    strategies: Sequence[str] = ("planner",),
    cadence: Cadence | str = Cadence.HOURLY,
    workers: int = 1,
    executor: Executor | None = None,
    progress: PointDone | None = None,
) -> pd.DataFrame:
    """Run the backtest at every parameter point.

    Args:
        config: the home, period and market every point shares.
        points: axes (``{"carbon_preference": [0, 0.5, 1]}``, every combination is run, see
            :func:`parameter_grid`) or an explicit list of points (dicts).
        strategies: strategy names (:data:`hems.backtest.STRATEGY_NAMES`) run at each point.
        cadence: the planner's re-plan cadence.
        workers: above 1, run the points in a process pool of this many processes.
        executor: run the points on this executor instead (it is not shut down here).
        progress: called once per finished point.

    Returns:
        One row per point and strategy, in the points' order: the parameters, ``strategy``,
        ``carbon_weight_gbp_per_kg`` and the KPI columns (bill GBP, carbon kg, ...). Every point
        has the same parameter columns (a point may not leave out a parameter another sets).
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if executor is not None and workers != 1:
        raise ValueError("give either workers or an executor, not both")
    chosen = parameter_grid(points) if isinstance(points, Mapping) else [*map(check_point, points)]
    if not chosen:
        raise ValueError("a sweep needs at least one parameter point")
    names = set(chosen[0])
    for point in chosen[1:]:
        if set(point) != names:
            raise ValueError(
                f"every point must set the same parameters: {sorted(names)} and {sorted(point)}"
            )
    if not strategies:
        raise ValueError("a sweep needs at least one strategy")
    Cadence(cadence)  # a bad cadence fails before any point runs
    strategy_list = list(strategies)

    frames: list[pd.DataFrame]
    if executor is None and workers == 1:
        frames = []
        for point in chosen:
            frames.append(run_point(config, point, strategy_list, cadence))
            if progress is not None:
                progress()
    elif executor is not None:
        frames = _on(executor, config, chosen, strategy_list, cadence, progress)
    else:
        with ProcessPoolExecutor(
            max_workers=min(workers, len(chosen)), mp_context=get_context("spawn")
        ) as pool:
            frames = _on(pool, config, chosen, strategy_list, cadence, progress)
    return pd.concat(frames, ignore_index=True)


def _on(
    executor: Executor,
    config: BacktestConfig,
    points: Sequence[Point],
    strategies: list[str],
    cadence: Cadence | str,
    progress: PointDone | None,
) -> list[pd.DataFrame]:
    futures: list[Future[pd.DataFrame]] = [
        executor.submit(run_point, config, point, strategies, str(Cadence(cadence)))
        for point in points
    ]
    if progress is not None:
        for future in futures:
            future.add_done_callback(lambda _: progress())
    return [f.result() for f in futures]


def pareto_efficient(
    frame: pd.DataFrame, objectives: Sequence[str] = ("bill_gbp", "carbon_kg")
) -> pd.Series:
    """True for each row no other row dominates when every objective is minimised.

    A row is dominated when another is no worse in every objective and better in at least one;
    rows with equal objectives do not dominate each other (both stay efficient).

    Returns:
        A boolean Series on ``frame``'s index, named ``pareto``.
    """
    if not objectives:
        raise ValueError("give at least one objective column")
    missing = [c for c in objectives if c not in frame.columns]
    if missing:
        raise ValueError(f"no column {', '.join(map(repr, missing))} in the frame")
    values = frame[list(objectives)].to_numpy(dtype=float)
    if np.isnan(values).any():
        raise ValueError(f"the objectives {list(objectives)} have missing values")
    # no_worse[i, j]: row j is no worse than row i in every objective; better: in at least one
    no_worse = np.all(values[None, :, :] <= values[:, None, :], axis=2)
    better = np.any(values[None, :, :] < values[:, None, :], axis=2)
    dominated = np.any(no_worse & better, axis=1)
    return pd.Series(~dominated, index=frame.index, name="pareto")


def abatement_costs(
    frame: pd.DataFrame, cost: str = "bill_gbp", carbon: str = "carbon_kg"
) -> pd.DataFrame:
    """What each further kilogram of carbon avoided costs along the Pareto front.

    The efficient rows (:func:`pareto_efficient` of ``cost`` and ``carbon``) sorted from the
    cheapest (most carbon) to the greenest; for each row after the first,
    ``gbp_per_kg_avoided`` = extra cost [GBP] / carbon avoided [kg] against the previous row
    (``pence_per_g_avoided`` the same in pence per gram: x 100 / 1000). Rows with the same carbon
    as their predecessor are dropped (nothing is avoided there). Give it one strategy's rows of
    a sweep (a front across strategies mixes different ways of running the home).
    """
    front = frame[pareto_efficient(frame, (cost, carbon))].sort_values([cost, carbon])
    front = front.drop_duplicates(subset=[carbon])
    extra_gbp = front[cost].diff()
    avoided_kg = -front[carbon].diff()
    out = front.copy()
    out["extra_gbp"] = extra_gbp
    out["avoided_kg"] = avoided_kg
    out["gbp_per_kg_avoided"] = extra_gbp / avoided_kg
    out["pence_per_g_avoided"] = out["gbp_per_kg_avoided"] * 100 / 1000
    return out
