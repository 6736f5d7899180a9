"""What a component block sees while the model is built, and what extensions may change.

A :class:`ModelContext` carries the Pyomo model, the problem, and three collections the
components fill in before the site balance and the objective are written:

* ``consumption_terms_kw[t]`` and ``supply_terms_kw[t]``: linear terms, each >= 0, of the
  power devices take from the home's bus in slot ``t`` (charging, heating, appliances) and
  give to it (generation, discharge) [kW]. A device's draw is consumption minus supply
  (positive = taken from the bus: the project's single sign convention). Kept apart so the
  site can bound import by what the home consumes and export by what it supplies.
* ``cost_terms``: objective terms [GBP] (energy, penalties, extension terms).
* ``generation_terms_kw[t]``: PV generation used [kW] (for "charge only from solar");
* ``export_source_terms_kw[t]``: power of assets allowed to export [kW]; when any asset may not
  export (``export_restricted``), site export is limited to PV plus these;
* ``flexible_loads``: each shiftable load's per-slot power variables [kW], for extensions such as
  the "as early / as late as possible" flexibility profiles.

Extensions (``Callable[[ModelContext], None]``) run after the components and before the
objective; they may add constraints to ``ctx.model`` and terms to ``ctx.cost_terms``, and find
an asset's block by its name (``ctx.block("EV")``; ``ctx.blocks`` maps every asset's name).

Binaries a component may need (no simultaneous flows, a minimum power) are added through a
function the component registers per binary key (:meth:`ModelContext.register_binaries`): the
build adds them in the planner's initial slots, and the planner's later rounds add more to the
same, already solved model (:meth:`ModelContext.add_binaries`) instead of rebuilding it. Each
such binary is a *mode* (import or export, charge or discharge, on or off) recorded with the
powers it switches (:meth:`ModelContext.add_mode_binary`), so the planner can read the mode a
solution implies from its powers (:meth:`ModelContext.modes_from_powers`).
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


MODE_TOL_KW = 1e-6
"""A power at or below this is taken as zero when a mode is read from powers [kW]."""


def start_value(on: Any, off: Any | None = None) -> float | None:
    """A mode binary's value implied by the solved powers it switches (variables or linear
    expressions [kW]): 1 when ``on`` is above ``off`` (or above zero), 0 otherwise; None
    before any solve."""
    on_kw = pyo.value(on, exception=False)
    if on_kw is None:
        return None
    off_kw = None if off is None else pyo.value(off, exception=False)
    other = 0.0 if off_kw is None else off_kw
    return 1.0 if on_kw > max(other, MODE_TOL_KW) else 0.0


@dataclass(frozen=True, slots=True)
class ModeBinary:
    """A binary choosing a mode, and the powers [kW] it switches: 1 allows ``on_kw`` (import,
    charge, run), 0 allows ``off_kw`` (export, discharge) or only zero power when None."""

    var: Any  # a Pyomo VarData
    on_kw: Any
    off_kw: Any | None = None
    key: str = ""  # the binary key whose adder made it ("" for an analyst's own)
    slot: int | None = None  # the slot it switches (its variable's index)

    def mode_from_powers(self) -> float | None:
        return start_value(self.on_kw, self.off_kw)


ModeRounding = Callable[[], dict[int, float]]
"""An on/off unit's modes (slot -> 0 or 1) read from the current solution in its own way,
for the slots where powers alone round badly (see :meth:`ModelContext.register_on_off`)."""

BinaryAdder = Callable[[list[int]], None]
"""Adds a component's binaries (and their linking constraints) in the given slots. A new binary
takes a start value from the current solution of the powers it switches, when there is one."""


@dataclass(slots=True)
class ModelContext:
    """Shared state while building one model (see the module docstring)."""

    model: pyo.ConcreteModel
    problem: Problem
    binary_slots: BinarySlots
    consumption_terms_kw: list[list[Any]]
    supply_terms_kw: list[list[Any]]
    generation_terms_kw: list[list[Any]]
    export_source_terms_kw: list[list[Any]]
    export_restricted: bool = False
    cost_terms: list[Any] = field(default_factory=list)
    flexible_loads: list[FlexibleLoad] = field(default_factory=list)
    binary_adders: dict[str, BinaryAdder] = field(default_factory=dict)
    mode_binaries: list[ModeBinary] = field(default_factory=list)
    blocks: dict[str, pyo.Block] = field(default_factory=dict)  # per asset name
    on_off_roundings: dict[str, ModeRounding] = field(default_factory=dict)  # per binary key
    relax_and_fix_keys: set[str] = field(default_factory=set)  # on/off keys built forwards
    time_set: Any = None  # the model's slot set ``model.time_slots`` (0 .. n_steps-1)
    dense_evs: bool = False  # EVs over every slot (optimiser.components.ev_dense)
    _adding_key: str = ""  # the key whose binaries are being added (for ModeBinary.key)

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
            consumption_terms_kw=[[] for _ in range(n)],
            supply_terms_kw=[[] for _ in range(n)],
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

    def add_consumption(self, t: int, term: Any) -> None:
        """Add power a device takes from the home's bus in slot ``t`` [kW, >= 0]."""
        self.consumption_terms_kw[t].append(term)

    def add_supply(self, t: int, term: Any) -> None:
        """Add power a device gives to the home's bus in slot ``t`` [kW, >= 0]."""
        self.supply_terms_kw[t].append(term)

    def add_mode_binary(self, var: Any, on_kw: Any, off_kw: Any | None = None) -> None:
        """Record a mode binary with the powers it switches (see :class:`ModeBinary`) and give
        it the start value the current solution's powers imply (none before any solve). Called
        from a binary adder, the binary is recorded with the adder's key and its variable's
        index as its slot (what :class:`optimiser.mode_memory.ModeMemory` keys modes by)."""
        index = var.index()
        slot = index if isinstance(index, int) else None
        mode = ModeBinary(var, on_kw, off_kw, key=self._adding_key, slot=slot)
        var.set_value(mode.mode_from_powers(), skip_validation=True)
        self.mode_binaries.append(mode)

    def modes_from_powers(self) -> list[tuple[Any, float]]:
        """Every mode binary with the value the current solution's powers imply (an on/off
        unit's from its own rounding, :meth:`register_on_off`)."""
        rounded = {key: rounding() for key, rounding in self.on_off_roundings.items()}
        out = []
        for mode in self.mode_binaries:
            value = rounded.get(mode.key, {}).get(mode.slot if mode.slot is not None else -1)
            if value is None:
                value = mode.mode_from_powers()
            out.append((mode.var, 0.0 if value is None else value))
        return out

    def register_binaries(self, key: str, add: BinaryAdder) -> None:
        """Declare how ``key``'s binaries are added, and add them in the initial slots."""
        self.binary_adders[key] = add
        initial = sorted(self.binary_slots.get(key))
        if initial:
            self._add_as(key, add, initial)

    def register_on_off(
        self, key: str, rounding: ModeRounding, *, relax_and_fix: bool = False
    ) -> None:
        """Declare ``key``'s binaries those of an on/off unit (full power or off), whose modes
        ``rounding`` reads from a solution: "on wherever the relaxation's power is positive"
        heats far too much (a relaxation runs it at part power), so the unit tracks the
        relaxation's state instead. The planner also searches their slots window by window
        (:mod:`optimiser.window_search`); with ``relax_and_fix``, from the better of that
        rounding and a plan built forwards in time (:mod:`optimiser.relax_and_fix`), for
        units whose rounding starts far off (one heating a hot-water tank)."""
        self.on_off_roundings[key] = rounding
        if relax_and_fix:
            self.relax_and_fix_keys.add(key)

    @property
    def on_off_keys(self) -> set[str]:
        """Binary keys of on/off units (:meth:`register_on_off`)."""
        return set(self.on_off_roundings)

    def add_binaries(self, key: str, slots: Iterable[int]) -> list[int]:
        """Add ``key``'s binaries in ``slots`` (those it does not have yet) to the built model;
        returns the slots added."""
        new = sorted(set(slots) - self.binary_slots.get(key))
        if new:
            self.binary_slots = self.binary_slots.with_added(key, set(new))
            add = self.binary_adders.get(key)
            if add is not None:
                self._add_as(key, add, new)
        return new

    def _add_as(self, key: str, add: BinaryAdder, slots: list[int]) -> None:
        outer, self._adding_key = self._adding_key, key
        try:
            add(slots)
        finally:
            self._adding_key = outer

    def block(self, asset_name: str) -> pyo.Block:
        """The Pyomo block of the asset named ``asset_name`` (what an extension uses to reach
        an asset's variables, e.g. ``ctx.block("EV").charge_kw``)."""
        try:
            return self.blocks[asset_name]
        except KeyError:
            known = ", ".join(repr(name) for name in self.blocks) or "none"
            raise KeyError(
                f"no asset named {asset_name!r} in the model (assets: {known})"
            ) from None

    def add_flexible_load(self, asset_name: str, power_kw: Any, slots: tuple[int, ...]) -> None:
        """Declare a shiftable load's per-slot power variables [kW] for extensions."""
        self.flexible_loads.append(FlexibleLoad(asset_name, power_kw, slots))


ModelExtension = Callable[[ModelContext], None]
"""An analyst's hook: add constraints or objective terms to the model being built."""
