"""File loaders: Agile CSV, carbon intensity CSV, smart-meter CSV; gaps, duplicates, clock
changes, all reported."""

from __future__ import annotations

import pandas as pd
import pytest

from adapters.carbon.files import BEST, read_carbon_intensity_csv
from adapters.errors import ParseError
from adapters.meter.files import read_smart_meter_csv
from adapters.tariffs.files import read_agile_csv
from tests.adapters.conftest import FIXTURES

CSV = FIXTURES / "csv"


def test_agile_utc_file_drops_a_duplicate_and_fills_a_short_gap():
    prices, report = read_agile_csv(CSV / "agile_utc.csv")
    assert prices.name == "import_price_gbp_per_kwh"
    assert str(prices.index.tz) == "UTC"
    assert len(prices) == 6
    assert prices.notna().all()
    assert report.duplicates_dropped == 1
    assert report.slots_filled == 1
    assert list(report.filled_at) == [pd.Timestamp("2026-01-15 13:30", tz="UTC")]
    assert prices.iloc[3] == pytest.approx((0.2457 + 0.3517) / 2)
    assert "filled 1 slot" in report.summary()


def test_agile_local_file_keeps_both_passes_of_the_autumn_hour():
    prices, report = read_agile_csv(
        CSV / "agile_outgoing_local.csv", name="export_price_gbp_per_kwh"
    )
    # 00:00 BST = 23:00 UTC; the repeated 01:00 and 01:30 are the GMT pass
    assert prices.index[0] == pd.Timestamp("2026-10-24 23:00", tz="UTC")
    assert len(prices) == 7
    assert report.duplicates_dropped == 0
    assert report.slots_filled == 0
    assert prices[pd.Timestamp("2026-10-25 00:00", tz="UTC")] == pytest.approx(0.0643)
    assert prices[pd.Timestamp("2026-10-25 01:00", tz="UTC")] == pytest.approx(0.0590)


def test_agile_local_file_drops_nonexistent_spring_times():
    prices, report = read_agile_csv(CSV / "agile_outgoing_spring.csv")
    assert report.nonexistent_dropped == 2
    assert report.unparsable_dropped == 0
    assert len(prices) == 4  # 00:00, 00:30 GMT then 02:00, 02:30 BST = 01:00, 01:30 UTC


def test_carbon_csv_prefers_actual_and_reports_the_empty_row():
    frame, report = read_carbon_intensity_csv(CSV / "carbon_intensity.csv")
    expected = [234, 238, 248, 248 + 17 / 3, 248 + 34 / 3, 265]
    assert frame[BEST].to_numpy() == pytest.approx(expected)
    assert report.duplicates_dropped == 1
    assert report.slots_filled == 2  # 13:30 missing, 14:00 empty
    assert frame["carbon_intensity_actual_g_per_kwh"].isna().sum() == 3


def test_smart_meter_newest_first_half_hour_ending_with_short_and_long_gaps():
    usage, report = read_smart_meter_csv(CSV / "smart_meter_ending.csv", max_gap_slots=2)
    assert usage.name == "import_kwh"
    assert usage.index[0] == pd.Timestamp("2026-01-15 00:00", tz="UTC")  # ended 00:30
    assert usage.index[-1] == pd.Timestamp("2026-01-15 05:30", tz="UTC")
    assert report.duplicates_dropped == 1
    assert report.slots_filled == 1  # 00:30 between 00:00 and 01:00
    assert report.slots_missing == 6  # 01:30-04:30: too long to invent
    assert usage.isna().sum() == 6


def test_octopus_consumption_export_across_the_spring_clock_change():
    usage, report = read_smart_meter_csv(CSV / "octopus_consumption.csv")
    assert list(usage.index.strftime("%H:%M")) == ["00:00", "00:30", "01:00", "01:30"]
    assert report.slots_missing == 0
    assert usage.sum() == pytest.approx(0.75)


def test_unknown_layouts_are_parse_errors(tmp_path):
    odd = tmp_path / "odd.csv"
    odd.write_text("a,b,c\n1,2,3\n")
    for reader in (read_agile_csv, read_smart_meter_csv):
        with pytest.raises(ParseError):
            reader(odd)
