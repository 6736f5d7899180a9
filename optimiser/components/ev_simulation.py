"""An EV dispatch replayed: the plan's columns (power, setpoint, SoC), the departure targets
and "charge now" it misses, and the energy rises of its setpoint lose to the dispatch's delay
and ramp (:mod:`optimiser.components.ev_dispatch_lag`)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from kernel.timegrid import TimeGrid
from optimiser.components.ev_dispatch_lag import RiseSlot, losses_kwh, rise_slots
from optimiser.components.ev_spec import (
    ElectricVehicle,
    EvDispatch,
    SessionWindow,
    asap_charge_kw,
    session_windows,
)
from optimiser.results import AssetResult, Violation, Wish, local_day_hhmm, site_cause

if TYPE_CHECKING:
    from optimiser.problem import Problem

SHORTFALL_REPORTED_KWH = 0.01
"""A car's shortfall (or a "charge now" gap) below this is paid for in the objective but not
reported as a missed wish [kWh]: a few watt-hours are rounding, not news for a consumer."""


def ev_rise_slots(ev: ElectricVehicle, problem: Problem) -> list[RiseSlot]:
    """The slots where a rise of the EV's setpoint loses energy, with their loss chords
    (none unless ``problem.ev_dispatch_lag`` is on): no delay while a DSR request is in
    force or in a "charge now" session; the session holding the grid's first slot rises
    from the charger's present power."""
    lag = problem.ev_dispatch_lag
    if not lag.active:
        return []
    grid = problem.grid
    in_dsr = {t for r in problem.dsr_requests for t in r.slots(grid)}
    out: list[RiseSlot] = []
    for w in session_windows(ev, grid):
        out += rise_slots(
            lag,
            w.slots,
            w.fractions,
            step_h=grid.step_hours,
            max_rise_kw=ev.max_charge_kw,
            start_kw=ev.charging_kw if w.slots[0] == 0 else 0.0,
            undelayed=set(w.slots) if w.session.charge_now else in_dsr,
        )
    return out


def simulate_ev(
    ev: ElectricVehicle,
    grid: TimeGrid,
    dispatch: EvDispatch,
    penalty_gbp_per_kwh: float,
    rises: list[RiseSlot] | None = None,
) -> AssetResult:
    """Plan columns and target violations for an EV dispatch: ``power_kw`` (the slot's average,
    as the energy balance counts it), ``setpoint_kw`` (the power while the car is plugged in:
    the average over the slot's plugged-in share, what the charger is told) and ``soc_pct``
    (while plugged in), less what the ``rises`` of the setpoint lose to the dispatch's delay
    and ramp (:func:`ev_rise_slots`), so that the SoC and the reasons are what the car is
    expected to get."""
    n, dt = grid.n_steps, grid.step_hours
    cap = ev.battery_capacity_kwh
    charge = np.clip(dispatch.charge_kw, 0.0, None)
    discharge = np.clip(dispatch.discharge_kw, 0.0, None)
    soc_pct = np.full(n, np.nan)
    plugged = np.zeros(n)  # the share of each slot the car is plugged in
    lost_kwh = losses_kwh(rises or [], charge)
    # the target is planned against the longest delays: what they would lose more
    longest_kwh = losses_kwh(rises or [], charge, longest=True)
    extra_kwh = ev.charge_efficiency * (longest_kwh - lost_kwh)
    result = AssetResult(draw_kw=charge - discharge)  # drawn as planned, as in the model
    for w in session_windows(ev, grid):
        energy = w.session.arrival_soc * cap
        for t, f in zip(w.slots, w.fractions, strict=True):
            plugged[t] += f
            energy += dt * (
                ev.charge_efficiency * charge[t] - discharge[t] / ev.discharge_efficiency
            )
            energy -= ev.charge_efficiency * lost_kwh[t]
            soc_pct[t] = 100.0 * energy / cap
        # the target is checked at the end of the session's last slot
        at_target = energy - float(extra_kwh[list(w.slots)].sum())
        short = w.required_kwh - at_target
        # the model pays for every kWh short, so the penalty does too (the objective replays
        # to the solver's); only a shortfall a consumer would notice is reported
        result.penalty_gbp += penalty_gbp_per_kwh * max(short, 0.0)
        if short > SHORTFALL_REPORTED_KWH:
            start_loss_kwh = float(longest_kwh[w.slots[0]])
            longest = bool(at_target < energy - 1e-6)
            result.violations.append(
                _target_violation(ev, grid, w, at_target, short, start_loss_kwh, longest)
            )
        if w.session.charge_now:
            floor = asap_charge_kw(ev, grid, w)
            gap = np.clip(floor - charge, 0.0, None)
            result.penalty_gbp += penalty_gbp_per_kwh * dt * float(gap.sum())
            if gap.sum() * dt > SHORTFALL_REPORTED_KWH:
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
    ev: ElectricVehicle,
    grid: TimeGrid,
    w: SessionWindow,
    reached_kwh: float,
    short_kwh: float,
    start_loss_kwh: float = 0.0,
    longest_delays: bool = False,
) -> Violation:
    """The departure target's violation; ``start_loss_kwh``: what the session's first slot
    loses to the dispatch's delay and ramp (a car charged at full power throughout loses
    that much, and no more); ``longest_delays``: ``reached_kwh`` counts the longest."""
    cap = ev.battery_capacity_kwh
    dt = grid.step_hours
    plugged_h = dt * sum(w.fractions[: w.slots.index(w.target_slot) + 1])
    possible_kwh = min(
        cap - w.session.arrival_soc * cap,
        ev.charge_efficiency * (ev.max_charge_kw * plugged_h - start_loss_kwh),
    )
    when = w.session.departure_utc if w.leaves_in_horizon else grid.end_utc
    at_longest = " at the longest charging delays" if longest_delays else ""
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
            f"by {local_day_hhmm(when)}{at_longest}: {why}."
        ),
        start_utc=when,
        end_utc=when,
    )


def _hours(h: float) -> str:
    whole = math.floor(h + 1e-9)
    minutes = round((h - whole) * 60)
    return f"{whole} h" if minutes == 0 else f"{whole} h {minutes:02d} min"
