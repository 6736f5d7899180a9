"""The reference home of the benchmarks and a backtest config on real data in one call.

:func:`real_data_config` loads the data folder
(:func:`hems.backtest.home_data.load_home_data`), draws the car's stays from the Dundee
slow-charger sessions and wires the actuals (what happens) and
:class:`~hems.backtest.forecast_market.HistoricalForecast` (what the planner is told) into a
:class:`~hems.backtest.config.BacktestConfig`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from hems.backtest.config import (
    DEFAULT_FORESIGHT_HORIZON_HOURS,
    DEFAULT_HORIZON_HOURS,
    BacktestConfig,
    data_horizon_hours,
)
from hems.backtest.data import (
    DataReport,
    data_dir,
    draw_ev_stays,
    load_dundee_sessions,
)
from hems.backtest.forecast_market import HistoricalForecast, PvForecast, TemperatureForecast
from hems.backtest.home_data import HomeData, load_home_data
from hems.demo import demo_home_spec
from hems.domain.devices import EvChargerSpec, PvSpec
from hems.domain.home import HomeSpec
from hems.market import ReplayedMarket

REFERENCE_PV_KWP = 4.0
"""The reference home's PV array [kWp]."""


def reference_home() -> HomeSpec:
    """The benchmark's home: 4 kWp PV, a 10 kWh / 5 kW battery, a 60 kWh EV on a 7 kW charger
    and a 3 kW heat pump in a semi-detached house as a 1R1C model (heat loss 0.18 kW/K, thermal
    capacity 9 kWh/K), in Oxfordshire."""
    demo = demo_home_spec("REF-0001")
    devices = [
        PvSpec(name=d.name, peak_kw=REFERENCE_PV_KWP) if isinstance(d, PvSpec) else d
        for d in demo.devices
    ]
    return demo.model_copy(update={"name": "Reference home", "devices": devices})


def real_data_config(
    folder: str | Path | None,
    start_utc: datetime,
    days: int,
    *,
    home: HomeSpec | None = None,
    allow_fill: bool = False,
    temperature: TemperatureForecast = "weather",
    pv: PvForecast = "weather",
    seed: int = 0,
    data: HomeData | None = None,
    export_file: str | None = None,
    **config: Any,
) -> BacktestConfig:
    """A :class:`BacktestConfig` replaying the real series of ``folder`` (or
    ``$HEMS_DATA_DIR``) over ``days`` days from ``start_utc``; further keyword arguments go to
    :class:`BacktestConfig` (``horizon_hours``, ``preferences``, ``dsr_events``, ...). The
    consumer tells the planner each stay's end at plug-in (``departures_told``, default True
    here: the drawn stays do not follow the weekly departure times). ``temperature`` and
    ``pv`` choose the planner's weather (:class:`HistoricalForecast`: ``"weather"``, the default
    for both, simulates a weather forecast; ``"history"`` uses none).
    ``export_file`` (e.g. :data:`hems.backtest.data.AGILE_OUTGOING`) makes the export price
    that file's series (default: flat, :func:`~hems.backtest.home_data.load_home_data`).
    ``data`` skips loading (e.g. one :class:`HomeData` shared by many configs)."""
    chosen = home or reference_home()
    horizon = data_horizon_hours(
        int(config.get("horizon_hours", DEFAULT_HORIZON_HOURS)),
        int(config.get("foresight_horizon_hours", DEFAULT_FORESIGHT_HORIZON_HOURS)),
    )
    end = start_utc + timedelta(days=days)
    root = data_dir(folder)
    loaded = data or load_home_data(
        root,
        start_utc,
        end,
        horizon_hours=horizon,
        allow_fill=allow_fill,
        export_file=export_file,
    )
    reach = pd.Timestamp(end + timedelta(hours=horizon))
    last = pd.Timestamp(loaded.actuals.index[-1]) if len(loaded.actuals) else None
    if last is None or last + pd.Timedelta(minutes=30) < reach:
        raise ValueError(
            f"the data given end at {last}, short of the period plus the {horizon} h horizon "
            f"({reach}): load them with horizon_hours={horizon}"
        )
    ev = next((d for d in chosen.devices if isinstance(d, EvChargerSpec)), None)
    stays = None
    reports = loaded.report.series
    if ev is not None:
        sessions = load_dundee_sessions(root)
        stays = tuple(
            draw_ev_stays(
                sessions, start_utc, days, capacity_kwh=ev.vehicle_capacity_kwh, seed=seed
            )
        )
        reports = (*reports, sessions.report)
    return BacktestConfig(
        home=chosen,
        start_utc=start_utc,
        days=days,
        market=HistoricalForecast(loaded, temperature=temperature, pv=pv, seed=seed),
        actuals=ReplayedMarket(loaded.actuals),
        ev_stays=stays,
        data_report=DataReport(series=reports),
        seed=seed,
        noise=0.0,
        departures_told=config.pop("departures_told", True),
        **config,
    )


__all__ = ["REFERENCE_PV_KWP", "real_data_config", "reference_home"]
