"""Loaders for Agile price CSV files, as people export or collect them.

Recognised layouts (by header):

* ``timestamp, rate``: slot start with a UTC offset, p/kWh (collected Agile history, e.g. the
  2019-2020 files in ``../shared/data/agile``);
* ``Date_Time, <anything> (p/kWh)``: slot start in UK local naive time, p/kWh (the Agile
  Outgoing history in the 3YP repository), with the clock-change duplicates and gaps such files
  have;
* Octopus-style exports with ``valid_from`` (or ``Valid From``) and ``value_inc_vat`` columns.

Every loader returns the series in GBP/kWh on a regular 30-minute UTC index plus a
:class:`~adapters.loading.FillReport`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from adapters.errors import ParseError
from adapters.loading import FillReport, localise_uk, regularise

SOURCE = "agile csv"


def read_agile_csv(
    path: Path,
    *,
    name: str = "import_price_gbp_per_kwh",
    max_gap_slots: int = 4,
) -> tuple[pd.Series, FillReport]:
    """Agile unit rates from ``path`` [GBP/kWh] on a 30-minute UTC slot-start index.

    Raises:
        ParseError: the header matches none of the known layouts, or no row is readable.
    """
    frame = pd.read_csv(path)
    columns = {c.strip().lower(): c for c in frame.columns}
    nonexistent = 0
    if "timestamp" in columns and "rate" in columns:
        times = pd.to_datetime(frame[columns["timestamp"]], utc=True, errors="coerce")
        pence = frame[columns["rate"]]
    elif "date_time" in columns and len(frame.columns) >= 2:
        times, nonexistent = localise_uk(frame[columns["date_time"]])
        pence = frame[frame.columns[1]]
    elif ("valid_from" in columns or "valid from" in columns) and "value_inc_vat" in columns:
        start = columns.get("valid_from") or columns["valid from"]
        times = pd.to_datetime(frame[start], utc=True, errors="coerce")
        pence = frame[columns["value_inc_vat"]]
    else:
        raise ParseError(SOURCE, f"{path}: unknown layout {list(frame.columns)}")
    gbp = pd.to_numeric(pence, errors="coerce") / 100.0
    series, report = regularise(
        times,
        gbp,
        name=name,
        max_gap_slots=max_gap_slots,
        rows_read=len(frame),
        nonexistent_dropped=nonexistent,
    )
    if series.empty:
        raise ParseError(SOURCE, f"{path}: no readable row")
    return series, report
