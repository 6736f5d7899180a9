"""Synthetic cohorts of homes on one day of the bundled Agile sample (issue 29's cohort
benchmark, docs/cohort.md): :func:`fleet_cohort`, the fleet benchmark's cohort
(:mod:`hems.simulation.cohort`) through the service's problem builder; :func:`cohort`, the
simple draws below (explicit EV sessions on a noon-to-noon day), each home from its own seed.

The day: 48 half-hour slots from 12:00 UTC, the bundled sample (``hems/demo_data``: Agile
import and export prices, carbon, a domestic base-load profile, PV per kWp, outdoor
temperature) replayed by :class:`hems.market.ReplayedMarket`, so every home sees the same
prices, as a cohort on one tariff does. Per home, independently:

=============  ==========================================================================
PV             40 %: 2.5-5 kWp (uniform) on the sample's PV per kWp
battery        50 % of the PV homes, 10 % of the others: 5, 10 or 13.5 kWh (equally
               likely), 0.5 C up to 5 kW, starting 20-80 % full and ending as full
EV             50 %: 40-80 kWh, a 7.4 kW charger (1.4 kW minimum), home at 17:00-20:00,
               leaving at 06:30-08:30 (half-hour steps), 20-60 % full, 80 % wished
heating        30 % a 3 kW heat pump in a 1R1C building (0.12-0.25 kW/K, 6-12 kWh/K),
               19.5 °C from 06:30 to 22:30 and 17 °C at night; else gas (no electric heat)
base load      the sample's profile times 0.6-1.6 (uniform)
=============  ==========================================================================
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from benchmarks.reference_home import reference_heat_pump
from hems.domain.devices import BatterySpec, EvChargerSpec, HeatPumpSpec
from hems.market import ReplayedMarket
from hems.problem_builder import PlanInputs, build_problem
from hems.simulation.cohort import draw_cohort
from kernel.devices import DeviceState
from optimiser import (
    Battery,
    ElectricVehicle,
    HeatPump,
    ModelExtension,
    PlugInSession,
    Problem,
    PvArray,
    TimeGrid,
)

DAY_START = datetime(2026, 1, 12, 12, 0, tzinfo=UTC)
N_SLOTS = 48


def cohort_grid() -> TimeGrid:
    return TimeGrid(start_utc=DAY_START, step_minutes=30, n_steps=N_SLOTS)


def cohort_home(seed: int, market: ReplayedMarket | None = None) -> Problem:
    """Home ``seed`` of the cohort (see the module's table)."""
    rng = np.random.default_rng(seed)
    grid = cohort_grid()
    m = (market or ReplayedMarket()).series(grid)
    hod = (12.0 + np.arange(N_SLOTS, dtype=np.float64) * 0.5) % 24
    has_pv = rng.random() < 0.4
    pv: tuple[PvArray, ...] = ()
    if has_pv:
        kwp = float(rng.uniform(2.5, 5.0))
        pv = (PvArray(forecast_kw=m["pv_kw_per_kwp"].to_numpy() * kwp),)
    batteries: tuple[Battery, ...] = ()
    if rng.random() < (0.5 if has_pv else 0.1):
        size = float(rng.choice([5.0, 10.0, 13.5]))
        soc = float(rng.uniform(0.2, 0.8))
        power = min(0.5 * size, 5.0)
        batteries = (
            Battery(
                capacity_kwh=size,
                initial_soc=soc,
                min_soc=0.1,
                max_charge_kw=power,
                max_discharge_kw=power,
                target_soc_end=max(soc, 0.1),
            ),
        )
    evs: tuple[ElectricVehicle, ...] = ()
    if rng.random() < 0.5:
        arrive = DAY_START + timedelta(hours=float(rng.integers(10, 17)) / 2 + 5)
        leave = DAY_START + timedelta(hours=18.5 + float(rng.integers(0, 5)) / 2)
        evs = (
            ElectricVehicle(
                battery_capacity_kwh=float(rng.uniform(40, 80)),
                max_charge_kw=7.4,
                sessions=(
                    PlugInSession(
                        arrival_utc=arrive,
                        departure_utc=leave,
                        arrival_soc=float(rng.uniform(0.2, 0.6)),
                        target_soc=0.8,
                    ),
                ),
            ),
        )
    heat_pumps: tuple[HeatPump, ...] = ()
    if rng.random() < 0.3:
        heat_pumps = (reference_heat_pump(rng, hod),)
    return Problem(
        grid=grid,
        import_price_gbp_per_kwh=m["import_price_gbp_per_kwh"].to_numpy(),
        export_price_gbp_per_kwh=m["export_price_gbp_per_kwh"].to_numpy(),
        carbon_intensity_g_per_kwh=m["carbon_intensity_g_per_kwh"].to_numpy(),
        base_load_kw=m["base_load_kw"].to_numpy() * float(rng.uniform(0.6, 1.6)),
        outdoor_temperature_c=m["outdoor_temperature_c"].to_numpy(),
        pv=pv,
        batteries=batteries,
        evs=evs,
        heat_pumps=heat_pumps,
    )


def cohort(homes: int) -> list[Problem]:
    """Homes 0 to ``homes - 1``."""
    market = ReplayedMarket()
    return [cohort_home(seed, market) for seed in range(homes)]


FLEET_START = datetime(2026, 1, 12, 20, 0, tzinfo=UTC)
"""The fleet cohort's day: from 20:00 on a winter Monday (every car home by then) for 24 h."""


def fleet_cohort(homes: int, seed: int = 0) -> list[tuple[Problem, list[ModelExtension]]]:
    """The first ``homes`` of the fleet benchmark's cohort (:mod:`hems.simulation.cohort`:
    its documented shares of PV, batteries, heat pumps by building, EVs and departure habits),
    each home's problem and extensions built by the service's own problem builder on the
    bundled Agile day, as the service would plan it at :data:`FLEET_START`: cars plugged in
    with their drawn arrival charge, batteries half full, rooms at 20 °C."""
    market = ReplayedMarket()
    grid = TimeGrid(start_utc=FLEET_START, step_minutes=30, n_steps=N_SLOTS)
    out = []
    for home in draw_cohort(homes, seed):
        states: dict[str, DeviceState] = {}
        for device in home.spec.devices:
            if isinstance(device, EvChargerSpec):
                stays = home.ev_stays(FLEET_START, 1)
                soc = next(s.arrival_soc for s in stays if s.arrive_utc <= FLEET_START)
                states[device.name] = DeviceState(
                    at_utc=FLEET_START, power_kw=0.0, soc=soc, plugged_in=True
                )
            elif isinstance(device, BatterySpec):
                states[device.name] = DeviceState(at_utc=FLEET_START, power_kw=0.0, soc=0.5)
            elif isinstance(device, HeatPumpSpec):
                states[device.name] = DeviceState(
                    at_utc=FLEET_START, power_kw=0.0, temperature_c=20.0
                )
        problem, extensions = build_problem(
            PlanInputs(
                home=home.spec,
                preferences=home.preferences,
                states=states,
                market=market.series(grid, home.spec),
                grid=grid,
                now_utc=FLEET_START,
            )
        )
        out.append((problem, list(extensions)))
    return out
