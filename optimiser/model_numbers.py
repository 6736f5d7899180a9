"""A persistent model's numbers: where a problem's data sit in the HiGHS model, and pushing them.

A home model's structure (its columns, rows and which column appears in which row) depends on
the home's assets and a few switches (:func:`optimiser.model_shape.shape_key`); its *numbers*
on the assets' hardware (:mod:`optimiser.hardware_numbers`) and the data a re-plan changes:
prices, forecasts, states and wishes.
For a shape :mod:`optimiser.model_cache` covers, :class:`NumberLocations` finds once, in a
built and translated model, the columns and rows those data reach, and :meth:`NumberLocations.push`
writes a new problem's values there with a few vectorised highspy calls (``changeColsCost``,
``changeColsBounds``, ``changeRowsBounds``, and ``changeCoeff`` for the heat pump's COP):

========================  =====================================================================
datum                     where it goes (the components' maths, ``optimiser/components``)
========================  =====================================================================
import / export price,    import column cost ``Δ π^i_t`` (carbon-weighted), export ``-Δ π^x_t``
carbon intensity, weight
base load                 site balance row's right-hand side ``L_t``
PV forecast               generation column's upper bound (below 1 mW: 0)
battery SoC now           first SoC-balance row's right-hand side ``E_{-1}``
battery terminal target   target row's bound ``-SoC_target·Cap`` (the row is ``-E - s <= -target``)
battery end value         the last SoC column's cost ``-v_end`` (from prices in the service)
plan start in a slot      battery and heat pump slot-0 power bounds, the heat pump's slot-0 step
EV sessions: arrival SoC, the EV laid over every slot (:mod:`optimiser.ev_numbers`): charging
target, plugged-in        bounds ``P̄ f_t``, each slot's balance row (arrival energy, link to
fractions, charger's      the slot before), the target rows' bounds and columns, the dispatch
power now                 lag's rows (chords, the first rise)
outdoor temperature,      building rows: right-hand side ``a θ_0 + (1-a) T_out + b gains`` and
gains, indoor now         the heating column's coefficient ``-b COP_t / f_t``
comfort band              comfort rows' bounds
hot-water tank            its step, minimum and shared-power rows (:mod:`optimiser.tank_numbers`)
========================  =====================================================================

Every value is computed with the same floating-point operations, in the same order, as the
build and the reader (:mod:`optimiser.translate`) do, so a pushed model equals a fresh one bit
for bit (``tests/optimiser/test_model_cache.py`` compares them). A change to a component's
maths must change :func:`optimiser.model_shape.shape_key` or this module with it; the test
fails otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np
import pyomo.environ as pyo

from optimiser.components.heat_pump_spec import HeatPumpInputs
from optimiser.components.pv import MIN_GENERATION_KW
from optimiser.context import ModelExtension
from optimiser.ev_numbers import EvPlaces
from optimiser.extensions import SlotPenalty
from optimiser.hardware_numbers import HardwarePlaces
from optimiser.highs_backend import HighsModel
from optimiser.model import BuiltModel
from optimiser.problem import Problem
from optimiser.tank_numbers import TankPlaces
from optimiser.translate import LinearReader

_I32 = np.int32


class UncoveredShapeError(ValueError):
    """The built model is not laid out as a persistent model needs (a variable in no row,
    e.g. an extension's stray variable, whose value would be left from an earlier plan; a
    slot penalty's columns with costs of their own): no model is kept for the shape;
    expected, not a fault, so it is counted and not logged as an error."""


@dataclass(frozen=True, slots=True)
class _PenaltyPlaces:
    cols: np.ndarray  # the named assets' flexible-load columns
    slots: np.ndarray  # each column's slot


def _penalty_costs(places: _PenaltyPlaces, penalty: SlotPenalty, step_h: float) -> np.ndarray:
    """The columns' costs as the objective reads ``gbp_per_kwh * dt * p_t``."""
    return np.where(np.isin(places.slots, penalty.slots), penalty.gbp_per_kwh * step_h, 0.0)


@dataclass(frozen=True, slots=True)
class _BatteryPlaces:
    first_powers: np.ndarray  # charge_kw[0], discharge_kw[0]
    soc0_row: int
    target_row: int | None
    end_col: int | None  # the last energy column, costed at the end value (when it is > 0)


@dataclass(frozen=True, slots=True)
class _HeatPumpPlaces:
    space_cols: np.ndarray
    building_rows: np.ndarray
    comfort_rows: np.ndarray
    tank: TankPlaces | None


@dataclass(frozen=True, slots=True)
class NumberLocations:
    """The HiGHS columns and rows a problem's data reach, for one built model."""

    import_cols: np.ndarray
    export_cols: np.ndarray
    balance_rows: np.ndarray
    pv_cols: tuple[np.ndarray, ...]
    batteries: tuple[_BatteryPlaces, ...]
    evs: tuple[EvPlaces, ...]
    heat_pumps: tuple[_HeatPumpPlaces, ...]
    penalties: tuple[_PenaltyPlaces, ...]  # of the slot penalties, in order
    hardware: HardwarePlaces

    @classmethod
    def find(
        cls, built: BuiltModel, model: HighsModel, extensions: Sequence[ModelExtension] = ()
    ) -> NumberLocations:
        """Locate them in ``built`` as ``model`` translated it (before any binary)."""
        m, p = built.model, built.context.problem
        reader = model.reader
        n = p.grid.n_steps
        col, row = _finder(reader)
        batteries = []
        for bat in p.batteries:
            b = built.blocks[bat.name]
            target = row(b.target) if bat.target_soc_end is not None else None
            first = np.array([col(b.charge_kw[0]), col(b.discharge_kw[0])], dtype=_I32)
            end = col(b.energy_kwh[n - 1]) if bat.end_value_gbp_per_kwh > 0 else None
            batteries.append(_BatteryPlaces(first, row(b.soc_balance[0]), target, end))
        evs = tuple(
            EvPlaces.find(built.blocks[ev.name], ev, p, col, row) for ev in p.evs
        )  # laid over every slot (build_model(dense_evs=True))
        heat_pumps = []
        for hp in p.heat_pumps:
            b = built.blocks[hp.name]
            inputs = HeatPumpInputs.of(hp, p.grid, p.outdoor_temperature, p.running_fraction)
            heat_pumps.append(
                _HeatPumpPlaces(
                    space_cols=np.array([col(b.space_kw[t]) for t in range(n)], dtype=_I32),
                    building_rows=np.array([row(b.building[t]) for t in range(n)], dtype=_I32),
                    comfort_rows=np.array([row(b.comfort[t]) for t in range(n)], dtype=_I32),
                    tank=None if hp.tank is None else TankPlaces.find(b, hp, inputs, col, row),
                )
            )
        import_cols = np.array([col(m.import_kw[t]) for t in range(n)], dtype=_I32)
        export_cols = np.array([col(m.export_kw[t]) for t in range(n)], dtype=_I32)
        return cls(
            penalties=_find_penalties(built, model, extensions),
            hardware=HardwarePlaces.find(built.blocks, p, (import_cols, export_cols), col, row),
            import_cols=import_cols,
            export_cols=export_cols,
            balance_rows=np.array([row(m.balance[t]) for t in range(n)], dtype=_I32),
            pv_cols=tuple(
                np.array([col(built.blocks[pv.name].gen_kw[t]) for t in range(n)], dtype=_I32)
                for pv in p.pv
            ),
            batteries=tuple(batteries),
            evs=evs,
            heat_pumps=tuple(heat_pumps),
        )

    def push(
        self, problem: Problem, model: HighsModel, extensions: Sequence[ModelExtension] = ()
    ) -> None:
        """Write ``problem``'s numbers into ``model`` (the HiGHS model these locations were
        found in; ``problem`` and ``extensions`` of the same shape)."""
        highs = model.highs
        dt = problem.grid.step_hours
        self.hardware.push(highs, problem, _check)  # before the first slot's powers
        penalties = [e for e in extensions if isinstance(e, SlotPenalty)]
        for penalty_places, penalty in zip(self.penalties, penalties, strict=True):
            _costs(highs, penalty_places.cols, _penalty_costs(penalty_places, penalty, dt))
        _costs(highs, self.import_cols, dt * problem.effective_import_price)
        _costs(highs, self.export_cols, -(dt * problem.export_price))
        load = problem.base_load
        _row_bounds(highs, self.balance_rows, load, load)
        for cols, pv in zip(self.pv_cols, problem.pv, strict=True):
            forecast = np.where(pv.forecast < MIN_GENERATION_KW, 0.0, pv.forecast)
            _col_bounds(highs, cols, np.zeros(len(cols)), forecast)
        first = problem.first_slot_fraction
        for places, bat in zip(self.batteries, problem.batteries, strict=True):
            upper = np.array([bat.max_charge_kw * first, bat.max_discharge_kw * first])
            _col_bounds(highs, places.first_powers, np.zeros(2), upper)
            e0 = bat.initial_soc * bat.capacity_kwh
            _row_bounds(highs, np.array([places.soc0_row], dtype=_I32), [e0], [e0])
            if places.target_row is not None and bat.target_soc_end is not None:
                bound = -(bat.target_soc_end * bat.capacity_kwh)
                _row_bounds(highs, np.array([places.target_row], dtype=_I32), [-np.inf], [bound])
            if places.end_col is not None:
                end_cost = np.array([-bat.end_value_gbp_per_kwh])
                _costs(highs, np.array([places.end_col], dtype=_I32), end_cost)
        for ev_places, ev in zip(self.evs, problem.evs, strict=True):
            ev_places.push(highs, ev, problem, _check)
        for hp_places, hp in zip(self.heat_pumps, problem.heat_pumps, strict=True):
            _push_heat_pump(highs, hp_places, hp, problem)


def _push_heat_pump(highs: Any, places: _HeatPumpPlaces, hp: Any, problem: Problem) -> None:
    n = problem.grid.n_steps
    t_out = problem.outdoor_temperature
    run = problem.running_fraction
    inp = HeatPumpInputs.of(hp, problem.grid, t_out, run)
    theta0 = hp.building.initial_indoor_temperature_c
    rhs = np.empty(n)
    for t in range(n):
        bs = inp.building_step_at(t)
        free = (1 - bs.a) * float(t_out[t]) + bs.b_hours_per_kwh_k * float(inp.gains_kw[t])
        rhs[t] = bs.a * theta0 + free if t == 0 else free
        heat_per_kw = float(inp.cop[t]) / float(run[t])
        coef = -(bs.b_hours_per_kwh_k * heat_per_kw)
        highs.changeCoeff(int(places.building_rows[t]), int(places.space_cols[t]), coef)
    _row_bounds(highs, places.building_rows, rhs, rhs)
    lo_c = np.broadcast_to(np.asarray(hp.comfort_min_c, dtype=np.float64), (n,))
    hi_c = np.broadcast_to(np.asarray(hp.comfort_max_c, dtype=np.float64), (n,))
    _row_bounds(highs, places.comfort_rows, lo_c, hi_c)
    first = np.array([places.space_cols[0]], dtype=_I32)
    _col_bounds(highs, first, [0.0], [hp.max_power_kw * run[0]])
    if places.tank is not None:
        places.tank.push(highs, hp, inp, _check)


def _find_penalties(
    built: BuiltModel, model: HighsModel, extensions: Sequence[ModelExtension]
) -> tuple[_PenaltyPlaces, ...]:
    """Each slot penalty's columns; refused when one has a cost the penalty did not write
    (another cost term, or two penalties on one column): a push would lose it."""
    ctx = built.context
    col, _ = _finder(model.reader)
    costs = np.asarray(model.highs.getLp().col_cost_)
    out = []
    for penalty in (e for e in extensions if isinstance(e, SlotPenalty)):
        cols: list[int] = []
        slots: list[int] = []
        for load in ctx.flexible_loads:
            if load.asset_name in penalty.assets:
                cols += [col(load.power_kw[t]) for t in load.slots]
                slots += list(load.slots)
        places = _PenaltyPlaces(np.array(cols, dtype=_I32), np.array(slots, dtype=_I32))
        if not np.array_equal(costs[places.cols], _penalty_costs(places, penalty, ctx.step_h)):
            raise UncoveredShapeError(f"{penalty!r}'s columns have costs of their own")
        out.append(places)
    return tuple(out)


def _finder(reader: LinearReader) -> tuple[Any, Any]:
    """Column and row lookups that fail loudly when the model is not laid out as expected."""

    def col(var: Any) -> int:
        return reader.column_of[id(var)]

    def row(con: Any) -> int:
        if isinstance(con, pyo.Constraint) and not con.is_indexed():
            con = con[None]
        return reader.row_of[id(con)]

    return col, row


def _costs(highs: Any, cols: np.ndarray, values: np.ndarray) -> None:
    _check(highs.changeColsCost(len(cols), cols, np.ascontiguousarray(values, dtype=np.float64)))


def _col_bounds(highs: Any, cols: np.ndarray, lower: Any, upper: Any) -> None:
    lo = np.ascontiguousarray(lower, dtype=np.float64)
    hi = np.ascontiguousarray(upper, dtype=np.float64)
    _check(highs.changeColsBounds(len(cols), cols, lo, hi))


def _row_bounds(highs: Any, rows: np.ndarray, lower: Any, upper: Any) -> None:
    lo = np.ascontiguousarray(lower, dtype=np.float64)
    hi = np.ascontiguousarray(upper, dtype=np.float64)
    _check(highs.changeRowsBounds(len(rows), rows, lo, hi))


def _check(status: Any) -> None:
    if status == highspy.HighsStatus.kError:
        raise RuntimeError("HiGHS refused a persistent model's new numbers")
