"""Errors for bad input shared by the packages (the time grid raises them, so does the
optimiser for every other field of a problem)."""

from __future__ import annotations


class ProblemError(ValueError):
    """An input is invalid. ``field`` names it, e.g. ``evs[0].departure`` or
    ``grid.step_minutes``."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
