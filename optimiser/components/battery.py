"""Home battery: charge, discharge and state of charge.

Maths (per slot t, step Δ [h]; E_{-1} = initial energy):

=========  ===============================================  ========
symbol     meaning                                           unit
=========  ===============================================  ========
c_t, d_t   charge and discharge power (AC side)              kW
E_t        stored energy at the end of slot t                kWh
η_c, η_d   charge and discharge efficiency                   -
z_t        1 = may charge, 0 = may discharge (binary slots)  -
s          shortfall against the terminal target             kWh
=========  ===============================================  ========

* ``E_t = E_{t-1} + Δ (η_c c_t - d_t / η_d)``, ``SoC_min·Cap <= E_t <= SoC_max·Cap``;
* in binary slots ``c_t <= C̄ z_t`` and ``d_t <= D̄ (1 - z_t)``; elsewhere both are continuous and
  the planner checks the solution for simultaneous charge and discharge (see ``planner``);
* draw on the bus ``c_t - d_t``;
* objective: ``Δ·k_deg·d_t`` (throughput cost per kWh discharged), ``-v·E_{T-1}`` (value of
  energy left), ``π_target·s`` with ``E_{T-1} + s >= SoC_target·Cap``;
* "no grid charging": ``c_t <= Σ PV_t``; "no export": the site's export is limited to what PV and
  the assets that may export supply (see ``site``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyomo.environ as pyo

from kernel.errors import ProblemError
from kernel.timegrid import TimeGrid
from optimiser.asset_kind import FLOW_TOL_KW, AssetKind
from optimiser.checks import FloatArray, efficiency, fraction, number
from optimiser.context import ModelContext
from optimiser.results import AssetResult, Violation, Wish, local_day_hhmm

if TYPE_CHECKING:
    from optimiser.problem import Problem


@dataclass(frozen=True, slots=True, kw_only=True)
class Battery:
    """A home battery.

    Attributes:
        name: unique asset name.
        capacity_kwh: usable capacity [kWh], > 0.
        initial_soc: state of charge now [0-1], within ``[min_soc, max_soc]``.
        min_soc, max_soc: physical or reserve bounds [0-1].
        max_charge_kw, max_discharge_kw: AC power limits [kW].
        charge_efficiency, discharge_efficiency: one-way efficiencies (0-1].
        target_soc_end: soft target at the horizon end [0-1], or None.
        end_value_gbp_per_kwh: value of each kWh left at the end [GBP/kWh].
        degradation_gbp_per_kwh: throughput cost per kWh discharged [GBP/kWh].
        allow_grid_charging: False = charge only from PV.
        allow_export: False = the battery's energy never leaves the home.
    """

    name: str = "Battery"
    capacity_kwh: float
    initial_soc: float
    min_soc: float = 0.0
    max_soc: float = 1.0
    max_charge_kw: float
    max_discharge_kw: float
    charge_efficiency: float = 0.95
    discharge_efficiency: float = 0.95
    target_soc_end: float | None = None
    end_value_gbp_per_kwh: float = 0.0
    degradation_gbp_per_kwh: float = 0.0
    allow_grid_charging: bool = True
    allow_export: bool = True

    def checked(self, grid: TimeGrid, where: str) -> Battery:
        number(f"{where}.capacity_kwh", self.capacity_kwh, minimum=0, strict_minimum=True)
        lo = fraction(f"{where}.min_soc", self.min_soc)
        hi = fraction(f"{where}.max_soc", self.max_soc)
        if lo > hi:
            raise ProblemError(f"{where}.min_soc", f"{lo:g} is above max_soc {hi:g}")
        soc = fraction(f"{where}.initial_soc", self.initial_soc)
        if not lo - 1e-9 <= soc <= hi + 1e-9:
            raise ProblemError(
                f"{where}.initial_soc", f"{soc:g} is outside the SoC bounds [{lo:g}, {hi:g}]"
            )
        number(f"{where}.max_charge_kw", self.max_charge_kw, minimum=0)
        number(f"{where}.max_discharge_kw", self.max_discharge_kw, minimum=0)
        efficiency(f"{where}.charge_efficiency", self.charge_efficiency)
        efficiency(f"{where}.discharge_efficiency", self.discharge_efficiency)
        if self.target_soc_end is not None:
            fraction(f"{where}.target_soc_end", self.target_soc_end)
        number(f"{where}.end_value_gbp_per_kwh", self.end_value_gbp_per_kwh, minimum=0)
        number(f"{where}.degradation_gbp_per_kwh", self.degradation_gbp_per_kwh, minimum=0)
        return self

    @property
    def binary_key(self) -> str:
        return f"battery:{self.name}"


@dataclass(frozen=True, slots=True)
class BatteryDispatch:
    """Charge and discharge power per slot [kW] (both >= 0)."""

    charge_kw: FloatArray
    discharge_kw: FloatArray


def add_battery_block(
    ctx: ModelContext, bat: Battery, block_name: str, target_penalty_gbp_per_kwh: float
) -> pyo.Block:
    """Build the battery's variables, SoC balance, terminal terms and draw."""
    n, dt = ctx.n_steps, ctx.step_h
    cap = bat.capacity_kwh
    b = pyo.Block()
    ctx.model.add_component(block_name, b)
    slots = range(n)
    b.charge_kw = pyo.Var(ctx.time_set, bounds=(0.0, bat.max_charge_kw))
    b.discharge_kw = pyo.Var(ctx.time_set, bounds=(0.0, bat.max_discharge_kw))
    b.energy_kwh = pyo.Var(ctx.time_set, bounds=(bat.min_soc * cap, bat.max_soc * cap))
    e0 = bat.initial_soc * cap
    eta_c, eta_d = bat.charge_efficiency, bat.discharge_efficiency

    def soc_rule(_b: pyo.Block, t: int) -> object:
        prev = e0 if t == 0 else b.energy_kwh[t - 1]
        return (
            b.energy_kwh[t] == prev + dt * eta_c * b.charge_kw[t] - dt / eta_d * b.discharge_kw[t]
        )

    b.soc_balance = pyo.Constraint(ctx.time_set, rule=soc_rule, doc="stored energy balance [kWh]")

    b.mode = pyo.Var(ctx.time_set, domain=pyo.Binary, dense=False, doc="1 = charging allowed")
    b.charge_mode = pyo.Constraint(ctx.time_set)
    b.discharge_mode = pyo.Constraint(ctx.time_set)

    def add_mode_binaries(new: list[int]) -> None:
        for t in new:
            z = b.mode[t]
            ctx.add_mode_binary(z, b.charge_kw[t], b.discharge_kw[t])
            b.charge_mode[t] = b.charge_kw[t] <= bat.max_charge_kw * z
            b.discharge_mode[t] = b.discharge_kw[t] <= bat.max_discharge_kw * (1 - z)

    ctx.register_binaries(bat.binary_key, add_mode_binaries)
    if not bat.allow_grid_charging:
        b.solar_only = pyo.Constraint(
            ctx.time_set,
            rule=lambda _b, t: (
                b.charge_kw[t] <= sum(ctx.generation_terms_kw[t])
                if ctx.generation_terms_kw[t]
                else b.charge_kw[t] == 0
            ),
            doc="charge only from PV",
        )
    for t in slots:
        ctx.add_consumption(t, b.charge_kw[t])
        ctx.add_supply(t, b.discharge_kw[t])
        if bat.allow_export:
            ctx.export_source_terms_kw[t].append(b.discharge_kw[t])
    if not bat.allow_export:
        ctx.export_restricted = True

    if bat.degradation_gbp_per_kwh > 0:
        ctx.cost_terms.append(
            dt * bat.degradation_gbp_per_kwh * sum(b.discharge_kw[t] for t in slots)
        )
    if bat.end_value_gbp_per_kwh > 0:
        ctx.cost_terms.append(-bat.end_value_gbp_per_kwh * b.energy_kwh[n - 1])
    if bat.target_soc_end is not None:
        b.target_shortfall_kwh = pyo.Var(bounds=(0.0, None))
        b.target = pyo.Constraint(
            expr=b.energy_kwh[n - 1] + b.target_shortfall_kwh >= bat.target_soc_end * cap,
            doc="soft terminal SoC target",
        )
        ctx.cost_terms.append(target_penalty_gbp_per_kwh * b.target_shortfall_kwh)
    ctx.add_flexible_load(bat.name, b.charge_kw, tuple(slots))
    return b


def read_battery_dispatch(block: pyo.Block, n_steps: int) -> BatteryDispatch:
    return BatteryDispatch(
        charge_kw=np.array([pyo.value(block.charge_kw[t]) for t in range(n_steps)]),
        discharge_kw=np.array([pyo.value(block.discharge_kw[t]) for t in range(n_steps)]),
    )


def battery_energy_kwh(bat: Battery, grid: TimeGrid, dispatch: BatteryDispatch) -> FloatArray:
    """Stored energy at the end of each slot [kWh] for a dispatch (the model's own dynamics)."""
    dt = grid.step_hours
    delta = dt * (
        bat.charge_efficiency * dispatch.charge_kw
        - dispatch.discharge_kw / bat.discharge_efficiency
    )
    return np.asarray(bat.initial_soc * bat.capacity_kwh + np.cumsum(delta), dtype=np.float64)


def simulate_battery(
    bat: Battery, grid: TimeGrid, dispatch: BatteryDispatch, target_penalty_gbp_per_kwh: float
) -> AssetResult:
    """Plan columns, costs and the terminal-target violation for a battery dispatch."""
    charge = np.clip(dispatch.charge_kw, 0.0, None)
    discharge = np.clip(dispatch.discharge_kw, 0.0, None)
    energy = battery_energy_kwh(bat, grid, BatteryDispatch(charge, discharge))
    dt = grid.step_hours
    result = AssetResult(
        draw_kw=charge - discharge,
        columns={
            f"{bat.name}.power_kw": charge - discharge,
            f"{bat.name}.soc_pct": 100.0 * energy / bat.capacity_kwh,
        },
        cost_gbp={"degradation": float(dt * bat.degradation_gbp_per_kwh * discharge.sum())},
        totals={
            f"{bat.name}.charged_kwh": float(dt * charge.sum()),
            f"{bat.name}.discharged_kwh": float(dt * discharge.sum()),
        },
    )
    soc_end_pct = float(result.columns[f"{bat.name}.soc_pct"][-1])
    result.end_value_gbp = bat.end_value_gbp_per_kwh * bat.capacity_kwh * soc_end_pct / 100
    if bat.target_soc_end is not None:
        short = bat.target_soc_end * bat.capacity_kwh - float(energy[-1])
        if short > 0.01:
            result.penalty_gbp += target_penalty_gbp_per_kwh * short
            result.violations.append(_target_violation(bat, grid, energy, short))
    return result


def _target_violation(
    bat: Battery, grid: TimeGrid, energy: FloatArray, short_kwh: float
) -> Violation:
    cap = bat.capacity_kwh
    reachable = bat.initial_soc * cap + bat.max_charge_kw * bat.charge_efficiency * (
        grid.step_hours * grid.n_steps
    )
    if reachable < bat.target_soc_end * cap - 0.01:  # type: ignore[operator]
        why = (
            f"at {bat.max_charge_kw:g} kW it can add at most "
            f"{reachable - bat.initial_soc * cap:.1f} kWh before then"
        )
    elif not bat.allow_grid_charging:
        why = "it may charge only from solar and the forecast surplus is too small"
    else:
        why = "the import limit or a DSR request left too little room to charge"
    return Violation(
        wish=Wish.BATTERY_TARGET,
        asset=bat.name,
        amount=short_kwh,
        unit="kWh",
        message=(
            f"{bat.name} ends at {100 * energy[-1] / cap:.0f} % instead of "
            f"{100 * bat.target_soc_end:.0f} % by {local_day_hhmm(grid.end_utc)}: {why}."  # type: ignore[operator]
        ),
        start_utc=grid.end_utc,
        end_utc=grid.end_utc,
    )


class BatteryKind(AssetKind[Battery, BatteryDispatch]):
    """Home batteries (:mod:`optimiser.asset_kind`); the fallback leaves them idle."""

    field = "batteries"
    block_prefix = "battery"

    def assets(self, problem: Problem) -> tuple[Battery, ...]:
        return problem.batteries

    def build(self, ctx: ModelContext, asset: Battery, block_name: str) -> pyo.Block:
        penalty = ctx.problem.penalties.battery_target_gbp_per_kwh
        return add_battery_block(ctx, asset, block_name, penalty)

    def read(self, block: pyo.Block, n_steps: int) -> BatteryDispatch:
        return read_battery_dispatch(block, n_steps)

    def simulate(
        self, problem: Problem, asset: Battery, decision: BatteryDispatch | None
    ) -> AssetResult:
        d = self._idle(problem) if decision is None else decision
        penalty = problem.penalties.battery_target_gbp_per_kwh
        return simulate_battery(asset, problem.grid, d, penalty)

    def rule_based(self, problem: Problem, asset: Battery, load_kw: FloatArray) -> BatteryDispatch:
        return self._idle(problem)

    def initial_binaries(
        self, problem: Problem, asset: Battery, storage_slots: set[int]
    ) -> dict[str, set[int]]:
        return {asset.binary_key: storage_slots}

    def failed_checks(
        self, problem: Problem, asset: Battery, decision: BatteryDispatch
    ) -> dict[str, set[int]]:
        both = (decision.charge_kw > FLOW_TOL_KW) & (decision.discharge_kw > FLOW_TOL_KW)
        bad = set(np.flatnonzero(both).tolist())
        return {asset.binary_key: bad} if bad else {}

    @staticmethod
    def _idle(problem: Problem) -> BatteryDispatch:
        n = problem.grid.n_steps
        return BatteryDispatch(np.zeros(n), np.zeros(n))


BATTERIES = BatteryKind()
