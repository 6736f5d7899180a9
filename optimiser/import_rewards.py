"""Rewarded import reductions: a consumer DSR scheme's session (Octopus Saving Sessions, the
ESO's Demand Flexibility Service) pays ``r`` per kWh the home imports *below a baseline*
``b_t`` in the session's half-hours, per half-hour: ``r · max(0, b_t - i_t) · Δt``.

That reward is convex in the import, so as a cost (its negative) it is concave and would need
a binary per slot. The plan prices it linearly instead: every kWh imported in a session slot
costs ``r`` more (``Problem.effective_import_price``; the constant ``r · b_t`` left out). The
two agree wherever the plan imports no more than the baseline, which is what the reward
asks; above it the plan values a kWh saved at ``r`` where the scheme pays nothing (it still
pays the import price), so the plan is, if anything, keener to shift load out of the session.
The plan's totals report the reward the scheme would pay for the planned import
(``Totals.import_reward_gbp``, exact: per slot, below the baseline only) and count the
linear term in ``objective_gbp`` (``import_reward_price_gbp``), so the objective is the
solver's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from kernel.errors import ProblemError
from kernel.timegrid import TimeGrid
from optimiser.checks import FloatArray, SeriesLike, number, series


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportReward:
    """A session over ``[start_utc, end_utc)`` paying ``reward_gbp_per_kwh`` for each kWh of
    import below ``baseline_kw`` (per slot of the plan's grid [kW], scalar or series)."""

    start_utc: datetime
    end_utc: datetime
    reward_gbp_per_kwh: float
    baseline_kw: SeriesLike = 0.0
    session_id: str = "session"

    def checked(self, grid: TimeGrid, where: str) -> ImportReward:
        if self.start_utc.tzinfo is None or self.end_utc.tzinfo is None:
            raise ProblemError(f"{where}.start_utc", "times must be timezone-aware")
        if self.end_utc <= self.start_utc:
            raise ProblemError(f"{where}.end_utc", "is not after start_utc")
        number(f"{where}.reward_gbp_per_kwh", self.reward_gbp_per_kwh, minimum=0)
        return ImportReward(
            start_utc=self.start_utc,
            end_utc=self.end_utc,
            reward_gbp_per_kwh=float(self.reward_gbp_per_kwh),
            baseline_kw=series(f"{where}.baseline_kw", self.baseline_kw, grid.n_steps, minimum=0),
            session_id=self.session_id,
        )

    def price_gbp_per_kwh(self, grid: TimeGrid) -> FloatArray:
        """The reward per kWh imported in each slot, by the share of the slot in the session."""
        return self.reward_gbp_per_kwh * np.asarray(
            grid.overlap_fractions(self.start_utc, self.end_utc)
        )

    def reward_gbp(self, grid: TimeGrid, import_kw: FloatArray) -> float:
        """What the scheme pays for ``import_kw`` per slot [GBP]: below the baseline only."""
        below = np.maximum(0.0, np.asarray(self.baseline_kw, dtype=float) - import_kw)
        return float(grid.step_hours * (self.price_gbp_per_kwh(grid) * below).sum())


def reward_price_gbp_per_kwh(rewards: Sequence[ImportReward], grid: TimeGrid) -> FloatArray:
    """The sessions' reward per kWh imported, per slot [GBP/kWh] (0 outside every session)."""
    out = np.zeros(grid.n_steps)
    for reward in rewards:
        out += reward.price_gbp_per_kwh(grid)
    return out
