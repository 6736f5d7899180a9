"""Export prices as a series in backtests (issue 27): the loaders, the actuals, the planner's
forecast of them, and the 2019 period whose other series come from later years."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecasts.prices import agile_published_until
from hems.backtest.data import (
    AGILE_OUTGOING,
    DataMissingError,
    SeriesReport,
    load_agile_export,
    load_household_kwh,
)
from hems.backtest.forecast_market import HistoricalForecast
from hems.backtest.home_data import agile_import_files, load_home_data, moved_to_cover
from optimiser import TimeGrid
from tests.hems.backtest.synthetic import START, home_data, write, write_data_folder


def test_an_export_series_is_the_actual_export_price_of_each_slot() -> None:
    data = home_data(export_series=True)
    assert isinstance(data.export_price_gbp_per_kwh, pd.Series)
    actual = data.actuals["export_price_gbp_per_kwh"]
    expected = 0.5 * data.actuals["import_price_gbp_per_kwh"] + 0.01
    np.testing.assert_allclose(actual.to_numpy(), expected.to_numpy())
    assert "export" in data.report.frame()["name"].tolist()
    flat = home_data()
    assert flat.export_price_gbp_per_kwh == pytest.approx(0.055)
    assert (flat.actuals["export_price_gbp_per_kwh"] == 0.055).all()


@pytest.mark.parametrize("hour", [10, 17])  # before and after the 16:00 publication
def test_the_planner_is_told_the_published_export_prices_and_nothing_later(hour: int) -> None:
    data = home_data(export_series=True)
    issued = START + timedelta(days=1, hours=hour)
    grid = TimeGrid.starting_at(issued, step_minutes=30, horizon_hours=48)
    published = agile_published_until(issued)
    told = HistoricalForecast(data, temperature="persistence").series(grid)
    export = data.export_price_gbp_per_kwh
    assert isinstance(export, pd.Series)
    late = export.index >= pd.Timestamp(published)
    doctored = export.copy()
    doctored[late] = doctored[late] * 7.0 + 3.0
    told_doctored = HistoricalForecast(
        replace(data, export_price_gbp_per_kwh=doctored), temperature="persistence"
    ).series(grid)
    pd.testing.assert_frame_equal(told, told_doctored)
    price = told["export_price_gbp_per_kwh"]
    known = grid.index < pd.Timestamp(published)
    np.testing.assert_allclose(price[known], export.reindex(grid.index)[known])
    assert price.nunique() > 2  # a series, not one flat price


def test_a_flat_export_price_is_told_as_it_is() -> None:
    data = home_data()
    grid = TimeGrid.starting_at(START + timedelta(days=1), step_minutes=30, horizon_hours=36)
    told = HistoricalForecast(data, temperature="persistence").series(grid)
    assert (told["export_price_gbp_per_kwh"] == 0.055).all()
    chosen = HistoricalForecast(
        home_data(export_series=True), temperature="persistence", export_price_gbp_per_kwh=0.04
    ).series(grid)
    assert (chosen["export_price_gbp_per_kwh"] == 0.04).all()


def test_agile_outgoing_local_time_file_loads_as_an_export_series(tmp_path: Path) -> None:
    rows = ["Date_Time,Outgoing Agile Rate (p/kWh)"]
    rows += [f"2019-03-31 0{h}:{m}:00,{5 + h}" for h in range(4) for m in ("00", "30")]
    write(tmp_path / AGILE_OUTGOING, "\n".join(rows) + "\n")
    series, report = load_agile_export(tmp_path)
    assert series.name == "export_price_gbp_per_kwh"
    # 01:00-01:59 local does not exist on 31 March 2019: dropped; 02:00 BST is 01:00 UTC
    assert report.nonexistent_dropped == 2
    assert series[pd.Timestamp("2019-03-31 00:30", tz="UTC")] == pytest.approx(0.05)
    assert series[pd.Timestamp("2019-03-31 01:00", tz="UTC")] == pytest.approx(0.07)


def test_a_series_starting_after_the_period_moves_back_by_whole_years() -> None:
    index = pd.date_range("2020-01-01", periods=10, freq="30min", tz="UTC")
    values = pd.Series(np.arange(10.0), index=index)
    report = SeriesReport(name="t", source="t", rows_read=10)
    same, same_report = moved_to_cover((values, report), datetime(2020, 1, 1, tzinfo=UTC))
    assert same is values
    assert same_report is report
    moved, moved_report = moved_to_cover((values, report), datetime(2019, 1, 6, tzinfo=UTC))
    assert moved.index[0] == pd.Timestamp("2019-01-02", tz="UTC")  # 364 days: a Wednesday
    assert moved.index[0].day_name() == index[0].day_name()
    np.testing.assert_array_equal(moved.to_numpy(), values.to_numpy())
    assert "52 weeks earlier" in moved_report.how
    twice, _ = moved_to_cover((values, report), datetime(2018, 6, 1, tzinfo=UTC))
    assert twice.index[0] == pd.Timestamp("2020-01-01", tz="UTC") - pd.Timedelta(days=728)


def test_household_load_two_years_before_the_file_takes_the_first_year_it_has(
    tmp_path: Path,
) -> None:
    ends = pd.date_range("2021-01-11 00:30", periods=96, freq="30min", tz="UTC")
    rows = sorted(((t, 1.0 + i / 100) for i, t in enumerate(ends)), reverse=True)
    text = "halfhour ending at,usage\n" + "\n".join(f"{t},{v}" for t, v in rows) + "\n"
    write(tmp_path / "h.csv", text)
    start = datetime(2019, 1, 14, tzinfo=UTC)  # 728 days before 2021-01-11, both Mondays
    load, report = load_household_kwh(tmp_path, start, start + timedelta(days=1), "h.csv")
    day = load[pd.Timestamp(start) : pd.Timestamp(start) + pd.Timedelta(hours=23, minutes=30)]
    np.testing.assert_allclose(day.to_numpy(), 1.0 + np.arange(48) / 100)
    assert report.slots_missing == 0


def test_the_import_file_follows_the_period_and_an_unknown_year_is_refused() -> None:
    jan_2019 = datetime(2019, 1, 6, tzinfo=UTC)
    assert agile_import_files(jan_2019, jan_2019 + timedelta(days=30)) == (
        "agile/barnybug_agile_2019.csv",
    )
    across = agile_import_files(
        datetime(2019, 12, 20, tzinfo=UTC), datetime(2020, 1, 5, tzinfo=UTC)
    )
    assert len(across) == 2
    with pytest.raises(DataMissingError, match="no Agile import prices for 2023"):
        agile_import_files(datetime(2023, 1, 1, tzinfo=UTC), datetime(2023, 2, 1, tzinfo=UTC))


def test_load_home_data_with_an_export_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("HEMS_DATA_DIR", raising=False)
    folder = write_data_folder(tmp_path / "data")
    idx = pd.date_range(START - timedelta(days=20), START + timedelta(days=5), freq="30min")
    local = idx.tz_convert("Europe/London").tz_localize(None)
    rows = [f"{t:%Y-%m-%d %H:%M:%S},{4 + (i % 48) / 10:.2f}" for i, t in enumerate(local)]
    write(folder / AGILE_OUTGOING, "Date_Time,Outgoing Agile Rate (p/kWh)\n" + "\n".join(rows))
    data = load_home_data(
        folder, START, START + timedelta(days=1), horizon_hours=48, export_file=AGILE_OUTGOING
    )
    export = data.actuals["export_price_gbp_per_kwh"]
    assert export.nunique() == 48
    assert export.iloc[0] == pytest.approx((4 + (960 % 48) / 10) / 100)
    flat = load_home_data(folder, START, START + timedelta(days=1), horizon_hours=48)
    assert (flat.actuals["export_price_gbp_per_kwh"] == 0.055).all()
