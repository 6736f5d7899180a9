"""The reference home of the speed benchmark (issue: optimiser), each instance from its own inputs.

PV 4 kWp, 10 kWh battery, a 60 kWh EV on a 7.4 kW charger (1.4 kW minimum) with one overnight
session, a modulating 3 kW heat pump with a 1R1C building and a comfort band, base load,
Agile-like prices (cheap nights, a 16:00-19:00 peak, noise, occasional negative slots) and a
carbon curve. Every number varies with the seed, so no two homes share inputs.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from optimiser import (
    Battery,
    Building,
    CopCurve,
    ElectricVehicle,
    HeatPump,
    PlugInSession,
    Problem,
    PvArray,
    TimeGrid,
)

START = datetime(2026, 1, 12, 12, 0, tzinfo=UTC)
COP = CopCurve(outdoor_temperature_c=(-7.0, 2.0, 7.0, 12.0), cop=(2.2, 2.8, 3.4, 4.0))


def reference_heat_pump(rng: np.random.Generator, hod: npt.NDArray[np.float64]) -> HeatPump:
    """A 3 kW heat pump in a building drawn from ``rng`` (heat loss 0.12-0.25 kW/K, thermal
    capacity 6-12 kWh/K, 20 C at the start), kept at 19.5-22.5 C from 06:30 to 22:30 and at
    17-22.5 C at night; ``hod``: each slot's hour of the day."""
    return HeatPump(
        max_power_kw=3.0,
        cop=COP,
        building=Building(
            heat_loss_kw_per_k=float(rng.uniform(0.12, 0.25)),
            thermal_capacity_kwh_per_k=float(rng.uniform(6.0, 12.0)),
            initial_indoor_temperature_c=20.0,
        ),
        comfort_min_c=np.where((hod >= 6.5) & (hod < 22.5), 19.5, 17.0),
        comfort_max_c=22.5,
    )


def reference_home(seed: int, n_steps: int = 96, step_minutes: int = 30) -> Problem:
    """A reference home starting at noon on a winter Monday."""
    rng = np.random.default_rng(seed)
    grid = TimeGrid(start_utc=START, step_minutes=step_minutes, n_steps=n_steps)
    hours = 12.0 + np.arange(n_steps, dtype=np.float64) * grid.step_hours
    hod = hours % 24
    peak = (hod >= 16) & (hod < 19)
    night = (hod >= 0) & (hod < 6)
    price = (
        0.17
        + 0.04 * rng.standard_normal(n_steps)
        + np.where(peak, 0.15, 0)
        - np.where(night, 0.07, 0)
    )
    price[rng.random(n_steps) < 0.02] = -0.03  # the odd negative slot
    export = np.clip(0.55 * price, 0.0, None) + 0.01
    carbon = 180 + 80 * np.sin((hours - 8) / 24 * 2 * np.pi) + 15 * rng.standard_normal(n_steps)
    pv = (
        np.clip(np.sin((hod - 8) / 8 * np.pi), 0, None)
        * rng.uniform(0.8, 2.8)
        * np.where((hod >= 8) & (hod <= 16), 1, 0)
    )
    load = 0.3 + 0.25 * rng.random(n_steps) + np.where(peak, 0.6, 0.0)
    outdoor = rng.uniform(0, 6) + 3 * np.sin((hod - 9) / 24 * 2 * np.pi)
    arrive = START + timedelta(hours=float(rng.integers(5, 9)))
    leave = START + timedelta(hours=float(rng.integers(18, 21)) + 0.5)
    return Problem(
        grid=grid,
        import_price_gbp_per_kwh=price,
        export_price_gbp_per_kwh=export,
        carbon_intensity_g_per_kwh=np.clip(carbon, 20, None),
        carbon_weight_gbp_per_kg=0.05,
        base_load_kw=load,
        outdoor_temperature_c=outdoor,
        pv=(PvArray(forecast_kw=pv),),
        batteries=(
            Battery(
                capacity_kwh=10.0,
                initial_soc=float(rng.uniform(0.2, 0.8)),
                min_soc=0.1,
                max_charge_kw=5.0,
                max_discharge_kw=5.0,
            ),
        ),
        evs=(
            ElectricVehicle(
                battery_capacity_kwh=60.0,
                sessions=(
                    PlugInSession(
                        arrival_utc=arrive,
                        departure_utc=leave,
                        arrival_soc=float(rng.uniform(0.2, 0.5)),
                        target_soc=0.8,
                    ),
                ),
            ),
        ),
        heat_pumps=(reference_heat_pump(rng, hod),),
    )
