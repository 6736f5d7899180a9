"""A float input field that must be a finite number, for the request models whose ``gt``/``le``
bounds let Infinity through (NaN and Infinity are not quantities: the planner would carry them
into its model)."""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import AfterValidator


def finite(value: float) -> float:
    """``value`` unchanged; a ValueError (a 422 naming the field) if it is NaN or infinite."""
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


FiniteFloat = Annotated[float, AfterValidator(finite)]
