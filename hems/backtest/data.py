"""Loaders for the real series a backtest replays, each with a report of what was filled.

The files are the ones described in ``../shared/data/README.md`` (docs/backtest.md, "Real
data"). Every loader returns a regular UTC series on slot starts with the unit in its name and
a :class:`SeriesReport`; :func:`hems.backtest.home_data.load_home_data` assembles them for one
period into the actuals frame (:data:`hems.market.COLUMNS`) and the histories the forecasters
use, with a :class:`DataReport`. Missing slots that remain after the loaders' own interpolation
(gaps of at most four slots) make it refuse the period unless ``allow_fill=True``.

The data folder is an argument or the ``HEMS_DATA_DIR`` environment variable
(:func:`data_dir`); :class:`DataMissingError` says which file is missing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from adapters.carbon.files import BEST, read_carbon_intensity_csv
from adapters.loading import FillReport, regularise
from adapters.meter.files import read_smart_meter_csv
from adapters.tariffs.files import read_agile_csv
from hems.simulation.devices import Stay

UK = ZoneInfo("Europe/London")
DATA_DIR_ENV = "HEMS_DATA_DIR"
"""The backtests' data folder; the service's state directory is ``HEMS_STATE_DIR``."""
SLOT = pd.Timedelta(minutes=30)

AGILE_2019 = "agile/barnybug_agile_2019.csv"
AGILE_2020 = "agile/barnybug_agile_2020.csv"
AGILE_OUTGOING = "agile/3yp_agile_outgoing_2018-01_2019-05_SE.csv"
"""Agile Outgoing export rates, January 2018 to mid-May 2019 (South East), UK local naive time."""
CARBON_2020 = "carbon/3yp_carbon_intensity_national_2020.csv"
HOUSEHOLD = "household/fawkesley_home_consumption_2020-08_2023-12.csv"
PVGIS_2016 = "pv/3yp_oxon_pvgis_hourly_2016.csv"
ERA5 = "heat/era5_uk_box_mean_t2m_hourly_2020-2025.csv"
DUNDEE = (
    "ev/dundee_ev_sessions_2017-12_2018-03.csv",
    "ev/dundee_ev_sessions_2018-06_2018-09.csv",
)
DEFAULT_EXPORT_PRICE_GBP_PER_KWH = 0.055
"""Export price when no export series is given [GBP/kWh]: Octopus Outgoing Fixed in 2020."""


class DataMissingError(FileNotFoundError):
    """The data folder or one of its files is not there."""


class DataGapError(ValueError):
    """The period has slots that are missing or were filled, and filling was not allowed."""


def data_dir(path: str | Path | None = None) -> Path:
    """The data folder: ``path`` if given, else ``$HEMS_DATA_DIR``.

    Raises:
        DataMissingError: neither is given, or the folder does not exist.
    """
    chosen = path if path is not None else os.environ.get(DATA_DIR_ENV)
    if chosen is None or str(chosen) == "":
        raise DataMissingError(
            f"no data folder: pass one (--data DIR) or set {DATA_DIR_ENV} "
            "(e.g. ../shared/data, see docs/backtest.md)"
        )
    folder = Path(chosen).expanduser()
    if not folder.is_dir():
        raise DataMissingError(f"data folder {folder} does not exist")
    return folder


def _file(folder: Path, relative: str) -> Path:
    path = folder / relative
    if not path.is_file():
        raise DataMissingError(f"{path} is missing (expected in the data folder {folder})")
    return path


@dataclass(frozen=True, slots=True)
class SeriesReport:
    """What a loader did to one series.

    Attributes:
        name: the series (with its unit).
        source: the file it came from.
        rows_read: data rows read.
        duplicates_dropped: rows whose slot was already seen (the first kept).
        nonexistent_dropped: local times that do not exist (spring clock change).
        unparsable_dropped: rows whose time or value could not be read (or were cleaned out).
        slots_interpolated: slots filled by linear interpolation of a short gap.
        slots_filled_other: slots filled another way (``how`` says which).
        slots_missing: slots in the requested period still without a value.
        how: how the slots were filled, in words.
    """

    name: str
    source: str
    rows_read: int
    duplicates_dropped: int = 0
    nonexistent_dropped: int = 0
    unparsable_dropped: int = 0
    slots_interpolated: int = 0
    slots_filled_other: int = 0
    slots_missing: int = 0
    how: str = ""
    filled_at: pd.DatetimeIndex = field(
        default_factory=lambda: pd.DatetimeIndex([], tz="UTC"), compare=False, repr=False
    )

    @classmethod
    def of(cls, name: str, source: str, fill: FillReport, how: str = "") -> SeriesReport:
        return cls(
            filled_at=fill.filled_at,
            name=name,
            source=source,
            rows_read=fill.rows_read,
            duplicates_dropped=fill.duplicates_dropped,
            nonexistent_dropped=fill.nonexistent_dropped,
            unparsable_dropped=fill.unparsable_dropped,
            slots_interpolated=fill.slots_filled,
            slots_missing=fill.slots_missing,
            how=how or "gaps of up to 4 slots interpolated linearly",
        )

    @property
    def slots_filled(self) -> int:
        return self.slots_interpolated + self.slots_filled_other


@dataclass(frozen=True, slots=True)
class DataReport:
    """The reports of every series a backtest uses (part of its results)."""

    series: tuple[SeriesReport, ...] = ()

    @property
    def slots_filled(self) -> int:
        return sum(s.slots_filled for s in self.series)

    @property
    def slots_missing(self) -> int:
        return sum(s.slots_missing for s in self.series)

    def frame(self) -> pd.DataFrame:
        """One row per series (tidy)."""
        columns = [f for f in _FIELDS if f != "filled_at"]
        rows = [{c: getattr(s, c) for c in columns} for s in self.series]
        return pd.DataFrame(rows, columns=columns)

    def summary(self) -> str:
        return "; ".join(
            f"{s.name}: {s.slots_interpolated} interpolated, {s.slots_filled_other} filled "
            f"({s.how}), {s.slots_missing} missing, {s.duplicates_dropped} duplicates dropped"
            for s in self.series
        )


_FIELDS = tuple(f.name for f in fields(SeriesReport))


def _window(series: pd.Series, start: datetime, end: datetime) -> pd.Series:
    """``series`` on the 30-minute slot starts of ``[start, end)`` (NaN where absent)."""
    index = pd.date_range(start, end, freq="30min", inclusive="left", name="slot_start_utc")
    return series.reindex(index)


# --- the loaders -------------------------------------------------------------------------------


def load_agile_import(folder: Path, relative: str = AGILE_2020) -> tuple[pd.Series, SeriesReport]:
    """Agile import unit rates [GBP/kWh incl. VAT] (file: p/kWh), 30-minute UTC slot starts."""
    path = _file(folder, relative)
    series, fill = read_agile_csv(path)
    return series, SeriesReport.of(str(series.name), relative, fill)


def load_agile_export(
    folder: Path, relative: str = AGILE_OUTGOING
) -> tuple[pd.Series, SeriesReport]:
    """Agile Outgoing export unit rates [GBP/kWh] (file: p/kWh in UK local naive time; the
    clock changes' duplicates dropped and gaps interpolated), 30-minute UTC slot starts."""
    path = _file(folder, relative)
    series, fill = read_agile_csv(path, name="export_price_gbp_per_kwh")
    return series, SeriesReport.of(str(series.name), relative, fill)


def load_carbon_intensity(
    folder: Path, relative: str = CARBON_2020
) -> tuple[pd.DataFrame, SeriesReport]:
    """National carbon intensity [gCO2/kWh]: columns ``carbon_intensity_actual_g_per_kwh``,
    ``carbon_intensity_forecast_g_per_kwh`` (the API's forecast) and
    ``carbon_intensity_g_per_kwh`` (actual, else forecast, short gaps interpolated)."""
    path = _file(folder, relative)
    frame, fill = read_carbon_intensity_csv(path)
    how = "actual, else the file's forecast; gaps of up to 4 slots interpolated"
    return frame, SeriesReport.of(BEST, relative, fill, how)


def load_household_kwh(
    folder: Path, start_utc: datetime, end_utc: datetime, relative: str = HOUSEHOLD
) -> tuple[pd.Series, SeriesReport]:
    """The home's metered import per half hour [kWh] on ``[start_utc, end_utc)`` (and the
    weeks before it that exist, for the forecasters).

    The file (newest first, each row the half hour *ending* at its time) starts in August 2020.
    A slot still missing after interpolation takes the value of the same slot 52 weeks later
    (same weekday and time of day), and a slot before the file's start the same slot in the
    first 52-week multiple the file covers: a 2020 year is thus August-December 2020 measured
    plus January-July 2021 of the same home moved back 364 days; January-May 2019 is January-
    May 2021 moved back 728 days.
    """
    path = _file(folder, relative)
    series, fill = read_smart_meter_csv(path, time_marks="end")
    first = series.index[0]
    lead = pd.Timedelta(days=60)  # history for the forecasters' trailing windows
    window = _window(series, min(start_utc - lead, first), end_utc)
    years = np.maximum(1, np.ceil((first - window.index) / pd.Timedelta(days=364)))
    later = series.reindex(window.index + pd.to_timedelta(364 * years, unit="D")).to_numpy()
    gap = window.isna().to_numpy() & ~np.isnan(later)
    values = np.where(gap, later, window.to_numpy())
    out = pd.Series(values, index=window.index, name="base_load_kwh")
    in_period = (out.index >= pd.Timestamp(start_utc)) & (out.index < pd.Timestamp(end_utc))
    report = SeriesReport.of("base_load_kwh", relative, fill)
    report = _replace(
        report,
        slots_filled_other=int((gap & in_period).sum()),
        slots_missing=int((np.isnan(values) & in_period).sum()),
        filled_at=report.filled_at.union(out.index[gap]),
        how="gaps of up to 4 slots interpolated; slots before the file's start (Aug 2020) or "
        "still missing take the same slot 52 weeks (or a multiple) later",
    )
    return out, report


def load_pvgis_kw_per_kwp(
    folder: Path, year: int, relative: str = PVGIS_2016
) -> tuple[pd.Series, SeriesReport]:
    """PV output per kWp [kW/kWp] on the 30-minute slot starts of ``year``.

    PVGIS gives the hourly mean AC power [W] of about 1 kWp for 2016 (stamps ``YYYYMMDD:HH56``,
    read as the hour from HH:00, UTC). Each value is placed at its hour's middle, interpolated
    linearly to the half-hour slot middles, and moved to ``year`` by calendar date (2016 is a
    leap year: 29 February is dropped for a common year, and 28 February doubled for none).
    """
    path = _file(folder, relative)
    raw = pd.read_csv(path, dtype=str)
    times = pd.to_datetime(
        raw["Date"].str.slice(0, 8) + raw["Date"].str.slice(9, 11),
        format="%Y%m%d%H",
        errors="coerce",
        utc=True,
    )
    watts = pd.to_numeric(raw["EPV"], errors="coerce")
    footer = int(times.isna().sum())  # the text footer after the data
    hourly, fill = regularise(
        times[times.notna()], watts[times.notna()], step_minutes=60, name="pv"
    )
    if hourly.empty:
        raise DataMissingError(f"{path}: no readable row")
    mid = pd.DatetimeIndex(hourly.index) + pd.Timedelta(minutes=30)
    kw_per_kwp = pd.Series(hourly.to_numpy() / 1000.0, index=mid)
    base = datetime(hourly.index[0].year, 1, 1, tzinfo=UTC)
    slots = pd.date_range(
        base, datetime(base.year + 1, 1, 1, tzinfo=UTC), freq="30min", inclusive="left"
    )
    slot_mid = slots + pd.Timedelta(minutes=15)
    both = kw_per_kwp.reindex(kw_per_kwp.index.union(slot_mid)).interpolate(
        method="time", limit_area="inside"
    )
    values = both.reindex(slot_mid).fillna(0.0).clip(lower=0.0).to_numpy()
    source = pd.Series(values, index=slots)
    # move by calendar date to `year`
    target = pd.date_range(
        datetime(year, 1, 1, tzinfo=UTC),
        datetime(year + 1, 1, 1, tzinfo=UTC),
        freq="30min",
        inclusive="left",
        name="slot_start_utc",
    )
    month = np.asarray(target.month)
    leap_src = (base.year % 4 == 0 and base.year % 100 != 0) or base.year % 400 == 0
    day = np.where((month == 2) & (np.asarray(target.day) == 29) & (not leap_src), 28, target.day)
    src_index = pd.DatetimeIndex(
        [
            datetime(base.year, m, d, h, mi, tzinfo=UTC)
            for m, d, h, mi in zip(month, day, target.hour, target.minute, strict=True)
        ]
    )
    out = pd.Series(source.reindex(src_index).to_numpy(), index=target, name="pv_kw_per_kwp")
    report = SeriesReport(
        name="pv_kw_per_kwp",
        source=relative,
        rows_read=fill.rows_read + footer,
        duplicates_dropped=fill.duplicates_dropped,
        unparsable_dropped=fill.unparsable_dropped + footer,
        slots_interpolated=fill.slots_filled,
        slots_missing=int(out.isna().sum()),
        how=f"hourly means interpolated to half hours; {base.year} moved to {year} by date",
    )
    return out, report


def load_era5_temperature(folder: Path, relative: str = ERA5) -> tuple[pd.Series, SeriesReport]:
    """ERA5 2 m temperature [°C] (a UK box mean, hourly UTC) on 30-minute slot starts: each
    half-hour start takes the mean of the hours either side (linear interpolation)."""
    path = _file(folder, relative)
    raw = pd.read_csv(path)
    times = pd.to_datetime(raw.iloc[:, 0], utc=True, errors="coerce")
    hourly, fill = regularise(times, raw.iloc[:, 1], step_minutes=60, name="t", rows_read=len(raw))
    if hourly.empty:
        raise DataMissingError(f"{path}: no readable row")
    half = pd.date_range(hourly.index[0], hourly.index[-1], freq="30min", name="slot_start_utc")
    out = hourly.reindex(half).interpolate(limit_area="inside", limit=1)
    out.name = "outdoor_temperature_c"
    return out, SeriesReport.of(
        "outdoor_temperature_c",
        relative,
        fill,
        "hourly; gaps of up to 4 h interpolated; half hours interpolated",
    )


def _replace(report: SeriesReport, **changes: object) -> SeriesReport:
    values = {f: getattr(report, f) for f in _FIELDS}
    values.update(changes)
    return SeriesReport(**values)


# --- EV sessions ---------------------------------------------------------------------------------

SLOW_MODEL_WORDS = ("7kw", "22kw")
"""Charger models whose sessions are kept: slow chargers, a proxy for plug-in at home."""


@dataclass(frozen=True, slots=True)
class EvSessions:
    """Cleaned slow-charger sessions: plug-in local time of day [h], stay [h], energy [kWh].

    Attributes:
        plug_in_local_h: plug-in time, UK local hours after midnight (0-24).
        stay_h: time plugged in [h].
        energy_kwh: energy delivered in the session [kWh].
        report: what was read and cleaned out.
    """

    plug_in_local_h: np.ndarray
    stay_h: np.ndarray
    energy_kwh: np.ndarray
    report: SeriesReport


def load_dundee_sessions(
    folder: Path,
    files: tuple[str, ...] = DUNDEE,
    *,
    evening_from_h: float = 15.0,
    min_stay_h: float = 4.0,
    max_stay_h: float = 24.0,
) -> EvSessions:
    """Dundee public charger sessions (local ``dd/mm/yyyy`` dates and ``HH:MM`` times) reduced
    to the home-like ones: slow chargers (7 or 22 kW models), plugged in from ``evening_from_h``
    local time, staying ``min_stay_h`` to ``max_stay_h`` hours.

    Rows with a negative, non-numeric or over 1,000 kWh energy, a missing or unreadable start
    or end, or an end not after the start are dropped and counted (``unparsable_dropped``);
    duplicate session ids are dropped once.
    """
    frames = [pd.read_csv(_file(folder, f), dtype=str) for f in files]
    raw = pd.concat(frames, ignore_index=True)
    rows = len(raw)
    duplicated = raw["Charging event"].duplicated(keep="first")
    raw = raw[~duplicated]
    start = pd.to_datetime(
        raw["Start Date"] + " " + raw["Start Time"], format="%d/%m/%Y %H:%M", errors="coerce"
    )
    end = pd.to_datetime(
        raw["End Date"] + " " + raw["End Time"], format="%d/%m/%Y %H:%M", errors="coerce"
    )
    energy = pd.to_numeric(raw["Total kWh"], errors="coerce")
    good = start.notna() & end.notna() & energy.between(0.0, 1000.0) & (end > start)
    bad = int((~good).sum())
    model = raw["Model"].fillna("").str.lower().str.replace(" ", "")
    slow = model.apply(lambda m: any(w in m for w in SLOW_MODEL_WORDS))
    stay_h = (end - start).dt.total_seconds() / 3600.0
    plug_h = start.dt.hour + start.dt.minute / 60.0
    keep = good & slow & (plug_h >= evening_from_h) & stay_h.between(min_stay_h, max_stay_h)
    report = SeriesReport(
        name="ev_sessions",
        source=", ".join(files),
        rows_read=rows,
        duplicates_dropped=int(duplicated.sum()),
        unparsable_dropped=bad,
        how=(
            f"{int(keep.sum())} slow sessions kept (plug-in from {evening_from_h:g} h local, "
            f"{min_stay_h:g}-{max_stay_h:g} h stays); negative, >1000 kWh and unfinished dropped"
        ),
    )
    if not keep.any():
        raise DataMissingError(f"no usable EV session in {files}")
    return EvSessions(
        plug_in_local_h=plug_h[keep].to_numpy(dtype=np.float64),
        stay_h=stay_h[keep].to_numpy(dtype=np.float64),
        energy_kwh=energy[keep].to_numpy(dtype=np.float64),
        report=report,
    )


def draw_ev_stays(
    sessions: EvSessions,
    start_utc: datetime,
    days: int,
    *,
    capacity_kwh: float,
    seed: int = 0,
    full_soc: float = 0.8,
) -> list[Stay]:
    """One stay a day: a session drawn at random (seeded) gives the plug-in time of day and
    the stay; the car arrives needing the session's energy, i.e. with SoC
    ``full_soc - energy / capacity`` (at least 0.1). A stay that would overlap the next one is
    cut 30 minutes before it. Covers the day before ``start_utc`` to the day after the period.
    """
    if capacity_kwh <= 0:
        raise ValueError(f"capacity_kwh must be positive, got {capacity_kwh}")
    rng = np.random.default_rng(seed)
    first = start_utc.astimezone(UK).date() - timedelta(days=1)
    stays: list[Stay] = []
    for d in range(days + 2):
        i = int(rng.integers(len(sessions.stay_h)))
        hours = float(sessions.plug_in_local_h[i])
        day = first + timedelta(days=d)
        local = datetime.combine(day, time(0, 0), tzinfo=UK) + timedelta(hours=hours)
        arrive = local.astimezone(UTC)
        leave = arrive + timedelta(hours=float(sessions.stay_h[i]))
        soc = max(0.1, full_soc - float(sessions.energy_kwh[i]) / capacity_kwh)
        stays.append(Stay(arrive_utc=arrive, leave_utc=leave, arrival_soc=soc))
    out: list[Stay] = []
    for this, nxt in zip(stays, [*stays[1:], None], strict=True):
        leave = this.leave_utc
        if nxt is not None and leave > nxt.arrive_utc - timedelta(minutes=30):
            leave = nxt.arrive_utc - timedelta(minutes=30)
        if leave > this.arrive_utc:
            out.append(
                Stay(arrive_utc=this.arrive_utc, leave_utc=leave, arrival_soc=this.arrival_soc)
            )
    return out
