"""Which period a backtest on real data can run over: the dates a data folder covers.

``hems backtest --data DIR`` (or ``$HEMS_DATA_DIR``) without ``--start`` starts
:data:`HISTORY_DAYS` days into the data (the forecasters need a few days of history: the price
forecast past Agile's publication learns from the days before), and a period outside the data
is refused with the dates the data cover, instead of a loader's "no value for 192 slot(s)".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from adapters.meter.files import read_smart_meter_csv
from hems.backtest.data import (
    HOUSEHOLD,
    _file,
    data_dir,
    load_agile_import,
    load_carbon_intensity,
    load_era5_temperature,
)

HISTORY_DAYS = 5
"""Days of data before the default start: the forecasters' history (a backtest that starts on
the data's first day cannot forecast the prices past their publication)."""
LOAD_SHIFT = timedelta(days=364)
"""The household load before its file's start takes the same slot 52 weeks later
(:func:`hems.backtest.data.load_household_kwh`), so it covers 364 days earlier too."""


@dataclass(frozen=True, slots=True)
class DataCoverage:
    """The slots every series of a data folder has: ``[first_utc, end_utc)``, and from
    ``measured_first_utc`` on without the household load taken from a year later (a backtest
    before it needs ``--allow-fill``)."""

    folder: Path
    first_utc: datetime
    end_utc: datetime
    measured_first_utc: datetime

    @property
    def default_start_utc(self) -> datetime:
        """The first UTC midnight :data:`HISTORY_DAYS` days after the first slot every series
        has measured (so the default period needs no ``--allow-fill`` for the load)."""
        first = self.measured_first_utc.astimezone(UTC)
        midnight = datetime(first.year, first.month, first.day, tzinfo=UTC)
        if midnight < first:
            midnight += timedelta(days=1)
        return midnight + timedelta(days=HISTORY_DAYS)

    def describe(self) -> str:
        """The covered dates in words, e.g. ``2020-01-01 to 2020-12-31 (UTC)``."""
        last = self.end_utc - timedelta(minutes=30)
        return f"{self.first_utc:%Y-%m-%d} to {last:%Y-%m-%d} (UTC)"

    def refusal(self, start_utc: datetime, days: int) -> str | None:
        """Why the period of ``days`` days from ``start_utc`` cannot run on this data (None if
        it can)."""
        end_utc = start_utc + timedelta(days=days)
        if self.first_utc <= start_utc and end_utc <= self.end_utc:
            return None
        return (
            f"the period {start_utc:%Y-%m-%d %H:%M} + {days} d is outside the data in "
            f"{self.folder}, which cover {self.describe()}; choose --start within them "
            f"(without --start: {self.default_start_utc:%Y-%m-%d}, {HISTORY_DAYS} days in)"
        )


def _span(values: pd.Series | pd.DataFrame) -> tuple[datetime, datetime]:
    """The first slot with a value and the end of the last one."""
    has_value = values.notna()
    if isinstance(has_value, pd.DataFrame):
        has_value = has_value.any(axis=1)
    known = pd.DatetimeIndex(values.index)[has_value.to_numpy(dtype=bool)]
    if known.empty:
        return datetime.max.replace(tzinfo=UTC), datetime.min.replace(tzinfo=UTC)
    return known[0].to_pydatetime(), known[-1].to_pydatetime() + timedelta(minutes=30)


def data_coverage(folder: str | Path | None) -> DataCoverage:
    """The slots that the import prices, carbon intensity, outdoor temperature and household
    load of ``folder`` (or ``$HEMS_DATA_DIR``) all have (PV is moved to any year by date).

    Raises:
        DataMissingError: the folder or one of its files is missing.
    """
    root = data_dir(folder)
    price, _ = load_agile_import(root)
    carbon, _ = load_carbon_intensity(root)
    temperature, _ = load_era5_temperature(root)
    load, _ = read_smart_meter_csv(_file(root, HOUSEHOLD), time_marks="end")
    spans = [_span(s) for s in (price, carbon, temperature)]
    load_first, load_end = _span(load)
    first = max(load_first - LOAD_SHIFT, *(s[0] for s in spans))
    end = max(first, min(load_end, *(s[1] for s in spans)))
    return DataCoverage(
        folder=root,
        first_utc=first,
        end_utc=end,
        measured_first_utc=min(end, max(first, load_first)),
    )
