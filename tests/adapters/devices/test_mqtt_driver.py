"""The MQTT driver against a real Mosquitto broker (TLS, per-device credentials, an ACL) and
the simulated heat pump, each a separate process: the state read, a setpoint followed and
acknowledged, the plan left on the broker and followed through a CEM outage, and the time from
apply() to the device's acknowledgement."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiomqtt
import pytest

from adapters.devices.driver import Setpoint
from adapters.devices.mqtt import MqttCem, MqttDeviceDriver, PlanStep
from tests.adapters.devices.mqtt_peers import (
    CEM_PASSWORD,
    CEM_USER,
    Broker,
    fresh_state,
    running_heat_pump,
)


def test_the_state_is_read_and_a_setpoint_is_followed(broker: Broker) -> None:
    async def run() -> None:
        with running_heat_pump(broker) as pump:
            async with MqttCem(broker.settings()) as cem:
                driver = MqttDeviceDriver("heat pump", cem, "hp1", stale_after_s=5)
                state = await fresh_state(driver)
                assert state.temperature_c is not None
                assert 15 < state.temperature_c < 25
                assert state.manual_override is False
                await driver.apply(Setpoint(power_kw=2.0))
                followed = await asyncio.to_thread(
                    pump.wait_for, lambda s: s["power_kw"] == pytest.approx(2.0)
                )
                assert followed["mode"] == "setpoint"
                assert followed["power_kw"] == pytest.approx(2.0)
                await asyncio.sleep(0.5)  # a state published after the ramp
                assert (await driver.read_state()).power_kw == pytest.approx(2.0)
                await driver.apply(Setpoint(power_kw=0.5))
                followed = await asyncio.to_thread(
                    pump.wait_for, lambda s: s["power_kw"] == pytest.approx(0.5)
                )
                assert followed["setpoint_kw"] == pytest.approx(0.5)

    asyncio.run(run())


def test_the_setpoint_is_retained_for_a_device_that_connects_later(broker: Broker) -> None:
    async def run() -> None:
        async with MqttCem(broker.settings()) as cem:
            driver = MqttDeviceDriver("heat pump", cem, "hp1", ack_timeout_s=0.3)
            with pytest.raises(Exception, match="did not acknowledge"):
                await driver.apply(Setpoint(power_kw=1.5))  # nobody there yet
            with running_heat_pump(broker) as pump:
                state = await asyncio.to_thread(
                    pump.wait_for, lambda s: s["setpoint_kw"] == pytest.approx(1.5)
                )
                assert state["setpoint_kw"] == pytest.approx(1.5)

    asyncio.run(run())


def test_the_plan_is_retained_and_followed_while_the_cem_is_offline(broker: Broker) -> None:
    async def run() -> None:
        with running_heat_pump(broker) as pump:
            async with MqttCem(broker.settings()) as cem:
                driver = MqttDeviceDriver("heat pump", cem, "hp1")
                await fresh_state(driver)
                await driver.apply(Setpoint(power_kw=0.2))
                now = datetime.now(UTC)  # seconds apart: room for a loaded machine
                steps = [
                    PlanStep(now - timedelta(seconds=1), 1.0),
                    PlanStep(now + timedelta(seconds=4), 2.5),
                ]
                await driver.send_plan(steps, now + timedelta(seconds=7))
                assert (await asyncio.to_thread(pump.state))["plan_steps"] == 2
            # the CEM said offline as it closed: the heat pump follows the retained plan
            first = await asyncio.to_thread(
                pump.wait_for, lambda s: s["mode"] == "plan" and s["power_kw"] == pytest.approx(1.0)
            )
            assert first["cem_online"] is False
            assert (first["mode"], first["power_kw"]) == ("plan", pytest.approx(1.0))
            second = await asyncio.to_thread(
                pump.wait_for, lambda s: s["power_kw"] == pytest.approx(2.5)
            )
            assert (second["mode"], second["power_kw"]) == ("plan", pytest.approx(2.5))
            after = await asyncio.to_thread(pump.wait_for, lambda s: s["mode"] == "own")
            assert after["mode"] == "own"  # the plan's end: its own thermostat

        # the plan stays on the broker, retained, with each step's start time
        async with aiomqtt.Client(
            "127.0.0.1", broker.port, username=CEM_USER, password=CEM_PASSWORD,
            tls_context=broker.settings().tls_context(),
        ) as client:  # fmt: skip
            await client.subscribe("cem/home1/hp1/plan", qos=1)
            message = await asyncio.wait_for(anext(aiter(client.messages)), 5)
        assert message.retain
        assert isinstance(message.payload, bytes)
        plan = json.loads(message.payload)
        assert [(s["start"], s["power_kw"]) for s in plan["steps"]] == [
            (steps[0].start_utc.isoformat(), 1.0),
            (steps[1].start_utc.isoformat(), 2.5),
        ]
        assert plan["end"] == (now + timedelta(seconds=7)).isoformat()

    asyncio.run(run())


def test_apply_to_acknowledgement_latency(broker: Broker) -> None:
    async def run() -> list[float]:
        with running_heat_pump(broker):
            async with MqttCem(broker.settings()) as cem:
                driver = MqttDeviceDriver("heat pump", cem, "hp1")
                await fresh_state(driver)
                times_ms = []
                for i in range(50):
                    started = time.perf_counter()
                    await driver.apply(Setpoint(power_kw=(i % 3) * 0.5))
                    times_ms.append((time.perf_counter() - started) * 1000)
                return times_ms

    times_ms = asyncio.run(run())
    median_ms = statistics.median(times_ms)
    print(f"\nMQTT apply() -> device ack: median {median_ms:.1f} ms of 50, max {max(times_ms):.1f}")
    assert median_ms < 1000


def test_the_cem_s_last_will_sends_the_device_to_its_plan(broker: Broker) -> None:
    """The CEM process is killed (no clean disconnect): the broker publishes its will, and the
    heat pump leaves the last setpoint for the retained plan."""
    with running_heat_pump(broker) as pump:
        cem = subprocess.Popen(
            [
                sys.executable, str(Path(__file__).with_name("mqtt_cem_process.py")),
                "--port", str(broker.port), "--ca", str(broker.pki.ca_file),
                "--username", CEM_USER, "--password", CEM_PASSWORD,
                "--setpoint-kw", "0.5", "--plan", "[[-1, 2.0]]", "--end-s", "60",
            ],
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).parents[3],
            env=os.environ | {"PYTHONPATH": str(Path(__file__).parents[3])},
        )  # fmt: skip
        try:
            assert cem.stdout is not None
            assert cem.stdout.readline().strip() == "ready"
            held = pump.wait_for(lambda s: s["power_kw"] == pytest.approx(0.5))
            assert (held["mode"], held["cem_online"]) == ("setpoint", True)
        finally:
            cem.kill()
            cem.wait(timeout=10)
            if cem.stdout is not None:
                cem.stdout.close()
        followed = pump.wait_for(lambda s: s["power_kw"] == pytest.approx(2.0))
        assert (followed["mode"], followed["cem_online"]) == ("plan", False)


def test_a_setpoint_not_renewed_within_its_hold_gives_way_to_the_plan(broker: Broker) -> None:
    """A CEM that stays connected but stops sending setpoints does not pin the device: after
    ``hold_s`` the device follows the plan, then its own mode."""

    async def run() -> None:
        with running_heat_pump(broker) as pump:
            async with MqttCem(broker.settings()) as cem:
                driver = MqttDeviceDriver("heat pump", cem, "hp1", hold_s=2.0)
                await fresh_state(driver)
                now = datetime.now(UTC)
                await driver.send_plan([PlanStep(now, 1.0)], now + timedelta(seconds=6))
                await driver.apply(Setpoint(power_kw=2.5))
                held = await asyncio.to_thread(
                    pump.wait_for, lambda s: s["power_kw"] == pytest.approx(2.5)
                )
                assert held["mode"] == "setpoint"
                planned = await asyncio.to_thread(pump.wait_for, lambda s: s["mode"] == "plan")
                assert (planned["mode"], planned["cem_online"]) == ("plan", True)
                own = await asyncio.to_thread(pump.wait_for, lambda s: s["mode"] == "own")
                assert own["mode"] == "own"
                await driver.apply(Setpoint(power_kw=0.5))  # a new setpoint is held again
                again = await asyncio.to_thread(
                    pump.wait_for, lambda s: s["power_kw"] == pytest.approx(0.5)
                )
                assert again["mode"] == "setpoint"

    asyncio.run(run())
