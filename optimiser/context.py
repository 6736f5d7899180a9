"""What a component block sees while the model is built, and what extensions may change.

A :class:`ModelContext` carries the Pyomo model, the problem, and three collections the
components fill in before the site balance and the objective are written:

* ``draw_terms_kw[t]``: linear terms of each device's electrical draw in slot ``t`` [kW],
  positive = power taken from the home's bus (consumption), negative = power given to it
  (generation, discharge). This is the project's single sign convention.
* ``cost_terms``: objective terms [GBP] (energy, penalties, extension terms).
* ``generation_terms_kw[t]``: PV generation used [kW] (for "charge only from solar");
* ``export_source_terms_kw[t]``: power of assets allowed to export [kW]; when any asset may not
  export (``export_restricted``), site export is limited to PV plus these;
* ``flexible_loads``: each shiftable load's per-slot power variables [kW], for extensions such as
  the "as early / as late as possible" flexibility profiles.

Extensions (``Callable[[ModelContext], None]``) run after the components and before the
objective; they may add constraints to ``ctx.model`` and terms to ``ctx.cost_terms``.

Binaries a component may need (no simultaneous flows, a minimum power) are added through a
function the component registers per binary key (:meth:`ModelContext.register_binaries`): the
build adds them in the planner's initial slots, and the planner's later rounds add more to the
same, already solved model (:meth:`ModelContext.add_binaries`) instead of rebuilding it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyomo.environ as pyo

if TYPE_CHECKING:
    from optimiser.problem import Problem


@dataclass(frozen=True, slots=True)
class FlexibleLoad:
    """A shiftable load's power variables [kW] indexed by slot, and the slots they cover."""

    asset_name: str
    power_kw: Any  # an indexed Pyomo Var
    slots: tuple[int, ...]


@dataclass(slots=True)
class BinarySlots:
    """Slots that get a no-simultaneity binary, per component key (e.g. ``"grid"``,
    ``"battery:Home battery"``). Slots not listed are modelled continuously."""

    by_key: dict[str, frozenset[int]] = field(default_factory=dict)

    def get(self, key: str) -> frozenset[int]:
        return self.by_key.get(key, frozenset())

    def with_added(self, key: str, slots: set[int] | frozenset[int]) -> BinarySlots:
        merged = dict(self.by_key)
        merged[key] = self.get(key) | frozenset(slots)
        return BinarySlots(by_key=merged)

    @property
    def count(self) -> int:
        return sum(len(s) for s in self.by_key.values())


def start_value(on: Any, off: Any | None = None) -> float | None:
    """A new mode binary's start value from the solved powers it switches: 1 when ``on``'s
    power is above ``off``'s (or above zero), 0 otherwise; None before any solve."""
    if on.value is None:
        return None
    other = 0.0 if off is None or off.value is None else off.value
    return 1.0 if on.value > max(other, 1e-9) else 0.0


BinaryAdder = Callable[[list[int]], None]
"""Adds a component's binaries (and their linking constraints) in the given slots. A new binary
takes a start value from the current solution of the powers it switches, when there is one."""


@dataclass(slots=True)
class ModelContext:
    """Shared state while building one model (see the module docstring)."""

    model: pyo.ConcreteModel
    problem: Problem
    binary_slots: BinarySlots
    draw_terms_kw: list[list[Any]]
    generation_terms_kw: list[list[Any]]
    export_source_terms_kw: list[list[Any]]
    export_restricted: bool = False
    cost_terms: list[Any] = field(default_factory=list)
    flexible_loads: list[FlexibleLoad] = field(default_factory=list)
    binary_adders: dict[str, BinaryAdder] = field(default_factory=dict)
    time_set: Any = None  # the model's slot set ``model.time_slots`` (0 .. n_steps-1)

    @classmethod
    def empty(
        cls, model: pyo.ConcreteModel, problem: Problem, binary_slots: BinarySlots
    ) -> ModelContext:
        n = problem.grid.n_steps
        # One slot set shared by every per-slot component: given a Python range, Pyomo builds
        # a set of its own for each component (a few percent of a T=96 build).
        model.time_slots = pyo.Set(initialize=range(n), ordered=True, doc="slot index")
        return cls(
            time_set=model.time_slots,
            model=model,
            problem=problem,
            binary_slots=binary_slots,
            draw_terms_kw=[[] for _ in range(n)],
            generation_terms_kw=[[] for _ in range(n)],
            export_source_terms_kw=[[] for _ in range(n)],
        )

    @property
    def step_h(self) -> float:
        """Slot length [h]."""
        return self.problem.grid.step_hours

    @property
    def n_steps(self) -> int:
        return self.problem.grid.n_steps

    def add_draw(self, t: int, term: Any) -> None:
        """Add a device's electrical draw in slot ``t`` [kW] to the site balance."""
        self.draw_terms_kw[t].append(term)

    def register_binaries(self, key: str, add: BinaryAdder) -> None:
        """Declare how ``key``'s binaries are added, and add them in the initial slots."""
        self.binary_adders[key] = add
        initial = sorted(self.binary_slots.get(key))
        if initial:
            add(initial)

    def add_binaries(self, key: str, slots: Iterable[int]) -> list[int]:
        """Add ``key``'s binaries in ``slots`` (those it does not have yet) to the built model;
        returns the slots added."""
        new = sorted(set(slots) - self.binary_slots.get(key))
        if new:
            self.binary_slots = self.binary_slots.with_added(key, set(new))
            add = self.binary_adders.get(key)
            if add is not None:
                add(new)
        return new

    def add_flexible_load(self, asset_name: str, power_kw: Any, slots: tuple[int, ...]) -> None:
        """Declare a shiftable load's per-slot power variables [kW] for extensions."""
        self.flexible_loads.append(FlexibleLoad(asset_name, power_kw, slots))


ModelExtension = Callable[[ModelContext], None]
"""An analyst's hook: add constraints or objective terms to the model being built."""
