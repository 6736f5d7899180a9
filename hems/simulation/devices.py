"""Simulated EV charger, battery, heat pump with its building, and PV inverter.

Each device holds its last accepted setpoint and integrates its physics when the simulated home
advances time (:meth:`advance`, piecewise constant power). ``online = False`` makes a device stop
answering (:class:`~kernel.devices.DeviceUnavailableError`), as a real one might.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from kernel.devices import DeviceState, DeviceUnavailableError, Setpoint
from optimiser import HplibCop
from optimiser.components.thermal import FirstOrderStep


class _Simulated:
    name: str
    online: bool
    setpoint_kw: float
    now_utc: datetime

    def _check_online(self) -> None:
        if not self.online:
            raise DeviceUnavailableError(f"{self.name} does not answer")


@dataclass(frozen=True, slots=True)
class Stay:
    """One stay of the simulated car at home: plugged in from ``arrive`` to ``leave`` (UTC)."""

    arrive_utc: datetime
    leave_utc: datetime
    arrival_soc: float


@dataclass
class SimulatedEvCharger(_Simulated):
    """A charger with a car that comes and goes by :class:`Stay`.

    Power is 0 or within [min, max] while plugged in; SoC saturates at 1. The charger keeps
    its setpoint when a car arrives (a charging profile set before the car comes applies to
    it). Each departure's SoC is recorded in ``departures`` (leave time, SoC) for the checks
    of a simulated run.
    """

    name: str
    capacity_kwh: float
    min_kw: float
    max_kw: float
    efficiency: float
    stays: list[Stay]
    now_utc: datetime
    soc: float = 0.5
    setpoint_kw: float = 0.0
    online: bool = True
    departures: list[tuple[datetime, float]] = field(default_factory=list)
    _plug_times: tuple[datetime, ...] = field(default=(), init=False, repr=False)
    _plug_times_of: tuple[int, int] = field(default=(0, -1), init=False, repr=False)

    def next_plug_event(self, after_utc: datetime) -> datetime | None:
        """The first moment after ``after_utc`` a car plugs in or leaves, or None (the
        simulated home ends its steps there: a car charges from the minute it comes and not
        past the minute it leaves)."""
        key = (id(self.stays), len(self.stays))
        if key != self._plug_times_of:  # the stays were replaced or added to
            self._plug_times = tuple(
                sorted(t for s in self.stays for t in (s.arrive_utc, s.leave_utc))
            )
            self._plug_times_of = key
        i = bisect_right(self._plug_times, after_utc)
        return self._plug_times[i] if i < len(self._plug_times) else None

    def _stay(self, at: datetime) -> Stay | None:
        return next((s for s in self.stays if s.arrive_utc <= at < s.leave_utc), None)

    def power_kw(self) -> float:
        if self._stay(self.now_utc) is None or self.soc >= 1.0:
            return 0.0
        p = min(self.setpoint_kw, self.max_kw)
        return p if p >= self.min_kw - 1e-9 else 0.0

    async def read_state(self) -> DeviceState:
        self._check_online()
        stay = self._stay(self.now_utc)
        return DeviceState(
            at_utc=self.now_utc,
            power_kw=self.power_kw(),
            soc=self.soc if stay is not None else None,
            plugged_in=stay is not None,
        )

    async def apply(self, setpoint: Setpoint) -> None:
        self._check_online()
        self.setpoint_kw = max(0.0, setpoint.power_kw)

    def advance(self, to_utc: datetime, _env: Environment) -> None:
        stay_before = self._stay(self.now_utc)
        hours = (to_utc - self.now_utc).total_seconds() / 3600
        if stay_before is not None:
            added = self.power_kw() * hours * self.efficiency / self.capacity_kwh
            self.soc = min(1.0, self.soc + added)
            if to_utc >= stay_before.leave_utc:
                self.departures.append((stay_before.leave_utc, self.soc))
        self.now_utc = to_utc
        arrived = self._stay(to_utc)
        if arrived is not None and arrived is not stay_before:
            self.soc = arrived.arrival_soc


@dataclass
class SimulatedBattery(_Simulated):
    """A battery: positive setpoint charges, negative discharges, within power and SoC limits."""

    name: str
    capacity_kwh: float
    max_charge_kw: float
    max_discharge_kw: float
    charge_efficiency: float
    discharge_efficiency: float
    min_soc: float
    now_utc: datetime
    soc: float = 0.5
    setpoint_kw: float = 0.0
    online: bool = True
    throughput_kwh: float = 0.0
    """Energy charged plus energy discharged so far, at the terminals [kWh]."""
    follow_site: bool = False
    """The setpoint is a cap in the planned direction, following the site (:class:`Setpoint`'s
    ``follow_site``)."""
    site_rest_kw: float = 0.0
    """The home's net power without this battery [kW] (import positive), kept up to date by
    the simulated home's meter; what a following battery covers or takes."""
    store_surplus: bool = False
    """Following the site with a discharge or no power, it stores a net surplus too
    (:class:`Setpoint`'s ``store_surplus``)."""

    def power_kw(self) -> float:
        p = float(np.clip(self.setpoint_kw, -self.max_discharge_kw, self.max_charge_kw))
        if self.follow_site:
            # never exporting or importing on its own: a discharge covers the home's net load
            # (up to the setpoint), and stores a surplus only when told to; a charge stores
            # the net surplus (up to the setpoint) and, as an inverter's self-consumption
            # mode, covers a deficit (up to its own limit)
            charge_cap = self.max_charge_kw if self.store_surplus and p <= 0 else max(p, 0.0)
            discharge_cap = -p if p <= 0 else self.max_discharge_kw
            p = float(np.clip(-self.site_rest_kw, -discharge_cap, charge_cap))
        if (p > 0 and self.soc >= 1.0) or (p < 0 and self.soc <= self.min_soc):
            return 0.0
        return p

    async def read_state(self) -> DeviceState:
        self._check_online()
        return DeviceState(at_utc=self.now_utc, power_kw=self.power_kw(), soc=self.soc)

    async def apply(self, setpoint: Setpoint) -> None:
        self._check_online()
        self.setpoint_kw = setpoint.power_kw
        self.follow_site = setpoint.follow_site
        self.store_surplus = setpoint.store_surplus

    def advance(self, to_utc: datetime, _env: Environment) -> None:
        hours = (to_utc - self.now_utc).total_seconds() / 3600
        p = self.power_kw()
        energy = p * self.charge_efficiency if p > 0 else p / self.discharge_efficiency
        self.throughput_kwh += abs(p) * hours
        self.soc = float(np.clip(self.soc + energy * hours / self.capacity_kwh, self.min_soc, 1.0))
        self.now_utc = to_utc


@dataclass
class SimulatedHeatPump(_Simulated):
    """A heat pump heating a 1R1C building (the optimiser's exact step). A modulating one
    runs at its setpoint (within 0 and its maximum); an on/off one (``modulating`` False)
    rounds it: full power for a setpoint of at least half of it, else off (the service sends
    an on/off unit 0 or its full power; a ramp's steps below half are off). Rounded rather
    than cycled for the setpoint's share of the time, so that its power, as read and as
    metered, is always 0 or full."""

    name: str
    max_power_kw: float
    cop: HplibCop
    heat_loss_kw_per_k: float
    thermal_capacity_kwh_per_k: float
    internal_gain_kw: float
    now_utc: datetime
    indoor_c: float = 20.0
    setpoint_kw: float = 0.0
    online: bool = True
    modulating: bool = True

    def power_kw(self) -> float:
        power_kw = float(np.clip(self.setpoint_kw, 0.0, self.max_power_kw))
        if self.modulating:
            return power_kw
        return self.max_power_kw if power_kw >= self.max_power_kw / 2 else 0.0

    async def read_state(self) -> DeviceState:
        self._check_online()
        return DeviceState(
            at_utc=self.now_utc, power_kw=self.power_kw(), temperature_c=self.indoor_c
        )

    async def apply(self, setpoint: Setpoint) -> None:
        self._check_online()
        self.setpoint_kw = setpoint.power_kw

    def advance(self, to_utc: datetime, env: Environment) -> None:
        hours = (to_utc - self.now_utc).total_seconds() / 3600
        if hours > 0:
            outdoor = env.outdoor_temperature_c
            cop = float(self.cop.cop_at(np.array([outdoor]))[0])
            heat = cop * self.power_kw() + self.internal_gain_kw
            step = FirstOrderStep.of(
                self.heat_loss_kw_per_k, self.thermal_capacity_kwh_per_k, hours
            )
            self.indoor_c = (
                step.a * self.indoor_c + (1 - step.a) * outdoor + step.b_hours_per_kwh_k * heat
            )
        self.now_utc = to_utc


@dataclass
class SimulatedPv(_Simulated):
    """A PV inverter: generates what the sky gives (negative power), capped by a setpoint
    (curtailment: a setpoint of -2 kW caps generation at 2 kW; 0 or above = no cap)."""

    name: str
    peak_kw: float
    now_utc: datetime
    available_kw: float = 0.0
    setpoint_kw: float = 0.0
    online: bool = True

    def power_kw(self) -> float:
        cap = -self.setpoint_kw if self.setpoint_kw < 0 else self.peak_kw
        return -min(self.available_kw, cap)

    async def read_state(self) -> DeviceState:
        self._check_online()
        return DeviceState(at_utc=self.now_utc, power_kw=self.power_kw())

    async def apply(self, setpoint: Setpoint) -> None:
        self._check_online()
        self.setpoint_kw = setpoint.power_kw

    def advance(self, to_utc: datetime, env: Environment) -> None:
        self.available_kw = self.peak_kw * env.pv_kw_per_kwp
        self.now_utc = to_utc


@dataclass(frozen=True, slots=True)
class Environment:
    """What the weather and the household do during one simulation step (actuals)."""

    outdoor_temperature_c: float
    pv_kw_per_kwp: float
    base_load_kw: float
    import_price_gbp_per_kwh: float
    export_price_gbp_per_kwh: float
    carbon_intensity_g_per_kwh: float
