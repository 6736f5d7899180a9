"""The SQLite cache and the last-known-pattern fallback."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from adapters.cache import SeriesCache, load_frame, store_frame
from adapters.errors import DataMissingError, StaleDataError
from adapters.fallback import cached_or_pattern, last_known_pattern
from optimiser import TimeGrid

KEY = "octopus:agile:import:C"
DAY1 = TimeGrid(start_utc=datetime(2026, 1, 14, tzinfo=UTC), n_steps=48)
DAY2 = TimeGrid(start_utc=datetime(2026, 1, 15, tzinfo=UTC), n_steps=48)
FETCHED = datetime(2026, 1, 14, 16, 5, tzinfo=UTC)


def day_prices(grid: TimeGrid, offset: float = 0.0) -> pd.Series:
    values = 0.10 + 0.01 * np.arange(grid.n_steps) + offset
    return pd.Series(values, index=grid.index, name="import_price_gbp_per_kwh")


def test_a_restart_reads_back_the_values_their_name_and_age(tmp_path):
    path = tmp_path / "state" / "cache.sqlite"
    with SeriesCache(path) as cache:
        cache.store(KEY, day_prices(DAY1), FETCHED)
    with SeriesCache(path) as reopened:
        cached = reopened.load(KEY)
    assert cached.series.name == "import_price_gbp_per_kwh"
    pd.testing.assert_series_equal(
        cached.on_grid(DAY1),
        day_prices(DAY1),
        check_names=False,
        check_freq=False,
        check_index_type=False,
    )
    assert cached.age(FETCHED + timedelta(hours=3)) == timedelta(hours=3)


def test_newer_fetches_upsert_and_nan_never_overwrites():
    cache = SeriesCache(":memory:")
    cache.store(KEY, day_prices(DAY1), FETCHED)
    newer = day_prices(DAY1, offset=1.0)
    newer.iloc[:10] = np.nan  # not in this response
    cache.store(KEY, newer, FETCHED + timedelta(hours=1))
    cached = cache.load(KEY)
    assert cached.series.iloc[0] == pytest.approx(0.10)
    assert cached.series.iloc[10] == pytest.approx(1.20)
    assert cached.fetched_at_utc == FETCHED + timedelta(hours=1)
    assert cache.prune(KEY, before_utc=DAY1.slot_start(24)) == 24


def test_missing_and_stale_are_typed_errors():
    cache = SeriesCache(":memory:")
    with pytest.raises(DataMissingError):
        cache.load(KEY)
    cache.store(KEY, day_prices(DAY1), FETCHED)
    now = FETCHED + timedelta(hours=30)
    with pytest.raises(StaleDataError) as info:
        cache.load_fresh(KEY, now_utc=now, max_age=timedelta(hours=24))
    assert info.value.age == timedelta(hours=30)
    assert cache.load_fresh(KEY, now_utc=now, max_age=timedelta(hours=36)).key == KEY


def test_frames_are_stored_by_column():
    cache = SeriesCache(":memory:")
    frame = pd.DataFrame({"a_c": day_prices(DAY1), "b_w_per_m2": day_prices(DAY1) * 2})
    store_frame(cache, "weather:home", frame, FETCHED)
    back = load_frame(cache, "weather:home", ["a_c", "b_w_per_m2"])
    np.testing.assert_allclose(back.to_numpy(), frame.to_numpy())


def test_last_known_pattern_repeats_the_newest_day_by_local_time():
    history = pd.concat([day_prices(DAY1, offset=5.0), day_prices(DAY2)])
    nextday = TimeGrid(start_utc=datetime(2026, 1, 16, 6, tzinfo=UTC), n_steps=48)
    pattern = last_known_pattern(history, nextday)
    assert pattern.iloc[0] == pytest.approx(0.10 + 0.01 * 12)  # 06:00 of the newest day
    assert pattern.iloc[-1] == pytest.approx(0.10 + 0.01 * 11)  # 05:30, wraps to the same day


def test_pattern_across_the_spring_clock_change_uses_the_local_clock():
    winter = TimeGrid.for_local_day(date(2026, 3, 28))
    history = day_prices(winter)
    spring = TimeGrid.for_local_day(date(2026, 3, 29))
    pattern = last_known_pattern(history, spring)
    # 02:00 BST (01:00 UTC) takes the value of 02:00 local the day before (slot 4)
    assert pattern.iloc[2] == pytest.approx(history.iloc[4])
    weekly = last_known_pattern(history, spring, period_days=7)
    assert weekly.notna().all()  # only one day known: the nearest time of week fills the rest
    with pytest.raises(ValueError, match="period_days"):
        last_known_pattern(history, spring, period_days=3)
    with pytest.raises(DataMissingError):
        last_known_pattern(history * np.nan, spring)


def test_cached_or_pattern_fills_the_unpublished_part_and_flags_it():
    cache = SeriesCache(":memory:")
    cache.store(KEY, day_prices(DAY1), FETCHED)
    grid = TimeGrid(start_utc=datetime(2026, 1, 14, 18, tzinfo=UTC), n_steps=48)
    now = datetime(2026, 1, 14, 18, tzinfo=UTC)
    out = cached_or_pattern(cache, KEY, grid, now_utc=now, max_age=timedelta(hours=24))
    assert out.series.notna().all()
    assert out.from_pattern.sum() == 36  # 18:00-24:00 published, the next 18 h from the pattern
    assert out.series.iloc[12] == pytest.approx(0.10)  # midnight of the next day: 00:00 pattern
    assert out.age == now - FETCHED


def test_cached_or_pattern_refuses_stale_data_unless_allowed():
    cache = SeriesCache(":memory:")
    cache.store(KEY, day_prices(DAY1), FETCHED)
    now = FETCHED + timedelta(days=3)
    with pytest.raises(StaleDataError):
        cached_or_pattern(
            cache, KEY, DAY2, now_utc=now, max_age=timedelta(hours=24), allow_pattern=False
        )
    out = cached_or_pattern(cache, KEY, DAY2, now_utc=now, max_age=timedelta(hours=24))
    assert out.from_pattern.all()
    assert out.age == timedelta(days=3)


def test_remembered_reads_are_forgotten_on_store_and_prune():
    cache = SeriesCache(":memory:")
    cache.store(KEY, day_prices(DAY1), FETCHED)
    first = cache.load(KEY)
    assert cache.load(KEY) is first  # remembered
    cache.store(KEY, day_prices(DAY1, offset=1.0), FETCHED + timedelta(hours=1))
    assert cache.load(KEY).series.iloc[0] == pytest.approx(1.10)
    since = cache.load(KEY, since_utc=DAY1.slot_start(40))
    assert len(since.series) == 8
    cache.prune(KEY, before_utc=DAY1.slot_start(44))
    assert len(cache.load(KEY, since_utc=DAY1.slot_start(40)).series) == 4
