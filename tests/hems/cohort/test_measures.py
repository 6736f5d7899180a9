"""The cohort measures on hand-checkable cohorts (docs/cohort.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hems.cohort.measures import (
    aligned,
    cohort_measures,
    device_draws_kw,
    flexible_kw,
    import_kw,
)
from hems.cohort.shares import fair_shares


def test_a_cohort_whose_flexible_load_lands_in_one_slot_herds_fully() -> None:
    m = cohort_measures(
        [np.array([1.0, 3.0, 1.0, 1.0]), np.array([1.0, 3.0, 1.0, 1.0])],
        [np.array([0.0, 2.0, 0.0, 0.0]), np.array([0.0, 2.0, 0.0, 0.0])],
    )
    assert m.peak_import_kw == 6.0
    assert m.peak_slot == 1
    assert m.herding_index == pytest.approx(4.0)  # T: everything in one of 4 slots
    assert m.busiest_slot_share == pytest.approx(1.0)
    assert m.coincidence_factor == pytest.approx(1.0)  # both homes peak together


def test_spread_flexible_load_herds_less_and_diversifies_the_peak() -> None:
    m = cohort_measures(
        [np.array([1.0, 3.0, 1.0, 1.0]), np.array([3.0, 1.0, 1.0, 1.0])],
        [np.array([0.0, 2.0, 0.0, 0.0]), np.array([2.0, 0.0, 0.0, 0.0])],
    )
    assert m.herding_index == pytest.approx(2.0)  # 2 kW busiest over a 1 kW mean
    assert m.busiest_slot_share == pytest.approx(0.5)
    assert m.peak_import_kw == 4.0
    assert m.coincidence_factor == pytest.approx(4.0 / 6.0)


def test_an_even_spread_has_a_herding_index_of_one() -> None:
    m = cohort_measures([np.ones(4)], [np.full(4, 0.5)])
    assert m.herding_index == pytest.approx(1.0)


def test_an_empty_cohort_or_one_without_flexible_load_has_no_herding() -> None:
    empty = cohort_measures([], [])
    assert (empty.homes, empty.peak_import_kw, empty.peak_slot) == (0, 0.0, None)
    assert empty.herding_index is None
    assert empty.coincidence_factor is None
    assert empty.as_json()["import_kw"] == []
    still = cohort_measures([np.ones(3)], [np.zeros(3)])
    assert still.herding_index is None
    assert still.busiest_slot_share is None


def test_rows_of_different_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="differ in shape"):
        cohort_measures([np.ones(3)], [np.ones(4)])


def test_flexible_power_counts_charging_not_discharging_nor_pv() -> None:
    schedule = pd.DataFrame(
        {
            "Battery.power_kw": [2.0, -3.0],
            "EV.power_kw": [0.0, 7.0],
            "PV.power_kw": [-2.0, -1.0],
            "grid_import_kw": [0.0, 3.0],
        }
    )
    assert flexible_kw(schedule, ["Battery", "EV", "missing"]).tolist() == [2.0, 7.0]
    assert device_draws_kw(schedule).tolist() == [2.0, 7.0]


def test_an_unknown_value_counts_as_nothing_so_the_measures_stay_finite() -> None:
    schedule = pd.DataFrame({"EV.power_kw": [np.nan, 3.0], "grid_import_kw": [1.0, np.nan]})
    assert flexible_kw(schedule, ["EV"]).tolist() == [0.0, 3.0]
    assert import_kw(schedule).tolist() == [1.0, 0.0]


def test_plans_made_at_different_times_are_measured_on_their_common_slots() -> None:
    index = pd.date_range("2026-01-01", periods=4, freq="30min", tz="UTC")
    rows = aligned([pd.Series([1.0, 2, 3, 4], index=index), pd.Series([5.0, 6], index=index[2:])])
    assert [r.tolist() for r in rows] == [[3.0, 4.0], [5.0, 6.0]]
    assert aligned([]) == []


def test_fair_shares_keep_small_wants_and_split_the_rest_evenly() -> None:
    shares = fair_shares(10.0, np.zeros(3), np.array([2.0, np.inf, np.inf]))
    assert shares == pytest.approx([2.0, 4.0, 4.0])
    assert shares.sum() == pytest.approx(10.0, abs=1e-9)


def test_fair_shares_respect_floors() -> None:
    shares = fair_shares(6.0, np.array([3.0, 0.0]), np.array([np.inf, np.inf]))
    assert shares == pytest.approx([3.0, 3.0])
    shares = fair_shares(6.0, np.array([4.0, 0.0]), np.array([np.inf, np.inf]))
    assert shares == pytest.approx([4.0, 2.0])


def test_fair_shares_when_the_floors_exceed_the_limit_are_the_floors() -> None:
    assert fair_shares(2.0, np.array([1.5, 1.5]), np.array([5.0, 5.0])).tolist() == [1.5, 1.5]


def test_fair_shares_spread_spare_capacity_over_modest_wants() -> None:
    assert fair_shares(10.0, np.zeros(2), np.array([1.0, 3.0])) == pytest.approx([4.0, 6.0])
    assert fair_shares(1.0, np.zeros(0), np.zeros(0)).size == 0
