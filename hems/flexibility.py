"""PAS 1878 flexibility information: the home's power profiles for the DSRSP.

Three profiles over the planning horizon, each a full plan of the same problem:

* **IO** (intended operation): the current plan;
* **LD** (least delayed): every flexible load (EV, heat pump, battery charging) as early as the
  consumer's wishes allow (:class:`optimiser.FlexibilityProfile`, ``Timing.EARLIEST``);
* **MD** (most delayed): as late as they allow (``Timing.LATEST``).

The wishes (EV target by departure, comfort band, battery reserve) hold in all three, so the
DSRSP sees the whole envelope it can move the home within. The OpenADR VEN sends them as an
``x-`` report (2.0b has no standard report for offers).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from optimiser import FlexibilityProfile, Plan, Timing

PROFILE_NAMES = {"intended": "IO", "least_delayed": "LD", "most_delayed": "MD"}


@dataclass(frozen=True, slots=True)
class FlexibilityProfiles:
    """Per-slot power [kW] of each profile: ``grid_kw`` and ``<device>.power_kw`` columns."""

    plan_id: int
    intended: pd.DataFrame
    least_delayed: pd.DataFrame
    most_delayed: pd.DataFrame


def profile_columns(plan: Plan | pd.DataFrame, devices: list[str]) -> pd.DataFrame:
    """The grid power and each device's power from a plan's schedule."""
    schedule = plan.schedule if isinstance(plan, Plan) else plan
    columns = ["grid_kw", *(f"{d}.power_kw" for d in devices if f"{d}.power_kw" in schedule)]
    return schedule[columns].copy()


def timing_extensions() -> dict[str, FlexibilityProfile]:
    return {
        "least_delayed": FlexibilityProfile(timing=Timing.EARLIEST),
        "most_delayed": FlexibilityProfile(timing=Timing.LATEST),
    }
