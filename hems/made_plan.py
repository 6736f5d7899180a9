"""The plan a home's controller just made, kept in memory with its schedule as the store keeps
it: the dispatch and the answer to a DSR event read it, so a plan is not loaded back from the
store's JSON to be sent or answered (one pass per trigger)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from optimiser import Plan

if TYPE_CHECKING:
    from hems.storage.store import Store


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


def latest_schedule(store: Store, home_id: int, made: MadePlan | None) -> pd.DataFrame | None:
    """The schedule of the home's latest plan as stored (None: never planned): the one the
    controller made (``made``) when it is still the latest, else read back (parsing a plan's
    JSON for each re-plan's DSR baseline was a fifth of the fleet benchmark's store time)."""
    if made is not None and made.id == store.latest_plan_id(home_id):
        return made.schedule
    stored = store.latest_plan(home_id)
    return None if stored is None else stored.schedule
