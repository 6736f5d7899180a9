"""Synthetic real-data files and series for the backtest tests (no ../shared/data needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from hems.backtest.data import DEFAULT_EXPORT_PRICE_GBP_PER_KWH, SeriesReport
from hems.backtest.home_data import HomeData, assemble_home_data

START = datetime(2020, 3, 2, tzinfo=UTC)


def half_hours(start: datetime, days: float) -> pd.DatetimeIndex:
    return pd.date_range(start, start + timedelta(days=days), freq="30min", inclusive="left")


def series(start: datetime, days: float, seed: int = 0) -> dict[str, pd.Series]:
    """Plausible price [GBP/kWh], carbon [g/kWh], load [kWh/slot], PV [kW/kWp], temperature."""
    idx = half_hours(start, days)
    rng = np.random.default_rng(seed)
    hour = idx.hour.to_numpy() + idx.minute.to_numpy() / 60
    price = 0.1 + 0.1 * ((hour >= 16) & (hour < 19)) + 0.01 * rng.standard_normal(len(idx))
    carbon = 200 + 50 * np.sin(hour / 24 * 2 * np.pi) + 5 * rng.standard_normal(len(idx))
    load = 0.2 + 0.1 * rng.random(len(idx))
    pv = np.clip(np.sin((hour - 6) / 12 * np.pi), 0, None) * 0.5
    temp = 6 + 3 * np.sin((hour - 9) / 24 * 2 * np.pi)
    return {
        "price": pd.Series(price, index=idx),
        "carbon": pd.Series(carbon, index=idx),
        "load": pd.Series(load, index=idx),
        "pv": pd.Series(pv, index=idx),
        "temp": pd.Series(temp, index=idx),
    }


def home_data(
    start: datetime = START,
    days: int = 3,
    history_days: int = 21,
    seed: int = 0,
    *,
    export_series: bool = False,
) -> HomeData:
    """A :class:`HomeData` with ``history_days`` before ``start`` and two days after the end;
    with ``export_series`` its export price is a series (half the import price plus 1 p)."""
    s = series(start - timedelta(days=history_days), history_days + days + 3, seed)
    carbon = pd.DataFrame(
        {
            "carbon_intensity_actual_g_per_kwh": s["carbon"],
            "carbon_intensity_forecast_g_per_kwh": s["carbon"] + 10.0,
            "carbon_intensity_g_per_kwh": s["carbon"],
        }
    )

    def rep(name: str) -> SeriesReport:
        return SeriesReport(name=name, source="synthetic", rows_read=len(s["price"]))

    return assemble_home_data(
        start_utc=start,
        end_utc=start + timedelta(days=days),
        import_price_gbp_per_kwh=(s["price"], rep("price")),
        carbon=(carbon, rep("carbon")),
        base_load_kwh=(s["load"], rep("load")),
        pv_kw_per_kwp=(s["pv"], rep("pv")),
        outdoor_temperature_c=(s["temp"], rep("temp")),
        export_price_gbp_per_kwh=(0.5 * s["price"] + 0.01, rep("export"))
        if export_series
        else DEFAULT_EXPORT_PRICE_GBP_PER_KWH,
    )


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def write_data_folder(root: Path, start: datetime = START, days: int = 30) -> Path:
    """A data folder in the ``../shared/data`` layout with generated values (no real data):
    ``days`` days of every series ending a few days after ``start + 5 days``."""
    from hems.backtest import data as d

    s = series(start - timedelta(days=days - 5), days)
    idx = s["price"].index
    write(
        root / d.AGILE_2020,
        "timestamp,rate\n" + "\n".join(f"{t},{100 * v:.4f}" for t, v in s["price"].items()) + "\n",
    )
    write(
        root / d.CARBON_2020,
        "Datetime (UTC),Actual Carbon Intensity (gCO2/kWh),Forecast Carbon Intensity (gCO2/kWh),"
        "Index\n"
        + "\n".join(
            f"{t:%Y-%m-%dT%H:%MZ},{v:.0f},{v + 5:.0f},moderate" for t, v in s["carbon"].items()
        )
        + "\n",
    )
    ends = [(t + timedelta(minutes=30), v) for t, v in s["load"].items()][::-1]
    write(
        root / d.HOUSEHOLD,
        "halfhour ending at,usage\n" + "\n".join(f"{t},{v:.4f}" for t, v in ends) + "\n",
    )
    hours = pd.date_range("2016-01-01", "2017-01-01", freq="h", inclusive="left")
    watts = np.clip(np.sin((hours.hour.to_numpy() - 6) / 12 * np.pi), 0, None) * 600
    write(
        root / d.PVGIS_2016,
        "Date,EPV\n"
        + "\n".join(f"{t:%Y%m%d}:{t:%H}56,{w:.1f}" for t, w in zip(hours, watts, strict=True))
        + "\n,\nEPV: PV system power (W),\n",
    )
    hourly = s["temp"][idx.minute == 0]
    write(
        root / d.ERA5,
        "time_utc,temp_2m\n" + "\n".join(f"{t},{v:.3f}" for t, v in hourly.items()) + "\n",
    )
    header = (
        "Charging event,CP ID,Connector,Start Date,Start Time,End Date,End Time,Total kWh,Model"
    )
    rows = [
        f"{i},1,1,01/06/2018,{17 + i}:15,02/06/2018,07:{10 * i:02d},{8 + i},APT 7kW Dual Outlet"
        for i in range(4)
    ]
    for name in d.DUNDEE:
        write(root / name, header + "\n" + "\n".join(rows) + "\n")
    return root
