"""The demo home: bundled sample data (see ``examples/build_demo_data.py``) and a typical set of
devices (4 kWp PV, 10 kWh battery, 60 kWh EV on a 7.4 kW charger, 3 kW heat pump)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path

import pandas as pd

from hems.domain.devices import BatterySpec, EvChargerSpec, HeatPumpSpec, PvSpec
from hems.domain.home import HomeSpec
from optimiser import (
    Battery,
    Building,
    ElectricVehicle,
    HeatPump,
    HotWaterTank,
    HplibCop,
    PlugInSession,
    Problem,
    PvArray,
    TimeGrid,
    carbon_weight_from_preference,
)

PV_KWP = 4.0
DEMO_COLUMNS = (
    "import_price_gbp_per_kwh",
    "export_price_gbp_per_kwh",
    "carbon_intensity_g_per_kwh",
    "base_load_kw",
    "pv_kw_per_kwp",
    "outdoor_temperature_c",
)
DEMO_SLOTS = 96
"""The demo problem's 48 h of 30-minute slots (its car sessions end 43.5 h in)."""


class DemoDataError(ValueError):
    """An input series file that is not the demo's layout; the message says what is wrong."""


# hplib database row "Advantix i-SHWAK V4 06" (Heat Pump Keymark, CC BY 4.0): fitted COP
# parameters for an air/water unit; COP 4.4 at 7 °C outside and 35 °C flow, 2.7 at -5 °C.
DEMO_COP = HplibCop(
    p1=-40.3607005486704, p2=-0.042594098129816, p3=4.862191860731595, p4=40.502337728959205
)


def read_demo_series(path: Path | None = None) -> pd.DataFrame:
    """The demo home's input series, indexed by slot start (UTC). A file of the user's is
    checked first (:class:`DemoDataError` says what is wrong), so the planner never sees text,
    gaps or NaN."""
    if path is None:
        with resources.as_file(resources.files("hems") / "demo_data" / "demo_home.csv") as bundled:
            frame = pd.read_csv(bundled, index_col="slot_start_utc", parse_dates=["slot_start_utc"])
    else:
        frame = _checked_series(path)
    frame.index = pd.DatetimeIndex(frame.index).tz_convert("UTC")
    return frame


def _checked_series(path: Path) -> pd.DataFrame:
    """The series in ``path`` with every column the demo needs, finite, on 30-minute slots."""
    try:
        frame = pd.read_csv(path)
    except (ValueError, UnicodeDecodeError) as exc:  # pandas' ParserError is a ValueError
        raise DemoDataError(f"{path} is not a CSV file: {exc}") from None
    missing = [c for c in ("slot_start_utc", *DEMO_COLUMNS) if c not in frame.columns]
    if missing:
        raise DemoDataError(f"{path} lacks the column(s) {', '.join(missing)}")
    try:
        index = pd.DatetimeIndex(pd.to_datetime(frame.pop("slot_start_utc"), utc=True))
        values = frame[list(DEMO_COLUMNS)].astype(float)
    except (ValueError, TypeError) as exc:
        raise DemoDataError(f"{path}: a time or number cannot be read ({exc})") from None
    if not values.map(math.isfinite).all().all():
        raise DemoDataError(f"{path}: every value must be a finite number")
    steps = index.to_series().diff().dropna()
    if len(index) < DEMO_SLOTS or (steps != pd.Timedelta(minutes=30)).any():
        raise DemoDataError(
            f"{path}: needs at least {DEMO_SLOTS} consecutive 30-minute slots (48 h), "
            f"got {len(index)} rows"
        )
    values.index = index.rename("slot_start_utc")
    return values


def demo_problem(series: pd.DataFrame | None = None, *, carbon_preference: float = 0.2) -> Problem:
    """The demo home's 48 h planning problem over the bundled series."""
    s = read_demo_series() if series is None else series
    start: datetime = pd.Timestamp(s.index[0]).to_pydatetime()
    grid = TimeGrid(start_utc=start, step_minutes=30, n_steps=len(s))

    def at(hours: float) -> datetime:
        return start + timedelta(hours=hours)

    ev = ElectricVehicle(
        name="EV",
        battery_capacity_kwh=60.0,
        min_charge_kw=1.4,
        max_charge_kw=7.4,
        sessions=(
            PlugInSession(
                arrival_utc=at(6), departure_utc=at(19.5), arrival_soc=0.35, target_soc=0.8
            ),
            PlugInSession(
                arrival_utc=at(30), departure_utc=at(43.5), arrival_soc=0.5, target_soc=0.8
            ),
        ),
    )
    heat_pump = HeatPump(
        name="Heat pump",
        max_power_kw=3.0,
        cop=DEMO_COP,
        building=Building(
            heat_loss_kw_per_k=0.18,
            thermal_capacity_kwh_per_k=9.0,
            initial_indoor_temperature_c=20.0,
            internal_gain_kw=0.3,
        ),
        comfort_min_c=_comfort_min(grid),
        comfort_max_c=22.5,
        tank=HotWaterTank(
            volume_litres=200, initial_temperature_c=50.0, draw_kw=_hot_water_draw(grid)
        ),
    )
    return Problem(
        grid=grid,
        import_price_gbp_per_kwh=s["import_price_gbp_per_kwh"].to_numpy(),
        export_price_gbp_per_kwh=s["export_price_gbp_per_kwh"].to_numpy(),
        carbon_intensity_g_per_kwh=s["carbon_intensity_g_per_kwh"].to_numpy(),
        carbon_weight_gbp_per_kg=carbon_weight_from_preference(carbon_preference),
        base_load_kw=s["base_load_kw"].to_numpy(),
        outdoor_temperature_c=s["outdoor_temperature_c"].to_numpy(),
        pv=(PvArray(name="PV", forecast_kw=PV_KWP * s["pv_kw_per_kwp"].to_numpy()),),
        batteries=(
            Battery(
                name="Battery",
                capacity_kwh=10.0,
                initial_soc=0.3,
                min_soc=0.1,
                max_charge_kw=5.0,
                max_discharge_kw=5.0,
                degradation_gbp_per_kwh=0.02,
                end_value_gbp_per_kwh=0.10,
            ),
        ),
        evs=(ev,),
        heat_pumps=(heat_pump,),
    )


def _comfort_min(grid: TimeGrid) -> list[float]:
    """20 °C from 06:30 to 22:30 local time, 17 °C overnight."""
    local = grid.local_index()
    minutes = local.hour * 60 + local.minute
    return [20.0 if 390 <= m < 1350 else 17.0 for m in minutes]


def _hot_water_draw(grid: TimeGrid) -> list[float]:
    """Showers at 07:00 and 07:30 (3 kW of heat for half an hour each) and washing up at 19:00."""
    local = grid.local_index()
    hhmm = [(t.hour, t.minute) for t in local]
    return [3.0 if h in ((7, 0), (7, 30)) else 2.0 if h == (19, 0) else 0.05 for h in hhmm]


def demo_home_spec(serial: str = "DEMO-0001") -> HomeSpec:
    """The demo home as the service knows it: same devices as :func:`demo_problem`, without the
    hot-water tank (the simulated heat pump heats the building only)."""
    return HomeSpec(
        name="Demo home",
        cem_manufacturer="Open CEM",
        cem_serial=serial,
        latitude=51.75,
        longitude=-1.26,
        region="H",
        devices=[
            PvSpec(name="PV", peak_kw=PV_KWP),
            BatterySpec(
                name="Battery",
                capacity_kwh=10.0,
                max_charge_kw=5.0,
                max_discharge_kw=5.0,
                min_soc=0.1,
            ),
            EvChargerSpec(name="EV", vehicle_capacity_kwh=60.0),
            HeatPumpSpec(
                name="Heat pump",
                max_power_kw=3.0,
                heat_loss_kw_per_k=0.18,
                thermal_capacity_kwh_per_k=9.0,
            ),
        ],
    )
