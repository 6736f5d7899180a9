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
  ``π_comfort Δ (l_t + h_t)`` [GBP per K·h]; with ``Problem.hard_comfort`` the band is hard,
  ``θmin_t <= θ_t <= θmax_t`` (no slacks), and a home that cannot hold it has no plan
  (:mod:`optimiser.hard_comfort` says why);
* tank: ``τ_t = a_w τ_{t-1} + (1-a_w) T_room + b_w (COP^w_t W_t - draw_t)``, ``τ_t <= τmax``
  (hard), ``τ_t + w_t >= τmin`` (soft);
* a plan made inside its first slot (share ``f`` of it left, ``Problem.plan_start_utc``):
  the powers stay slot averages, so in slot 0 ``P̄``, ``P_min`` and the on/off power are
  ``f`` times theirs, the heat flow while it runs is ``COP P_0 / f`` and the thermal steps
  span ``f Δ`` from the measured temperatures; ``setpoint_kw`` is the power while it runs;
* power: modulating ``0 <= P_t + W_t <= P̄``; with a minimum power
  ``P_min u_t <= P_t + W_t <= P̄ u_t``;
  on/off ``P_t + W_t = P̄ u_t``. The binaries ``u_t`` exist only in the planner's binary slots for
  this unit; elsewhere the power is continuous and the planner checks the solution (a slot between
  0 and the minimum, or strictly between 0 and P̄ for an on/off unit, gets a binary next round).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyomo.environ as pyo

from kernel.timegrid import TimeGrid
from optimiser.asset_kind import AssetKind
from optimiser.checks import FloatArray
from optimiser.components.heat_pump_cumulative import add_cumulative_rows
from optimiser.components.heat_pump_min_times import (
    MinTimeHold,
    add_min_time_rows,
    min_time_slots,
)
from optimiser.components.heat_pump_reasons import add_comfort_violations
from optimiser.components.heat_pump_rounding import on_off_rounding
from optimiser.components.heat_pump_spec import (
    Building,
    HeatPump,
    HeatPumpDispatch,
    HeatPumpInputs,
    HotWaterTank,
)
from optimiser.components.thermal import heat_needed_kw, simulate_first_order
from optimiser.context import ModelContext
from optimiser.results import AssetResult, Wish, runs, slot_violation
from optimiser.var_values import slot_values

if TYPE_CHECKING:
    from optimiser.problem import Problem

__all__ = [
    "HEAT_PUMPS",
    "Building",
    "HeatPump",
    "HeatPumpDispatch",
    "HotWaterTank",
    "add_heat_pump_block",
    "read_heat_pump_dispatch",
    "rule_based_heat_pump",
    "simulate_heat_pump",
]


def add_heat_pump_block(
    ctx: ModelContext,
    hp: HeatPump,
    block_name: str,
    comfort_penalty_gbp_per_kelvin_hour: float,
) -> pyo.Block:
    """Build the heat pump, its building and tank; registers the draw ``P_t + W_t``."""
    n = ctx.n_steps
    t_out = ctx.problem.outdoor_temperature
    run = ctx.problem.running_fraction
    inp = HeatPumpInputs.of(hp, ctx.problem.grid, t_out, run)
    lo_c, hi_c = np.asarray(hp.comfort_min_c), np.asarray(hp.comfort_max_c)
    b = pyo.Block()
    ctx.model.add_component(block_name, b)
    slots = range(n)
    b.space_kw = pyo.Var(ctx.time_set, bounds=(0.0, hp.max_power_kw))
    b.space_kw[0].setub(hp.max_power_kw * run[0])
    b.indoor_c = pyo.Var(ctx.time_set)
    if not ctx.problem.hard_comfort:  # declared here, before the rows: the model's column order
        b.below_k = pyo.Var(ctx.time_set, bounds=(0.0, None))
        b.above_k = pyo.Var(ctx.time_set, bounds=(0.0, None))
    theta0 = hp.building.initial_indoor_temperature_c

    def building_rule(_b: pyo.Block, t: int) -> object:
        bs = inp.building_step_at(t)
        prev = theta0 if t == 0 else b.indoor_c[t - 1]
        free = (1 - bs.a) * float(t_out[t]) + bs.b_hours_per_kwh_k * float(inp.gains_kw[t])
        heat_per_kw = float(inp.cop[t]) / float(run[t])  # the heat flow while it runs
        return (
            b.indoor_c[t] == bs.a * prev + free + bs.b_hours_per_kwh_k * heat_per_kw * b.space_kw[t]
        )

    b.building = pyo.Constraint(ctx.time_set, rule=building_rule, doc="1R1C building [°C]")
    if ctx.problem.hard_comfort:
        b.comfort = pyo.Constraint(
            ctx.time_set,
            rule=lambda _b, t: (float(lo_c[t]), b.indoor_c[t], float(hi_c[t])),
            doc="hard comfort band [°C]",
        )
    else:
        _add_soft_comfort(ctx, b, (lo_c, hi_c), comfort_penalty_gbp_per_kelvin_hour)
    total: dict[int, Any] = {t: b.space_kw[t] for t in slots}
    if hp.tank is not None:
        total = _add_tank(ctx, hp, b, inp, comfort_penalty_gbp_per_kelvin_hour)

    if hp.needs_binaries:
        b.on = pyo.Var(ctx.time_set, domain=pyo.Binary, dense=False, doc="1 = running")
        if hp.modulating:
            b.min_power = pyo.Constraint(ctx.time_set)
            b.max_power = pyo.Constraint(ctx.time_set)
        else:
            _declare_on_off(ctx, hp, b)

        def add_on_binaries(new: list[int]) -> None:
            running = ctx.problem.running_fraction  # now (a persistent model's next problem)
            now = next((x for x in ctx.problem.heat_pumps if x.name == hp.name), hp)  # its powers
            for t in new:
                u = b.on[t]
                ctx.add_mode_binary(u, total[t])
                share = float(running[t])  # of the slot it can run
                if hp.modulating:
                    b.min_power[t] = total[t] >= now.min_power_kw * share * u
                    b.max_power[t] = total[t] <= now.max_power_kw * share * u
                else:
                    b.on_off[t] = total[t] == now.max_power_kw * share * u
            if not hp.modulating:  # its binaries up to a slot make that slot's row
                add_cumulative_rows(ctx, hp, b)
                add_min_time_rows(ctx, hp, b)

        ctx.register_binaries(hp.binary_key, add_on_binaries)
    for t in slots:
        ctx.add_consumption(t, total[t])
    ctx.add_flexible_load(hp.name, b.space_kw, tuple(slots))
    return b


def _declare_on_off(ctx: ModelContext, hp: HeatPump, b: pyo.Block) -> None:
    """An on/off unit's rows, empty until its binary adder fills them, and its rounding."""
    b.on_off = pyo.Constraint(ctx.time_set)
    b.cumulative = pyo.Constraint(ctx.time_set, doc="the chain from θ0 in one row [K]")
    b.start = pyo.Var(ctx.time_set, bounds=(0.0, 1.0), dense=False, doc="1 = starts")
    b.start_row = pyo.Constraint(ctx.time_set)  # minimum run and off times (option)
    b.min_run = pyo.Constraint(ctx.time_set)
    b.min_off = pyo.Constraint(ctx.time_set)
    rounding = on_off_rounding(ctx, hp, b)
    ctx.register_on_off(hp.binary_key, rounding, relax_and_fix=hp.tank is not None)


def _add_tank(
    ctx: ModelContext, hp: HeatPump, b: pyo.Block, inp: HeatPumpInputs, penalty: float
) -> dict[int, Any]:
    """The hot-water tank's power, temperature, soft minimum and the unit's shared power;
    returns the unit's total power per slot."""
    tank = hp.tank
    assert tank is not None
    run = inp.running
    slots = range(ctx.n_steps)
    draw = np.asarray(tank.draw_kw)
    b.tank_kw = pyo.Var(ctx.time_set, bounds=(0.0, hp.max_power_kw))
    b.tank_kw[0].setub(hp.max_power_kw * run[0])
    b.tank_c = pyo.Var(ctx.time_set, bounds=(None, tank.max_temperature_c))
    b.tank_below_k = pyo.Var(ctx.time_set, bounds=(0.0, None))

    def tank_rule(_b: pyo.Block, t: int) -> object:
        ts = inp.tank_step_at(t)
        assert ts is not None  # the tank's steps exist with the tank
        prev = tank.initial_temperature_c if t == 0 else b.tank_c[t - 1]
        free = (1 - ts.a) * tank.room_temperature_c - ts.b_hours_per_kwh_k * float(draw[t])
        heat_per_kw = float(inp.tank_cop[t]) / float(run[t])
        return b.tank_c[t] == ts.a * prev + free + ts.b_hours_per_kwh_k * heat_per_kw * b.tank_kw[t]

    b.tank = pyo.Constraint(ctx.time_set, rule=tank_rule, doc="hot-water tank [°C]")
    b.tank_low = pyo.Constraint(
        ctx.time_set,
        rule=lambda _b, t: b.tank_c[t] + b.tank_below_k[t] >= tank.min_temperature_c,
    )
    ctx.cost_terms.append(penalty * ctx.step_h * sum(b.tank_below_k[t] for t in slots))
    total = {t: b.space_kw[t] + b.tank_kw[t] for t in slots}
    b.shared_power = pyo.Constraint(
        ctx.time_set, rule=lambda _b, t: total[t] <= hp.max_power_kw * float(run[t])
    )
    return total


def _add_soft_comfort(
    ctx: ModelContext,
    b: pyo.Block,
    band_c: tuple[FloatArray, FloatArray],
    penalty_gbp_per_kelvin_hour: float,
) -> None:
    """The soft comfort band on the block's slacks ``below_k`` and ``above_k``: one ranged row
    per slot, ``lo <= T + below - above <= hi``. Both slacks cost, so at the optimum at most
    one is positive and each equals the band's violation (as two rows would)."""
    lo_c, hi_c = band_c
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
        penalty_gbp_per_kelvin_hour
        * ctx.step_h
        * sum(b.below_k[t] + b.above_k[t] for t in ctx.time_set)
    )


def read_heat_pump_dispatch(block: pyo.Block, n_steps: int) -> HeatPumpDispatch:
    space = slot_values(block.space_kw, n_steps)
    tank = slot_values(block.tank_kw, n_steps) if hasattr(block, "tank_kw") else np.zeros(n_steps)
    return HeatPumpDispatch(space_kw=space, tank_kw=tank)


def off_power_slots(
    hp: HeatPump,
    dispatch: HeatPumpDispatch,
    tol_kw: float = 1e-4,
    running: FloatArray | None = None,
) -> set[int]:
    """Slots whose power is not one the unit can run at (between 0 and its minimum, or
    between 0 and full power for an on/off unit), each scaled by the slot's share the unit
    can run (``running``, default all of it)."""
    total = dispatch.space_kw + dispatch.tank_kw
    share = np.ones(len(total)) if running is None else running
    if not hp.modulating:
        bad = (total > tol_kw) & (total < hp.max_power_kw * share - tol_kw)
    elif hp.min_power_kw > 0:
        bad = (total > tol_kw) & (total < hp.min_power_kw * share - tol_kw)
    else:
        return set()
    return {int(t) for t in np.flatnonzero(bad)}


def rule_based_heat_pump(
    hp: HeatPump,
    grid: TimeGrid,
    outdoor_temperature_c: FloatArray,
    running: FloatArray | None = None,
) -> HeatPumpDispatch:
    """A thermostat: just enough heat each slot to hold the comfort minimum and the tank's
    minimum (within the unit's power), tank first. Used by the fallback plan. An on/off unit
    runs at full power when it runs, and its runs and pauses are held to its minimum run and
    off times as its controller would (:class:`MinTimeHold`: held on, the heat the stores do
    not ask for goes to the building; held off, none). Powers are decided while the unit runs
    and returned as slot averages (``running``: each slot's share it can run, default all)."""
    inp = HeatPumpInputs.of(hp, grid, outdoor_temperature_c, running)
    n = grid.n_steps
    space, tank_kw = np.zeros(n), np.zeros(n)
    theta = hp.building.initial_indoor_temperature_c
    lo = np.asarray(hp.comfort_min_c)
    tau = hp.tank.initial_temperature_c if hp.tank else 0.0
    hold = MinTimeHold(*min_time_slots(hp, grid))
    for t in range(n):
        tank_flow_kw = 0.0
        ts = inp.tank_step_at(t)
        if hp.tank is not None and ts is not None:
            need = heat_needed_kw(ts, tau, hp.tank.room_temperature_c, hp.tank.min_temperature_c)
            need += float(np.asarray(hp.tank.draw_kw)[t])
            tank_flow_kw = float(np.clip(need / inp.tank_cop[t], 0.0, hp.max_power_kw))
        bs = inp.building_step_at(t)
        need = heat_needed_kw(bs, theta, float(outdoor_temperature_c[t]), float(lo[t]))
        need -= float(inp.gains_kw[t])
        space_flow_kw = float(np.clip(need / inp.cop[t], 0.0, hp.max_power_kw - tank_flow_kw))
        total = space_flow_kw + tank_flow_kw
        if not hp.modulating:
            runs = hold.mode(t, total > 1e-9)
            tank_flow_kw = tank_flow_kw if runs else 0.0
            space_flow_kw = hp.max_power_kw - tank_flow_kw if runs else 0.0
        elif 1e-9 < total < hp.min_power_kw:
            space_flow_kw += hp.min_power_kw - total
        if hp.tank is not None and ts is not None:
            draw_kw = float(np.asarray(hp.tank.draw_kw)[t])
            tau = (
                ts.a * tau
                + (1 - ts.a) * hp.tank.room_temperature_c
                + ts.b_hours_per_kwh_k * (inp.tank_cop[t] * tank_flow_kw - draw_kw)
            )
        theta = (
            bs.a * theta
            + (1 - bs.a) * float(outdoor_temperature_c[t])
            + bs.b_hours_per_kwh_k * (inp.cop[t] * space_flow_kw + float(inp.gains_kw[t]))
        )
        space[t] = space_flow_kw * float(inp.running[t])
        tank_kw[t] = tank_flow_kw * float(inp.running[t])
    return HeatPumpDispatch(space_kw=space, tank_kw=tank_kw)


def simulate_heat_pump(
    hp: HeatPump,
    grid: TimeGrid,
    outdoor_temperature_c: FloatArray,
    dispatch: HeatPumpDispatch,
    comfort_penalty_gbp_per_kelvin_hour: float,
    running: FloatArray | None = None,
) -> AssetResult:
    """Temperatures, heat output and comfort violations for a heat pump dispatch (powers are
    slot averages; ``running``: each slot's share the unit can run, default all of it)."""
    inp = HeatPumpInputs.of(hp, grid, outdoor_temperature_c, running)
    dt = grid.step_hours
    space = np.clip(dispatch.space_kw, 0.0, None)
    tank_kw = np.clip(dispatch.tank_kw, 0.0, None)
    heat = inp.cop * space
    indoor = simulate_first_order(
        inp.building_step,
        hp.building.initial_indoor_temperature_c,
        outdoor_temperature_c,
        heat / inp.running + inp.gains_kw,
        inp.first_building_step,
    )
    lo, hi = np.asarray(hp.comfort_min_c), np.asarray(hp.comfort_max_c)
    below = np.clip(lo - indoor, 0.0, None)
    above = np.clip(indoor - hi, 0.0, None)
    result = AssetResult(
        draw_kw=space + tank_kw,
        columns={
            f"{hp.name}.power_kw": space + tank_kw,
            f"{hp.name}.setpoint_kw": (space + tank_kw) / inp.running,
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
    full = (space + tank_kw) >= hp.max_power_kw * inp.running - 1e-3
    add_comfort_violations(hp, grid, inp, outdoor_temperature_c, indoor, full, result)
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
        inp.tank_cop * tank_kw / inp.running - draw,
        inp.first_tank_step,
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


class HeatPumpKind(AssetKind[HeatPump, HeatPumpDispatch]):
    """Heat pumps, each with its building and optional tank (:mod:`optimiser.asset_kind`)."""

    field = "heat_pumps"
    block_prefix = "heat_pump"
    needs_outdoor_temperature = True
    describe_one = "a heat pump"

    def assets(self, problem: Problem) -> tuple[HeatPump, ...]:
        return problem.heat_pumps

    def build(self, ctx: ModelContext, asset: HeatPump, block_name: str) -> pyo.Block:
        penalty = ctx.problem.penalties.comfort_gbp_per_kelvin_hour
        return add_heat_pump_block(ctx, asset, block_name, penalty)

    def read(self, block: pyo.Block, n_steps: int) -> HeatPumpDispatch:
        return read_heat_pump_dispatch(block, n_steps)

    def simulate(
        self, problem: Problem, asset: HeatPump, decision: HeatPumpDispatch | None
    ) -> AssetResult:
        n = problem.grid.n_steps
        d = HeatPumpDispatch(np.zeros(n), np.zeros(n)) if decision is None else decision
        penalty = problem.penalties.comfort_gbp_per_kelvin_hour
        return simulate_heat_pump(
            asset, problem.grid, problem.outdoor_temperature, d, penalty, problem.running_fraction
        )

    def rule_based(
        self, problem: Problem, asset: HeatPump, load_kw: FloatArray
    ) -> HeatPumpDispatch:
        d = rule_based_heat_pump(
            asset, problem.grid, problem.outdoor_temperature, problem.running_fraction
        )
        load_kw += d.space_kw + d.tank_kw
        return d

    def failed_checks(
        self, problem: Problem, asset: HeatPump, decision: HeatPumpDispatch
    ) -> dict[str, set[int]]:
        running = problem.running_fraction
        bad = off_power_slots(asset, decision, running=running) if asset.needs_binaries else set()
        return {asset.binary_key: bad} if bad else {}

    def minimum_power_keys(self, asset: HeatPump) -> set[str]:
        return {asset.binary_key}


HEAT_PUMPS = HeatPumpKind()
