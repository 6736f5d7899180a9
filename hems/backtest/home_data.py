"""One home's real data for a period: the loaded series aligned into the actuals and the
histories the forecasters learn from (:class:`HomeData`), with the report of what was filled.

The export price is a series (Agile Outgoing: :data:`hems.backtest.data.AGILE_OUTGOING`) or a
flat price. Series whose files start after the period (the 2020 carbon intensity and the ERA5
temperatures for a 2019 period) are moved back by whole 52-week years, so the weekday and the
season stay; the report says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pandas as pd

from adapters.carbon.files import ACTUAL, BEST, FORECAST
from hems.backtest.data import (
    AGILE_2019,
    AGILE_2020,
    DEFAULT_EXPORT_PRICE_GBP_PER_KWH,
    SLOT,
    DataGapError,
    DataMissingError,
    DataReport,
    SeriesReport,
    _replace,
    data_dir,
    load_agile_export,
    load_agile_import,
    load_carbon_intensity,
    load_era5_temperature,
    load_household_kwh,
    load_pvgis_kw_per_kwp,
)

Frame = TypeVar("Frame", pd.Series, pd.DataFrame)

AGILE_IMPORT_FILES = {2019: AGILE_2019, 2020: AGILE_2020}
"""The Agile import file of each year the data folder has."""
YEAR_SHIFT = timedelta(days=364)
"""A series moved to an earlier year moves by 52 weeks (the same weekday)."""
FILL_LAGS = tuple(pd.Timedelta(days=d) for d in (1, -1, 2, -2))
"""A missing slot takes the same slot this far away, the first that has a value."""


@dataclass(frozen=True, slots=True)
class HomeData:
    """What a backtest on real data replays and what its forecasters may learn from.

    Attributes:
        actuals: the :data:`hems.market.COLUMNS` on 30-minute slot starts over the period plus
            the planning horizon (what actually happened).
        import_price_gbp_per_kwh: the whole price file (the forecasters cut it at the
            publication horizon).
        carbon: actual and forecast columns of the carbon file [gCO2/kWh].
        base_load_kwh: metered energy per slot [kWh] (history and period).
        pv_kw_per_kwp: PV output per kWp [kW/kWp].
        outdoor_temperature_c: outdoor temperature [°C].
        report: what every loader filled.
        export_price_gbp_per_kwh: the whole export price file [GBP/kWh] (forecast like the
            import price), or one flat price.
    """

    actuals: pd.DataFrame
    import_price_gbp_per_kwh: pd.Series
    carbon: pd.DataFrame
    base_load_kwh: pd.Series
    pv_kw_per_kwp: pd.Series
    outdoor_temperature_c: pd.Series
    report: DataReport = field(default_factory=DataReport)
    export_price_gbp_per_kwh: pd.Series | float = DEFAULT_EXPORT_PRICE_GBP_PER_KWH


def _check_period(start_utc: datetime, end_utc: datetime) -> None:
    if start_utc.tzinfo is None or end_utc.tzinfo is None:
        raise ValueError("start_utc and end_utc must be timezone-aware")
    if end_utc <= start_utc:
        raise ValueError("end_utc must be after start_utc")
    if (pd.Timestamp(start_utc) - pd.Timestamp("2000-01-01", tz="UTC")) % SLOT:
        raise ValueError(f"start_utc {start_utc} is not on a half-hour boundary")


def _align(
    name: str,
    series: pd.Series,
    report: SeriesReport,
    index: pd.DatetimeIndex,
    period: pd.DatetimeIndex,
    allow_fill: bool,
) -> tuple[pd.Series, SeriesReport, list[str]]:
    """``series`` on ``index``, its gaps filled (same slot a day or two away, then the last
    day repeated past the file's end), the report counting the fills in ``period``, and the
    problems that refuse the period without ``allow_fill``."""
    if pd.DatetimeIndex(series.index).tz is None:
        raise ValueError(f"{name}: the index must be timezone-aware (UTC)")
    values = series.reindex(index)
    missing = values.isna().to_numpy()
    # the loaders report whole files: count their fills inside the period
    interpolated_here = int(report.filled_at.isin(period).sum())
    missing_in_period = int((missing & values.index.isin(period)).sum())
    problems: list[str] = []
    if missing_in_period and not allow_fill:
        problems.append(f"{name}: {missing_in_period} slot(s) of the period missing")
    if interpolated_here and not allow_fill:
        problems.append(f"{name}: {interpolated_here} slot(s) filled by the loader ({report.how})")
    filled = values.copy()
    for lag in FILL_LAGS:
        if not filled.isna().any():
            break
        shifted = series.reindex(index - lag)
        filled = filled.fillna(pd.Series(shifted.to_numpy(), index=index))
    # horizon beyond the file: repeat the last known day
    while filled.isna().any() and filled.notna().any():
        before = int(filled.isna().sum())
        filled = filled.fillna(filled.shift(48))
        if int(filled.isna().sum()) == before:
            break
    if filled.isna().any():
        raise DataGapError(
            f"{name}: no value for {int(filled.isna().sum())} slot(s) even after filling"
        )
    more = (
        f"; {int(missing.sum())} more slot(s) took the same slot a day or more away"
        if missing.any()
        else ""
    )
    aligned = _replace(
        report,
        slots_interpolated=min(report.slots_interpolated, interpolated_here),
        slots_filled_other=max(0, interpolated_here - report.slots_interpolated)
        + int(missing.sum()),
        slots_missing=0,
        how=report.how + more,
    )
    return filled, aligned, problems


def assemble_home_data(
    *,
    start_utc: datetime,
    end_utc: datetime,
    import_price_gbp_per_kwh: tuple[pd.Series, SeriesReport],
    carbon: tuple[pd.DataFrame, SeriesReport],
    base_load_kwh: tuple[pd.Series, SeriesReport],
    pv_kw_per_kwp: tuple[pd.Series, SeriesReport],
    outdoor_temperature_c: tuple[pd.Series, SeriesReport],
    export_price_gbp_per_kwh: float | tuple[pd.Series, SeriesReport] = (
        DEFAULT_EXPORT_PRICE_GBP_PER_KWH
    ),
    horizon_hours: int = 48,
    allow_fill: bool = False,
    extra_reports: tuple[SeriesReport, ...] = (),
) -> HomeData:
    """Align loaded series on the period ``[start_utc, end_utc)`` plus ``horizon_hours``.

    Slots of the period that a loader filled, or that are still missing, make this raise
    :class:`DataGapError` unless ``allow_fill``; with it, missing slots take the same slot the
    day before (then the day after), and every filled slot is counted in the report. The
    horizon beyond the period may run past a file's end (a year's last days): those slots
    repeat the last day and are counted too. ``export_price_gbp_per_kwh`` is a series with
    its report (aligned like the others) or a flat price.
    """
    _check_period(start_utc, end_utc)
    tail_end = end_utc + timedelta(hours=horizon_hours)
    period = pd.date_range(start_utc, end_utc, freq="30min", inclusive="left")
    price, price_r = import_price_gbp_per_kwh
    carbon_frame, carbon_r = carbon
    load, load_r = base_load_kwh
    columns = {
        "import_price_gbp_per_kwh": (price, price_r),
        "carbon_intensity_g_per_kwh": (carbon_frame[BEST], carbon_r),
        "base_load_kw": (load / 0.5, load_r),
        "outdoor_temperature_c": outdoor_temperature_c,
        "pv_kw_per_kwp": pv_kw_per_kwp,
    }
    if not isinstance(export_price_gbp_per_kwh, float | int):
        columns["export_price_gbp_per_kwh"] = export_price_gbp_per_kwh
    index = pd.date_range(
        start_utc, tail_end, freq="30min", inclusive="left", name="slot_start_utc"
    )
    frame = pd.DataFrame(index=index)
    reports: list[SeriesReport] = []
    problems: list[str] = []
    for name, (series, report) in columns.items():
        frame[name], aligned, refused = _align(name, series, report, index, period, allow_fill)
        reports.append(aligned)
        problems.extend(refused)
    if problems:
        raise DataGapError(
            "the period has missing or filled slots: "
            + "; ".join(problems)
            + " (allow filling with allow_fill=True / --allow-fill)"
        )
    export: pd.Series | float
    if isinstance(export_price_gbp_per_kwh, float | int):
        export = float(export_price_gbp_per_kwh)
        frame["export_price_gbp_per_kwh"] = export
    else:
        export = export_price_gbp_per_kwh[0]
    return HomeData(
        actuals=frame,
        import_price_gbp_per_kwh=price,
        carbon=carbon_frame[[ACTUAL, FORECAST]],
        base_load_kwh=load,
        pv_kw_per_kwp=pv_kw_per_kwp[0],
        outdoor_temperature_c=outdoor_temperature_c[0],
        report=DataReport(series=(*reports, *extra_reports)),
        export_price_gbp_per_kwh=export,
    )


def moved_to_cover(
    loaded: tuple[Frame, SeriesReport], start_utc: datetime
) -> tuple[Frame, SeriesReport]:
    """``loaded`` as it is when its first slot is at or before ``start_utc``; else moved back
    by the fewest whole 52-week years that make it so (2020's series for a 2019 period)."""
    values, report = loaded
    first = pd.Timestamp(values.index[0])
    start = pd.Timestamp(start_utc)
    if first <= start:
        return loaded
    years = math.ceil((first - start) / pd.Timedelta(YEAR_SHIFT))
    moved = values.copy()
    moved.index = pd.DatetimeIndex(values.index) - years * pd.Timedelta(YEAR_SHIFT)
    how = f"{report.how}; moved {52 * years} weeks earlier to cover the period"
    shifted = report.filled_at - years * pd.Timedelta(YEAR_SHIFT)
    return moved, _replace(report, how=how, filled_at=shifted)


def agile_import_files(start_utc: datetime, end_utc: datetime) -> tuple[str, ...]:
    """The Agile import files of the years ``[start_utc, end_utc)`` touches that the data
    folder has (a horizon past the last one repeats its last day).

    Raises:
        DataMissingError: the period starts in a year without a file.
    """
    first = start_utc.astimezone(UTC).year
    if first not in AGILE_IMPORT_FILES:
        known = ", ".join(str(y) for y in AGILE_IMPORT_FILES)
        raise DataMissingError(f"no Agile import prices for {first} (the data have {known})")
    last = (end_utc - timedelta(minutes=30)).astimezone(UTC).year
    return tuple(AGILE_IMPORT_FILES[y] for y in range(first, last + 1) if y in AGILE_IMPORT_FILES)


def _import_prices(root: Path, files: tuple[str, ...]) -> tuple[pd.Series, SeriesReport]:
    loaded = [load_agile_import(root, f) for f in files]
    if len(loaded) == 1:
        return loaded[0]
    series = pd.concat([s for s, _ in loaded]).sort_index()
    series = series[~series.index.duplicated(keep="first")]
    filled_at = loaded[0][1].filled_at
    for _, later in loaded[1:]:
        filled_at = filled_at.union(later.filled_at)
    report = _replace(
        loaded[0][1],
        source=", ".join(files),
        rows_read=sum(r.rows_read for _, r in loaded),
        slots_interpolated=sum(r.slots_interpolated for _, r in loaded),
        filled_at=filled_at,
    )
    return series, report


def load_home_data(
    folder: str | Path | None,
    start_utc: datetime,
    end_utc: datetime,
    *,
    horizon_hours: int = 48,
    allow_fill: bool = False,
    export_price_gbp_per_kwh: float = DEFAULT_EXPORT_PRICE_GBP_PER_KWH,
    export_file: str | None = None,
) -> HomeData:
    """The reference home's real data for ``[start_utc, end_utc)`` from the data folder
    (``folder`` or ``$HEMS_DATA_DIR``): Agile import prices of the period's year (2019 or
    2020), national carbon intensity 2020, the fawkesley household's load, PVGIS 2016 moved to
    the period's year, ERA5 temperatures (series starting after the period moved back by
    whole 52-week years); export at a flat ``export_price_gbp_per_kwh``, or the series of
    ``export_file`` (e.g. :data:`hems.backtest.data.AGILE_OUTGOING`, January 2018 - May 2019)."""
    root = data_dir(folder)
    year = start_utc.astimezone(UTC).year
    tail_end = end_utc + timedelta(hours=horizon_hours)
    pv, pv_r = load_pvgis_kw_per_kwp(root, year)
    if end_utc.year != year:
        pv2, _ = load_pvgis_kw_per_kwp(root, year + 1)
        pv = pd.concat([pv, pv2])
    export: float | tuple[pd.Series, SeriesReport] = export_price_gbp_per_kwh
    if export_file is not None:
        export = load_agile_export(root, export_file)
    return assemble_home_data(
        start_utc=start_utc,
        end_utc=end_utc,
        import_price_gbp_per_kwh=_import_prices(root, agile_import_files(start_utc, tail_end)),
        carbon=moved_to_cover(load_carbon_intensity(root), start_utc),
        base_load_kwh=load_household_kwh(root, start_utc, tail_end),
        pv_kw_per_kwp=(pv, pv_r),
        outdoor_temperature_c=moved_to_cover(load_era5_temperature(root), start_utc),
        export_price_gbp_per_kwh=export,
        horizon_hours=horizon_hours,
        allow_fill=allow_fill,
    )
