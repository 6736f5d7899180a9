"""Ready-made model extensions (the ``extensions=`` hook of :func:`optimiser.optimise`).

An extension is any callable taking the :class:`~optimiser.context.ModelContext`; it runs after
the asset blocks and before the objective is written, and may add constraints to ``ctx.model``
and terms [GBP] to ``ctx.cost_terms``. Analysts write their own the same way::

    def no_ev_before_midnight(ctx):
        ev = ctx.block("EV")  # the asset's name, as in the Problem
        for t in ev.charge_kw:
            if t < 8:
                ev.charge_kw[t].fix(0.0)

The flexibility profiles that PAS 1878 asks a CEM to offer (least delayed, most delayed) are
plans in which the flexible loads run as early or as late as the consumer's wishes allow:
:class:`FlexibilityProfile` adds a time-weighted cost that dominates prices but stays below the
penalties on the wishes, so the wishes still hold.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np

from optimiser.context import ModelContext
from optimiser.flexible_power import flexible_power_kw
from optimiser.plan import Dispatch


@runtime_checkable
class ReplayedExtension(Protocol):
    """An extension whose cost terms can be recomputed from a plan's dispatch, so the planner's
    check of the solver's objective against the replayed cost covers plans that use it."""

    def replayed_cost_gbp(self, dispatch: Dispatch, step_h: float) -> float:
        """The terms [GBP] the extension added to the objective, for ``dispatch``."""
        ...


def replayed_extensions_cost_gbp(
    extensions: Sequence[object], dispatch: Dispatch, step_h: float
) -> float | None:
    """The sum of the extensions' replayed terms [GBP]; None when one cannot be replayed (an
    analyst's callable), and the planner then skips the check."""
    total = 0.0
    for extension in extensions:
        if not isinstance(extension, ReplayedExtension):
            return None
        total += extension.replayed_cost_gbp(dispatch, step_h)
    return total


class Timing(StrEnum):
    EARLIEST = "earliest"  # PAS 1878 "least delayed"
    LATEST = "latest"  # PAS 1878 "most delayed"


@dataclass(frozen=True, slots=True)
class FlexibilityProfile:
    """Push flexible loads as early (or late) as possible.

    Attributes:
        timing: earliest or latest.
        weight_gbp_per_kwh_per_hour: cost of each kWh per hour of delay (or advance); the default
            outweighs any price difference over a day but not a missed wish.
        assets: names of the loads to move; empty = every flexible load.
    """

    timing: Timing
    weight_gbp_per_kwh_per_hour: float = 0.05
    assets: Collection[str] = ()

    def __call__(self, ctx: ModelContext) -> None:
        dt = ctx.step_h
        horizon_h = dt * ctx.n_steps
        for load in ctx.flexible_loads:
            if self.assets and load.asset_name not in self.assets:
                continue
            for t in load.slots:
                hours = t * dt if self.timing is Timing.EARLIEST else horizon_h - t * dt
                ctx.cost_terms.append(
                    self.weight_gbp_per_kwh_per_hour * hours * dt * load.power_kw[t]
                )

    def replayed_cost_gbp(self, dispatch: Dispatch, step_h: float) -> float:
        """The delay (or advance) cost [GBP] of ``dispatch``'s flexible loads."""
        total = 0.0
        for name in {name for by_name in dispatch.by_kind.values() for name in by_name}:
            power = flexible_power_kw(dispatch, name)
            if power is None or (self.assets and name not in self.assets):
                continue
            n = len(power)
            slot = np.arange(n)
            hours = slot * step_h if self.timing is Timing.EARLIEST else (n - slot) * step_h
            total += float(np.dot(hours, power))
        return self.weight_gbp_per_kwh_per_hour * step_h * total


@dataclass(frozen=True, slots=True)
class SlotPenalty:
    """A cost per kWh on the named assets' flexible loads in the given slots (the service's
    peak hours for EV chargers, ``hems.problem_builder.PeakHoursRule``).

    Its effect is column costs alone, so a persistent model (:mod:`optimiser.model_cache`)
    keeps it as numbers: the shape holds its assets and its cost (:attr:`shape_part`), a
    re-plan writes each slot's cost anew (:mod:`optimiser.model_numbers`). A rule on clock
    hours, whose slots move with the grid at every re-plan, then keeps the home's model.

    Attributes:
        slots: the slots charged.
        assets: the assets whose flexible loads pay it.
        gbp_per_kwh: the cost [GBP/kWh].
    """

    keeps_model_shape: ClassVar[bool] = True
    slots: tuple[int, ...]
    assets: Collection[str]
    gbp_per_kwh: float = 1.0

    def __post_init__(self) -> None:  # hashable: part of a kept model's shape
        object.__setattr__(self, "slots", tuple(self.slots))
        object.__setattr__(self, "assets", frozenset(self.assets))

    @property
    def shape_part(self) -> Hashable:
        """What of it decides a model's structure: not its slots, which are numbers."""
        return (type(self).__name__, self.assets, self.gbp_per_kwh)

    def __call__(self, ctx: ModelContext) -> None:
        dt = ctx.step_h
        chosen = set(self.slots)
        for load in ctx.flexible_loads:
            if load.asset_name in self.assets:
                for t in load.slots:
                    if t in chosen:
                        ctx.cost_terms.append(self.gbp_per_kwh * dt * load.power_kw[t])

    def replayed_cost_gbp(self, dispatch: Dispatch, step_h: float) -> float:
        """The penalty [GBP] ``dispatch`` pays: its assets' flexible power in the slots."""
        total = 0.0
        for name in self.assets:
            power = flexible_power_kw(dispatch, name)
            if power is not None:
                total += sum(float(power[t]) for t in set(self.slots) if 0 <= t < len(power))
        return self.gbp_per_kwh * step_h * total
