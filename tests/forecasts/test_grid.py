"""The aligned lookup every forecaster uses on year-long histories: the same answers as
``Series.reindex``, NaN where the history has no value at a time."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from forecasts.grid import (
    SlotTable,
    before,
    known_at,
    known_slot_table,
    local_day_and_minute,
    recent,
    values_on,
)
from forecasts.pattern import same_slot_values

IDX = pd.date_range("2020-03-28", periods=200, freq="30min", tz="UTC")


def test_values_on_matches_reindex_inside_outside_and_between_slots() -> None:
    history = pd.Series(np.arange(len(IDX), dtype=float), index=IDX).drop(IDX[50:60])
    half_hour = pd.Timedelta("30min")
    wanted = pd.DatetimeIndex(
        [
            IDX[0] - 2 * half_hour,
            IDX[3],
            IDX[55],
            IDX[-1],
            IDX[-1] + half_hour,
            IDX[10] + half_hour / 2,
        ]
    )
    expected = history.reindex(wanted).to_numpy()
    got = values_on(history, wanted)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_array_equal(got[~np.isnan(got)], expected[~np.isnan(expected)])
    assert list(np.isnan(got)) == [True, False, True, False, True, True]


def test_values_on_other_time_zone_unit_and_unsorted_history() -> None:
    london = IDX.tz_convert("Europe/London").as_unit("us")
    history = pd.Series(np.arange(len(IDX), dtype=float), index=london)
    np.testing.assert_array_equal(values_on(history, IDX[5:8]), [5.0, 6.0, 7.0])
    shuffled = history.iloc[::-1]  # falls back to reindex
    np.testing.assert_array_equal(values_on(shuffled, IDX[5:8]), [5.0, 6.0, 7.0])
    assert np.isnan(values_on(history.iloc[:0], IDX[:2])).all()


def test_before_cuts_at_the_first_slot_not_before() -> None:
    history = pd.Series(1.0, index=IDX)
    assert before(history, IDX[10].to_pydatetime()).index[-1] == IDX[9]
    assert len(before(history, IDX[0].to_pydatetime())) == 0
    with pytest.raises(ValueError, match="tomorrow"):
        before(history, "tomorrow")  # type: ignore[arg-type]


def _autumn_history() -> pd.Series:
    # three weeks of half hours across the autumn clock change (25 Oct 2020: 01:00-02:00 UK
    # local happens twice), with a gap and a NaN
    index = pd.date_range("2020-10-12", "2020-11-02", freq="30min", tz="UTC", inclusive="left")
    rng = np.random.default_rng(3)
    history = pd.Series(rng.uniform(0.1, 2.0, len(index)), index=index.as_unit("s"))
    history.iloc[400:410] = np.nan
    return history.drop(history.index[500:520])


@pytest.mark.parametrize(
    "issued",
    [
        "2020-10-20T07:30Z",
        "2020-10-25T00:30Z",  # the first of the repeated local hour's passes has ended
        "2020-10-25T01:00Z",
        "2020-10-25T02:00Z",  # both passes have ended
        "2020-10-31T23:30Z",
    ],
)
def test_the_whole_history_table_returns_only_what_was_known_at_the_issue_time(issued) -> None:
    history = _autumn_history()
    at = pd.Timestamp(issued).to_pydatetime()
    per_issue = SlotTable(known_at(history, at))
    whole = known_slot_table(history)
    grid = pd.date_range("2020-10-10", "2020-11-03", freq="30min", tz="UTC")
    day, minute = local_day_and_minute(grid)
    np.testing.assert_array_equal(whole.lookup(day, minute, at), per_issue.lookup(day, minute))
    assert not np.isnan(whole.lookup(day, minute, at)).all()


@pytest.mark.parametrize("step_minutes", [30, 60])
@pytest.mark.parametrize("shuffled", [False, True])
def test_same_slot_values_match_the_per_issue_window(step_minutes, shuffled) -> None:
    # the old path: a recent window, known_at, a SlotTable of it, at every issue time
    history = _autumn_history()
    if step_minutes == 60:
        history = history.resample("60min").mean()
    if shuffled:
        history = history.sample(frac=1.0, random_state=1)
    lags = range(1, 8)
    for issued in pd.date_range("2020-10-22T16:00Z", "2020-10-26T04:00Z", freq="7h"):
        grid = SimpleNamespace(
            start_utc=issued.to_pydatetime(),
            step_minutes=step_minutes,
            n_steps=36 * 60 // step_minutes,
        )
        ordered = history.sort_index()
        window = recent(ordered, issued, days=max(lags) + 3)
        table = SlotTable(
            known_at(window, issued, step_minutes=step_minutes), step_minutes=step_minutes
        )
        day, minute = local_day_and_minute(
            pd.date_range(issued, periods=grid.n_steps, freq=f"{step_minutes}min")
        )
        expected = table.lookup(day[None, :] - np.arange(1, 8)[:, None], minute[None, :])
        got = same_slot_values(
            history, grid, issued.to_pydatetime(), lags_days=lags, step_minutes=step_minutes
        )
        np.testing.assert_array_equal(got, expected)


def test_the_whole_history_table_is_built_once_per_series_object() -> None:
    history = _autumn_history()
    assert known_slot_table(history) is known_slot_table(history)
    first = known_slot_table(history)
    # grown in place (same object, one more slot): the table is rebuilt and holds the new value
    new_slot = history.index[-1] + pd.Timedelta("30min")
    history.loc[new_slot] = 123.0
    grown = known_slot_table(history)
    assert grown is not first
    day, minute = local_day_and_minute(pd.DatetimeIndex([new_slot]))
    after = (new_slot + pd.Timedelta("30min")).to_pydatetime()
    assert grown.lookup(day, minute, after)[0] == 123.0
    assert np.isnan(first.lookup(day, minute, after)[0])
    with pytest.raises(ValueError, match="timezone-aware"):
        known_slot_table(history).lookup(
            np.array([18560]), np.array([0]), pd.Timestamp("2020-10-20").to_pydatetime()
        )
