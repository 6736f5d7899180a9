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
r_t        energy outside the SoC bounds (recovery only)     kWh
=========  ===============================================  ========

* ``E_t = E_{t-1} + Δ (η_c c_t - d_t / η_d)``, ``SoC_min·Cap <= E_t <= SoC_max·Cap``;
* a battery that *starts* outside its bounds (below a reserve the consumer just raised, or
  drained by a load the plan did not see) is planned back: the bounds widen to include its
  start, ``min(E_{-1}, SoC_min·Cap) <= E_t <= max(E_{-1}, SoC_max·Cap)`` (never further out
  than it starts), and ``E_t + r_t >= SoC_min·Cap`` (or ``E_t - r_t <= SoC_max·Cap``) costs
  ``π_bounds Δ r_t`` [GBP per kWh·h outside], so the plan recovers as soon as it can; a battery
  within its bounds has neither ``r_t`` nor the wider bounds;
* in binary slots ``c_t <= C̄ z_t`` and ``d_t <= D̄ (1 - z_t)``; elsewhere both are continuous and
  the planner checks the solution for simultaneous charge and discharge (see ``planner``);
* draw on the bus ``c_t - d_t``;
* a plan made inside its first slot (``Problem.plan_start_utc``, share ``f`` of the slot left):
  ``c_0 <= f C̄``, ``d_0 <= f D̄`` (powers stay slot averages, so the balance is unchanged), and
  the plan's ``setpoint_kw`` column is the power while it runs, ``(c_0 - d_0) / f``;
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
from optimiser.results import AssetResult, Violation, Wish, local_day_hhmm, site_cause
from optimiser.var_values import slot_values

if TYPE_CHECKING:
    from optimiser.problem import Problem


SOC_TOLERANCE = 1e-6
"""A start this far outside the SoC bounds is within them (rounding) [fraction of capacity]."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Battery:
    """A home battery.

    Attributes:
        name: unique asset name.
        capacity_kwh: usable capacity [kWh], > 0.
        initial_soc: state of charge now [0-1]; outside ``[min_soc, max_soc]`` the plan
            brings it back (module docstring) and says so.
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
        fraction(f"{where}.initial_soc", self.initial_soc)
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

    @property
    def starts_outside_bounds(self) -> bool:
        """The SoC now is below ``min_soc`` or above ``max_soc`` by more than
        :data:`SOC_TOLERANCE` (a measurement's rounding is not a reserve to recover)."""
        lo, hi = self.min_soc - SOC_TOLERANCE, self.max_soc + SOC_TOLERANCE
        return not lo <= self.initial_soc <= hi

    @property
    def energy_bounds_kwh(self) -> tuple[float, float]:
        """The stored energy's hard bounds [kWh]: the SoC bounds, widened to the start's."""
        cap, e0 = self.capacity_kwh, self.initial_soc * self.capacity_kwh
        return min(e0, self.min_soc * cap), max(e0, self.max_soc * cap)

    def outside_bounds_kwh(self, energy_kwh: FloatArray) -> FloatArray:
        """Energy below ``min_soc`` or above ``max_soc`` per slot [kWh] (0 for a battery that
        starts within its bounds, which the plan keeps there)."""
        if not self.starts_outside_bounds:
            return np.zeros(len(energy_kwh))
        cap = self.capacity_kwh
        below = np.clip(self.min_soc * cap - energy_kwh, 0.0, None)
        above = np.clip(energy_kwh - self.max_soc * cap, 0.0, None)
        return np.asarray(below + above, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class BatteryDispatch:
    """Charge and discharge power per slot [kW] (both >= 0)."""

    charge_kw: FloatArray
    discharge_kw: FloatArray


def add_battery_block(
    ctx: ModelContext,
    bat: Battery,
    block_name: str,
    target_penalty_gbp_per_kwh: float,
    bounds_penalty_gbp_per_kwh_hour: float = 0.0,
) -> pyo.Block:
    """Build the battery's variables, SoC balance, terminal terms and draw (and, for a battery
    that starts outside its bounds, the recovery's slack and cost)."""
    n, dt = ctx.n_steps, ctx.step_h
    cap = bat.capacity_kwh
    b = pyo.Block()
    ctx.model.add_component(block_name, b)
    slots = range(n)
    b.charge_kw = pyo.Var(ctx.time_set, bounds=(0.0, bat.max_charge_kw))
    b.discharge_kw = pyo.Var(ctx.time_set, bounds=(0.0, bat.max_discharge_kw))
    b.energy_kwh = pyo.Var(ctx.time_set, bounds=bat.energy_bounds_kwh)
    first = ctx.problem.first_slot_fraction
    if first < 1.0:  # it runs only for the first slot's share left
        b.charge_kw[0].setub(bat.max_charge_kw * first)
        b.discharge_kw[0].setub(bat.max_discharge_kw * first)
    e0 = bat.initial_soc * cap
    eta_c, eta_d = bat.charge_efficiency, bat.discharge_efficiency

    def soc_rule(_b: pyo.Block, t: int) -> object:
        prev = e0 if t == 0 else b.energy_kwh[t - 1]
        return (
            b.energy_kwh[t] == prev + dt * eta_c * b.charge_kw[t] - dt / eta_d * b.discharge_kw[t]
        )

    b.soc_balance = pyo.Constraint(ctx.time_set, rule=soc_rule, doc="stored energy balance [kWh]")
    if bat.starts_outside_bounds:
        _add_recovery(ctx, bat, b, bounds_penalty_gbp_per_kwh_hour)

    _register_mode_binaries(ctx, bat, b)
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


def _register_mode_binaries(ctx: ModelContext, bat: Battery, b: pyo.Block) -> None:
    """The no-simultaneity binaries ``z_t`` and their rows, added in the planner's slots."""
    b.mode = pyo.Var(ctx.time_set, domain=pyo.Binary, dense=False, doc="1 = charging allowed")
    b.charge_mode = pyo.Constraint(ctx.time_set)
    b.discharge_mode = pyo.Constraint(ctx.time_set)

    def add_mode_binaries(new: list[int]) -> None:
        # the battery's powers as they are now: a persistent model (optimiser.model_cache)
        # adds binaries for each new problem of its shape, another home's hardware
        now = next((x for x in ctx.problem.batteries if x.name == bat.name), bat)
        for t in new:
            z = b.mode[t]
            ctx.add_mode_binary(z, b.charge_kw[t], b.discharge_kw[t])
            b.charge_mode[t] = b.charge_kw[t] <= now.max_charge_kw * z
            b.discharge_mode[t] = b.discharge_kw[t] <= now.max_discharge_kw * (1 - z)

    ctx.register_binaries(bat.binary_key, add_mode_binaries)


def _add_recovery(ctx: ModelContext, bat: Battery, b: pyo.Block, penalty: float) -> None:
    """The slack ``r_t`` of a battery that starts outside its bounds, and its cost."""
    cap = bat.capacity_kwh
    low, high = bat.energy_bounds_kwh
    below = bat.initial_soc < bat.min_soc
    widest_kwh = bat.min_soc * cap - low if below else high - bat.max_soc * cap
    b.outside_kwh = pyo.Var(ctx.time_set, bounds=(0.0, widest_kwh))

    def rule(_b: pyo.Block, t: int) -> object:
        if below:
            return b.energy_kwh[t] + b.outside_kwh[t] >= bat.min_soc * cap
        return b.energy_kwh[t] - b.outside_kwh[t] <= bat.max_soc * cap

    b.recovery = pyo.Constraint(ctx.time_set, rule=rule, doc="energy outside the bounds [kWh]")
    ctx.cost_terms.append(penalty * ctx.step_h * sum(b.outside_kwh[t] for t in ctx.time_set))


def read_battery_dispatch(block: pyo.Block, n_steps: int) -> BatteryDispatch:
    return BatteryDispatch(
        charge_kw=slot_values(block.charge_kw, n_steps),
        discharge_kw=slot_values(block.discharge_kw, n_steps),
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
    bat: Battery,
    grid: TimeGrid,
    dispatch: BatteryDispatch,
    target_penalty_gbp_per_kwh: float,
    bounds_penalty_gbp_per_kwh_hour: float = 0.0,
    running_fraction: FloatArray | None = None,
) -> AssetResult:
    """Plan columns, costs and violations (the terminal target; the recovery of a battery
    that starts outside its bounds) for a battery dispatch. ``running_fraction``: each slot's
    share the battery can run (``Problem.running_fraction``; default all of it)."""
    charge = np.clip(dispatch.charge_kw, 0.0, None)
    discharge = np.clip(dispatch.discharge_kw, 0.0, None)
    energy = battery_energy_kwh(bat, grid, BatteryDispatch(charge, discharge))
    dt = grid.step_hours
    running = np.ones(grid.n_steps) if running_fraction is None else running_fraction
    result = AssetResult(
        draw_kw=charge - discharge,
        columns={
            f"{bat.name}.power_kw": charge - discharge,
            f"{bat.name}.setpoint_kw": (charge - discharge) / running,
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
    outside = bat.outside_bounds_kwh(energy)
    if bat.starts_outside_bounds:
        result.penalty_gbp += bounds_penalty_gbp_per_kwh_hour * dt * float(outside.sum())
        result.violations.append(_bounds_violation(bat, grid, energy, outside))
    if bat.target_soc_end is not None:
        short = bat.target_soc_end * bat.capacity_kwh - float(energy[-1])
        if short > 0.01:
            result.penalty_gbp += target_penalty_gbp_per_kwh * short
            result.violations.append(_target_violation(bat, grid, energy, short))
    return result


def _bounds_violation(
    bat: Battery, grid: TimeGrid, energy: FloatArray, outside_kwh: FloatArray
) -> Violation:
    """What a battery that starts outside its bounds does about it: when it is back, or why
    not within the plan."""
    cap = bat.capacity_kwh
    below = bat.initial_soc < bat.min_soc
    bound = bat.min_soc if below else bat.max_soc
    what = f"{bat.name} starts at {100 * bat.initial_soc:.0f} %, " + (
        f"below its {100 * bound:.0f} % reserve"
        if below
        else f"above its {100 * bound:.0f} % maximum"
    )
    back = np.flatnonzero(outside_kwh <= 1e-6)
    if len(back):
        end = grid.slot_start(int(back[0]) + 1)
        verb = "recovers its reserve" if below else "comes back to its maximum"
        how = f"charging at up to {bat.max_charge_kw:g} kW" if below else "discharging first"
        message = f"{what}: the plan {verb} by {local_day_hhmm(end)}, {how}."
    else:
        end = grid.end_utc
        left = 100 * float(energy[-1]) / cap
        if not below:
            why = "it cannot discharge that fast"
        elif bat.max_charge_kw <= 0:
            why = "it cannot charge"
        elif not bat.allow_grid_charging:
            why = "it may charge only from solar and the forecast surplus is too small"
        else:
            why = site_cause(0, grid.n_steps - 1)
        message = f"{what} and is still at {left:.0f} % at {local_day_hhmm(end)}: {why}."
    return Violation(
        wish=Wish.BATTERY_BOUNDS,
        asset=bat.name,
        amount=float(grid.step_hours * outside_kwh.sum()),
        unit="kWh·h",
        message=message,
        start_utc=grid.start_utc,
        end_utc=end,
    )


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
        why = site_cause(0, grid.n_steps - 1)
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
        penalties = ctx.problem.penalties
        return add_battery_block(
            ctx,
            asset,
            block_name,
            penalties.battery_target_gbp_per_kwh,
            penalties.battery_bounds_gbp_per_kwh_hour,
        )

    def read(self, block: pyo.Block, n_steps: int) -> BatteryDispatch:
        return read_battery_dispatch(block, n_steps)

    def simulate(
        self, problem: Problem, asset: Battery, decision: BatteryDispatch | None
    ) -> AssetResult:
        d = self._idle(problem) if decision is None else decision
        penalties = problem.penalties
        return simulate_battery(
            asset,
            problem.grid,
            d,
            penalties.battery_target_gbp_per_kwh,
            penalties.battery_bounds_gbp_per_kwh_hour,
            problem.running_fraction,
        )

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
