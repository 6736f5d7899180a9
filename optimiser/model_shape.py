"""A home model's *shape*: what decides its columns, rows and which entries its matrix holds.

A persistent model (:mod:`optimiser.model_cache`) is kept per shape and a re-plan of a problem
of the same shape writes numbers into it (:mod:`optimiser.model_numbers`,
:mod:`optimiser.hardware_numbers`, :mod:`optimiser.ev_numbers`). Homes of one asset *mix*
share a shape: the assets' hardware (capacities, SoC limits, powers, efficiencies,
degradation, the building's heat loss and capacity, the COP curve) and the site's connection
limits are numbers too, column bounds, costs and coefficients
(:mod:`optimiser.hardware_numbers`), so the first plan of a home in a worker goes through a
model another home of its mix built. The shape keeps:

* the grid's length and step, the penalties, whether the site's cover rows exist (they
  depend on prices), the PV arrays by name, the extensions' shape parts;
* each battery's name, whether it has a terminal target, whether its end value is costed,
  whether it may charge from the grid and export (rows they add or remove);
* each EV's name, whether its charger has a minimum power (binaries), the sessions in the
  horizon and which have a target, and the dispatch lag's rows (on or off, its chords, the
  longest delay's columns; the delays and the ramp are numbers);
* each heat pump's name, whether it modulates and needs binaries, whether it has a hot-water
  tank (:mod:`optimiser.tank_numbers`); an on/off unit's power, COP curve and building too
  (its mode rounding reads the unit the model was built with).

A coefficient that may be 0 for one home and not another (the translator drops zeros) is
written with HiGHS's ``changeCoeff``, which adds or removes the entry, so zeros do not split
shapes. Shapes not covered get ``None`` and the planner builds a fresh model: extensions (but
those that declare ``keeps_model_shape``: hashable, their effect their fields' alone,
touching no number a re-plan sets), DSR requests, appliances, a hard comfort band, V2G,
"charge now", an on/off heat pump with a tank (planned by relax-and-fix), a battery that
starts outside its SoC bounds.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from optimiser.components.battery import Battery
from optimiser.components.ev_dense import chord_rows, dense_form, has_longest_losses
from optimiser.components.ev_dispatch_lag import EvDispatchLag
from optimiser.components.ev_spec import ElectricVehicle, session_windows
from optimiser.components.heat_pump_spec import HeatPump
from optimiser.context import ModelExtension
from optimiser.extensions import SlotPenalty
from optimiser.model import COVER_MAX_PAID_SHARE
from optimiser.problem import Problem


def shape_key(problem: Problem, extensions: Sequence[ModelExtension] = ()) -> Hashable | None:
    """What decides ``problem``'s model structure, hashable; None for a shape this module does
    not cover (the planner then builds a fresh model)."""
    if problem.dsr_requests or problem.appliances or problem.hard_comfort:
        return None
    if not all(getattr(e, "keeps_model_shape", False) for e in extensions):
        return None
    grid = problem.grid
    price_in = problem.effective_import_price
    cover = float((price_in <= 0).mean()) <= COVER_MAX_PAID_SHARE
    parts: list[Hashable] = [
        grid.n_steps,
        grid.step_minutes,
        problem.penalties,
        _lag_shape(problem.ev_dispatch_lag) if problem.evs else None,
        cover,
        tuple(pv.name for pv in problem.pv),
        # each hashable, its effect its fields' alone; a slot penalty's slots are numbers
        tuple(e.shape_part if isinstance(e, SlotPenalty) else e for e in extensions),
    ]
    for asset_parts in (
        *(_battery_shape(bat) for bat in problem.batteries),
        *(_ev_shape(ev, problem) for ev in problem.evs),
        *(_heat_pump_shape(hp) for hp in problem.heat_pumps),
    ):
        if asset_parts is None:
            return None
        parts.append(asset_parts)
    key = tuple(parts)
    try:
        hash(key)
    except TypeError:  # e.g. a COP model holding arrays
        return None
    return key


def _lag_shape(lag: EvDispatchLag) -> Hashable:
    """The dispatch lag's rows (:mod:`optimiser.components.ev_dense`): whether it is on, the
    chords a loss column has, whether the longest delay has columns of its own; its delays
    and ramp are the chords' numbers (:mod:`optimiser.ev_numbers`)."""
    return (lag.active, chord_rows(lag), has_longest_losses(lag))


def _battery_shape(bat: Battery) -> Hashable | None:
    """A battery's part: its hardware is numbers (:mod:`optimiser.hardware_numbers`)."""
    if bat.starts_outside_bounds:
        return None
    return (
        bat.name,
        bat.target_soc_end is None,
        bat.end_value_gbp_per_kwh > 0,  # whether its cost term exists; the value is a number
        bat.allow_grid_charging,
        bat.allow_export,
    )


def _ev_shape(ev: ElectricVehicle, problem: Problem) -> Hashable | None:
    """The EV's part of the shape: in the dense form (:mod:`optimiser.components.ev_dense`)
    the sessions' slots are numbers, so only how many sessions overlap the horizon and which
    have a target decide the structure (the dispatch lag's part is the problem's)."""
    if not dense_form(ev):
        return None
    return (
        ev.name,
        ev.min_charge_kw > 0,  # its binaries; the powers are numbers
        tuple(w.required_kwh > 0 for w in session_windows(ev, problem.grid)),
    )


def _heat_pump_shape(hp: HeatPump) -> Hashable | None:
    tank = hp.tank
    if hp.modulating:  # its powers, COP, building and tank are numbers
        return (hp.name, True, hp.needs_binaries, tank is not None)
    if tank is not None:  # planned by relax-and-fix (optimiser.relax_and_fix): fresh
        return None
    # an on/off unit's rounding (optimiser.components.heat_pump_rounding) reads the unit the
    # model was built with
    bld = hp.building
    return (
        hp.name,
        False,
        hp.max_power_kw,
        hp.cop,
        bld.heat_loss_kw_per_k,
        bld.thermal_capacity_kwh_per_k,
    )
