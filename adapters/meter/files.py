"""Loader for half-hourly smart-meter CSV files.

Recognised layouts (by header):

* Octopus consumption exports: ``Consumption (kWh), Start, End`` (times with an offset);
* ``halfhour ending at, usage``-style files: one time column and one kWh column, the time
  marking the *end* of the half hour (rows may be newest first);
* any file, given ``time_column``, ``value_column`` and whether the time is the slot's start
  or end; naive times are UK local time.

The result is the energy of each half hour [kWh] indexed by the slot *start* (UTC), with gaps,
duplicates and clock-change rows handled and counted in the :class:`FillReport`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd

from adapters.errors import ParseError
from adapters.loading import FillReport, localise_uk, regularise

SOURCE = "smart meter csv"
NAME = "import_kwh"


def _times(raw: pd.Series) -> tuple[pd.Series, int]:
    sample = str(raw.dropna().iloc[0]) if raw.notna().any() else ""
    has_offset = sample.endswith("Z") or "+" in sample[10:] or sample[19:].startswith("-")
    if has_offset:
        return pd.to_datetime(raw, utc=True, errors="coerce"), 0
    return localise_uk(raw)


def read_smart_meter_csv(
    path: Path,
    *,
    time_column: str | None = None,
    value_column: str | None = None,
    time_marks: Literal["start", "end"] | None = None,
    step_minutes: int = 30,
    max_gap_slots: int = 4,
) -> tuple[pd.Series, FillReport]:
    """Energy per slot [kWh] named ``import_kwh``, indexed by slot start (UTC).

    Gaps up to ``max_gap_slots`` are interpolated (a meter that missed a reading); longer gaps
    stay NaN and are counted as missing.

    Raises:
        ParseError: the layout is not recognised, or no row is readable.
    """
    frame = pd.read_csv(path, skipinitialspace=True)
    frame.columns = [str(c).strip() for c in frame.columns]
    lower = {c.lower(): c for c in frame.columns}
    if time_column is None or value_column is None:
        if "start" in lower and any("consumption" in c for c in lower):
            time_column = lower["start"]
            value_column = next(lower[c] for c in lower if "consumption" in c)
            time_marks = time_marks or "start"
        elif len(frame.columns) == 2:
            time_column, value_column = frame.columns[0], frame.columns[1]
            marks_end = "end" in time_column.lower()
            time_marks = time_marks or ("end" if marks_end else "start")
        else:
            raise ParseError(SOURCE, f"{path}: unknown layout {list(frame.columns)}")
    times, nonexistent = _times(frame[time_column])
    if time_marks == "end":
        times = times - pd.Timedelta(minutes=step_minutes)
    series, report = regularise(
        times,
        frame[value_column],
        name=NAME,
        step_minutes=step_minutes,
        max_gap_slots=max_gap_slots,
        rows_read=len(frame),
        nonexistent_dropped=nonexistent,
    )
    if series.empty:
        raise ParseError(SOURCE, f"{path}: no readable row")
    return series, report
