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
    if not ctx.problem.hard_comfort:  # declared here, before the rows: the model's column order
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
    if ctx.problem.hard_comfort:
        b.comfort = pyo.Constraint(
            ctx.time_set,
            rule=lambda _b, t: (float(lo_c[t]), b.indoor_c[t], float(hi_c[t])),
            doc="hard comfort band [°C]",
        )
    else:
        _add_soft_comfort(ctx, b, (lo_c, hi_c), comfort_penalty_gbp_per_kelvin_hour)
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
                why=_why_too_warm(hp, inp, outdoor_temperature_c, indoor, (first, last)),
            )
        )
    if hp.tank is not None and inp.tank_step is not None:
        _simulate_tank(hp, grid, inp, tank_kw, comfort_penalty_gbp_per_kelvin_hour, result)
    return result


def _why_too_warm(
    hp: HeatPump,
    inp: HeatPumpInputs,
    outdoor_temperature_c: FloatArray,
    indoor_c: FloatArray,
    run: tuple[int, int],
) -> str:
    """Why the home is above its comfort maximum over ``run`` (first, last slot): found by
    replaying the building without the heat pump (and then without its free gains too) and
    comparing, at the run's warmest slot, what each part adds above the maximum."""
    first, last = run
    hi = np.asarray(hp.comfort_max_c)
    worst = int(first + np.argmax(indoor_c[first : last + 1] - hi[first : last + 1]))
    step, start_c = inp.building_step, hp.building.initial_indoor_temperature_c
    unheated_c = simulate_first_order(step, start_c, outdoor_temperature_c, inp.gains_kw)
    heating_k = float(indoor_c[worst] - unheated_c[worst])
    unheated_excess_k = float(unheated_c[worst] - hi[worst])
    if heating_k > max(unheated_excess_k, 0.0):
        if not hp.modulating:
            return (
                f"the heat pump runs only at its full {hp.max_power_kw:g} kW: a run overshoots, "
                "or the plan heats ahead of dearer hours"
            )
        return (
            "the plan heats ahead of dearer hours: storing heat in the building costs less "
            "than heating then"
        )
    if float(outdoor_temperature_c[worst]) >= hi[worst]:
        return f"it is {outdoor_temperature_c[worst]:.0f} °C outside and the heat pump cannot cool"
    ungained_c = simulate_first_order(step, start_c, outdoor_temperature_c, np.zeros(len(indoor_c)))
    if ungained_c[worst] > hi[worst] and start_c > hi[first]:
        return f"the home starts at {start_c:.1f} °C and cools slowly"
    return "free gains (sun, occupants) exceed the building's losses"


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
        return simulate_heat_pump(asset, problem.grid, problem.outdoor_temperature, d, penalty)

    def rule_based(
        self, problem: Problem, asset: HeatPump, load_kw: FloatArray
    ) -> HeatPumpDispatch:
        d = rule_based_heat_pump(asset, problem.grid, problem.outdoor_temperature)
        load_kw += d.space_kw + d.tank_kw
        return d

    def failed_checks(
        self, problem: Problem, asset: HeatPump, decision: HeatPumpDispatch
    ) -> dict[str, set[int]]:
        bad = off_power_slots(asset, decision) if asset.needs_binaries else set()
        return {asset.binary_key: bad} if bad else {}

    def minimum_power_keys(self, asset: HeatPump) -> set[str]:
        return {asset.binary_key}


HEAT_PUMPS = HeatPumpKind()
