"""What every asset kind provides to the optimiser, so the planner loops over kinds, not names.

An asset kind (PV, battery, EV, heat pump, appliance) is one :class:`AssetKind` object, defined
at the end of its component module and listed once in :data:`optimiser.registry.ASSET_KINDS`.
The model builder, the planner's binary checks, the plan's replay and the rule-based fallback
all go through it, so a new kind is its module (spec, block, reader, simulator, rule) and one
registry line, plus its field on :class:`~optimiser.problem.Problem` (the public input).

A kind's *decision* is what a plan decides for one asset (powers per slot, a start slot); a
:class:`~optimiser.plan.Dispatch` holds the decisions per kind and asset name.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

import pyomo.environ as pyo

from optimiser.checks import FloatArray
from optimiser.context import ModelContext
from optimiser.results import AssetResult

if TYPE_CHECKING:
    from optimiser.problem import Problem


FLOW_TOL_KW = 1e-4
"""A power above this counts as flowing when a solution is checked [kW]."""


class NamedAsset(Protocol):
    """An asset spec: a frozen dataclass with a unique name (and a ``checked(grid, where)``
    validator that :class:`Problem` calls)."""

    @property
    def name(self) -> str: ...


AssetT = TypeVar("AssetT", bound=NamedAsset)
DecisionT = TypeVar("DecisionT")


class AssetKind(ABC, Generic[AssetT, DecisionT]):
    """One asset kind's parts. Binary hooks default to "no binaries" (PV, appliances).

    Attributes:
        field: the :class:`Problem` field holding the kind's assets (``"batteries"``).
        block_prefix: Pyomo block names are ``f"{block_prefix}_{i}"`` (internal: extensions
            find a block by the asset's name, :meth:`ModelContext.block`).
        fallback_stage: the rule-based plan decides lower stages first (generation, stage 1,
            sees the consumption of every stage-0 asset).
        needs_outdoor_temperature: a :class:`Problem` with such an asset must give the
            outdoor temperature; ``describe_one`` names one in that error ("a heat pump").
    """

    field: str
    block_prefix: str
    fallback_stage: int = 0
    needs_outdoor_temperature: bool = False
    describe_one: str = "an asset"

    @abstractmethod
    def assets(self, problem: Problem) -> tuple[AssetT, ...]:
        """The problem's assets of this kind, in order."""

    @abstractmethod
    def build(self, ctx: ModelContext, asset: AssetT, block_name: str) -> pyo.Block:
        """Add the asset's block, draw and cost terms to the model being built."""

    @abstractmethod
    def read(self, block: pyo.Block, n_steps: int) -> DecisionT:
        """The decision held by a solved block."""

    @abstractmethod
    def simulate(self, problem: Problem, asset: AssetT, decision: DecisionT | None) -> AssetResult:
        """Replay a decision (None: the dispatch has none, the asset idles) through the asset's
        own model: plan columns, costs, penalties and violations of its wishes."""

    @abstractmethod
    def rule_based(self, problem: Problem, asset: AssetT, load_kw: FloatArray) -> DecisionT:
        """The fallback's decision; adds the asset's draw to ``load_kw`` [kW] in place."""

    def generation_kw(self, asset: AssetT) -> FloatArray | None:
        """The most the asset can supply per slot [kW] (forecast generation), or None: the
        problem rejects a base load that the import limit and all generation cannot cover."""
        return None

    def initial_binaries(
        self, problem: Problem, asset: AssetT, storage_slots: set[int]
    ) -> dict[str, set[int]]:
        """Binary slots per key before the first solve; ``storage_slots`` are where charging
        and discharging at once could pay (free or paid import, DSR export and setpoints)."""
        return {}

    def failed_checks(
        self, problem: Problem, asset: AssetT, decision: DecisionT
    ) -> dict[str, set[int]]:
        """Slots per binary key where the decision does what a missing binary would forbid."""
        return {}

    def minimum_power_keys(self, asset: AssetT) -> set[str]:
        """Keys whose failures get binaries in every candidate slot at once (a sub-minimum
        remainder moves to the next slot when one slot gets a binary)."""
        return set()

    def candidate_slots(self, problem: Problem, asset: AssetT, key: str) -> set[int] | None:
        """Every slot where ``key``'s binary could exist, if ``key`` is this asset's and not
        every slot of the horizon; None otherwise."""
        return None
