"""A persistent model's hardware numbers: the assets' and the site's, written like the data.

Homes of one asset mix share a kept model (:mod:`optimiser.model_shape`), so what differs
between two homes' hardware is written into the HiGHS model as numbers, with the same
floating-point operations, in the same order, as the build and the reader
(:mod:`optimiser.translate`), so the model equals a fresh translation of the new home bit for
bit (``tests/optimiser/test_shared_models.py``):

==========================  ============================================================
hardware                    where it goes (the components' maths, ``optimiser/components``)
==========================  ============================================================
site import / export limit  the import and export columns' upper bounds ``Ī``, ``X̄``
battery powers              charge and discharge columns' upper bounds ``C̄``, ``D̄``
battery capacity, SoC       the energy columns' bounds ``SoC_min·Cap``, ``SoC_max·Cap``
limits
battery efficiencies        the SoC-balance rows' coefficients ``-Δ η_c`` and ``Δ / η_d``
battery degradation         the discharge columns' costs ``Δ k_deg``
EV capacity, powers,        (:mod:`optimiser.ev_numbers`) the energy columns' bound, the
efficiency                  charging bounds ``P̄ f_t``, the balance rows' ``-Δ η``, ``η``
heat pump power             the space-heating columns' upper bound ``P̄``
building heat loss and      the building rows' ``-a`` on ``θ_{t-1}`` (``a = exp(-H Δ/C)``);
capacity, COP curve         (:mod:`optimiser.model_numbers`) ``-b COP_t / f_t`` on ``P_t``
                            and the right-hand side's ``a θ_0 + (1-a) T_out + b gains``
==========================  ============================================================

Bounds and costs are written for every slot (vectorised highspy calls), and only when an
asset's hardware differs from the last written (a home re-planned alone writes none); a
coefficient with ``changeCoeff`` only where it differs from the value last written. The
first slot's powers (a plan made inside its slot) are the data's
(:mod:`optimiser.model_numbers` writes them after these). The binaries' rows read the new
problem's hardware when they are added (each component's binary adder).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np

from optimiser.components.battery import Battery
from optimiser.components.heat_pump_spec import HeatPump
from optimiser.components.thermal import FirstOrderStep
from optimiser.problem import Problem

_I32 = np.int32


@dataclass(frozen=True, slots=True)
class Coefficients:
    """Matrix entries a push writes, as (row, column) pairs, and their values in HiGHS now."""

    rows: np.ndarray
    cols: np.ndarray
    written: np.ndarray  # updated by each push

    def push(self, highs: Any, values: np.ndarray, check: Any) -> None:
        """Write ``values`` where they differ from those written (0 removes an entry)."""
        for i in np.flatnonzero(values != self.written).tolist():
            check(highs.changeCoeff(int(self.rows[i]), int(self.cols[i]), float(values[i])))
        self.written[:] = values


@dataclass(frozen=True, slots=True)
class _BatteryHardware:
    charge_cols: np.ndarray
    discharge_cols: np.ndarray
    energy_cols: np.ndarray
    flows: Coefficients  # each SoC-balance row's charge, then discharge coefficients
    pushed: list[Hashable]  # the hardware the model holds now

    def push(self, highs: Any, bat: Battery, dt: float, check: Any) -> None:
        if _unchanged(self.pushed, _battery_key(bat)):
            return
        n = len(self.charge_cols)
        zeros = np.zeros(n)
        check(highs.changeColsBounds(n, self.charge_cols, zeros, np.full(n, bat.max_charge_kw)))
        top = np.full(n, bat.max_discharge_kw)
        check(highs.changeColsBounds(n, self.discharge_cols, zeros, top))
        low, high = bat.energy_bounds_kwh
        check(highs.changeColsBounds(n, self.energy_cols, np.full(n, low), np.full(n, high)))
        self.flows.push(highs, _battery_flows(bat, dt, n), check)
        wear = dt * bat.degradation_gbp_per_kwh if bat.degradation_gbp_per_kwh > 0 else 0.0
        check(highs.changeColsCost(n, self.discharge_cols, np.full(n, wear)))


def _unchanged(pushed: list[Hashable], key: Hashable) -> bool:
    """Whether ``key`` is the hardware written last (a home re-planned alone writes nothing);
    else remember it."""
    if pushed[0] == key:
        return True
    pushed[0] = key
    return False


def _battery_key(bat: Battery) -> Hashable:
    return (
        bat.capacity_kwh,
        bat.min_soc,
        bat.max_soc,
        bat.max_charge_kw,
        bat.max_discharge_kw,
        bat.charge_efficiency,
        bat.discharge_efficiency,
        bat.degradation_gbp_per_kwh,
    )


def _battery_flows(bat: Battery, dt: float, n: int) -> np.ndarray:
    """The SoC-balance rows' power coefficients as the reader writes
    ``E_t - E_{t-1} - Δ η_c c_t + Δ / η_d d_t``."""
    charge = -(dt * bat.charge_efficiency)
    discharge = dt / bat.discharge_efficiency
    return np.concatenate([np.full(n, charge), np.full(n, discharge)])


@dataclass(frozen=True, slots=True)
class _HeatPumpHardware:
    space_cols: np.ndarray
    links: Coefficients  # each building row's coefficient on the slot before's temperature
    pushed: list[Hashable]

    def push(self, highs: Any, hp: HeatPump, dt: float, check: Any) -> None:
        if _unchanged(self.pushed, _heat_pump_key(hp)):
            return
        n = len(self.space_cols)
        top = np.full(n, hp.max_power_kw)
        check(highs.changeColsBounds(n, self.space_cols, np.zeros(n), top))
        self.links.push(highs, _building_links(hp, dt, n), check)


def _heat_pump_key(hp: HeatPump) -> Hashable:
    bld = hp.building
    return (hp.max_power_kw, bld.heat_loss_kw_per_k, bld.thermal_capacity_kwh_per_k)


def _building_links(hp: HeatPump, dt: float, n: int) -> np.ndarray:
    """The building rows' ``-a`` on ``θ_{t-1}`` (slots 1 on; slot 0's is the measured
    temperature, on the right-hand side), as the reader writes ``θ_t - a θ_{t-1} - ...``."""
    bld = hp.building
    step = FirstOrderStep.of(bld.heat_loss_kw_per_k, bld.thermal_capacity_kwh_per_k, dt)
    return np.full(n - 1, -step.a)


@dataclass(frozen=True, slots=True)
class HardwarePlaces:
    """Where a built model's hardware numbers sit (the site's, each battery's and heat
    pump's; an EV's are its :class:`~optimiser.ev_numbers.EvPlaces`')."""

    import_cols: np.ndarray
    export_cols: np.ndarray
    batteries: tuple[_BatteryHardware, ...]
    heat_pumps: tuple[_HeatPumpHardware, ...]
    pushed: list[Hashable]  # the site's limits the model holds now

    @classmethod
    def find(
        cls,
        blocks: dict[str, Any],
        problem: Problem,
        site: tuple[np.ndarray, np.ndarray],
        col: Any,
        row: Any,
    ) -> HardwarePlaces:
        """Locate them; ``site`` holds the import and export columns, ``col`` and ``row`` map
        a Pyomo variable or constraint to its HiGHS index."""
        n, dt = problem.grid.n_steps, problem.grid.step_hours
        batteries = []
        for bat in problem.batteries:
            b = blocks[bat.name]
            charge = np.array([col(b.charge_kw[t]) for t in range(n)], dtype=_I32)
            discharge = np.array([col(b.discharge_kw[t]) for t in range(n)], dtype=_I32)
            soc_rows = np.array([row(b.soc_balance[t]) for t in range(n)], dtype=_I32)
            flows = Coefficients(
                rows=np.concatenate([soc_rows, soc_rows]),
                cols=np.concatenate([charge, discharge]),
                written=_battery_flows(bat, dt, n),
            )
            energy = np.array([col(b.energy_kwh[t]) for t in range(n)], dtype=_I32)
            batteries.append(
                _BatteryHardware(charge, discharge, energy, flows, [_battery_key(bat)])
            )
        heat_pumps = []
        for hp in problem.heat_pumps:
            b = blocks[hp.name]
            space = np.array([col(b.space_kw[t]) for t in range(n)], dtype=_I32)
            links = Coefficients(
                rows=np.array([row(b.building[t]) for t in range(1, n)], dtype=_I32),
                cols=np.array([col(b.indoor_c[t]) for t in range(n - 1)], dtype=_I32),
                written=_building_links(hp, dt, n),
            )
            heat_pumps.append(_HeatPumpHardware(space, links, [_heat_pump_key(hp)]))
        return cls(
            import_cols=site[0],
            export_cols=site[1],
            batteries=tuple(batteries),
            heat_pumps=tuple(heat_pumps),
            pushed=[(problem.import_limit_kw, problem.export_limit_kw)],
        )

    def push(self, highs: Any, problem: Problem, check: Any) -> None:
        """Write ``problem``'s hardware numbers; ``check`` raises on a HiGHS error."""
        if not _unchanged(self.pushed, (problem.import_limit_kw, problem.export_limit_kw)):
            n = len(self.import_cols)
            zeros = np.zeros(n)
            top = np.full(n, problem.import_limit_kw)
            check(highs.changeColsBounds(n, self.import_cols, zeros, top))
            top = np.full(n, problem.export_limit_kw)
            check(highs.changeColsBounds(n, self.export_cols, zeros, top))
        dt = problem.grid.step_hours
        for places, bat in zip(self.batteries, problem.batteries, strict=True):
            places.push(highs, bat, dt, check)
        for hp_places, hp in zip(self.heat_pumps, problem.heat_pumps, strict=True):
            hp_places.push(highs, hp, dt, check)
