"""DSR events in the service: the VEN's decision hook (opt in or out) and the mapping from an
event to the optimiser's soft constraints.

An event the home opted into becomes a :class:`~optimiser.DsrRequest` over its active period.
The kinds (how an OpenADR signal arrives here) are :class:`kernel.DsrKind`:
LOAD_DISPATCH setpoint -> ``setpoint``; LOAD_DISPATCH delta -> ``reduction`` from the home's
intended plan; an import limit -> ``import_cap``; SIMPLE levels map to import caps
(:data:`SIMPLE_LEVEL_IMPORT_CAP_KW`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from hems.domain.preferences import OverrideKind, Preferences
from hems.storage.store import ActiveOverride, StoredEvent
from kernel.dsr import DsrKind, OptType
from kernel.timegrid import TimeGrid
from optimiser import DsrRequest

UK = ZoneInfo("Europe/London")
CONSUMER_OPT_OUT = "the consumer opted out"
"""The reason recorded when the consumer opts out of an event: it holds for later
modifications of the event too."""

SIMPLE_LEVEL_IMPORT_CAP_KW = {1: 7.0, 2: 3.5, 3: 1.0}
"""SIMPLE signal level -> import cap [kW] (level 0 = normal operation, no cap). Documented
choice: PAS 1878 does not fix the meaning of the levels."""


def participation(
    event: StoredEvent, prefs: Preferences, overrides: Sequence[ActiveOverride]
) -> tuple[OptType, str]:
    """optIn or optOut, and why, from the consumer's consent, opt-out windows and overrides."""
    if not prefs.dsr_consent:
        return OptType.OPT_OUT, "the consumer has not consented to DSR"
    for o in overrides:
        if o.kind is OverrideKind.OPT_OUT_EVENT and o.target == event.event_id:
            return OptType.OPT_OUT, "the consumer opted out of this event"
    for window in prefs.dsr_opt_out_windows:
        if _overlaps_daily_window(event.start, event.end, window.start, window.end):
            return (
                OptType.OPT_OUT,
                f"inside the consumer's opt-out window {window.start}-{window.end}",
            )
    return OptType.OPT_IN, "consent given"


def base_event_id(stored_event_id: str) -> str:
    """The VTN's event id of a stored event or event part (``X/1`` -> ``X``)."""
    return stored_event_id.split("/", 1)[0]


def _overlaps_daily_window(start: datetime, end: datetime, w_start: time, w_end: time) -> bool:
    step = 15 * 60
    t = start.timestamp()
    while t < end.timestamp():
        local = datetime.fromtimestamp(t, UK).time()
        inside = w_start <= local < w_end if w_start < w_end else local >= w_start or local < w_end
        if inside:
            return True
        t += step
    return False


def active_requests(
    events: Sequence[StoredEvent], grid: TimeGrid, baseline_kw: np.ndarray
) -> list[DsrRequest]:
    """DSR requests for the events the home opted into that overlap ``grid``."""
    out = []
    for e in events:
        if e.response != OptType.OPT_IN or e.status == "cancelled":
            continue
        if e.end <= grid.start_utc or e.start >= grid.end_utc:
            continue
        kind = DsrKind(e.kind)
        out.append(
            DsrRequest(
                kind=kind,
                start_utc=e.start,
                end_utc=e.end,
                value_kw=e.value_kw,
                baseline_kw=baseline_kw if kind is DsrKind.REDUCTION else None,
                event_id=e.event_id,
            )
        )
    return out


def is_active_response(events: Sequence[StoredEvent], now: datetime) -> bool:
    """True while an event the home opted into is running (no randomised delay then)."""
    return any(
        e.response == OptType.OPT_IN and e.status != "cancelled" and e.start <= now < e.end
        for e in events
    )


def intended_grid_kw(
    previous: pd.DataFrame | None, grid: TimeGrid, fallback_kw: np.ndarray
) -> np.ndarray:
    """The home's intended grid power per slot [kW]: the previous plan's schedule where it
    covers the grid, the base-load forecast elsewhere (the baseline of a REDUCTION request)."""
    out = fallback_kw.astype(float).copy()
    if previous is None or "grid_kw" not in previous.columns:
        return out
    known = previous["grid_kw"].reindex(grid.index)
    mask = known.notna().to_numpy()
    out[mask] = known.to_numpy()[mask]
    return out
