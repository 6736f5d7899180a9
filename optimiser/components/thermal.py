"""First-order (1R1C) thermal models: the building and the hot-water tank.

Both are a single heat capacity ``C`` [kWh/K] losing heat through a conductance ``H`` [kW/K] to
an ambient temperature, heated by a heat flow ``Q`` [kW] held constant over a slot. The exact
solution over a slot of ``Δ`` hours is linear in the previous temperature and in ``Q``::

    T_t = a·T_{t-1} + (1 - a)·T_amb,t + b·Q_t,   a = exp(-H·Δ/C),   b = (1 - a)/H

(``b → Δ/C`` as ``H → 0``). Unlike an explicit Euler step it is stable for any step length,
so the same coefficients serve 5- and 60-minute grids. The optimiser writes this relation as a
constraint; :func:`simulate_first_order` replays it for a given heat flow (one model, two users).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from optimiser.checks import FloatArray


@dataclass(frozen=True, slots=True)
class FirstOrderStep:
    """Coefficients of one slot's exact step: ``T_t = a·T_{t-1} + (1-a)·T_amb + b·Q``."""

    a: float
    b_hours_per_kwh_k: float

    @classmethod
    def of(
        cls, conductance_kw_per_k: float, capacity_kwh_per_k: float, step_h: float
    ) -> FirstOrderStep:
        if conductance_kw_per_k <= 0:
            return cls(a=1.0, b_hours_per_kwh_k=step_h / capacity_kwh_per_k)
        a = math.exp(-conductance_kw_per_k * step_h / capacity_kwh_per_k)
        return cls(a=a, b_hours_per_kwh_k=(1.0 - a) / conductance_kw_per_k)


def simulate_first_order(
    step: FirstOrderStep,
    initial_temperature_c: float,
    ambient_temperature_c: FloatArray,
    heat_kw: FloatArray,
    first_step: FirstOrderStep | None = None,
) -> FloatArray:
    """Temperature at the end of each slot [°C] for a net heat flow per slot [kW];
    ``first_step`` for a first slot shorter than the others (a plan made inside it)."""
    out = np.empty(len(heat_kw))
    temp = initial_temperature_c
    for t in range(len(heat_kw)):
        s = first_step if t == 0 and first_step is not None else step
        temp = s.a * temp + (1 - s.a) * ambient_temperature_c[t] + s.b_hours_per_kwh_k * heat_kw[t]
        out[t] = temp
    return out


def heat_needed_kw(
    step: FirstOrderStep, previous_temperature_c: float, ambient_temperature_c: float, goal_c: float
) -> float:
    """Net heat flow [kW] that brings the temperature to ``goal_c`` by the end of the slot."""
    return (goal_c - step.a * previous_temperature_c - (1 - step.a) * ambient_temperature_c) / (
        step.b_hours_per_kwh_k
    )


WATER_HEAT_CAPACITY_KWH_PER_LITRE_K = 4.186 / 3600.0
"""Specific heat of water per litre [kWh/(L·K)]."""
