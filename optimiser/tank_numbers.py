"""A persistent model's hot-water tank numbers: where a heat pump's tank sits, and pushing it.

A heat pump with a tank (:func:`optimiser.components.heat_pump._add_tank`) adds per slot the
tank's power ``W_t``, temperature ``τ_t`` and shortfall ``w_t``, and three rows: the tank's
step ``τ_t = a_w τ_{t-1} + (1-a_w) T_room + b_w (COP^w_t W_t / f_t - draw_t)``, its soft
minimum ``τ_t + w_t >= τmin`` and the unit's shared power ``P_t + W_t <= P̄ f_t``. What a
re-plan or another home's tank changes is numbers (:mod:`optimiser.model_shape` keeps only
that the tank exists):

=========================  ===============================================================
datum                      where it goes
=========================  ===============================================================
tank now, room, draw       the step rows' right-hand side ``a_w τ_0 + (1-a_w) T_room -
                           b_w draw_t`` (slot 0), ``(1-a_w) T_room - b_w draw_t`` (later)
tank COP, plan minute      the step rows' ``-b_w COP^w_t / f_t`` on ``W_t``
standby loss, capacity     ``-a_w`` on ``τ_{t-1}`` (``changeCoeff`` where it differs)
τmax, τmin                 the temperature columns' upper bound; the minimum rows' bound
unit's power               ``W_t``'s bound ``P̄`` (slot 0: ``P̄ f_0``), the shared rows' ``P̄ f_t``
=========================  ===============================================================

Values are computed as the build and the reader (:mod:`optimiser.translate`) compute them,
so the pushed model equals a fresh translation bit for bit
(``tests/optimiser/test_shared_models.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from optimiser.components.heat_pump_spec import HeatPump, HeatPumpInputs
from optimiser.hardware_numbers import Coefficients

_I32 = np.int32


@dataclass(frozen=True, slots=True)
class TankPlaces:
    """One tank's columns and rows in a built model."""

    power_cols: np.ndarray  # W_t
    temperature_cols: np.ndarray  # τ_t
    step_rows: np.ndarray
    low_rows: np.ndarray
    shared_rows: np.ndarray
    links: Coefficients  # each step row's -a_w on the slot before's temperature

    @classmethod
    def find(cls, block: Any, hp: HeatPump, inp: HeatPumpInputs, col: Any, row: Any) -> TankPlaces:
        """Locate them in ``block`` (the heat pump's); ``col`` and ``row`` map a Pyomo variable
        or constraint to its HiGHS index."""
        n = len(inp.running)
        step_rows = np.array([row(block.tank[t]) for t in range(n)], dtype=_I32)
        temperature = np.array([col(block.tank_c[t]) for t in range(n)], dtype=_I32)
        return cls(
            power_cols=np.array([col(block.tank_kw[t]) for t in range(n)], dtype=_I32),
            temperature_cols=temperature,
            step_rows=step_rows,
            low_rows=np.array([row(block.tank_low[t]) for t in range(n)], dtype=_I32),
            shared_rows=np.array([row(block.shared_power[t]) for t in range(n)], dtype=_I32),
            links=Coefficients(step_rows[1:], temperature[:-1], _links(inp, n)),
        )

    def push(self, highs: Any, hp: HeatPump, inp: HeatPumpInputs, check: Any) -> None:
        """Write the tank's numbers of ``hp`` (its problem's inputs ``inp``)."""
        tank = hp.tank
        assert tank is not None  # the shape holds that the tank exists
        n = len(self.step_rows)
        run = inp.running
        draw = np.broadcast_to(np.asarray(tank.draw_kw, dtype=np.float64), (n,))
        rhs = np.empty(n)
        for t in range(n):
            ts = inp.tank_step_at(t)
            assert ts is not None
            free = (1 - ts.a) * tank.room_temperature_c - ts.b_hours_per_kwh_k * float(draw[t])
            rhs[t] = ts.a * tank.initial_temperature_c + free if t == 0 else free
            heat_per_kw = float(inp.tank_cop[t]) / float(run[t])
            coef = -(ts.b_hours_per_kwh_k * heat_per_kw)
            check(highs.changeCoeff(int(self.step_rows[t]), int(self.power_cols[t]), coef))
        check(highs.changeRowsBounds(n, self.step_rows, rhs, rhs))
        self.links.push(highs, _links(inp, n), check)
        top = np.full(n, hp.max_power_kw)
        top[0] = hp.max_power_kw * run[0]
        check(highs.changeColsBounds(n, self.power_cols, np.zeros(n), top))
        hot = np.full(n, tank.max_temperature_c)
        check(highs.changeColsBounds(n, self.temperature_cols, np.full(n, -np.inf), hot))
        low = np.full(n, -tank.min_temperature_c)
        check(highs.changeRowsBounds(n, self.low_rows, np.full(n, -np.inf), low))
        shared = np.array([hp.max_power_kw * float(run[t]) for t in range(n)])
        check(highs.changeRowsBounds(n, self.shared_rows, np.full(n, -np.inf), shared))


def _links(inp: HeatPumpInputs, n: int) -> np.ndarray:
    """The step rows' ``-a_w`` on ``τ_{t-1}`` (slots 1 on), as the reader writes them."""
    step = inp.tank_step_at(1)
    assert step is not None
    return np.full(n - 1, -step.a)
