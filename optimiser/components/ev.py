"""Electric vehicle and its charger: plug-in sessions, semi-continuous charging, optional V2G.

Maths, per session (slot t inside the session; f_t = plugged-in fraction of the slot; Δ [h]):

=========  =================================================  ========
symbol     meaning                                             unit
=========  =================================================  ========
p_t        charging power (slot average, AC)                   kW
v_t        V2G discharge power (slot average, AC)              kW
u_t        1 = charging (only when the charger has a minimum)  -
e_t        energy in the car's battery at the end of slot t    kWh
s          shortfall against the departure target              kWh
=========  =================================================  ========

* ``e_t = e_{t-1} + Δ (η p_t - v_t / η_v)``, ``0 <= e_t <= Cap`` (e before the first slot =
  SoC on arrival, or now for a car already plugged in);
* semi-continuous charger: ``P_min f_t u_t <= p_t <= P_max f_t u_t`` (``u`` binary) in the
  planner's binary slots for this charger; elsewhere ``0 <= p_t <= P_max f_t`` and the planner
  checks that no slot charges below the minimum (adding binaries where one does);
* V2G: ``0 <= v_t <= V̄ f_t``, ``e_t >= min(SoC_v2g·Cap, e_arrival)``; a charge/discharge binary
  in the planner's binary slots;
* departure target (soft): ``e_dep + s >= SoC_target·Cap``; when the car leaves after the horizon,
  only the part that cannot be charged after the horizon is required by its end;
* "charge now": ``p_t + s_now,t >= ASAP_t`` (the as-soon-as-possible profile), penalised.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
import pyomo.environ as pyo

from kernel.errors import ProblemError
from kernel.timegrid import TimeGrid
from optimiser.asset_kind import FLOW_TOL_KW, AssetKind
from optimiser.checks import FloatArray, efficiency, fraction, number
from optimiser.context import ModelContext
from optimiser.results import AssetResult, Violation, Wish, local_day_hhmm, site_cause

if TYPE_CHECKING:
    from optimiser.problem import Problem


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
    """The sessions that overlap the horizon, with their slots and required energy [kWh]."""
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


def add_ev_block(
    ctx: ModelContext, ev: ElectricVehicle, block_name: str, penalty_gbp_per_kwh: float
) -> pyo.Block:
    """Build one EV's sessions; registers the draw ``p_t - v_t``."""
    grid = ctx.problem.grid
    dt = ctx.step_h
    cap = ev.battery_capacity_kwh
    b = pyo.Block()
    ctx.model.add_component(block_name, b)
    windows = session_windows(ev, grid)
    fr = {t: f for w in windows for t, f in zip(w.slots, w.fractions, strict=True)}
    slots = sorted(fr)
    b.charge_kw = pyo.Var(slots, bounds=lambda _b, t: (0.0, ev.max_charge_kw * fr[t]))
    b.energy_kwh = pyo.Var(slots, bounds=(0.0, cap))
    v2g = ev.has_v2g
    if v2g:
        b.discharge_kw = pyo.Var(slots, bounds=lambda _b, t: (0.0, ev.v2g_max_discharge_kw * fr[t]))
    if ev.min_charge_kw > 0:
        b.on = pyo.Var(slots, domain=pyo.Binary, dense=False, doc="1 = charging")
        b.min_power = pyo.Constraint(slots)
        b.max_power = pyo.Constraint(slots)

        def add_on_binaries(new: list[int]) -> None:
            for t in new:
                if t not in fr:
                    continue
                u = b.on[t]
                ctx.add_mode_binary(u, b.charge_kw[t])
                b.min_power[t] = b.charge_kw[t] >= ev.min_charge_kw * fr[t] * u
                b.max_power[t] = b.charge_kw[t] <= ev.max_charge_kw * fr[t] * u

        ctx.register_binaries(ev.min_power_key, add_on_binaries)
    first_slot = {w.slots[0]: w for w in windows}
    prev_slot: dict[int, int] = {}
    for w in windows:
        for a, c in zip(w.slots[:-1], w.slots[1:], strict=True):
            prev_slot[c] = a

    def balance_rule(_b: pyo.Block, t: int) -> object:
        prev = (
            first_slot[t].session.arrival_soc * cap
            if t in first_slot
            else b.energy_kwh[prev_slot[t]]
        )
        flow = dt * ev.charge_efficiency * b.charge_kw[t]
        if v2g:
            flow = flow - dt / ev.discharge_efficiency * b.discharge_kw[t]
        return b.energy_kwh[t] == prev + flow

    b.energy_balance = pyo.Constraint(slots, rule=balance_rule, doc="car battery energy [kWh]")

    if v2g:
        floor = {
            t: min(ev.v2g_min_soc, w.session.arrival_soc) * cap for w in windows for t in w.slots
        }
        b.v2g_floor = pyo.Constraint(slots, rule=lambda _b, t: b.energy_kwh[t] >= floor[t])
        b.mode = pyo.Var(slots, domain=pyo.Binary, dense=False, doc="1 = may charge")
        b.charge_mode = pyo.Constraint(slots)
        b.discharge_mode = pyo.Constraint(slots)

        def add_mode_binaries(new: list[int]) -> None:
            for t in new:
                if t not in fr:
                    continue
                z = b.mode[t]
                ctx.add_mode_binary(z, b.charge_kw[t], b.discharge_kw[t])
                b.charge_mode[t] = b.charge_kw[t] <= ev.max_charge_kw * fr[t] * z
                b.discharge_mode[t] = b.discharge_kw[t] <= ev.v2g_max_discharge_kw * fr[t] * (1 - z)

        ctx.register_binaries(ev.binary_key, add_mode_binaries)

    b.shortfall_kwh = pyo.Var(range(len(windows)), bounds=(0.0, None))
    b.target = pyo.ConstraintList(doc="soft departure targets")
    for i, w in enumerate(windows):
        if w.required_kwh > 0:
            b.target.add(b.energy_kwh[w.target_slot] + b.shortfall_kwh[i] >= w.required_kwh)
    ctx.cost_terms.append(penalty_gbp_per_kwh * sum(b.shortfall_kwh[i] for i in b.shortfall_kwh))

    now = [w for w in windows if w.session.charge_now]
    if now:
        floor_kw = sum((asap_charge_kw(ev, grid, w) for w in now), np.zeros(grid.n_steps))
        now_slots = [t for t in slots if floor_kw[t] > 0]
        b.charge_now_gap_kw = pyo.Var(now_slots, bounds=(0.0, None))
        b.charge_now = pyo.Constraint(
            now_slots,
            rule=lambda _b, t: b.charge_kw[t] + b.charge_now_gap_kw[t] >= float(floor_kw[t]),
            doc="charge now override (soft)",
        )
        ctx.cost_terms.append(
            dt * penalty_gbp_per_kwh * sum(b.charge_now_gap_kw[t] for t in now_slots)
        )

    for t in slots:
        ctx.add_consumption(t, b.charge_kw[t])
        if v2g:
            ctx.add_supply(t, b.discharge_kw[t])
            ctx.export_source_terms_kw[t].append(b.discharge_kw[t])
    ctx.add_flexible_load(ev.name, b.charge_kw, tuple(slots))
    return b


def read_ev_dispatch(block: pyo.Block, n_steps: int) -> EvDispatch:
    charge = np.zeros(n_steps)
    discharge = np.zeros(n_steps)
    for t in block.charge_kw:
        charge[t] = pyo.value(block.charge_kw[t])
        if hasattr(block, "discharge_kw"):
            discharge[t] = pyo.value(block.discharge_kw[t])
    return EvDispatch(charge_kw=charge, discharge_kw=discharge)


def simulate_ev(
    ev: ElectricVehicle, grid: TimeGrid, dispatch: EvDispatch, penalty_gbp_per_kwh: float
) -> AssetResult:
    """Plan columns and target violations for an EV dispatch: ``power_kw`` (the slot's average,
    as the energy balance counts it), ``setpoint_kw`` (the power while the car is plugged in:
    the average over the slot's plugged-in share, what the charger is told) and ``soc_pct``
    (while plugged in)."""
    n, dt = grid.n_steps, grid.step_hours
    cap = ev.battery_capacity_kwh
    charge = np.clip(dispatch.charge_kw, 0.0, None)
    discharge = np.clip(dispatch.discharge_kw, 0.0, None)
    soc_pct = np.full(n, np.nan)
    plugged = np.zeros(n)  # the share of each slot the car is plugged in
    result = AssetResult(draw_kw=charge - discharge)
    for w in session_windows(ev, grid):
        energy = w.session.arrival_soc * cap
        for t, f in zip(w.slots, w.fractions, strict=True):
            plugged[t] += f
            energy += dt * (
                ev.charge_efficiency * charge[t] - discharge[t] / ev.discharge_efficiency
            )
            soc_pct[t] = 100.0 * energy / cap
        at_target = energy  # the target is checked at the end of the session's last slot
        short = w.required_kwh - at_target
        if short > 0.01:
            result.penalty_gbp += penalty_gbp_per_kwh * short
            result.violations.append(_target_violation(ev, grid, w, at_target, short))
        if w.session.charge_now:
            floor = asap_charge_kw(ev, grid, w)
            gap = np.clip(floor - charge, 0.0, None)
            if gap.sum() * dt > 0.01:
                result.penalty_gbp += penalty_gbp_per_kwh * dt * float(gap.sum())
                result.violations.append(
                    Violation(
                        wish=Wish.CHARGE_NOW,
                        asset=ev.name,
                        amount=float(gap.sum() * dt),
                        unit="kWh",
                        message=(
                            f"{ev.name} charges {gap.sum() * dt:.1f} kWh less than 'charge now' "
                            f"asked: {site_cause(w.slots[0], w.slots[-1])}."
                        ),
                        start_utc=grid.slot_start(w.slots[0]),
                        end_utc=grid.slot_start(w.slots[-1] + 1),
                    )
                )
    # the slot's energy is delivered while the car is plugged in: a car that leaves at 07:40
    # gets the 07:30 slot's energy in 10 minutes, at three times the slot's average power
    while_plugged_kw = np.divide(charge - discharge, plugged, out=np.zeros(n), where=plugged > 1e-9)
    result.columns = {
        f"{ev.name}.power_kw": charge - discharge,
        f"{ev.name}.setpoint_kw": while_plugged_kw,
        f"{ev.name}.soc_pct": soc_pct,
    }
    result.totals = {f"{ev.name}.charged_kwh": float(dt * charge.sum())}
    return result


def _target_violation(
    ev: ElectricVehicle, grid: TimeGrid, w: SessionWindow, reached_kwh: float, short_kwh: float
) -> Violation:
    cap = ev.battery_capacity_kwh
    dt = grid.step_hours
    plugged_h = dt * sum(w.fractions[: w.slots.index(w.target_slot) + 1])
    possible_kwh = min(
        cap - w.session.arrival_soc * cap, ev.max_charge_kw * ev.charge_efficiency * plugged_h
    )
    when = w.session.departure_utc if w.leaves_in_horizon else grid.end_utc
    wished = w.session.target_soc if w.leaves_in_horizon else w.required_kwh / cap
    if w.session.arrival_soc * cap + possible_kwh < w.required_kwh - 0.01:
        why = (
            f"the car is plugged in for {_hours(plugged_h)} at {ev.max_charge_kw:g} kW, "
            f"so at most {possible_kwh:.1f} kWh can be added"
        )
    else:
        why = site_cause(w.slots[0], w.target_slot)
    return Violation(
        wish=Wish.EV_TARGET,
        asset=ev.name,
        amount=short_kwh,
        unit="kWh",
        message=(
            f"{ev.name} reaches {100 * reached_kwh / cap:.0f} % instead of {100 * wished:.0f} % "
            f"by {local_day_hhmm(when)}: {why}."
        ),
        start_utc=when,
        end_utc=when,
    )


def _hours(h: float) -> str:
    whole = math.floor(h + 1e-9)
    minutes = round((h - whole) * 60)
    return f"{whole} h" if minutes == 0 else f"{whole} h {minutes:02d} min"


class EvKind(AssetKind[ElectricVehicle, EvDispatch]):
    """EVs with their chargers (:mod:`optimiser.asset_kind`); the fallback charges as soon as
    a car is plugged in."""

    field = "evs"
    block_prefix = "ev"

    def assets(self, problem: Problem) -> tuple[ElectricVehicle, ...]:
        return problem.evs

    def build(self, ctx: ModelContext, asset: ElectricVehicle, block_name: str) -> pyo.Block:
        return add_ev_block(ctx, asset, block_name, ctx.problem.penalties.ev_shortfall_gbp_per_kwh)

    def read(self, block: pyo.Block, n_steps: int) -> EvDispatch:
        return read_ev_dispatch(block, n_steps)

    def simulate(
        self, problem: Problem, asset: ElectricVehicle, decision: EvDispatch | None
    ) -> AssetResult:
        n = problem.grid.n_steps
        d = EvDispatch(np.zeros(n), np.zeros(n)) if decision is None else decision
        penalty = problem.penalties.ev_shortfall_gbp_per_kwh
        return simulate_ev(asset, problem.grid, d, penalty)

    def rule_based(
        self, problem: Problem, asset: ElectricVehicle, load_kw: FloatArray
    ) -> EvDispatch:
        grid = problem.grid
        n = grid.n_steps
        windows = session_windows(asset, grid)
        charge = sum((asap_charge_kw(asset, grid, w) for w in windows), np.zeros(n))
        load_kw += charge
        return EvDispatch(charge_kw=charge, discharge_kw=np.zeros(n))

    def initial_binaries(
        self, problem: Problem, asset: ElectricVehicle, storage_slots: set[int]
    ) -> dict[str, set[int]]:
        return {asset.binary_key: storage_slots} if asset.has_v2g else {}

    def failed_checks(
        self, problem: Problem, asset: ElectricVehicle, decision: EvDispatch
    ) -> dict[str, set[int]]:
        out: dict[str, set[int]] = {}
        both = (decision.charge_kw > FLOW_TOL_KW) & (decision.discharge_kw > FLOW_TOL_KW)
        bad = set(np.flatnonzero(both).tolist())
        if bad:
            out[asset.binary_key] = bad
        if asset.min_charge_kw > 0:
            low = _below_minimum(asset, problem.grid, decision.charge_kw)
            if low:
                out[asset.min_power_key] = low
        return out

    def minimum_power_keys(self, asset: ElectricVehicle) -> set[str]:
        return {asset.min_power_key}

    def candidate_slots(
        self, problem: Problem, asset: ElectricVehicle, key: str
    ) -> set[int] | None:
        if key not in (asset.min_power_key, asset.binary_key):
            return None
        return {t for w in session_windows(asset, problem.grid) for t in w.slots}


def _below_minimum(ev: ElectricVehicle, grid: TimeGrid, charge_kw: FloatArray) -> set[int]:
    """Slots where the charger runs between 0 and its minimum (scaled by the plugged fraction)."""
    min_kw = ev.min_charge_kw
    bad: set[int] = set()
    for w in session_windows(ev, grid):
        for t, f in zip(w.slots, w.fractions, strict=True):
            if FLOW_TOL_KW < charge_kw[t] < min_kw * f - FLOW_TOL_KW:
                bad.add(t)
    return bad


EVS = EvKind()
