"""Plans, not just powers: after each plan the service leaves the plan's next hours on the
devices that can hold them (an OCPP charger's charging profile, an MQTT device's retained
plan), and a charger's plug-in and plug-out re-plan the home at once."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import pandas as pd

from adapters.devices.ocpp import limit_for
from hems.domain.connections import DeviceSettings, HomeDevices, MqttConnection
from hems.domain.devices import EvChargerSpec, HeatPumpSpec
from hems.plan_schedules import SCHEDULE_HOURS, EvRises, steps_per_device
from hems.runtime import build_runtime, start_devices, stop_devices
from hems.storage.store import StoredEvent
from tests.adapters.devices.mqtt_peers import (
    fresh_state,
    running_broker,
    running_heat_pump,
)
from tests.adapters.devices.ocpp_peer import until

from .mqtt_cem import cem_broker
from .test_device_runtime import home_spec, service_with_devices, settings_for

T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def _plan(ev_kw: list[float], hp_kw: list[float]) -> pd.DataFrame:
    index = pd.date_range(T0, periods=len(ev_kw), freq="30min", tz="UTC")
    return pd.DataFrame(
        {"EV.setpoint_kw": ev_kw, "EV.power_kw": ev_kw, "Heat pump.power_kw": hp_kw}, index=index
    )


HOME_DEVICES = home_spec().model_copy(
    update={
        "devices": [
            EvChargerSpec(name="EV", vehicle_capacity_kwh=60),
            HeatPumpSpec(
                name="Heat pump",
                max_power_kw=3,
                heat_loss_kw_per_k=0.15,
                thermal_capacity_kwh_per_k=5,
            ),
        ]
    }
)


RISES = EvRises(max_delay_s=600, ramp_kw_per_min=2.0, apply_interval_s=15)
"""The service's defaults: a 600 s randomised delay, 2 kW/min, the apply job every 15 s."""


def test_the_schedule_is_the_plan_s_changes_with_ev_rises_after_the_cem_s_own():
    plan = _plan([0, 0, 7.4, 7.4, 3.0, 7.4, 0, 0], [1.0, 1.0, 1.0, 0.5, 0.5, 2.0, 2.0, 2.0])
    now = T0 + timedelta(minutes=10)  # in the first slot: the schedule starts at the second
    got = steps_per_device(
        plan, HOME_DEVICES, now, ["EV", "Heat pump"], events=[], rises=RISES, rng=random.Random(1)
    )
    slot = timedelta(minutes=30)
    hp = got["Heat pump"]
    assert hp.steps == ((T0 + slot, 1.0), (T0 + 3 * slot, 0.5), (T0 + 5 * slot, 2.0))
    assert hp.end_utc == T0 + 8 * slot
    ev = got["EV"]
    assert [kw for _, kw in ev.steps] == [0.0, 7.4, 3.0, 7.4, 0.0]
    delays = [
        (t - (T0 + n * slot)).total_seconds()
        for (t, _), n in zip(ev.steps, [1, 2, 4, 5, 6], strict=True)
    ]
    # a rise comes after the CEM's own longest delay (600 s), its ramp (7.4 kW at 2 kW/min:
    # 222 s; 3 -> 7.4 kW: 132 s) and an apply interval, plus 0-600 s of its own; a lower rate
    # and a stop come at once
    assert delays[0] == delays[2] == delays[4] == 0
    assert 600 + 222 + 15 <= delays[1] <= 600 + 222 + 15 + 600
    assert 600 + 132 + 15 <= delays[3] <= 600 + 132 + 15 + 600


def test_in_a_dsr_event_a_rise_waits_only_for_the_ramp_and_only_the_next_hours_are_sent():
    hours = SCHEDULE_HOURS + 4
    plan = _plan([0, 7.4] * hours, [1.0] * (2 * hours))
    event = StoredEvent(
        event_id="e1",
        modification_number=0,
        kind="LOAD_UP",
        value_kw=1.0,
        start=T0,
        end=T0 + timedelta(hours=hours),
        status="active",
        response="optIn",
        response_reason="",
    )
    got = steps_per_device(
        plan, HOME_DEVICES, T0, ["EV"], events=[event], rises=RISES, rng=random.Random(1)
    )["EV"]
    # a stop at the slot's start (T0 is on the hour: starts at :30, stops at :00); a start
    # 222 s of ramp + 15 s after its slot's start, no randomised delay
    assert {(t.minute, t.second) for t, kw in got.steps if kw == 0} == {(0, 0)}
    assert {(t.minute, t.second) for t, kw in got.steps if kw > 0} == {(33, 57)}
    assert got.end_utc == T0 + timedelta(hours=SCHEDULE_HOURS)
    assert max(t for t, _ in got.steps) < T0 + timedelta(hours=SCHEDULE_HOURS)


def _merged(limits: list[float]) -> list[float]:
    return [x for i, x in enumerate(limits) if i == 0 or x != limits[i - 1]]


def test_the_charger_holds_the_plan_s_next_hours_and_plug_events_replan(tmp_path):
    from tests.adapters.devices.sunspec_peer import running_peer

    async def run(battery) -> None:
        async with service_with_devices(tmp_path, battery) as (runtime, home_id, cp):
            service, store = runtime.service, runtime.store
            await service.cycle_all()
            await service.settle()  # the re-plan the charger's boot and plug-in asked for
            ctl = service.controller(home_id)
            schedule = ctl.schedules["EV"]
            assert schedule.end_utc > datetime.now(UTC) + timedelta(hours=SCHEDULE_HOURS - 1)
            applied = store.last_applied_setpoint(home_id, "EV")
            assert applied is not None
            assert runtime.devices is not None
            assert runtime.devices.csms is not None
            charger = runtime.devices.csms.charger("CP-1")
            await cp.wait_for("profile", since=0)
            at = applied.applied_at
            assert at is not None
            later = [kw for _, kw in schedule.after(at if at.tzinfo else at.replace(tzinfo=UTC))]
            expected = _merged([limit_for(charger, kw) for kw in [applied.power_kw, *later]])
            # the last profile sent holds the setpoint now, then the plan's changes
            await asyncio.sleep(0.2)
            profile = cp.of("profile")[-1]
            assert [p["limit"] for p in profile["periods"]] == expected
            # the car leaves: the home re-plans at once, without waiting for the next read
            plans_before = store.latest_plan(home_id)
            assert plans_before is not None
            cp.send("unplug")
            await until(lambda: "EV unplugged" in _trigger(store, home_id), timeout_s=30)
            assert ctl.states["EV"].plugged_in is False
            cp.send("plug")
            await until(lambda: "EV plugged in" in _trigger(store, home_id), timeout_s=30)
            # a fault: reported offline and planned around at once, not at the next read
            cp.send("fault")
            await until(lambda: "EV faulted" in _trigger(store, home_id), timeout_s=30)
            assert not ctl.health["EV"].online
            assert "fault" in ctl.health["EV"].last_error
            plan = store.latest_plan(home_id)
            assert plan is not None
            assert not any(c.startswith("EV.") for c in plan.schedule.columns)

    with running_peer("--load-w", "1000", "--pv-w", "0") as battery:
        asyncio.run(run(battery))


def _trigger(store, home_id: int) -> str:
    plan = store.latest_plan(home_id)
    return "" if plan is None else plan.trigger


def test_an_mqtt_device_gets_the_plan_as_its_retained_plan(tmp_path):
    broker_dir = tmp_path / "broker"
    broker_dir.mkdir()
    for broker in running_broker(broker_dir):
        with running_heat_pump(broker) as pump:
            devices = DeviceSettings(
                brokers={"home": cem_broker(broker)},
                homes={
                    "CEM-T1": HomeDevices(
                        devices={"Heat pump": MqttConnection(broker="home", device_id="hp1")}
                    )
                },
            )
            settings = settings_for(tmp_path, 1, devices=devices)
            asyncio.run(_plan_to_heat_pump(settings, pump))


async def _plan_to_heat_pump(settings, pump) -> None:
    runtime = build_runtime(settings)
    home_id = runtime.store.create_home(HOME_DEVICES, datetime.now(UTC), "test")
    await start_devices(runtime)
    try:
        driver = runtime.service.controller(home_id).drivers["Heat pump"]
        cem = runtime.devices.brokers["home"] if runtime.devices else None
        assert cem is not None
        await until(lambda: cem.connected, timeout_s=10)
        await fresh_state(driver)  # type: ignore[arg-type]
        await runtime.service.cycle_all()
        ctl = runtime.service.controller(home_id)
        assert ctl.health["Heat pump"].online
        steps = ctl.schedules["Heat pump"].steps
        state = await asyncio.to_thread(pump.wait_for, lambda s: s["plan_steps"] > 0)
        assert state["plan_steps"] == len(steps) + 1  # now, then the plan's changes
    finally:
        await stop_devices(runtime)
        await runtime.service.settle()
        runtime.service.close()
