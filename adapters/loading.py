"""Helpers shared by the file loaders: local naive times to UTC across clock changes, and a
regular slot index with gaps and duplicates handled and reported.

Real exports are messy: a local-time file repeats 01:00-01:30 in October and skips 01:00-01:30 in
March; a meter misses readings; two exports overlap. The loaders never fix such things silently:
every change is counted in a :class:`FillReport`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kernel.timegrid import UK_TIMEZONE


@dataclass(frozen=True, slots=True)
class FillReport:
    """What a loader did to make a regular series.

    Attributes:
        rows_read: data rows in the file.
        duplicates_dropped: rows whose slot was already seen (the first is kept).
        nonexistent_dropped: local times that do not exist (spring clock change) and were dropped.
        unparsable_dropped: rows whose time or value could not be read.
        slots_filled: missing slots filled by interpolation (gaps up to ``max_gap_slots``).
        slots_missing: missing slots left NaN (longer gaps).
        filled_at: slot starts (UTC) of the filled slots.
    """

    rows_read: int
    duplicates_dropped: int
    nonexistent_dropped: int
    unparsable_dropped: int
    slots_filled: int
    slots_missing: int
    filled_at: pd.DatetimeIndex

    def summary(self) -> str:
        """One line for a log."""
        return (
            f"{self.rows_read} rows; dropped {self.duplicates_dropped} duplicate, "
            f"{self.nonexistent_dropped} nonexistent-local-time, {self.unparsable_dropped} "
            f"unparsable; filled {self.slots_filled} slot(s), {self.slots_missing} left missing"
        )


def localise_uk(naive: pd.Series) -> tuple[pd.Series, int]:
    """UK local naive timestamps (in file order) to UTC.

    Ambiguous autumn times (01:00-01:59 twice) are resolved by order: the first occurrence is
    BST, a repeat is GMT. Nonexistent spring times become NaT. Returns the UTC times and how many
    were nonexistent.
    """
    times = pd.to_datetime(naive, errors="coerce")
    # a repeat of an ambiguous wall-clock time in file order is the second (GMT) pass
    repeat = times.duplicated(keep="first").to_numpy()
    first_pass = times.dt.tz_localize(
        UK_TIMEZONE, ambiguous=np.ones(len(times), dtype=bool), nonexistent="NaT"
    )
    second_pass = times.dt.tz_localize(
        UK_TIMEZONE, ambiguous=np.zeros(len(times), dtype=bool), nonexistent="NaT"
    )
    local = first_pass.where(~repeat, second_pass)
    nonexistent = int((local.isna() & times.notna()).sum())
    return local.dt.tz_convert("UTC"), nonexistent


def regularise(
    times_utc: pd.Series,
    values: pd.Series,
    *,
    step_minutes: int = 30,
    max_gap_slots: int = 4,
    name: str,
    rows_read: int | None = None,
    nonexistent_dropped: int = 0,
) -> tuple[pd.Series, FillReport]:
    """A series on a regular ``step_minutes`` UTC index from irregular rows.

    Rows with an unreadable time or value are dropped; duplicate slots keep the first row; gaps up
    to ``max_gap_slots`` are filled by linear interpolation, longer gaps stay NaN.
    """
    rows = len(times_utc) if rows_read is None else rows_read
    numeric = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    times = pd.DatetimeIndex(times_utc)
    readable = ~(pd.isna(times) | np.isnan(numeric))
    unparsable = int((~readable).sum()) - nonexistent_dropped
    frame = pd.Series(numeric[readable], index=times[readable])
    duplicated = frame.index.duplicated(keep="first")
    frame = frame[~duplicated].sort_index()
    if frame.empty:
        empty = pd.DatetimeIndex([], tz="UTC", name="slot_start_utc")
        report = FillReport(
            rows, int(duplicated.sum()), nonexistent_dropped, unparsable, 0, 0, empty
        )
        return pd.Series([], index=empty, name=name, dtype=np.float64), report
    full = pd.date_range(
        frame.index[0], frame.index[-1], freq=f"{step_minutes}min", name="slot_start_utc"
    )
    aligned = frame.reindex(full)
    missing = aligned.isna()
    filled = aligned.interpolate(method="linear", limit=max_gap_slots, limit_area="inside")
    # interpolate fills the first max_gap_slots of a longer gap too: undo that
    run_id = (~missing).cumsum()
    run_length = missing.groupby(run_id).transform("sum")
    filled = filled.where(~(missing & (run_length > max_gap_slots)))
    filled_mask = missing & filled.notna()
    report = FillReport(
        rows_read=rows,
        duplicates_dropped=int(duplicated.sum()),
        nonexistent_dropped=nonexistent_dropped,
        unparsable_dropped=unparsable,
        slots_filled=int(filled_mask.sum()),
        slots_missing=int(filled.isna().sum()),
        filled_at=pd.DatetimeIndex(full[filled_mask.to_numpy()]),
    )
    return filled.rename(name), report
