"""Heat pump heating a building (1R1C) and optionally a hot-water tank.

Maths (slot t, step Δ [h]; thermal steps from :mod:`optimiser.components.thermal`):

==========  ===================================================  ========
symbol      meaning                                               unit
==========  ===================================================  ========
P_t, W_t    electrical power for space heating / hot water        kW
COP_t       space-heating COP at the outdoor temperature          -
θ_t         indoor temperature at the end of slot t               °C
τ_t         tank temperature at the end of slot t                 °C
l_t, h_t    degrees below / above the comfort band                K
w_t         degrees below the tank's minimum                      K
u_t         1 = running (on/off units, or a minimum power)        -
==========  ===================================================  ========

* building: ``θ_t = a θ_{t-1} + (1-a) T_out,t + b (COP_t P_t + gains_t)``;
* comfort band (soft): ``θmin_t <= θ_t + l_t - h_t <= θmax_t`` (one ranged row), cost
  ``π_comfort Δ (l_t + h_t)`` [GBP per K·h];
* tank: ``τ_t = a_w τ_{t-1} + (1-a_w) T_room + b_w (COP^w_t W_t - draw_t)``, ``τ_t <= τmax``
  (hard), ``τ_t + w_t >= τmin`` (soft);
* power: modulating ``0 <= P_t + W_t <= P̄``; with a minimum power
  ``P_min u_t <= P_t + W_t <= P̄ u_t``;
  on/off ``P_t + W_t = P̄ u_t``. The binaries ``u_t`` exist only in the planner's binary slots for
  this unit; elsewhere the power is continuous and the planner checks the solution (a slot between
  0 and the minimum, or strictly between 0 and P̄ for an on/off unit, gets a binary next round).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyomo.environ as pyo

from kernel.errors import ProblemError
from kernel.timegrid import TimeGrid
from optimiser.checks import FloatArray, SeriesLike, number, series
from optimiser.components.cop import CopModel, HplibCop
from optimiser.components.thermal import (
    WATER_HEAT_CAPACITY_KWH_PER_LITRE_K,
    FirstOrderStep,
    heat_needed_kw,
    simulate_first_order,
)
from optimiser.context import ModelContext
from optimiser.results import AssetResult, Wish, runs, slot_violation


@dataclass(frozen=True, slots=True, kw_only=True)
class Building:
    """A 1R1C building.

    Attributes:
        heat_loss_kw_per_k: conductance to outdoors [kW/K] (a 3-bed semi: ~0.15-0.25).
        thermal_capacity_kwh_per_k: effective heat capacity [kWh/K] (~5-15).
        initial_indoor_temperature_c: indoor temperature now [°C].
        solar_gain_kw, internal_gain_kw: free heat per slot [kW], scalar or series.
    """

    heat_loss_kw_per_k: float
    thermal_capacity_kwh_per_k: float
    initial_indoor_temperature_c: float
    solar_gain_kw: SeriesLike = 0.0
    internal_gain_kw: SeriesLike = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class HotWaterTank:
    """A domestic hot-water cylinder heated by the heat pump.

    Attributes:
        volume_litres: water volume [L].
        initial_temperature_c, min_temperature_c, max_temperature_c: [°C]; min is a soft wish,
            max a hard limit.
        draw_kw: hot water drawn as heat per slot [kW thermal], scalar or series.
        standby_loss_kw_per_k: conductance to the room [kW/K] (~0.002 for a modern cylinder).
        room_temperature_c: temperature around the tank [°C].
        flow_temperature_c: flow temperature when heating the tank [°C] (sets an hplib COP).
    """

    volume_litres: float
    initial_temperature_c: float
    min_temperature_c: float = 45.0
    max_temperature_c: float = 60.0
    draw_kw: SeriesLike = 0.0
    standby_loss_kw_per_k: float = 0.002
    room_temperature_c: float = 18.0
    flow_temperature_c: float = 55.0

    @property
    def capacity_kwh_per_k(self) -> float:
        return self.volume_litres * WATER_HEAT_CAPACITY_KWH_PER_LITRE_K


@dataclass(frozen=True, slots=True, kw_only=True)
class HeatPump:
    """A heat pump with its building, comfort band and optional tank.

    Attributes:
        name: unique asset name.
        max_power_kw: electrical power at full output [kW].
        min_power_kw: lowest modulating power when running [kW] (0 = down to off).
        modulating: False = on/off unit running at ``max_power_kw``.
        cop: COP model for space heating (curve, or hplib at the space-heating flow temperature).
        building: the building it heats.
        comfort_min_c, comfort_max_c: comfort band per slot [°C] (soft), scalar or series.
        tank: optional hot-water tank.
        tank_cop: COP model for the tank; default: the hplib model at the tank's flow
            temperature, or ``cop`` minus 1 for a curve.
    """

    name: str = "Heat pump"
    max_power_kw: float
    min_power_kw: float = 0.0
    modulating: bool = True
    cop: CopModel
    building: Building
    comfort_min_c: SeriesLike = 19.0
    comfort_max_c: SeriesLike = 23.0
    tank: HotWaterTank | None = None
    tank_cop: CopModel | None = None

    def checked(self, grid: TimeGrid, where: str) -> HeatPump:
        n = grid.n_steps
        number(f"{where}.max_power_kw", self.max_power_kw, minimum=0, strict_minimum=True)
        number(f"{where}.min_power_kw", self.min_power_kw, minimum=0, maximum=self.max_power_kw)
        self.cop.check(f"{where}.cop")
        bld = self.building
        number(
            f"{where}.building.heat_loss_kw_per_k",
            bld.heat_loss_kw_per_k,
            minimum=0,
            strict_minimum=True,
        )
        number(
            f"{where}.building.thermal_capacity_kwh_per_k",
            bld.thermal_capacity_kwh_per_k,
            minimum=0,
            strict_minimum=True,
        )
        number(
            f"{where}.building.initial_indoor_temperature_c",
            bld.initial_indoor_temperature_c,
            minimum=-30,
            maximum=50,
        )
        lo = series(f"{where}.comfort_min_c", self.comfort_min_c, n, minimum=0, maximum=35)
        hi = series(f"{where}.comfort_max_c", self.comfort_max_c, n, minimum=0, maximum=35)
        if (lo > hi).any():
            t = int(np.argmax(lo > hi))
            raise ProblemError(f"{where}.comfort_min_c", f"is above comfort_max_c at slot {t}")
        building = Building(
            heat_loss_kw_per_k=bld.heat_loss_kw_per_k,
            thermal_capacity_kwh_per_k=bld.thermal_capacity_kwh_per_k,
            initial_indoor_temperature_c=bld.initial_indoor_temperature_c,
            solar_gain_kw=series(
                f"{where}.building.solar_gain_kw", bld.solar_gain_kw, n, minimum=0
            ),
            internal_gain_kw=series(
                f"{where}.building.internal_gain_kw", bld.internal_gain_kw, n, minimum=0
            ),
        )
        tank = self.tank
        if tank is not None:
            w = f"{where}.tank"
            number(f"{w}.volume_litres", tank.volume_litres, minimum=0, strict_minimum=True)
            number(f"{w}.standby_loss_kw_per_k", tank.standby_loss_kw_per_k, minimum=0)
            if tank.min_temperature_c > tank.max_temperature_c:
                raise ProblemError(f"{w}.min_temperature_c", "is above max_temperature_c")
            number(
                f"{w}.initial_temperature_c",
                tank.initial_temperature_c,
                minimum=0,
                maximum=tank.max_temperature_c,
            )
            tank = HotWaterTank(
                volume_litres=tank.volume_litres,
                initial_temperature_c=tank.initial_temperature_c,
                min_temperature_c=tank.min_temperature_c,
                max_temperature_c=tank.max_temperature_c,
                draw_kw=series(f"{w}.draw_kw", tank.draw_kw, n, minimum=0),
                standby_loss_kw_per_k=tank.standby_loss_kw_per_k,
                room_temperature_c=tank.room_temperature_c,
                flow_temperature_c=tank.flow_temperature_c,
            )
        if self.tank_cop is not None:
            self.tank_cop.check(f"{where}.tank_cop")
        return HeatPump(
            name=self.name,
            max_power_kw=self.max_power_kw,
            min_power_kw=self.min_power_kw,
            modulating=self.modulating,
            cop=self.cop,
            building=building,
            comfort_min_c=lo,
            comfort_max_c=hi,
            tank=tank,
            tank_cop=self.tank_cop,
        )

    @property
    def binary_key(self) -> str:
        return f"hp:{self.name}"

    @property
    def needs_binaries(self) -> bool:
        return (not self.modulating) or self.min_power_kw > 0

    def tank_cop_model(self) -> CopModel:
        if self.tank_cop is not None:
            return self.tank_cop
        if isinstance(self.cop, HplibCop) and self.tank is not None:
            return self.cop.with_flow_temperature(self.tank.flow_temperature_c)
        return self.cop


@dataclass(frozen=True, slots=True)
class HeatPumpInputs:
    """Per-slot arrays derived once from the spec and the weather."""

    cop: FloatArray
    tank_cop: FloatArray
    gains_kw: FloatArray
    building_step: FirstOrderStep
    tank_step: FirstOrderStep | None

    @classmethod
    def of(cls, hp: HeatPump, grid: TimeGrid, outdoor_temperature_c: FloatArray) -> HeatPumpInputs:
        bld = hp.building
        cop = hp.cop.cop_at(outdoor_temperature_c)
        tank_cop = hp.tank_cop_model().cop_at(outdoor_temperature_c)
        if hp.tank_cop is None and not isinstance(hp.cop, HplibCop):
            tank_cop = np.maximum(cop - 1.0, 1.0)
        return cls(
            cop=cop,
            tank_cop=tank_cop,
            gains_kw=np.asarray(bld.solar_gain_kw) + np.asarray(bld.internal_gain_kw),
            building_step=FirstOrderStep.of(
                bld.heat_loss_kw_per_k, bld.thermal_capacity_kwh_per_k, grid.step_hours
            ),
            tank_step=None
            if hp.tank is None
            else FirstOrderStep.of(
                hp.tank.standby_loss_kw_per_k, hp.tank.capacity_kwh_per_k, grid.step_hours
            ),
        )


@dataclass(frozen=True, slots=True)
class HeatPumpDispatch:
    """Electrical power per slot [kW] for space heating and for the tank."""

    space_kw: FloatArray
    tank_kw: FloatArray


def add_heat_pump_block(
    ctx: ModelContext,
    hp: HeatPump,
    block_name: str,
    comfort_penalty_gbp_per_kelvin_hour: float,
) -> pyo.Block:
    """Build the heat pump, its building and tank; registers the draw ``P_t + W_t``."""
    n, dt = ctx.n_steps, ctx.step_h
    t_out = ctx.problem.outdoor_temperature
    inp = HeatPumpInputs.of(hp, ctx.problem.grid, t_out)
    bs = inp.building_step
    lo_c, hi_c = np.asarray(hp.comfort_min_c), np.asarray(hp.comfort_max_c)
    b = pyo.Block()
    ctx.model.add_component(block_name, b)
    slots = range(n)
    b.space_kw = pyo.Var(ctx.time_set, bounds=(0.0, hp.max_power_kw))
    b.indoor_c = pyo.Var(ctx.time_set)
    b.below_k = pyo.Var(ctx.time_set, bounds=(0.0, None))
    b.above_k = pyo.Var(ctx.time_set, bounds=(0.0, None))
    theta0 = hp.building.initial_indoor_temperature_c

    def building_rule(_b: pyo.Block, t: int) -> object:
        prev = theta0 if t == 0 else b.indoor_c[t - 1]
        free = (1 - bs.a) * float(t_out[t]) + bs.b_hours_per_kwh_k * float(inp.gains_kw[t])
        return (
            b.indoor_c[t]
            == bs.a * prev + free + bs.b_hours_per_kwh_k * float(inp.cop[t]) * b.space_kw[t]
        )

    b.building = pyo.Constraint(ctx.time_set, rule=building_rule, doc="1R1C building [°C]")
    # one ranged row per slot: lo <= T + below - above <= hi. Both slacks cost, so at the
    # optimum at most one is positive and each equals the band's violation (as two rows would)
    b.comfort = pyo.Constraint(
        ctx.time_set,
        rule=lambda _b, t: (
            float(lo_c[t]),
            b.indoor_c[t] + b.below_k[t] - b.above_k[t],
            float(hi_c[t]),
        ),
        doc="comfort band with its soft slacks [°C]",
    )
    ctx.cost_terms.append(
        comfort_penalty_gbp_per_kelvin_hour * dt * sum(b.below_k[t] + b.above_k[t] for t in slots)
    )
    total: dict[int, Any] = {t: b.space_kw[t] for t in slots}
    tank = hp.tank
    if tank is not None and inp.tank_step is not None:
        ts = inp.tank_step
        draw = np.asarray(tank.draw_kw)
        b.tank_kw = pyo.Var(ctx.time_set, bounds=(0.0, hp.max_power_kw))
        b.tank_c = pyo.Var(ctx.time_set, bounds=(None, tank.max_temperature_c))
        b.tank_below_k = pyo.Var(ctx.time_set, bounds=(0.0, None))

        def tank_rule(_b: pyo.Block, t: int) -> object:
            prev = tank.initial_temperature_c if t == 0 else b.tank_c[t - 1]
            free = (1 - ts.a) * tank.room_temperature_c - ts.b_hours_per_kwh_k * float(draw[t])
            return (
                b.tank_c[t]
                == ts.a * prev + free + ts.b_hours_per_kwh_k * float(inp.tank_cop[t]) * b.tank_kw[t]
            )

        b.tank = pyo.Constraint(ctx.time_set, rule=tank_rule, doc="hot-water tank [°C]")
        b.tank_low = pyo.Constraint(
            ctx.time_set,
            rule=lambda _b, t: b.tank_c[t] + b.tank_below_k[t] >= tank.min_temperature_c,
        )
        ctx.cost_terms.append(
            comfort_penalty_gbp_per_kelvin_hour * dt * sum(b.tank_below_k[t] for t in slots)
        )
        total = {t: b.space_kw[t] + b.tank_kw[t] for t in slots}
        b.shared_power = pyo.Constraint(
            ctx.time_set, rule=lambda _b, t: total[t] <= hp.max_power_kw
        )

    if hp.needs_binaries:
        b.on = pyo.Var(ctx.time_set, domain=pyo.Binary, dense=False, doc="1 = running")
        if hp.modulating:
            b.min_power = pyo.Constraint(ctx.time_set)
            b.max_power = pyo.Constraint(ctx.time_set)
        else:
            b.on_off = pyo.Constraint(ctx.time_set)

        def add_on_binaries(new: list[int]) -> None:
            for t in new:
                u = b.on[t]
                ctx.add_mode_binary(u, total[t])
                if hp.modulating:
                    b.min_power[t] = total[t] >= hp.min_power_kw * u
                    b.max_power[t] = total[t] <= hp.max_power_kw * u
                else:
                    b.on_off[t] = total[t] == hp.max_power_kw * u

        ctx.register_binaries(hp.binary_key, add_on_binaries)
    for t in slots:
        ctx.add_consumption(t, total[t])
    ctx.add_flexible_load(hp.name, b.space_kw, tuple(slots))
    return b


def read_heat_pump_dispatch(block: pyo.Block, n_steps: int) -> HeatPumpDispatch:
    space = np.array([pyo.value(block.space_kw[t]) for t in range(n_steps)])
    tank = (
        np.array([pyo.value(block.tank_kw[t]) for t in range(n_steps)])
        if hasattr(block, "tank_kw")
        else np.zeros(n_steps)
    )
    return HeatPumpDispatch(space_kw=space, tank_kw=tank)


def off_power_slots(hp: HeatPump, dispatch: HeatPumpDispatch, tol_kw: float = 1e-4) -> set[int]:
    """Slots whose power is not one the unit can run at (between 0 and its minimum, or
    between 0 and full power for an on/off unit)."""
    total = dispatch.space_kw + dispatch.tank_kw
    if not hp.modulating:
        bad = (total > tol_kw) & (total < hp.max_power_kw - tol_kw)
    elif hp.min_power_kw > 0:
        bad = (total > tol_kw) & (total < hp.min_power_kw - tol_kw)
    else:
        return set()
    return {int(t) for t in np.flatnonzero(bad)}


def rule_based_heat_pump(
    hp: HeatPump, grid: TimeGrid, outdoor_temperature_c: FloatArray
) -> HeatPumpDispatch:
    """A thermostat: just enough heat each slot to hold the comfort minimum and the tank's
    minimum (within the unit's power), tank first. Used by the fallback plan."""
    inp = HeatPumpInputs.of(hp, grid, outdoor_temperature_c)
    n = grid.n_steps
    space, tank_kw = np.zeros(n), np.zeros(n)
    theta = hp.building.initial_indoor_temperature_c
    lo = np.asarray(hp.comfort_min_c)
    tau = hp.tank.initial_temperature_c if hp.tank else 0.0
    for t in range(n):
        headroom = hp.max_power_kw
        if hp.tank is not None and inp.tank_step is not None:
            ts = inp.tank_step
            need = heat_needed_kw(ts, tau, hp.tank.room_temperature_c, hp.tank.min_temperature_c)
            need += float(np.asarray(hp.tank.draw_kw)[t])
            tank_kw[t] = float(np.clip(need / inp.tank_cop[t], 0.0, headroom))
            headroom -= tank_kw[t]
            tau = (
                ts.a * tau
                + (1 - ts.a) * hp.tank.room_temperature_c
                + ts.b_hours_per_kwh_k
                * (inp.tank_cop[t] * tank_kw[t] - float(np.asarray(hp.tank.draw_kw)[t]))
            )
        need = heat_needed_kw(
            inp.building_step, theta, float(outdoor_temperature_c[t]), float(lo[t])
        )
        need -= float(inp.gains_kw[t])
        space[t] = float(np.clip(need / inp.cop[t], 0.0, headroom))
        total = space[t] + tank_kw[t]
        if total > 1e-9 and (not hp.modulating or total < hp.min_power_kw):
            goal = hp.max_power_kw if not hp.modulating else hp.min_power_kw
            space[t] += goal - total
        bs = inp.building_step
        theta = (
            bs.a * theta
            + (1 - bs.a) * float(outdoor_temperature_c[t])
            + bs.b_hours_per_kwh_k * (inp.cop[t] * space[t] + float(inp.gains_kw[t]))
        )
    return HeatPumpDispatch(space_kw=space, tank_kw=tank_kw)


def simulate_heat_pump(
    hp: HeatPump,
    grid: TimeGrid,
    outdoor_temperature_c: FloatArray,
    dispatch: HeatPumpDispatch,
    comfort_penalty_gbp_per_kelvin_hour: float,
) -> AssetResult:
    """Temperatures, heat output and comfort violations for a heat pump dispatch."""
    inp = HeatPumpInputs.of(hp, grid, outdoor_temperature_c)
    dt = grid.step_hours
    space = np.clip(dispatch.space_kw, 0.0, None)
    tank_kw = np.clip(dispatch.tank_kw, 0.0, None)
    heat = inp.cop * space
    indoor = simulate_first_order(
        inp.building_step,
        hp.building.initial_indoor_temperature_c,
        outdoor_temperature_c,
        heat + inp.gains_kw,
    )
    lo, hi = np.asarray(hp.comfort_min_c), np.asarray(hp.comfort_max_c)
    below = np.clip(lo - indoor, 0.0, None)
    above = np.clip(indoor - hi, 0.0, None)
    result = AssetResult(
        draw_kw=space + tank_kw,
        columns={
            f"{hp.name}.power_kw": space + tank_kw,
            f"{hp.name}.heat_kw": heat + inp.tank_cop * tank_kw,
            f"{hp.name}.cop": inp.cop,
            f"{hp.name}.indoor_c": indoor,
        },
        totals={
            f"{hp.name}.electricity_kwh": float(dt * (space + tank_kw).sum()),
            f"{hp.name}.comfort_violation_kelvin_hours": float(dt * (below + above).sum()),
        },
    )
    result.penalty_gbp += comfort_penalty_gbp_per_kelvin_hour * dt * float((below + above).sum())
    full = (space + tank_kw) >= hp.max_power_kw - 1e-3
    for first, last in runs(below > 0.05):
        worst = int(first + np.argmax(below[first : last + 1]))
        reason = (
            f"the heat pump's {hp.max_power_kw:g} kW (COP {inp.cop[worst]:.1f} at "
            f"{outdoor_temperature_c[worst]:.0f} °C outside) cannot hold it"
            if full[first : last + 1].all() or full[max(0, first - 2) : first + 1].any()
            else "the import limit or a DSR request limited heating"
        )
        result.violations.append(
            slot_violation(
                wish=Wish.COMFORT,
                asset=hp.name,
                grid=grid,
                first=first,
                last=last,
                amount=float(dt * below[first : last + 1].sum()),
                unit="K·h",
                what=f"Indoor temperature falls to {indoor[first : last + 1].min():.1f} °C, "
                f"below the {lo[worst]:.1f} °C minimum",
                why=reason,
            )
        )
    for first, last in runs(above > 0.05):
        result.violations.append(
            slot_violation(
                wish=Wish.COMFORT,
                asset=hp.name,
                grid=grid,
                first=first,
                last=last,
                amount=float(dt * above[first : last + 1].sum()),
                unit="K·h",
                what=f"Indoor temperature rises to {indoor[first : last + 1].max():.1f} °C, "
                f"above the {hi[first]:.1f} °C maximum",
                why="free gains (sun, occupants) exceed the building's losses",
            )
        )
    if hp.tank is not None and inp.tank_step is not None:
        _simulate_tank(hp, grid, inp, tank_kw, comfort_penalty_gbp_per_kelvin_hour, result)
    return result


def _simulate_tank(
    hp: HeatPump,
    grid: TimeGrid,
    inp: HeatPumpInputs,
    tank_kw: FloatArray,
    penalty: float,
    result: AssetResult,
) -> None:
    tank = hp.tank
    assert tank is not None
    assert inp.tank_step is not None
    dt = grid.step_hours
    draw = np.asarray(tank.draw_kw)
    temps = simulate_first_order(
        inp.tank_step,
        tank.initial_temperature_c,
        np.full(grid.n_steps, tank.room_temperature_c),
        inp.tank_cop * tank_kw - draw,
    )
    below = np.clip(tank.min_temperature_c - temps, 0.0, None)
    result.columns[f"{hp.name}.tank_c"] = temps
    result.columns[f"{hp.name}.tank_power_kw"] = tank_kw
    result.penalty_gbp += penalty * dt * float(below.sum())
    for first, last in runs(below > 0.05):
        result.violations.append(
            slot_violation(
                wish=Wish.HOT_WATER,
                asset=hp.name,
                grid=grid,
                first=first,
                last=last,
                amount=float(dt * below[first : last + 1].sum()),
                unit="K·h",
                what=f"Hot water falls to {temps[first : last + 1].min():.1f} °C, "
                f"below the {tank.min_temperature_c:.0f} °C minimum",
                why="the draw exceeds what the heat pump can reheat in time",
            )
        )
