"""PV array: forecast generation that the plan may curtail.

Maths (per slot t, step Δ [h]):

=========  ==========================================  ========
symbol     meaning                                      unit
=========  ==========================================  ========
g_t        generation used (decision)                   kW
G_t        forecast generation (input)                  kW
=========  ==========================================  ========

``0 <= g_t <= G_t``; the array's draw on the home's bus is ``-g_t`` (generation is negative in
the project's sign convention). Curtailment ``G_t - g_t`` is free: it is what the plan does at a
negative export price or when the export limit binds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyomo.environ as pyo

from kernel.timegrid import TimeGrid
from optimiser.asset_kind import AssetKind
from optimiser.checks import FloatArray, SeriesLike, series
from optimiser.context import ModelContext
from optimiser.results import AssetResult
from optimiser.var_values import slot_values

if TYPE_CHECKING:
    from optimiser.problem import Problem


@dataclass(frozen=True, slots=True, kw_only=True)
class PvArray:
    """A PV array with its generation forecast.

    Attributes:
        name: unique asset name.
        forecast_kw: forecast AC generation per slot [kW], >= 0 (scalar broadcast).
    """

    name: str = "PV"
    forecast_kw: SeriesLike

    def checked(self, grid: TimeGrid, where: str) -> PvArray:
        return PvArray(
            name=self.name,
            forecast_kw=series(f"{where}.forecast_kw", self.forecast_kw, grid.n_steps, minimum=0),
        )

    @property
    def forecast(self) -> FloatArray:
        return np.asarray(self.forecast_kw, dtype=np.float64)


MIN_GENERATION_KW = 1e-6
"""Forecast generation below this is taken as none [kW]."""


def add_pv_block(ctx: ModelContext, pv: PvArray, block_name: str) -> pyo.Block:
    """Generation variables bounded by the forecast; registers ``g_t`` as supply to the bus."""
    # below a milliwatt is no generation: such bounds (1e-16 kW at sunrise) are noise that
    # HiGHS warns about as excessively small
    forecast = np.where(pv.forecast < MIN_GENERATION_KW, 0.0, pv.forecast)
    b = pyo.Block()
    ctx.model.add_component(block_name, b)
    b.gen_kw = pyo.Var(ctx.time_set, bounds=lambda _b, t: (0.0, float(forecast[t])))
    for t in range(ctx.n_steps):
        ctx.add_supply(t, b.gen_kw[t])
        ctx.generation_terms_kw[t].append(b.gen_kw[t])
    return b


def read_pv_dispatch(block: pyo.Block, n_steps: int) -> FloatArray:
    """Generation used per slot [kW] from a solved block."""
    return slot_values(block.gen_kw, n_steps)


def simulate_pv(pv: PvArray, generation_kw: FloatArray) -> AssetResult:
    """Columns and draw for a PV dispatch (generation used per slot [kW])."""
    gen = np.clip(generation_kw, 0.0, pv.forecast)
    return AssetResult(
        draw_kw=-gen,
        columns={
            f"{pv.name}.power_kw": -gen,
            f"{pv.name}.available_kw": pv.forecast,
            f"{pv.name}.curtailed_kw": pv.forecast - gen,
        },
    )


class PvKind(AssetKind[PvArray, FloatArray]):
    """PV arrays (:mod:`optimiser.asset_kind`); the decision is the generation used [kW]. The
    fallback uses all of it unless the export limit forces curtailment, so it runs after the
    consuming kinds (stage 1)."""

    field = "pv"
    block_prefix = "pv"
    fallback_stage = 1

    def assets(self, problem: Problem) -> tuple[PvArray, ...]:
        return problem.pv

    def build(self, ctx: ModelContext, asset: PvArray, block_name: str) -> pyo.Block:
        return add_pv_block(ctx, asset, block_name)

    def read(self, block: pyo.Block, n_steps: int) -> FloatArray:
        return read_pv_dispatch(block, n_steps)

    def simulate(
        self, problem: Problem, asset: PvArray, decision: FloatArray | None
    ) -> AssetResult:
        result = simulate_pv(asset, asset.forecast if decision is None else decision)
        curtailed_kw = result.columns[f"{asset.name}.curtailed_kw"]
        result.curtailed_kwh = problem.grid.step_hours * float(curtailed_kw.sum())
        return result

    def generation_kw(self, asset: PvArray) -> FloatArray:
        return asset.forecast

    def rule_based(self, problem: Problem, asset: PvArray, load_kw: FloatArray) -> FloatArray:
        room_kw = load_kw + problem.export_limit_kw  # PV beyond this would break the limit
        used = np.minimum(asset.forecast, np.clip(room_kw, 0.0, None))
        load_kw -= used
        return used


PV_ARRAYS = PvKind()
