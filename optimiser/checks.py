"""Input checks shared by the problem and its components. Each failure names the field."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from kernel.errors import ProblemError

FloatArray = npt.NDArray[np.float64]
SeriesLike = Sequence[float] | FloatArray | float


def series(
    field: str,
    values: SeriesLike,
    n_steps: int,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
) -> FloatArray:
    """A read-only float array of length ``n_steps``; a scalar is broadcast.

    Raises :class:`ProblemError` naming ``field`` on a wrong length, NaN/inf or a value
    outside ``[minimum, maximum]``.
    """
    if isinstance(values, int | float):
        arr = np.full(n_steps, float(values))
    else:
        try:
            arr = np.asarray(values, dtype=np.float64).copy()
        except (TypeError, ValueError) as exc:
            raise ProblemError(field, f"not a sequence of numbers ({exc})") from exc
        if arr.ndim != 1:
            raise ProblemError(field, f"must be one-dimensional, got shape {arr.shape}")
        if arr.shape[0] != n_steps:
            raise ProblemError(field, f"has {arr.shape[0]} values but the grid has {n_steps} slots")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ProblemError(field, f"has a missing or infinite value at slot {int(np.argmax(bad))}")
    if minimum is not None and (arr < minimum).any():
        t = int(np.argmax(arr < minimum))
        raise ProblemError(field, f"value {arr[t]:g} at slot {t} is below {minimum:g}")
    if maximum is not None and (arr > maximum).any():
        t = int(np.argmax(arr > maximum))
        raise ProblemError(field, f"value {arr[t]:g} at slot {t} is above {maximum:g}")
    arr.setflags(write=False)
    return arr


def number(
    field: str,
    value: float,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    strict_minimum: bool = False,
) -> float:
    """A finite float within bounds, or :class:`ProblemError` naming ``field``."""
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise ProblemError(field, f"not a number: {value!r}") from exc
    if not math.isfinite(v):
        raise ProblemError(field, f"must be finite, got {v}")
    if minimum is not None:
        if strict_minimum and v <= minimum:
            raise ProblemError(field, f"must be above {minimum:g}, got {v:g}")
        if v < minimum:
            raise ProblemError(field, f"must be at least {minimum:g}, got {v:g}")
    if maximum is not None and v > maximum:
        raise ProblemError(field, f"must be at most {maximum:g}, got {v:g}")
    return v


def fraction(field: str, value: float) -> float:
    """A number in [0, 1]."""
    return number(field, value, minimum=0.0, maximum=1.0)


def efficiency(field: str, value: float) -> float:
    """An efficiency in (0, 1]."""
    return number(field, value, minimum=0.0, maximum=1.0, strict_minimum=True)
