"""When the car comes home, learnt from its plug-ins (hems.ev_arrivals), and the plan that
holds tonight's charge while the car is away (issue 28)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hems.ev_arrivals import (
    DEFAULT_ARRIVAL_SOC,
    ExpectedArrival,
    PlugIn,
    expected_arrival,
    expected_arrivals,
    learn_habit,
)
from kernel.timegrid import TimeGrid

# a winter Monday, so UTC is UK time
MONDAY = datetime(2026, 11, 30, tzinfo=UTC)


def _at(days: float, hour: float) -> datetime:
    return MONDAY + timedelta(days=days, hours=hour)


def _hhmm(minutes_after_4am: float) -> str:
    m = round(minutes_after_4am) + 4 * 60
    return f"{m // 60 % 24:02d}:{m % 60:02d}"


def test_with_no_plug_in_the_car_is_expected_at_18_with_the_default_soc():
    habit = learn_habit([], _at(0, 12))
    assert [_hhmm(m) for m in habit.minutes_by_weekday] == ["18:00"] * 7
    assert habit.arrival_soc == DEFAULT_ARRIVAL_SOC
    assert habit.plug_ins == 0


def test_each_weekday_is_learnt_from_its_plug_ins_shrunk_towards_all_of_them():
    # four Mondays at 17:00 and four Tuesdays at 19:00, before Monday 30 November
    plug_ins = [PlugIn(_at(-7 * w, 17), 0.3) for w in range(1, 5)]
    plug_ins += [PlugIn(_at(-7 * w + 1, 19), 0.5) for w in range(1, 5)]
    habit = learn_habit(plug_ins, _at(0, 12))
    days = [_hhmm(m) for m in habit.minutes_by_weekday]
    # the prior is the median of all (18:00), worth two plug-ins: (2 x 18 + 4 x 17) / 6
    assert days[0] == "17:20"
    assert days[1] == "18:40"
    assert days[2:] == ["18:00"] * 5  # no plug-in of their own: the median of all
    assert habit.arrival_soc == 0.4  # the median of the recorded SoCs
    assert habit.plug_ins == 8


def test_old_plug_ins_are_forgotten_and_one_after_midnight_is_the_evening_before():
    old = [PlugIn(_at(-70, 12), 0.9)]  # ten weeks ago: forgotten
    late = [PlugIn(_at(-7 * w + 1, 0.5)) for w in range(1, 3)]  # Tuesdays 00:30: Monday night
    habit = learn_habit(old + late, _at(0, 12))
    assert _hhmm(habit.minutes_by_weekday[0]) == "00:30"  # Monday's evening, not Tuesday's
    assert habit.arrival_soc == DEFAULT_ARRIVAL_SOC  # no SoC reported
    assert habit.plug_ins == 2


def test_the_expected_arrival_is_the_first_whole_slot_and_a_late_car_the_next_slot():
    habit = learn_habit(
        [
            PlugIn(
                _at(
                    -7 * w,
                    17,
                )
                + timedelta(minutes=10)
            )
            for w in (1, 2)
        ],
        _at(0, 9),
    )
    grid = TimeGrid.starting_at(_at(0, 12), step_minutes=30, horizon_hours=24)
    # Monday's arrival 17:10 (prior and habit agree): the car is counted on from 17:30
    assert expected_arrival(habit, _at(0, 12), grid) == ExpectedArrival(_at(0, 17.5), 0.4)
    # at 19:05 the car is late: expected from the next slot
    grid = TimeGrid.starting_at(_at(0, 19 + 5 / 60), step_minutes=30, horizon_hours=24)
    assert expected_arrival(habit, _at(0, 19 + 5 / 60), grid).at_utc == _at(0, 19.5)
    # six hours late it is no longer expected that day: Tuesday's arrival
    now = _at(1, 0.5)
    grid = TimeGrid.starting_at(now, step_minutes=30, horizon_hours=24)
    assert expected_arrival(habit, now, grid).at_utc == _at(1, 17.5)
    # past the grid's end: not expected within the plan
    grid = TimeGrid.starting_at(now, step_minutes=30, horizon_hours=6)
    assert expected_arrival(habit, now, grid) is None


def test_expected_arrivals_read_each_cars_own_plug_ins():
    recorded = [
        (_at(-7, 20), {"device": "EV", "soc": 0.2}),
        (_at(-7, 16), {"device": "Van", "soc": None}),
    ]
    grid = TimeGrid.starting_at(_at(0, 12), step_minutes=60, horizon_hours=24)
    out = expected_arrivals(recorded, ["EV"], _at(0, 12), grid)
    # EV: (2 x 20:00 + 1 x 20:00) / 3, its own SoC; the van's plug-in is not the EV's
    assert out == {"EV": ExpectedArrival(_at(0, 20), 0.2)}
