"""Errors the optimiser raises for bad input. The solver never raises for a wish it cannot meet."""

from __future__ import annotations


class ProblemError(ValueError):
    """An input to the optimiser is invalid. ``field`` names it, e.g. ``evs[0].departure``."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
