"""EV specs (the car with its charger, its plug-in sessions) and what is derived from them on
the grid (the sessions' slots, the as-soon-as-possible profile); the model is in
:mod:`optimiser.components.ev`, the replay in :mod:`optimiser.components.ev_simulation`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache

import numpy as np

from kernel.errors import ProblemError
from kernel.timegrid import TimeGrid
from optimiser.checks import FloatArray, efficiency, fraction, number


@dataclass(frozen=True, slots=True, kw_only=True)
class PlugInSession:
    """One stay of the car on the charger.

    Attributes:
        arrival_utc: when the car is plugged in (may be before the grid start: already plugged).
        departure_utc: when the car leaves; after ``arrival_utc``.
        arrival_soc: SoC at arrival, or now for a car already plugged in [0-1].
        target_soc: wished SoC at departure [0-1].
        charge_now: the consumer's "charge now" override: charge at full power until the target.
    """

    arrival_utc: datetime
    departure_utc: datetime
    arrival_soc: float
    target_soc: float
    charge_now: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ElectricVehicle:
    """An EV with its charger.

    Attributes:
        name: unique asset name.
        battery_capacity_kwh: usable battery [kWh].
        min_charge_kw, max_charge_kw: charger power range [kW]; 0 or between the two.
        charge_efficiency: grid to battery (0-1].
        sessions: plug-in sessions, in time order, not overlapping.
        v2g_max_discharge_kw: V2G power [kW]; 0 = no V2G.
        discharge_efficiency: battery to grid (0-1].
        v2g_min_soc: V2G never takes the car below this SoC [0-1].
        charging_kw: the power the charger runs at when the plan is made [kW] (a car already
            plugged in); only ``Problem.ev_dispatch_lag`` uses it: a first slot that keeps it
            waits for no delay.
    """

    name: str = "EV"
    battery_capacity_kwh: float
    min_charge_kw: float = 1.4
    max_charge_kw: float = 7.4
    charge_efficiency: float = 0.9
    sessions: tuple[PlugInSession, ...] = ()
    v2g_max_discharge_kw: float = 0.0
    discharge_efficiency: float = 0.9
    v2g_min_soc: float = 0.3
    charging_kw: float = 0.0

    def checked(self, grid: TimeGrid, where: str) -> ElectricVehicle:
        number(
            f"{where}.battery_capacity_kwh",
            self.battery_capacity_kwh,
            minimum=0,
            strict_minimum=True,
        )
        lo = number(f"{where}.min_charge_kw", self.min_charge_kw, minimum=0)
        hi = number(f"{where}.max_charge_kw", self.max_charge_kw, minimum=0, strict_minimum=True)
        if lo > hi:
            raise ProblemError(
                f"{where}.min_charge_kw", f"{lo:g} kW is above max_charge_kw {hi:g} kW"
            )
        efficiency(f"{where}.charge_efficiency", self.charge_efficiency)
        efficiency(f"{where}.discharge_efficiency", self.discharge_efficiency)
        number(f"{where}.v2g_max_discharge_kw", self.v2g_max_discharge_kw, minimum=0)
        fraction(f"{where}.v2g_min_soc", self.v2g_min_soc)
        number(f"{where}.charging_kw", self.charging_kw, minimum=0)
        previous_departure: datetime | None = None
        for i, s in enumerate(self.sessions):
            w = f"{where}.sessions[{i}]"
            if s.arrival_utc.tzinfo is None or s.departure_utc.tzinfo is None:
                raise ProblemError(f"{w}.arrival_utc", "times must be timezone-aware")
            if s.departure_utc <= s.arrival_utc:
                raise ProblemError(
                    f"{w}.departure_utc",
                    f"departure {s.departure_utc.isoformat()} is not after arrival "
                    f"{s.arrival_utc.isoformat()}",
                )
            if previous_departure is not None and s.arrival_utc < previous_departure:
                raise ProblemError(f"{w}.arrival_utc", "sessions overlap or are out of order")
            previous_departure = s.departure_utc
            fraction(f"{w}.arrival_soc", s.arrival_soc)
            fraction(f"{w}.target_soc", s.target_soc)
        return self

    @property
    def binary_key(self) -> str:
        return f"ev:{self.name}"

    @property
    def min_power_key(self) -> str:
        return f"ev-min:{self.name}"

    @property
    def has_v2g(self) -> bool:
        return self.v2g_max_discharge_kw > 0


@dataclass(frozen=True, slots=True)
class SessionWindow:
    """A session laid on the grid: the slots it covers and the energy it must hold."""

    session: PlugInSession
    slots: tuple[int, ...]
    fractions: tuple[float, ...]
    target_slot: int  # slot whose end is checked against the target (-1: nothing in horizon)
    required_kwh: float  # energy wished in the battery at the end of target_slot
    leaves_in_horizon: bool


def session_windows(ev: ElectricVehicle, grid: TimeGrid) -> list[SessionWindow]:
    """The sessions that overlap the horizon, with their slots and required energy [kWh].

    Asked for about 7 times a plan (the model, its numbers, the binaries' slots, the checks,
    the replay) at ~0.25 ms each for two sessions on 96 slots, a fifth of an EV home's re-plan
    through a kept model: the windows of recent (car, grid) pairs are kept (both frozen, so a
    pair always has the same windows); each call gets its own list."""
    try:
        return list(_session_windows(ev, grid))
    except TypeError:  # unhashable: sessions given as a list, say
        return list(_session_windows.__wrapped__(ev, grid))


@lru_cache(maxsize=256)
def _session_windows(ev: ElectricVehicle, grid: TimeGrid) -> tuple[SessionWindow, ...]:
    out: list[SessionWindow] = []
    horizon_end_h = grid.step_hours * grid.n_steps
    for s in ev.sessions:
        fr = grid.overlap_fractions(s.arrival_utc, s.departure_utc)
        slots = tuple(t for t, f in enumerate(fr) if f > 1e-9)
        if not slots:
            continue
        target_kwh = s.target_soc * ev.battery_capacity_kwh
        dep_h = grid.hours_from_start(s.departure_utc)
        if dep_h <= horizon_end_h + 1e-9:
            required, leaves = target_kwh, True
        else:  # leaves after the horizon: require only what cannot be added after it
            after_kwh = ev.max_charge_kw * ev.charge_efficiency * (dep_h - horizon_end_h)
            required, leaves = max(0.0, target_kwh - after_kwh), False
        out.append(
            SessionWindow(
                session=s,
                slots=slots,
                fractions=tuple(fr[t] for t in slots),
                target_slot=slots[-1],
                required_kwh=required,
                leaves_in_horizon=leaves,
            )
        )
    return tuple(_ended_before_the_next(out))


def _ended_before_the_next(windows: list[SessionWindow]) -> list[SessionWindow]:
    """Each stay ended at the slot before the next one's first slot where the car came back
    within the slot it left: a slot holds one energy, the one the car arrives with (the model
    and the replay would otherwise read the next stay's energy as this one's at departure);
    this stay's target is checked a slot early, its minutes in the shared slot left unused,
    and a stay inside the next one's first slot is dropped."""
    out: list[SessionWindow] = []
    for i, w in enumerate(windows):
        after = windows[i + 1].slots[0] if i + 1 < len(windows) else None
        if after is not None and w.slots[-1] >= after:
            keep = sum(1 for t in w.slots if t < after)
            if keep == 0:
                continue
            w = replace(
                w, slots=w.slots[:keep], fractions=w.fractions[:keep], target_slot=w.slots[keep - 1]
            )
        out.append(w)
    return out


def asap_charge_kw(ev: ElectricVehicle, grid: TimeGrid, window: SessionWindow) -> FloatArray:
    """Charging as soon as possible at full power until the target [kW per slot]."""
    out = np.zeros(grid.n_steps)
    energy = window.session.arrival_soc * ev.battery_capacity_kwh
    goal = window.session.target_soc * ev.battery_capacity_kwh
    dt, eta = grid.step_hours, ev.charge_efficiency
    for t, f in zip(window.slots, window.fractions, strict=True):
        need_kw = max(0.0, goal - energy) / (eta * dt)
        p = min(ev.max_charge_kw * f, need_kw)
        if p < ev.min_charge_kw * f:
            p = 0.0 if need_kw < 1e-9 else min(ev.min_charge_kw * f, ev.max_charge_kw * f)
            # a last short top-up at the charger's minimum, unless the car is full
            p = min(p, (ev.battery_capacity_kwh - energy) / (eta * dt))
            if p < ev.min_charge_kw * f - 1e-9:
                p = 0.0
        out[t] = p
        energy += eta * dt * p
    return out


@dataclass(frozen=True, slots=True)
class EvDispatch:
    """Charging and V2G discharge power per slot [kW] (both >= 0)."""

    charge_kw: FloatArray
    discharge_kw: FloatArray
