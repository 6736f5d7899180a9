"""The plan a home's controller just made, kept in memory with its schedule as the store keeps
it: the dispatch and the answer to a DSR event read it, so a plan is not loaded back from the
store's JSON to be sent or answered (one pass per trigger)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from optimiser import Plan


@dataclass(frozen=True, slots=True)
class MadePlan:
    """The plan this controller made last, as it was stored: what its dispatch and the answer
    to a DSR event read, instead of loading the plan back from the store's JSON.

    Attributes:
        id: the stored plan's id.
        plan: the optimiser's plan (typed violations, totals, solver report).
        schedule: the schedule as stored (:func:`as_stored`), so the dispatch decides from
            exactly what a restarted service would read back.
    """

    id: int
    plan: Plan
    schedule: pd.DataFrame


def as_stored(schedule: pd.DataFrame) -> pd.DataFrame:
    """The schedule as the store gives it back (:meth:`Store.save_plan` keeps six decimals and
    the values per row; the index is named ``slot_start``), built in memory."""
    iso = [t.isoformat() for t in schedule.index]  # the stored form: the same resolution back
    index = pd.DatetimeIndex(pd.to_datetime(iso, utc=True), name="slot_start")
    rows = schedule.round(6).to_numpy().tolist()
    return pd.DataFrame(rows, index=index, columns=list(schedule.columns))
