"""A device off its setpoint in force asks its home for a re-plan (hems/drift.py); the
telemetry job reads every home's setpoints in force in one query, not one a device."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from hems.demo import demo_home_spec
from hems.drift import drift_reasons
from hems.storage.setpoint_records import SetpointKind, SetpointStatus, StoredSetpoint
from kernel.devices import DeviceState

from .conftest import MONDAY_5PM, Demo
from .test_one_pass_per_trigger import _counting


def _sent(device: str, power_kw: float) -> StoredSetpoint:
    return StoredSetpoint(
        id=1,
        home_id=1,
        device_name=device,
        power_kw=power_kw,
        reason="plan",
        kind=SetpointKind.DECISION,
        follow_site=False,
        store_surplus=False,
        status=SetpointStatus.SENT,
        plan_id=None,
        created_at=MONDAY_5PM,
        effective_at=MONDAY_5PM,
        applied_at=MONDAY_5PM,
        attempts=1,
        last_error="",
    )


def test_a_device_off_its_setpoint_by_more_than_the_threshold_drifts():
    home = demo_home_spec()
    at = MONDAY_5PM
    states = {
        "Battery": DeviceState(at_utc=at, power_kw=0.2),
        "EV": DeviceState(at_utc=at, power_kw=0.0, plugged_in=False),
        "PV": DeviceState(at_utc=at, power_kw=-1.0),
    }
    applied = {"Battery": _sent("Battery", 2.0), "EV": _sent("EV", 7.4), "PV": _sent("PV", -4.0)}
    none: frozenset[str] = frozenset()
    # the car is away; PV's setpoint is a cap
    assert drift_reasons(home, states, applied, none, none, 1.0) == ["Battery drifted -1.8 kW"]
    assert drift_reasons(home, states, applied, none, none, 2.0) == []  # within the threshold
    following = frozenset({"Battery"})  # a battery following the site holds less by design
    assert drift_reasons(home, states, applied, following, none, 1.0) == []
    assert drift_reasons(home, states, {}, none, none, 1.0) == []  # nothing sent yet


def test_the_telemetry_job_finds_a_drift_from_one_read_of_every_homes_setpoints(
    demo: Demo, monkeypatch
):
    service = demo.runtime.service
    store, ctl = service.store, service.controller(demo.home_id)
    asyncio.run(service.read_all())
    battery = ctl.states["Battery"]
    now = demo.clock.now()
    sent = store.add_setpoint(
        demo.home_id, "Battery", battery.power_kw + 3.0, "plan", None, now, now
    )
    store.mark_setpoint(sent, applied_at=now + timedelta(seconds=1))
    ctl.follow_site = ctl.store_surplus = frozenset()  # the battery holds its setpoint
    bulk = _counting(monkeypatch, store, "last_applied_setpoints")
    triggers = _counting(monkeypatch, ctl, "replan")
    asyncio.run(service.read_all())
    assert bulk == [([demo.home_id],)]
    assert [t[0] for t in triggers] == ["Battery drifted -3.0 kW"]
