"""Sharing a cohort import limit in one slot among its homes: max-min fair ("water-filling").

Each home ``h`` has a floor ``f_h`` (the import it cannot avoid: its base load net of its PV)
and a want ``w_h`` (its planned import there, or unbounded for a home held at its share and
asking for more). Its share is ``clip(level, f_h, max(w_h, f_h))`` with the one ``level`` at
which the shares add up to the limit ``L``: a home that wants less than the level keeps what
it wants and the rest is split evenly among the others. When the floors alone exceed ``L``
the limit cannot hold there and every home gets its floor (the slot is reported); when the
wants add up to less than ``L`` the spare is split evenly on top of them.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

_BISECTIONS = 60


def fair_shares(limit_kw: float, floors_kw: FloatArray, wants_kw: FloatArray) -> FloatArray:
    """Each home's share of ``limit_kw`` [kW] in one slot (see the module); ``wants_kw`` may
    hold ``inf``. The shares add up to ``limit_kw`` (to 1e-9 kW) unless the floors exceed it."""
    floors = np.clip(np.asarray(floors_kw, dtype=np.float64), 0.0, None)
    wants = np.maximum(np.asarray(wants_kw, dtype=np.float64), floors)
    if floors.size == 0:
        return floors
    if floors.sum() >= limit_kw:
        return floors
    if np.isfinite(wants).all() and wants.sum() <= limit_kw:
        return np.asarray(wants + (limit_kw - wants.sum()) / wants.size, dtype=np.float64)
    low, high = 0.0, float(limit_kw)
    for _ in range(_BISECTIONS):  # sum(clip(level, f, w)) grows with the level
        level = 0.5 * (low + high)
        if np.clip(level, floors, wants).sum() > limit_kw:
            high = level
        else:
            low = level
    shares = np.clip(low, floors, wants)
    # the bisection leaves up to 2^-60 L unshared: give it to the homes held at the level
    held = shares < wants
    if held.any():
        shares[held] += (limit_kw - shares.sum()) / int(held.sum())
    return np.asarray(shares, dtype=np.float64)
