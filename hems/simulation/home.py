"""A simulated home: its devices, the actual weather, load and prices, and a meter.

:meth:`SimulatedHome.advance` moves time forward in steps of at most five minutes (a step also
ends where a car plugs in or leaves), holding each device's setpoint, and meters the site:
imports, exports, the bill and carbon. The actuals are the market series with noise (seeded),
so the planner's inputs are forecasts, not the truth.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from adapters.devices.driver import DeviceDriver
from hems.domain.devices import BatterySpec, EvChargerSpec, HeatPumpSpec, PvSpec
from hems.domain.home import HomeSpec
from hems.market import ReplayedMarket
from hems.simulation.devices import (
    Environment,
    SimulatedBattery,
    SimulatedEvCharger,
    SimulatedHeatPump,
    SimulatedPv,
    Stay,
)
from optimiser import HplibCop

UK = ZoneInfo("Europe/London")
MAX_STEP = timedelta(minutes=5)

SimDevice = SimulatedEvCharger | SimulatedBattery | SimulatedHeatPump | SimulatedPv


@dataclass
class Meter:
    """Energy [kWh], money [GBP] and carbon [kg] through the grid connection."""

    import_kwh: float = 0.0
    export_kwh: float = 0.0
    bill_gbp: float = 0.0
    carbon_kg: float = 0.0
    peak_import_kw: float = 0.0
    comfort_deficit_kelvin_hours: float = 0.0


@dataclass
class SimulatedHome:
    """Devices plus the world around them. ``comfort_min_c`` gives the comfort minimum at a
    UTC instant, for the comfort check."""

    devices: dict[str, SimDevice]
    market: ReplayedMarket
    now_utc: datetime
    comfort_min_c: Callable[[datetime], float] = lambda _t: 0.0
    noise: float = 0.1
    seed: int = 0
    meter: Meter = field(default_factory=Meter)
    site_power_kw: float = 0.0
    base_load_kw: float = 0.0
    """The household's load in the last step [kW] (what the meter sees besides the devices)."""

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.seed)
        for device in self.devices.values():
            device.now_utc = self.now_utc

    @property
    def drivers(self) -> dict[str, DeviceDriver]:
        return dict(self.devices)

    def environment(self, at: datetime) -> Environment:
        row = self.market.at(pd.Timestamp(at))
        jitter = 1.0 + self.noise * float(self._rng.standard_normal())
        return Environment(
            outdoor_temperature_c=float(row["outdoor_temperature_c"])
            + self.noise * 5 * float(self._rng.standard_normal()),
            pv_kw_per_kwp=max(0.0, float(row["pv_kw_per_kwp"]) * jitter),
            base_load_kw=max(0.05, float(row["base_load_kw"]) * jitter),
            import_price_gbp_per_kwh=float(row["import_price_gbp_per_kwh"]),
            export_price_gbp_per_kwh=float(row["export_price_gbp_per_kwh"]),
            carbon_intensity_g_per_kwh=float(row["carbon_intensity_g_per_kwh"]),
        )

    def advance(self, to_utc: datetime) -> None:
        """Run the physics up to ``to_utc``."""
        while self.now_utc < to_utc:
            step_end = min(to_utc, self.now_utc + MAX_STEP)
            for device in self.devices.values():  # a car comes or goes: a step ends there
                if isinstance(device, SimulatedEvCharger):
                    event = device.next_plug_event(self.now_utc)
                    if event is not None and event < step_end:
                        step_end = event
            hours = (step_end - self.now_utc).total_seconds() / 3600
            env = self.environment(self.now_utc)
            for device in self.devices.values():
                if isinstance(device, SimulatedPv):
                    device.advance(self.now_utc, env)  # generation for this step
            self.base_load_kw = env.base_load_kw
            site = self._site_kw(env.base_load_kw)
            self._meter(site, hours, env)
            for device in self.devices.values():
                device.advance(step_end, env)
            self.now_utc = step_end

    def metered_kw(self, env: Environment | None = None) -> float:
        """The site's net power now as its meter reads it [kW, import positive]: every device
        at its power now (the setpoints just sent), with the household load and PV of ``env``
        (the step about to run; None: the last step's), as the import guard reads the meter
        (:mod:`hems.import_guard`)."""
        if env is None:
            return self._site_kw(self.base_load_kw)
        for device in self.devices.values():
            if isinstance(device, SimulatedPv):  # as the next step will start with
                device.available_kw = device.peak_kw * env.pv_kw_per_kwp
        return self._site_kw(env.base_load_kw)

    def _site_kw(self, base_load_kw: float) -> float:
        """The site's net power [kW]: the base load and every device; batteries that follow
        the site see the rest of the home first (each in turn)."""
        following = [
            d for d in self.devices.values() if isinstance(d, SimulatedBattery) and d.follow_site
        ]
        following_ids = {id(f) for f in following}
        others = [d for d in self.devices.values() if id(d) not in following_ids]
        site = base_load_kw + sum(d.power_kw() for d in others)
        for battery in following:
            battery.site_rest_kw = site
            site += battery.power_kw()
        return site

    def _meter(self, site_kw: float, hours: float, env: Environment) -> None:
        self.site_power_kw = site_kw
        imp, exp = max(site_kw, 0.0), max(-site_kw, 0.0)
        m = self.meter
        m.import_kwh += imp * hours
        m.export_kwh += exp * hours
        m.bill_gbp += hours * (
            imp * env.import_price_gbp_per_kwh - exp * env.export_price_gbp_per_kwh
        )
        m.carbon_kg += imp * hours * env.carbon_intensity_g_per_kwh / 1000
        m.peak_import_kw = max(m.peak_import_kw, imp)
        for d in self.devices.values():
            if isinstance(d, SimulatedHeatPump):
                deficit = self.comfort_min_c(self.now_utc) - d.indoor_c
                m.comfort_deficit_kelvin_hours += max(0.0, deficit) * hours


def commuter_stays(start_utc: datetime, days: int, *, seed: int = 0) -> list[Stay]:
    """A commuter's car: home from 18:00 to 07:30 local (the first night from ``start``),
    arriving with 30-50 % SoC."""
    rng = np.random.default_rng(seed)
    local = start_utc.astimezone(UK)
    stays = []
    for d in range(-1, days + 1):
        day = local.date() + timedelta(days=d)
        arrive = datetime.combine(day, time(18, 0), tzinfo=UK).astimezone(start_utc.tzinfo)
        leave = datetime.combine(day + timedelta(days=1), time(7, 30), tzinfo=UK)
        stays.append(
            Stay(
                arrive_utc=arrive,
                leave_utc=leave.astimezone(start_utc.tzinfo),
                arrival_soc=float(rng.uniform(0.3, 0.5)),
            )
        )
    return stays


def simulate_home(
    spec: HomeSpec,
    start_utc: datetime,
    *,
    days: int = 3,
    seed: int = 0,
    market: ReplayedMarket | None = None,
    comfort_min_c: Callable[[datetime], float] = lambda _t: 0.0,
    ev_stays: Sequence[Stay] | None = None,
) -> SimulatedHome:
    """Simulated devices for every device in ``spec``, starting at ``start_utc``. The car
    stays at home as ``ev_stays`` says (a cohort's habits, :mod:`hems.simulation.cohort`),
    or as a commuter's (:func:`commuter_stays`)."""
    devices: dict[str, SimDevice] = {}
    for d in spec.devices:
        if isinstance(d, EvChargerSpec):
            stays = (
                list(ev_stays)
                if ev_stays is not None
                else commuter_stays(start_utc, days, seed=seed)
            )
            here = next((s for s in stays if s.arrive_utc <= start_utc < s.leave_utc), None)
            devices[d.name] = SimulatedEvCharger(
                name=d.name,
                capacity_kwh=d.vehicle_capacity_kwh,
                min_kw=d.min_charge_kw,
                max_kw=d.max_charge_kw,
                efficiency=d.charge_efficiency,
                stays=stays,
                now_utc=start_utc,
                soc=here.arrival_soc if here else 0.5,
            )
        elif isinstance(d, BatterySpec):
            devices[d.name] = SimulatedBattery(
                name=d.name,
                capacity_kwh=d.capacity_kwh,
                max_charge_kw=d.max_charge_kw,
                max_discharge_kw=d.max_discharge_kw,
                charge_efficiency=d.charge_efficiency,
                discharge_efficiency=d.discharge_efficiency,
                min_soc=d.min_soc,
                now_utc=start_utc,
                soc=0.3,
            )
        elif isinstance(d, HeatPumpSpec):
            devices[d.name] = SimulatedHeatPump(
                name=d.name,
                max_power_kw=d.max_power_kw,
                cop=HplibCop(p1=d.hplib_p1, p2=d.hplib_p2, p3=d.hplib_p3, p4=d.hplib_p4),
                heat_loss_kw_per_k=d.heat_loss_kw_per_k,
                thermal_capacity_kwh_per_k=d.thermal_capacity_kwh_per_k,
                internal_gain_kw=d.internal_gain_kw,
                now_utc=start_utc,
                indoor_c=20.0,
                modulating=d.modulating,
            )
        elif isinstance(d, PvSpec):
            devices[d.name] = SimulatedPv(name=d.name, peak_kw=d.peak_kw, now_utc=start_utc)
    return SimulatedHome(
        devices=devices,
        market=market or ReplayedMarket(),
        now_utc=start_utc,
        comfort_min_c=comfort_min_c,
        seed=seed,
    )
