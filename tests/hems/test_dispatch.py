"""Dispatch safeguards: the EV's randomised delay, when it does not apply, consumer
overrides that win over the plan, and the ramp-up limits."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from hems.demo import demo_home_spec
from hems.dispatch import DispatchRules, RampLimits, decide
from hems.domain.devices import DeviceKind, HeatPumpSpec
from hems.slot_setpoints import ramp_move

from .conftest import MONDAY_5PM

HOME = demo_home_spec()


def _decide(
    planned, *, last=None, states=None, boosted=(), paused=(), dsr=False, seed=0, max_delay_s=600
):
    return {
        d.device: d
        for d in decide(
            home=HOME,
            planned_kw=planned,
            last_kw=last or {},
            boosted=frozenset(boosted),
            paused=frozenset(paused),
            dsr_active=dsr,
            now=MONDAY_5PM,
            rules=DispatchRules(max_delay_s=max_delay_s),
            rng=random.Random(seed),
        )
    }


def test_ev_charge_starts_are_spread_over_the_configured_delay():
    delays = [
        (_decide({"EV": 7.4}, last={"EV": 0.0}, seed=s)["EV"].effective_at - MONDAY_5PM)
        for s in range(200)
    ]
    assert all(timedelta(0) <= d <= timedelta(seconds=600) for d in delays)
    assert max(delays) > timedelta(seconds=500)  # spread over the whole window
    assert min(delays) < timedelta(seconds=100)


def test_the_delay_bound_follows_the_setting():
    d = [_decide({"EV": 7.4}, seed=s, max_delay_s=1800)["EV"].effective_at for s in range(100)]
    assert max(d) - MONDAY_5PM > timedelta(seconds=1200)


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"dsr": True}, "plan"),
        ({"boosted": ["EV"]}, "override:boost"),
    ],
)
def test_no_delay_during_a_dsr_response_or_after_an_override(kwargs, reason):
    ev = _decide({"EV": 7.4}, last={"EV": 0.0}, **kwargs)["EV"]
    assert ev.effective_at == MONDAY_5PM
    assert ev.reason == reason


def test_stopping_a_charge_is_never_delayed():
    ev = _decide({"EV": 0.0}, last={"EV": 7.4})["EV"]
    assert ev.power_kw == 0.0
    assert ev.effective_at == MONDAY_5PM


def test_an_unchanged_setpoint_is_not_sent_again():
    assert "Battery" not in _decide({"Battery": 2.0}, last={"Battery": 2.0})


def test_a_paused_device_is_held_at_zero_whatever_the_plan():
    d = _decide({"Heat pump": 2.5}, last={"Heat pump": 2.5}, paused=["Heat pump"])
    assert d["Heat pump"].power_kw == 0.0
    assert d["Heat pump"].reason == "override:pause"


# -- ramp limits -----------------------------------------------------------------------------
RAMPS = RampLimits(
    kw_per_min={DeviceKind.EV_CHARGER: 2.0, DeviceKind.BATTERY: 5.0}, apply_interval_s=15.0
)


def test_a_rise_is_limited_to_the_rate_over_the_elapsed_time_and_one_interval():
    ev = DeviceKind.EV_CHARGER
    assert RAMPS.next_step(ev, 0.0, 7.4, elapsed_s=15.0) == pytest.approx(0.5)
    assert RAMPS.next_step(ev, 0.0, 7.4, elapsed_s=6.0) == pytest.approx(0.2)
    # a device steady for an hour still steps by one interval's worth, not by the hour's
    assert RAMPS.next_step(ev, 0.0, 7.4, elapsed_s=3600.0) == pytest.approx(0.5)
    assert RAMPS.next_step(ev, 0.0, 7.4, elapsed_s=None) == pytest.approx(0.5)
    assert RAMPS.next_step(ev, 7.2, 7.4, elapsed_s=15.0) == 7.4  # the last step lands on it
    # a charger that cannot run below 1.4 kW starts there, then ramps
    assert RAMPS.next_step(ev, 0.0, 7.4, elapsed_s=15.0, min_running_kw=1.4) == 1.4
    assert RAMPS.next_step(ev, 1.4, 7.4, elapsed_s=15.0, min_running_kw=1.4) == pytest.approx(1.9)
    assert RAMPS.next_step(ev, 0.0, 1.0, elapsed_s=15.0, min_running_kw=1.4) == pytest.approx(0.5)
    # battery: from discharging to charging is a rise; the other way round is not
    assert RAMPS.next_step(DeviceKind.BATTERY, -3.0, 3.0, elapsed_s=15.0) == pytest.approx(-1.75)
    assert RAMPS.next_step(DeviceKind.BATTERY, 3.0, -3.0, elapsed_s=15.0) == -3.0


def test_a_lowering_applies_at_once_and_unlimited_kinds_are_not_ramped():
    assert RAMPS.next_step(DeviceKind.EV_CHARGER, 7.4, 0.0, elapsed_s=1.0) == 0.0
    assert RAMPS.next_step(DeviceKind.HEAT_PUMP, 0.0, 3.0, elapsed_s=1.0) == 3.0  # 0 = no limit
    assert RAMPS.next_step(DeviceKind.PV, -4.0, 0.0, elapsed_s=1.0) == 0.0  # a cap, never ramped


def test_the_time_to_reach_a_rise_counts_whole_intervals():
    # 7.4 kW at 0.5 kW per 15 s step: 15 steps, plus one interval for the first tick
    assert RAMPS.time_to_reach_s(DeviceKind.EV_CHARGER, 7.4) == 16 * 15.0
    assert RAMPS.time_to_reach_s(DeviceKind.EV_CHARGER, 0.0) == 15.0


def test_ramp_limits_refuse_negative_rates():
    with pytest.raises(ValueError, match="ramp rate"):
        RampLimits(kw_per_min={DeviceKind.BATTERY: -1.0})


@pytest.mark.parametrize(
    ("fields", "first_kw"),
    [
        ({}, 0.25),  # modulating down to off: 1 kW/min over 15 s
        ({"min_power_kw": 1.2}, 1.2),  # it cannot run lower
        ({"modulating": False}, 3.0),  # on/off: full power or off
    ],
)
def test_a_heat_pump_s_ramp_starts_at_the_least_power_it_runs_at(fields, first_kw):
    hp = HeatPumpSpec(
        name="HP",
        max_power_kw=3.0,
        heat_loss_kw_per_k=0.2,
        thermal_capacity_kwh_per_k=9.0,
        **fields,
    )
    ramps = RampLimits(kw_per_min={DeviceKind.HEAT_PUMP: 1.0}, apply_interval_s=15.0)
    move = ramp_move(ramps, hp, 3.0, None, 0.0, MONDAY_5PM)
    assert move is not None
    assert move.power_kw == pytest.approx(first_kw)
    assert move.reaches_target is (first_kw == 3.0)
