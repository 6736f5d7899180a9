"""An EV laid over every slot of the horizon: the form a persistent model keeps.

The service re-plans a home at every slot on a grid that starts at the current slot, so an
EV's sessions (slot indices relative to the grid) move by one slot each time. Built over its
plugged-in slots only (:func:`optimiser.components.ev.add_ev_block`'s fresh form), the EV's
columns and rows change at every re-plan and a kept model (:mod:`optimiser.model_cache`)
never fits the next problem. Laid over every slot, the structure is the same from slot to
slot while the number of sessions in the horizon and whether each has a target stay, and
the sessions are numbers a re-plan writes (:mod:`optimiser.ev_numbers`):

* charging ``0 <= p_t <= P̄ f_t`` in every slot (``f_t = 0`` while the car is away);
* the energy balance in every slot, ``e_t = c_t e_{t-1} + Δ η p_t - η l_t + a_t``: the link
  ``c_t`` is 1 in a session's slot after its first, else 0 (a coefficient); ``a_t`` is the
  arrival energy at a session's first slot, else 0 (the row's right-hand side); away from
  the charger ``e_t = 0``;
* each target row's energy column (its session's last slot) and its margin's loss columns
  (:mod:`optimiser.components.ev_dispatch_lag`) chosen by coefficient;
* with the dispatch lag, every slot's rise rows and loss columns (the chords a lag gives,
  and the longest delay's where the lag's bound is above its expected delay); away from the
  charger the rows read ``l_t >= 0``.

The plan is the fresh form's to the solver's gap: the slots added hold no energy and draw
nothing. The fresh form stays the planner's own (``build_model(dense_evs=False)``): laid over
a 96-slot horizon, a lag home's EV has up to 8 rows a slot more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyomo.environ as pyo

from optimiser.components.ev_dispatch_lag import CHORDS, EvDispatchLag, RiseSlot
from optimiser.components.ev_simulation import ev_rise_slots
from optimiser.components.ev_spec import ElectricVehicle, session_windows

if TYPE_CHECKING:
    from optimiser.problem import Problem


def dense_form(ev: ElectricVehicle) -> bool:
    """True for an EV the dense form covers: no V2G, no "charge now" (their rows stay on the
    plugged-in slots; a persistent model keeps no such shape)."""
    return not ev.has_v2g and not any(s.charge_now for s in ev.sessions)


def has_longest_losses(lag: EvDispatchLag) -> bool:
    """Whether a slot's loss at the longest delay can differ from the expected one."""
    return lag.active and lag.planned_delay_s > lag.rise_delay_s


def chord_rows(lag: EvDispatchLag) -> int:
    """Rows per loss column a slot holds (:meth:`EvDispatchLag.chords`' lines)."""
    return CHORDS if lag.ramp_kw_per_min > 0 else 1


@dataclass(frozen=True, slots=True)
class DenseTarget:
    """A session's departure target: the slot whose end it checks, the slots whose rises'
    longest-delay margin it counts, and the energy required [kWh]."""

    slot: int
    margin_slots: tuple[int, ...]
    required_kwh: float


@dataclass(frozen=True, slots=True)
class DenseEvNumbers:
    """One problem's numbers for an EV in the dense form."""

    upper_kw: np.ndarray  # charging bound P̄ f_t per slot
    linked: np.ndarray  # bool per slot: e_t follows e_{t-1}
    start_kwh: np.ndarray  # a_t per slot
    rises: dict[int, RiseSlot]  # the plugged-in slots' rises (the lag on)
    windows: int  # sessions in the horizon (their shortfall columns)
    targets: tuple[DenseTarget, ...]  # the sessions with a target, in order

    @classmethod
    def of(cls, ev: ElectricVehicle, problem: Problem) -> DenseEvNumbers:
        n = problem.grid.n_steps
        windows = session_windows(ev, problem.grid)
        upper = np.zeros(n)
        linked = np.zeros(n, dtype=bool)
        start = np.zeros(n)
        for w in windows:
            for i, (t, f) in enumerate(zip(w.slots, w.fractions, strict=True)):
                upper[t] = ev.max_charge_kw * f
                linked[t] = i > 0
        for w in windows:  # a session's first slot wins over its predecessor's last
            linked[w.slots[0]] = False
            start[w.slots[0]] = w.session.arrival_soc * ev.battery_capacity_kwh
        rises = {r.slot: r for r in ev_rise_slots(ev, problem)}
        longest = has_longest_losses(problem.ev_dispatch_lag)
        targets = tuple(
            DenseTarget(
                slot=w.target_slot,
                margin_slots=tuple(t for t in w.slots if t in rises) if longest else (),
                required_kwh=w.required_kwh,
            )
            for w in windows
            if w.required_kwh > 0
        )
        return cls(upper, linked, start, rises, len(windows), targets)


def add_dense_rise_losses(b: pyo.Block, rises: dict[int, RiseSlot], lag: EvDispatchLag) -> None:
    """Every slot's loss columns and rise rows, in slot order: ``chord_rows`` rows of the
    expected loss, then as many of the longest delay's where :func:`has_longest_losses`
    (:func:`optimiser.components.ev.rise_loss_rows` for one plugged-in slot; ``l_t >= 0``
    away from the charger)."""
    slots = list(b.charge_kw)
    k = chord_rows(lag)
    b.rise_loss_kwh = pyo.Var(slots, bounds=(0.0, None), doc="lost to a rise [kWh]")
    longest = has_longest_losses(lag)
    b.longest_loss_kwh = pyo.Var(slots if longest else [], bounds=(0.0, None))
    b.rise_loss = pyo.ConstraintList(doc="delay and ramp of a setpoint rise")
    for t in slots:
        r = rises.get(t)
        losses = [(b.rise_loss_kwh[t], None if r is None else r.lines)]
        if longest:
            losses.append((b.longest_loss_kwh[t], None if r is None else r.longest_lines))
        for loss, lines in losses:
            if r is None or lines is None:
                for _ in range(k):
                    b.rise_loss.add(loss >= 0.0)
                continue
            before = (
                r.start_kw if r.previous is None else b.charge_kw[r.previous] / r.previous_fraction
            )
            rise = b.charge_kw[t] / r.fraction - before
            for slope, intercept in lines:
                b.rise_loss.add(loss >= slope * rise + intercept)
