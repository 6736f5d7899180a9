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
* "charge now": ``p_t + s_now,t >= ASAP_t`` (the as-soon-as-possible profile), penalised;
* with ``Problem.ev_dispatch_lag``: ``e_t`` loses ``η l_t``, the energy a rise of the setpoint
  at the slot's start does not deliver (the dispatch's randomised delay and ramp,
  :mod:`optimiser.components.ev_dispatch_lag`); the plan's SoC shows it too, and the target
  is planned against the delay's bound: ``e_dep - η Σ (l^longest_t - l_t) + s >= target``.

A fresh model holds these over the plugged-in slots; a persistent model lays them over every
slot of the horizon (:mod:`optimiser.components.ev_dense`), so that sessions moving on the
grid from one re-plan to the next are numbers, not structure.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

import numpy as np
import pyomo.environ as pyo

from kernel.timegrid import TimeGrid
from optimiser.asset_kind import FLOW_TOL_KW, AssetKind
from optimiser.checks import FloatArray
from optimiser.components.ev_dense import add_dense_rise_losses, dense_form, has_longest_losses
from optimiser.components.ev_dispatch_lag import RiseSlot
from optimiser.components.ev_simulation import ev_rise_slots, simulate_ev
from optimiser.components.ev_spec import (
    ElectricVehicle,
    EvDispatch,
    SessionWindow,
    asap_charge_kw,
    session_windows,
)
from optimiser.context import ModelContext
from optimiser.results import AssetResult
from optimiser.var_values import indexed_values

if TYPE_CHECKING:
    from optimiser.problem import Problem


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
    dense = ctx.dense_evs and dense_form(ev)  # every slot: a persistent model's form
    slots = list(range(grid.n_steps)) if dense else sorted(fr)
    b.charge_kw = pyo.Var(slots, bounds=lambda _b, t: (0.0, ev.max_charge_kw * fr.get(t, 0.0)))
    b.energy_kwh = pyo.Var(slots, bounds=(0.0, cap))
    v2g = ev.has_v2g
    if v2g:
        b.discharge_kw = pyo.Var(slots, bounds=lambda _b, t: (0.0, ev.v2g_max_discharge_kw * fr[t]))
    if ev.min_charge_kw > 0:
        b.on = pyo.Var(slots, domain=pyo.Binary, dense=False, doc="1 = charging")
        b.min_power = pyo.Constraint(slots)
        b.max_power = pyo.Constraint(slots)

        def add_on_binaries(new: list[int]) -> None:
            now = _current(ctx, ev)  # a persistent model's next problem's (its hardware too)
            fr_now = _plugged_fractions(ctx, now)
            for t in new:
                if t not in fr_now:
                    continue
                u = b.on[t]
                ctx.add_mode_binary(u, b.charge_kw[t])
                b.min_power[t] = b.charge_kw[t] >= now.min_charge_kw * fr_now[t] * u
                b.max_power[t] = b.charge_kw[t] <= now.max_charge_kw * fr_now[t] * u

        ctx.register_binaries(ev.min_power_key, add_on_binaries)
    first_slot = {w.slots[0]: w for w in windows}
    prev_slot: dict[int, int] = {}
    for w in windows:
        for a, c in zip(w.slots[:-1], w.slots[1:], strict=True):
            prev_slot[c] = a

    rises, lossy, longest = _add_losses(ctx, b, ev, dense)

    def balance_rule(_b: pyo.Block, t: int) -> object:
        prev: object = 0.0  # the dense form's slots away from the charger
        if t in first_slot:
            prev = first_slot[t].session.arrival_soc * cap
        elif t in prev_slot:
            prev = b.energy_kwh[prev_slot[t]]
        flow = dt * ev.charge_efficiency * b.charge_kw[t]
        if v2g:
            flow = flow - dt / ev.discharge_efficiency * b.discharge_kw[t]
        if t in lossy:
            flow = flow - ev.charge_efficiency * b.rise_loss_kwh[t]
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

    _add_targets(ctx, b, ev, windows, (rises, longest), penalty_gbp_per_kwh)

    _add_charge_now(ctx, b, ev, windows, penalty_gbp_per_kwh)
    for t in slots:
        ctx.add_consumption(t, b.charge_kw[t])
        if v2g:
            ctx.add_supply(t, b.discharge_kw[t])
            ctx.export_source_terms_kw[t].append(b.discharge_kw[t])
    ctx.add_flexible_load(ev.name, b.charge_kw, tuple(slots))
    return b


def _add_losses(
    ctx: ModelContext, b: pyo.Block, ev: ElectricVehicle, dense: bool
) -> tuple[dict[int, RiseSlot], Collection[int], set[int]]:
    """The dispatch lag's losses: the rises by slot, the slots whose balance loses ``η l_t``
    and those with a loss column at the longest delay (every slot in the dense form)."""
    rises = {r.slot: r for r in ev_rise_slots(ev, ctx.problem)}
    lag = ctx.problem.ev_dispatch_lag
    if dense and lag.active:
        add_dense_rise_losses(b, rises, lag)
        slots = list(b.charge_kw)
        return rises, slots, set(slots) if has_longest_losses(lag) else set()
    if rises:
        _add_rise_losses(b, rises)
    return rises, rises, {t for t, r in rises.items() if r.longest_lines != r.lines}


def _current(ctx: ModelContext, ev: ElectricVehicle) -> ElectricVehicle:
    """``ev`` in the context's problem as it is now: binaries are added to a persistent model
    (:mod:`optimiser.model_cache`) for each new problem of the same shape, another home's
    hardware and sessions, whose sessions may start at another minute of a slot."""
    return next((e for e in ctx.problem.evs if e.name == ev.name), ev)


def _plugged_fractions(ctx: ModelContext, current: ElectricVehicle) -> dict[int, float]:
    """The plugged-in fraction of each slot of ``current`` on the context's grid."""
    windows = session_windows(current, ctx.problem.grid)
    return {t: f for w in windows for t, f in zip(w.slots, w.fractions, strict=True)}


def _add_charge_now(
    ctx: ModelContext,
    b: pyo.Block,
    ev: ElectricVehicle,
    windows: list[SessionWindow],
    penalty_gbp_per_kwh: float,
) -> None:
    """The consumer's "charge now" (soft): ``p_t + s_now,t >= ASAP_t``, penalised."""
    grid, dt = ctx.problem.grid, ctx.step_h
    slots = list(b.charge_kw)
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


def _add_rise_losses(b: pyo.Block, rises: dict[int, RiseSlot]) -> None:
    """``l_t >= a_k (s_t - s_prev) + b_k`` for each chord: the energy a rise of the setpoint
    ``s = p / f`` does not deliver (:mod:`optimiser.components.ev_dispatch_lag`); the loss at
    the longest delay only where it differs from the expected one (a slot plugged in for less
    than the expected delay, a lag whose bound is no longer than its expected delay): a column
    in no row would be left over from the last plan in a persistent model
    (:mod:`optimiser.model_cache`), which then keeps none for the shape."""
    b.rise_loss_kwh = pyo.Var(sorted(rises), bounds=(0.0, None), doc="lost to a rise [kWh]")
    longer = sorted(t for t, r in rises.items() if r.longest_lines != r.lines)
    b.longest_loss_kwh = pyo.Var(longer, bounds=(0.0, None), doc="at the longest delay")
    b.rise_loss = pyo.ConstraintList(doc="delay and ramp of a setpoint rise")
    for r in rises.values():
        for row in rise_loss_rows(b, r):
            b.rise_loss.add(row)


def rise_loss_rows(b: pyo.Block, r: RiseSlot) -> list[Any]:
    """One rise slot's rows of :func:`_add_rise_losses` (written anew with a new problem's
    data by a persistent model, :mod:`optimiser.model_numbers`)."""
    t = r.slot
    before = r.start_kw if r.previous is None else b.charge_kw[r.previous] / r.previous_fraction
    rise = b.charge_kw[t] / r.fraction - before
    rows = [b.rise_loss_kwh[t] >= slope * rise + intercept for slope, intercept in r.lines]
    if r.longest_lines != r.lines:
        rows += [
            b.longest_loss_kwh[t] >= slope * rise + intercept
            for slope, intercept in r.longest_lines
        ]
    return rows


def _add_targets(
    ctx: ModelContext,
    b: pyo.Block,
    ev: ElectricVehicle,
    windows: list[SessionWindow],
    rises: tuple[dict[int, RiseSlot], set[int]],
    penalty_gbp_per_kwh: float,
) -> None:
    """Soft departure targets, planned against the longest delays of the session's rises
    (``rises``: the rises by slot and the slots with a loss column at the longest delay)."""
    b.shortfall_kwh = pyo.Var(range(len(windows)), bounds=(0.0, None))
    b.target = pyo.ConstraintList(doc="soft departure targets")
    for i, w in enumerate(windows):
        if w.required_kwh > 0:
            reached = b.energy_kwh[w.target_slot] + b.shortfall_kwh[i]
            margin = _longest_delay_margin_kwh(b, ev, w, rises)
            b.target.add((reached if margin is None else reached - margin) >= w.required_kwh)
    ctx.cost_terms.append(penalty_gbp_per_kwh * sum(b.shortfall_kwh[i] for i in b.shortfall_kwh))


def _longest_delay_margin_kwh(
    b: pyo.Block, ev: ElectricVehicle, w: SessionWindow, rises: tuple[dict[int, RiseSlot], set[int]]
) -> object | None:
    """What the session's rises would lose more at their longest delays than expected (the
    departure target is planned against them, :mod:`optimiser.components.ev_dispatch_lag`);
    None when they lose no more."""
    by_slot, longest = rises
    slots = [t for t in w.slots if t in by_slot and t in longest]
    if not slots:
        return None
    eta = ev.charge_efficiency
    margin: object = sum(eta * (b.longest_loss_kwh[t] - b.rise_loss_kwh[t]) for t in slots)
    return margin


def read_ev_dispatch(block: pyo.Block, n_steps: int) -> EvDispatch:
    charge = np.zeros(n_steps)
    discharge = np.zeros(n_steps)
    slots, values = indexed_values(block.charge_kw)  # the plugged-in slots
    charge[slots] = values
    if hasattr(block, "discharge_kw"):
        slots, values = indexed_values(block.discharge_kw)
        discharge[slots] = values
    return EvDispatch(charge_kw=charge, discharge_kw=discharge)


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
        return simulate_ev(asset, problem.grid, d, penalty, ev_rise_slots(asset, problem))

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
