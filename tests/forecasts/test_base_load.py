"""Base-load forecast: the blend, the fallback profile, the bands and no look-ahead."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from forecasts.base_load import (
    BaseLoadSettings,
    expected_base_load,
    expected_base_load_quantiles,
    forecast_base_load,
)
from forecasts.domestic_profile import TYPICAL_ANNUAL_KWH
from optimiser import TimeGrid
from tests.forecasts.conftest import local_pattern_kwh

ISSUED = datetime(2026, 1, 20, 16, 0, tzinfo=UTC)
NEXT_DAY = TimeGrid(start_utc=datetime(2026, 1, 21, tzinfo=UTC), n_steps=48)


def test_a_home_with_a_steady_pattern_is_forecast_exactly():
    history = local_pattern_kwh("2026-01-01", 20)
    forecast = forecast_base_load(history, NEXT_DAY, ISSUED)
    assert forecast.p50.name == "base_load_kw_p50"
    assert str(forecast.p50.index.tz) == "UTC"
    hours = forecast.p50.index.hour
    expected = np.where((hours >= 17) & (hours < 21), 1.0, 0.2)
    np.testing.assert_allclose(forecast.p50.to_numpy(), expected)
    assert "blend" in forecast.method


def test_bands_bracket_the_median_and_widen_with_variability():
    rng = np.random.default_rng(1)
    steady = local_pattern_kwh("2026-01-01", 20)
    noisy = steady * rng.uniform(0.5, 1.5, len(steady))
    calm = forecast_base_load(steady, NEXT_DAY, ISSUED)
    wild = forecast_base_load(noisy, NEXT_DAY, ISSUED)
    for f in (calm, wild):
        assert (f.p10 <= f.p50).all()
        assert (f.p50 <= f.p90).all()
        assert (f.p10 >= 0).all()
    width = lambda f: float((f.p90 - f.p10).mean())  # noqa: E731
    assert width(wild) > width(calm) + 0.05


def test_no_look_ahead_data_after_the_issue_time_changes_nothing():
    history = local_pattern_kwh("2026-01-01", 25)
    rng = np.random.default_rng(7)
    doctored = history.copy()
    # everything that ends after the issue time, including the slot running at issue, is garbage
    late = doctored.index + pd.Timedelta(minutes=30) > pd.Timestamp(ISSUED + timedelta(minutes=10))
    doctored[late] = rng.uniform(0, 50, late.sum())
    issued = ISSUED + timedelta(minutes=10)  # mid-slot: 16:00-16:30 has not ended
    a = forecast_base_load(history, NEXT_DAY, issued).frame()
    b = forecast_base_load(doctored, NEXT_DAY, issued).frame()
    pd.testing.assert_frame_equal(a, b)
    c = forecast_base_load(history[~late], NEXT_DAY, issued).frame()
    pd.testing.assert_frame_equal(a, c)


def test_no_history_falls_back_to_a_typical_domestic_profile():
    empty = pd.Series([], index=pd.DatetimeIndex([], tz="UTC"), dtype=float)
    forecast = forecast_base_load(empty, NEXT_DAY, ISSUED)
    assert "domestic profile" in forecast.method
    mean_kw = TYPICAL_ANNUAL_KWH / 8760
    # a January day is above the year's mean; the evening above the night
    assert mean_kw < forecast.p50.mean() < 2 * mean_kw
    assert forecast.p50.iloc[36] > forecast.p50.iloc[6]  # 18:00 vs 03:00
    assert (forecast.p90 > forecast.p50).all()


def test_short_history_scales_the_profile_to_the_home():
    two_days = local_pattern_kwh("2026-01-18", 2, evening_kw=3.0)
    settings = BaseLoadSettings(weight_recent_day=0.0, weight_last_week=0.0)
    forecast = forecast_base_load(two_days, NEXT_DAY, ISSUED, settings)
    assert "history: 2 day(s)" in forecast.method
    home_mean = float(two_days.mean() / 0.5)
    assert forecast.p50.mean() == pytest.approx(home_mean, rel=0.35)


def test_habits_follow_the_local_clock_across_the_spring_change():
    history = local_pattern_kwh("2026-03-10", 19)  # up to 28 March, GMT
    spring = TimeGrid.for_local_day(date(2026, 3, 29))  # BST from 01:00 UTC
    forecast = forecast_base_load(history, spring, datetime(2026, 3, 28, 23, tzinfo=UTC))
    evening = forecast.p50[forecast.p50 > 0.5].index
    assert evening[0] == pd.Timestamp("2026-03-29 16:00", tz="UTC")  # 17:00 BST
    assert len(evening) == 8


def test_the_planners_load_is_the_expected_energy_not_the_typical_half_hour():
    # every fourth day the 18:00 half hour has a 3 kW oven on top of the 1 kW evening: the
    # median day never has it, the expected energy includes a quarter of it
    history = local_pattern_kwh("2026-01-01", 20)
    local = history.index.tz_convert("Europe/London")
    oven = (local.hour == 18) & (local.minute == 0) & (local.day % 4 == 0)
    history = history + np.where(oven, 1.5, 0.0)  # 3 kW for half an hour
    typical = forecast_base_load(history, NEXT_DAY, ISSUED).p50
    expected = expected_base_load(history, NEXT_DAY, ISSUED)
    assert expected.name == "base_load_kw_expected"
    at_six = expected.index.tz_convert("Europe/London").hour == 18
    at_six &= expected.index.tz_convert("Europe/London").minute == 0
    assert typical[at_six].iloc[0] == pytest.approx(1.0)  # the median day
    # the trailing mean (weight 0.85) sees 4 ovens in the 19 known days; yesterday and last
    # week (0.1 and 0.05) had none: 0.85 * (1 + 3 * 4 / 19) + 0.15 * 1
    assert expected[at_six].iloc[0] == pytest.approx(0.85 * (1 + 3 * 4 / 19) + 0.15)
    np.testing.assert_allclose(expected[~at_six].to_numpy(), typical[~at_six].to_numpy())


def test_the_expected_load_comes_with_the_band_up_to_its_p90():
    history = local_pattern_kwh("2026-01-01", 20)
    local = history.index.tz_convert("Europe/London")
    oven = (local.hour == 18) & (local.minute == 0) & (local.day % 2 == 0)
    history = history + np.where(oven, 1.5, 0.0)
    band = expected_base_load_quantiles(history, NEXT_DAY, ISSUED)
    pd.testing.assert_series_equal(band.p50, expected_base_load(history, NEXT_DAY, ISSUED))
    assert (band.p90 >= band.p50).all()
    at_six = band.p90.index.tz_convert("Europe/London").hour == 18
    assert (band.p90[at_six] > band.p50[at_six] + 0.5).any()  # the oven on every other evening
