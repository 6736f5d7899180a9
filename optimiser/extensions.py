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

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from optimiser.context import ModelContext


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
