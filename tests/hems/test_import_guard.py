"""The import guard (hems/import_guard.py): the flexible loads turned down in order when the
metered import nears the home's limit, only as far as needed, a boosted car last, restored
with hysteresis (room for the power given back, a hold time), the last turned down first."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hems.demo import demo_home_spec
from hems.domain.devices import HeatPumpSpec
from hems.import_guard import RESTORE_REASON, TURN_DOWN_REASON, ImportGuard

from .conftest import MONDAY_5PM

HOME = demo_home_spec().model_copy(update={"import_limit_kw": 15.0})
PLAN = {"EV": 7.4, "Heat pump": 3.0, "Battery": 5.0, "PV": 0.0}
"""The plan's powers: the car, the heat pump and the battery charging from the grid [kW]."""
TARGET = 14.7
"""Where a turn-down takes the import: 0.3 kW under the limit [kW]."""


def _update(guard: ImportGuard, site_kw: float, *, at_s: float = 0.0, commanded=None, **kw):
    return {
        c.device: c
        for c in guard.update(
            HOME,
            MONDAY_5PM + timedelta(seconds=at_s),
            site_kw,
            commanded if commanded is not None else PLAN,
            PLAN,
            **kw,
        )
    }


def test_nothing_happens_up_to_the_limit_which_a_plan_may_use_whole():
    guard = ImportGuard()
    assert _update(guard, 15.0) == {}
    assert guard.caps == {}


def test_the_car_is_turned_down_first_and_only_as_far_as_needed():
    guard = ImportGuard()
    changes = _update(guard, 16.0)  # 1.3 kW above the target
    assert list(changes) == ["EV"]
    assert changes["EV"].power_kw == pytest.approx(6.1)
    assert changes["EV"].reason == TURN_DOWN_REASON
    assert guard.capped("EV", 7.4) == pytest.approx(6.1)
    assert guard.capped("Heat pump", 3.0) == 3.0


def test_below_the_chargers_minimum_the_car_stops_then_the_heat_pump_then_the_battery():
    guard = ImportGuard()
    changes = _update(guard, TARGET + 7.4 + 3.0 + 1.0)  # more than the car and heat pump
    assert [(d, c.power_kw) for d, c in changes.items()] == [
        ("EV", 0.0),
        ("Heat pump", 0.0),
        ("Battery", pytest.approx(4.0)),
    ]
    guard = ImportGuard()
    changes = _update(guard, TARGET + 6.5)  # 6.5 kW off the car leaves 0.9 < its 1.4 minimum
    assert changes["EV"].power_kw == 0.0
    assert "Heat pump" not in changes


def test_a_battery_following_the_site_is_left_alone_and_a_boosted_car_goes_last():
    guard = ImportGuard()
    changes = _update(guard, TARGET + 3.0 + 5.0 + 1.0, boosted=frozenset({"EV"}))
    assert [(d, c.power_kw) for d, c in changes.items()] == [
        ("Heat pump", 0.0),
        ("Battery", 0.0),
        ("EV", pytest.approx(6.4)),
    ]
    guard = ImportGuard()
    changes = _update(
        guard, TARGET + 3.0 + 1.0, boosted=frozenset({"EV"}), following=frozenset({"Battery"})
    )
    assert [(d, c.power_kw) for d, c in changes.items()] == [
        ("Heat pump", 0.0),
        ("EV", pytest.approx(6.4)),
    ]


def test_restored_with_hysteresis_after_the_hold_time_the_last_turned_down_first():
    guard = ImportGuard()
    _update(guard, TARGET + 7.4 + 1.0)  # car off, heat pump to 2 kW
    assert guard.caps == {"EV": 0.0, "Heat pump": pytest.approx(2.0)}
    commanded = {**PLAN, "EV": 0.0, "Heat pump": 2.0}
    # the load falls 4 kW: the import is 10.5 kW, room for the heat pump's 1 kW, not yet
    assert _update(guard, 10.5, at_s=30, commanded=commanded) == {}  # held 60 s
    changes = _update(guard, 10.5, at_s=61, commanded=commanded)
    assert [(d, c.power_kw, c.reason) for d, c in changes.items()] == [
        ("Heat pump", 3.0, RESTORE_REASON)
    ]
    # 11.5 kW with the heat pump back: 2.5 kW of room under 14 kW, not the car's 7.4 ...
    changes = _update(guard, 11.5, at_s=75, commanded={**commanded, "Heat pump": 3.0})
    assert changes["EV"].power_kw == pytest.approx(2.5)  # ... so part of it
    assert guard.caps == {"EV": pytest.approx(2.5)}
    # within the hysteresis band (14 - 15 kW) nothing moves either way
    assert _update(guard, 14.2, at_s=200, commanded={**PLAN, "EV": 2.5}) == {}
    assert _update(guard, 15.0, at_s=300, commanded={**PLAN, "EV": 2.5}) == {}
    assert guard.caps == {"EV": pytest.approx(2.5)}


def test_a_cap_above_what_the_plan_wants_is_dropped():
    guard = ImportGuard()
    _update(guard, 16.0)
    assert "EV" in guard.caps
    guard.update(HOME, MONDAY_5PM, 8.0, PLAN, {**PLAN, "EV": 3.0})
    assert guard.caps == {}


@pytest.mark.parametrize(
    ("fields", "turned_down_kw"),
    [({}, 2.0), ({"min_power_kw": 2.5}, 0.0), ({"modulating": False}, 0.0)],
)
def test_a_heat_pump_is_stopped_below_the_least_power_it_runs_at_and_restored_whole(
    fields, turned_down_kw
):
    (hp,) = [d for d in HOME.devices if isinstance(d, HeatPumpSpec)]
    home = HOME.model_copy(
        update={
            "devices": [d if d is not hp else hp.model_copy(update=fields) for d in HOME.devices]
        }
    )
    guard = ImportGuard()
    site_kw = TARGET + 7.4 + 1.0  # the car off, then 1 kW off the heat pump's 3 kW
    changes = guard.update(home, MONDAY_5PM, site_kw, PLAN, PLAN)
    assert {c.device: c.power_kw for c in changes}["Heat pump"] == pytest.approx(turned_down_kw)
    commanded = {**PLAN, "EV": 0.0, "Heat pump": turned_down_kw}
    # 2 kW of room after the hold time: part of the way for a modulating unit down to off, not
    # enough for one that runs at 2.5 kW or more
    room_site_kw = 14.0 - 2.0
    changes = guard.update(home, MONDAY_5PM + timedelta(seconds=61), room_site_kw, commanded, PLAN)
    restored = {c.device: c.power_kw for c in changes}
    if turned_down_kw > 0:
        assert restored == {"Heat pump": 3.0}
    else:
        assert restored == {}
        assert guard.caps["Heat pump"] == 0.0
