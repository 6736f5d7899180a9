"""A synthetic cohort of homes for fleet runs (``benchmarks/bench_fleet.py``, a demo of many
homes): each home's devices, building and EV habits drawn from the distributions below.

The cohort is of homes whose owners chose a CEM, not the UK housing stock: the shares are
assumptions stated here so that a fleet figure can be read against them, chosen so that every
device mix occurs (docs/performance.md, "Fleet"). Each draw is independent:

* PV: :data:`PV_SHARE` of homes, peak power from :data:`PV_KWP` [kWp];
* battery: :data:`BATTERY_SHARE_WITH_PV` of homes with PV, :data:`BATTERY_SHARE_WITHOUT_PV`
  of the others; capacity and power from :data:`BATTERY_SIZES` [kWh: kW];
* building: every home has one, from :data:`BUILDINGS` (heat loss [kW/K], thermal capacity
  [kWh/K], the heat pump's rated power [kW]); :data:`HEAT_PUMP_SHARE` heat it with a heat pump,
  the rest with gas (no device for the CEM);
* EV: :data:`EV_SHARE` of homes, battery from :data:`EV_CAPACITY_KWH` [kWh] on a 7.4 kW
  charger; the car leaves every day at a time from :data:`EV_LEAVE_LOCAL` and comes back at one
  from :data:`EV_ARRIVE_LOCAL` (UK local time), wants a charge from :data:`EV_TARGET_SOC` by
  then and arrives with a charge uniform in :data:`EV_ARRIVAL_SOC`;
* DSR consent: :data:`DSR_CONSENT_SHARE`; region: uniform over the 14 GSP groups, located at
  the group's largest city (:data:`REGIONS`); tariff: Agile for all (the herding case).

A home that drew no device at all (gas, no PV, battery or car) is kept: a meter-only home,
planned on its base load. Home ``i`` of seed ``s`` is drawn from its own generator seeded
``(s, i)``, so a cohort of 100 is the first 100 homes of a cohort of 10,000, and drawing
``n`` homes takes time in proportion to ``n``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

import numpy as np

from hems.domain.devices import BatterySpec, DeviceSpec, EvChargerSpec, HeatPumpSpec, PvSpec
from hems.domain.home import HomeSpec
from hems.domain.preferences import WEEKDAYS, Departure, Preferences
from hems.simulation.devices import Stay

UK = ZoneInfo("Europe/London")
K = TypeVar("K")

PV_SHARE = 0.45
PV_KWP: Mapping[float, float] = {2.0: 0.15, 3.0: 0.25, 4.0: 0.30, 5.0: 0.20, 6.0: 0.10}
BATTERY_SHARE_WITH_PV = 0.50
BATTERY_SHARE_WITHOUT_PV = 0.15
BATTERY_SIZES: Mapping[tuple[float, float], float] = {
    (5.0, 2.5): 0.30,
    (9.5, 5.0): 0.45,
    (13.5, 5.0): 0.25,
}
HEAT_PUMP_SHARE = 0.35


@dataclass(frozen=True, slots=True)
class Building:
    """A building's 1R1C parameters and the heat pump that would suit it."""

    heat_loss_kw_per_k: float
    thermal_capacity_kwh_per_k: float
    heat_pump_kw: float


BUILDINGS: Mapping[str, tuple[Building, float]] = {
    "flat": (Building(0.08, 4.0, 3.0), 0.15),
    "terraced": (Building(0.12, 7.0, 5.0), 0.30),
    "semi-detached": (Building(0.16, 9.0, 6.0), 0.35),
    "detached": (Building(0.24, 13.0, 8.0), 0.20),
}
EV_SHARE = 0.50
EV_CAPACITY_KWH: Mapping[float, float] = {40.0: 0.25, 60.0: 0.45, 77.0: 0.30}
EV_LEAVE_LOCAL: Mapping[time, float] = {
    time(6, 30): 0.10,
    time(7, 0): 0.20,
    time(7, 30): 0.25,
    time(8, 0): 0.20,
    time(8, 30): 0.15,
    time(9, 0): 0.10,
}
EV_ARRIVE_LOCAL: Mapping[time, float] = {
    time(16, 30): 0.15,
    time(17, 30): 0.30,
    time(18, 0): 0.25,
    time(18, 30): 0.20,
    time(19, 30): 0.10,
}
EV_TARGET_SOC: Mapping[float, float] = {0.7: 0.30, 0.8: 0.50, 0.9: 0.20}
EV_ARRIVAL_SOC = (0.2, 0.6)
DSR_CONSENT_SHARE = 0.70
REGIONS: Mapping[str, tuple[float, float]] = {
    "A": (52.63, 1.30),  # Eastern: Norwich
    "B": (52.95, -1.15),  # East Midlands: Nottingham
    "C": (51.51, -0.13),  # London
    "D": (53.41, -2.98),  # Merseyside and North Wales: Liverpool
    "E": (52.49, -1.89),  # West Midlands: Birmingham
    "F": (54.97, -1.61),  # North Eastern: Newcastle
    "G": (53.48, -2.24),  # North Western: Manchester
    "H": (51.75, -1.26),  # Southern: Oxford
    "J": (50.83, -0.14),  # South Eastern: Brighton
    "K": (51.48, -3.18),  # South Wales: Cardiff
    "L": (51.45, -2.59),  # South Western: Bristol
    "M": (53.80, -1.55),  # Yorkshire: Leeds
    "N": (55.86, -4.25),  # South Scotland: Glasgow
    "P": (57.15, -2.09),  # North Scotland: Aberdeen
}


@dataclass(frozen=True, slots=True)
class EvHabit:
    """When the car leaves and comes back each day (UK local time) and the charge it wants."""

    leave_local: time
    arrive_local: time
    target_soc: float


@dataclass(frozen=True, slots=True)
class CohortHome:
    """One drawn home: its spec (as ``POST /homes`` takes it), the consumer's preferences, its
    building (also for a gas home), its car's habit (None: no car) and the seed of its own
    simulation (arrival charges, the weather's noise)."""

    spec: HomeSpec
    preferences: Preferences
    building: str
    ev_habit: EvHabit | None
    seed: int

    def ev_stays(self, start_utc: datetime, days: int) -> list[Stay]:
        """The car's stays at home from the night before ``start_utc`` for ``days`` days
        (none without a car): home from the arrival time, away from the departure time the
        next morning, arriving with a charge drawn from :data:`EV_ARRIVAL_SOC`."""
        habit = self.ev_habit
        if habit is None:
            return []
        rng = np.random.default_rng([self.seed, 1])
        first = start_utc.astimezone(UK).date()
        stays = []
        for d in range(-1, days + 1):
            day = first + timedelta(days=d)
            arrive = datetime.combine(day, habit.arrive_local, tzinfo=UK)
            leave = datetime.combine(day + timedelta(days=1), habit.leave_local, tzinfo=UK)
            stays.append(
                Stay(
                    arrive_utc=arrive.astimezone(start_utc.tzinfo),
                    leave_utc=leave.astimezone(start_utc.tzinfo),
                    arrival_soc=float(rng.uniform(*EV_ARRIVAL_SOC)),
                )
            )
        return stays


def draw_cohort(n: int, seed: int, serial_prefix: str = "COHORT") -> list[CohortHome]:
    """``n`` homes drawn from the module's distributions; the same ``seed`` gives the same
    homes. Serials are ``<serial_prefix>-<seed>-<i>`` (unique within one store when the
    prefix or the seed differs between cohorts)."""
    if n < 0 or seed < 0:
        raise ValueError(f"a cohort needs n >= 0 and seed >= 0, not n={n}, seed={seed}")
    return [draw_home(seed, i, serial_prefix) for i in range(n)]


def draw_home(seed: int, i: int, serial_prefix: str = "COHORT") -> CohortHome:
    """Home ``i`` of the cohort drawn with ``seed`` (:func:`draw_cohort`; both >= 0)."""
    rng = np.random.default_rng([seed, i, 0])
    devices: list[DeviceSpec] = []
    has_pv = bool(rng.random() < PV_SHARE)
    if has_pv:
        devices.append(PvSpec(name="PV", peak_kw=_pick(rng, PV_KWP)))
    battery_share = BATTERY_SHARE_WITH_PV if has_pv else BATTERY_SHARE_WITHOUT_PV
    if rng.random() < battery_share:
        capacity_kwh, power_kw = _pick(rng, BATTERY_SIZES)
        devices.append(
            BatterySpec(
                name="Battery",
                capacity_kwh=capacity_kwh,
                max_charge_kw=power_kw,
                max_discharge_kw=power_kw,
                min_soc=0.1,
            )
        )
    building_name = _pick(rng, {k: w for k, (_b, w) in BUILDINGS.items()})
    building = BUILDINGS[building_name][0]
    if rng.random() < HEAT_PUMP_SHARE:
        devices.append(
            HeatPumpSpec(
                name="Heat pump",
                max_power_kw=building.heat_pump_kw,
                heat_loss_kw_per_k=building.heat_loss_kw_per_k,
                thermal_capacity_kwh_per_k=building.thermal_capacity_kwh_per_k,
            )
        )
    habit = None
    if rng.random() < EV_SHARE:
        devices.append(EvChargerSpec(name="EV", vehicle_capacity_kwh=_pick(rng, EV_CAPACITY_KWH)))
        habit = EvHabit(
            leave_local=_pick(rng, EV_LEAVE_LOCAL),
            arrive_local=_pick(rng, EV_ARRIVE_LOCAL),
            target_soc=_pick(rng, EV_TARGET_SOC),
        )
    region = _pick(rng, dict.fromkeys(REGIONS, 1.0))
    latitude, longitude = REGIONS[region]
    consent = bool(rng.random() < DSR_CONSENT_SHARE)
    spec = HomeSpec(
        name=f"Cohort home {i}",
        cem_manufacturer="Open CEM",
        cem_serial=f"{serial_prefix}-{seed}-{i}",
        latitude=latitude,
        longitude=longitude,
        region=region,
        devices=devices,
    )
    prefs = Preferences(dsr_consent=consent)
    if habit is not None:
        departure = Departure(leave_at=habit.leave_local, target_soc=habit.target_soc)
        prefs = prefs.model_copy(update={"ev_departures": dict.fromkeys(WEEKDAYS, departure)})
    return CohortHome(
        spec=spec,
        preferences=prefs,
        building=building_name,
        ev_habit=habit,
        seed=int(rng.integers(2**63)),
    )


def _pick(rng: np.random.Generator, weights: Mapping[K, float]) -> K:
    """One key of ``weights``, drawn in proportion to its weight."""
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]
