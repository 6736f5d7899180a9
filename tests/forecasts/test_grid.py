"""The aligned lookup every forecaster uses on year-long histories: the same answers as
``Series.reindex``, NaN where the history has no value at a time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasts.grid import before, values_on

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
