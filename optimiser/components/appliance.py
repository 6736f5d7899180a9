"""Deferrable appliance (washing machine, dishwasher): one contiguous run inside a window.

Maths: ``x_k`` = 1 when the run starts in slot ``k`` (binary, one per allowed start), ``q``
(>= 0) = "does not run"; ``Σ_k x_k + q = 1``; draw in slot t is ``Σ_k x_k · p_{t-k}`` where
``p_j`` is the power of the run's j-th slot [kW] (the last slot is partial when the run length is
not a whole number of slots). Not running costs ``π_skip·q`` (a soft wish).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
import pyomo.environ as pyo

from kernel.errors import ProblemError
from kernel.timegrid import TimeGrid
from optimiser.asset_kind import AssetKind
from optimiser.checks import FloatArray, number
from optimiser.context import ModelContext
from optimiser.results import AssetResult, Violation, Wish, local_day_hhmm, site_cause

if TYPE_CHECKING:
    from optimiser.problem import Problem


@dataclass(frozen=True, slots=True, kw_only=True)
class DeferrableAppliance:
    """An appliance cycle to place in a window.

    Attributes:
        name: unique asset name.
        power_kw: average power while running [kW].
        run_minutes: cycle length [min]; or give ``energy_kwh`` and it is derived.
        energy_kwh: energy of one cycle [kWh] (alternative to ``run_minutes``).
        earliest_start_utc: the run may not start before this.
        latest_end_utc: the run must have finished by this.
    """

    name: str = "Appliance"
    power_kw: float
    run_minutes: float | None = None
    energy_kwh: float | None = None
    earliest_start_utc: datetime
    latest_end_utc: datetime

    def checked(self, grid: TimeGrid, where: str) -> DeferrableAppliance:
        number(f"{where}.power_kw", self.power_kw, minimum=0, strict_minimum=True)
        if (self.run_minutes is None) == (self.energy_kwh is None):
            raise ProblemError(
                f"{where}.run_minutes", "give exactly one of run_minutes and energy_kwh"
            )
        if self.run_minutes is not None:
            number(f"{where}.run_minutes", self.run_minutes, minimum=0, strict_minimum=True)
        if self.energy_kwh is not None:
            number(f"{where}.energy_kwh", self.energy_kwh, minimum=0, strict_minimum=True)
        if self.latest_end_utc <= self.earliest_start_utc:
            raise ProblemError(f"{where}.latest_end_utc", "is not after earliest_start_utc")
        return self

    @property
    def run_hours(self) -> float:
        if self.run_minutes is not None:
            return self.run_minutes / 60.0
        assert self.energy_kwh is not None
        return self.energy_kwh / self.power_kw

    def run_profile_kw(self, grid: TimeGrid) -> FloatArray:
        """Power in each slot of a run [kW] (average over the slot)."""
        dt = grid.step_hours
        n = math.ceil(self.run_hours / dt - 1e-9)
        profile = np.full(n, self.power_kw)
        profile[-1] = self.power_kw * (self.run_hours - (n - 1) * dt) / dt
        return profile

    def allowed_starts(self, grid: TimeGrid) -> list[int]:
        """Slots where a run may start and end inside the window and the horizon."""
        dt = grid.step_hours
        first = math.ceil(grid.hours_from_start(self.earliest_start_utc) / dt - 1e-9)
        end_h = grid.hours_from_start(self.latest_end_utc)
        return [
            k
            for k in range(max(0, first), grid.n_steps)
            if k * dt + self.run_hours <= end_h + 1e-9
            and k + len(self.run_profile_kw(grid)) <= grid.n_steps
        ]


def add_appliance_block(
    ctx: ModelContext, app: DeferrableAppliance, block_name: str, skip_penalty_gbp: float
) -> pyo.Block:
    """One start binary per allowed start; registers the run's draw."""
    grid = ctx.problem.grid
    profile = app.run_profile_kw(grid)
    starts = app.allowed_starts(grid)
    b = pyo.Block()
    ctx.model.add_component(block_name, b)
    b.start = pyo.Var(starts, domain=pyo.Binary, doc="1 = the run starts in this slot")
    b.skip = pyo.Var(bounds=(0.0, 1.0), doc="1 = the appliance does not run")
    b.once = pyo.Constraint(expr=sum(b.start[k] for k in starts) + b.skip == 1)
    ctx.cost_terms.append(skip_penalty_gbp * b.skip)
    for k in starts:
        for j, p in enumerate(profile):
            ctx.add_consumption(k + j, float(p) * b.start[k])
    return b


def read_appliance_start(block: pyo.Block) -> int | None:
    """The slot where the run starts, or None if it does not run."""
    for k in block.start:
        if pyo.value(block.start[k]) > 0.5:
            return int(k)
    return None


def simulate_appliance(
    app: DeferrableAppliance, grid: TimeGrid, start_slot: int | None, skip_penalty_gbp: float
) -> AssetResult:
    """Draw per slot and the "did not run" violation."""
    draw = np.zeros(grid.n_steps)
    result = AssetResult(draw_kw=draw)
    if start_slot is not None:
        profile = app.run_profile_kw(grid)
        draw[start_slot : start_slot + len(profile)] = profile[: grid.n_steps - start_slot]
    else:
        result.penalty_gbp = skip_penalty_gbp
        starts = app.allowed_starts(grid)
        last = min(grid.n_steps, max(starts, default=0) + len(app.run_profile_kw(grid))) - 1
        why = (
            site_cause(min(starts), last)
            if starts
            else f"its {app.run_hours:.1f} h cycle does not fit between "
            f"{local_day_hhmm(app.earliest_start_utc)} and {local_day_hhmm(app.latest_end_utc)}"
            " inside the plan"
        )
        result.violations.append(
            Violation(
                wish=Wish.APPLIANCE_RUN,
                asset=app.name,
                amount=app.power_kw * app.run_hours,
                unit="kWh",
                message=f"{app.name} cannot run: {why}.",
                start_utc=app.earliest_start_utc,
                end_utc=app.latest_end_utc,
            )
        )
    result.columns = {f"{app.name}.power_kw": draw}
    return result


class ApplianceKind(AssetKind[DeferrableAppliance, "int | None"]):
    """Deferrable appliances (:mod:`optimiser.asset_kind`); the decision is the start slot
    (None: it does not run). The fallback starts each at its earliest allowed slot."""

    field = "appliances"
    block_prefix = "appliance"

    def assets(self, problem: Problem) -> tuple[DeferrableAppliance, ...]:
        return problem.appliances

    def build(self, ctx: ModelContext, asset: DeferrableAppliance, block_name: str) -> pyo.Block:
        return add_appliance_block(ctx, asset, block_name, ctx.problem.penalties.appliance_skip_gbp)

    def read(self, block: pyo.Block, n_steps: int) -> int | None:
        return read_appliance_start(block)

    def simulate(
        self, problem: Problem, asset: DeferrableAppliance, decision: int | None
    ) -> AssetResult:
        penalty = problem.penalties.appliance_skip_gbp
        return simulate_appliance(asset, problem.grid, decision, penalty)

    def rule_based(
        self, problem: Problem, asset: DeferrableAppliance, load_kw: FloatArray
    ) -> int | None:
        starts = asset.allowed_starts(problem.grid)
        start = starts[0] if starts else None
        if start is not None:
            profile = asset.run_profile_kw(problem.grid)
            load_kw[start : start + len(profile)] += profile
        return start


APPLIANCES = ApplianceKind()
