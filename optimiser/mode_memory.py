"""The modes a home's last plan chose, for its next plan to try first.

A rolling planner solves nearly the same problem every 30 minutes: the horizon moves on by one
slot and the forecasts change a little. The modes the last plan chose (import or export,
charge or discharge, a charger on or off) are therefore a good guess for the same slots in the
next plan. On days of negative prices, where a plan's ~90-binary MIP takes seconds, the modes
read from the LP relaxation's powers make a start ~0.8 GBP worse than the optimum, and HiGHS
spends most of its time finding better ones (``docs/performance.md``).

:class:`ModeMemory` keeps each mode binary's value by its binary key and the UTC start of its
slot. :func:`optimiser.planner.optimise` reads it before solving (the round solver fixes the
remembered modes first, the LP relaxation's for the slots it does not know, and starts
HiGHS's branch and bound from the better of the two fixings when neither is provably within
the gap) and rewrites it from the plan it returns. A memory never changes what is optimal:
it only chooses where the search starts. Keep one per home; a plan that fell back to the rule
-based plan clears it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyomo.environ as pyo

from optimiser.context import ModelContext


@dataclass(slots=True)
class ModeMemory:
    """Mode (0 or 1) per (binary key, slot start UTC) from a home's last plan."""

    modes: dict[tuple[str, datetime], float] = field(default_factory=dict)

    def hints(self, context: ModelContext) -> list[tuple[Any, float]]:
        """The built model's mode binaries that the memory knows a mode for, with that mode."""
        if not self.modes:
            return []
        grid = context.problem.grid
        out = []
        for mode in context.mode_binaries:
            if not mode.key or mode.slot is None:
                continue
            value = self.modes.get((mode.key, grid.slot_start(mode.slot)))
            if value is not None:
                out.append((mode.var, value))
        return out

    def remember(self, context: ModelContext) -> None:
        """Replace the memory with the modes of the solved model's binaries."""
        grid = context.problem.grid
        modes: dict[tuple[str, datetime], float] = {}
        for mode in context.mode_binaries:
            value = pyo.value(mode.var, exception=False)
            if mode.key and mode.slot is not None and value is not None:
                modes[(mode.key, grid.slot_start(mode.slot))] = float(round(value))
        self.modes = modes

    def clear(self) -> None:
        self.modes = {}
