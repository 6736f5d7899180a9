"""SG-Ready: the plan's power mapped to the four states by the documented thresholds, sent to
a heat pump that takes only those (the simulated heat pump process behind a real Mosquitto),
and the plan's steps carrying their SG-Ready state."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import aiomqtt
import pytest

from adapters.devices.driver import Setpoint
from adapters.devices.mqtt import (
    MqttCem,
    MqttDeviceDriver,
    PlanStep,
    SgReadyState,
    SgReadyThresholds,
    sg_ready_state,
)
from tests.adapters.devices.mqtt_peers import (
    CEM_PASSWORD,
    CEM_USER,
    Broker,
    fresh_state,
    running_heat_pump,
)

RATED = SgReadyThresholds(rated_power_kw=3.0)


@pytest.mark.parametrize(
    ("power_kw", "state"),
    [
        (-1.0, SgReadyState.BLOCKED),
        (0.0, SgReadyState.BLOCKED),
        (0.29, SgReadyState.BLOCKED),  # < 0.1 x 3 kW
        (0.3, SgReadyState.NORMAL),
        (1.79, SgReadyState.NORMAL),  # < 0.6 x 3 kW
        (1.8, SgReadyState.RECOMMENDED_ON),
        (2.69, SgReadyState.RECOMMENDED_ON),  # < 0.9 x 3 kW
        (2.7, SgReadyState.FORCED_ON),
        (5.0, SgReadyState.FORCED_ON),
    ],
)
def test_the_plan_power_maps_to_the_sg_ready_states(power_kw: float, state: SgReadyState) -> None:
    assert sg_ready_state(power_kw, RATED) is state


def test_bad_thresholds_and_powers_are_refused() -> None:
    with pytest.raises(ValueError, match="rated_power_kw must be > 0"):
        SgReadyThresholds(rated_power_kw=0.0)
    with pytest.raises(ValueError, match="must rise"):
        SgReadyThresholds(rated_power_kw=3.0, recommended_from=0.95)
    with pytest.raises(ValueError, match="finite"):
        sg_ready_state(float("inf"), RATED)


def test_an_sg_ready_heat_pump_follows_the_states(broker: Broker) -> None:
    async def run() -> list[dict[str, object]]:
        with running_heat_pump(broker, "hp1", "--max-power-kw", "3") as pump:
            async with (
                MqttCem(broker.settings()) as cem,
                aiomqtt.Client(
                    "127.0.0.1", broker.port, username=CEM_USER, password=CEM_PASSWORD,
                    tls_context=broker.settings().tls_context(),
                ) as watcher,
            ):  # fmt: skip
                await watcher.subscribe("cem/home1/hp1/sg_ready", qos=1)
                driver = MqttDeviceDriver("heat pump", cem, "hp1", sg_ready=RATED)
                await fresh_state(driver)
                sent = []
                for power_kw, expected_kw in ((0.0, 0.0), (2.0, 2.1), (3.0, 3.0)):
                    await driver.apply(Setpoint(power_kw=power_kw))
                    state = await asyncio.to_thread(
                        pump.wait_for, lambda s, e=expected_kw: s["power_kw"] == pytest.approx(e)
                    )
                    assert state["power_kw"] == pytest.approx(expected_kw)
                    message = await asyncio.wait_for(anext(aiter(watcher.messages)), 5)
                    assert isinstance(message.payload, bytes)
                    sent.append(json.loads(message.payload))
                await driver.apply(Setpoint(power_kw=1.0))  # 2: the heat pump's own control
                state = await asyncio.to_thread(pump.wait_for, lambda s: s["mode"] == "own")
                assert state["setpoint_kw"] is None
                return sent

    sent = asyncio.run(run())
    assert [(m["state"], m["relays"]) for m in sent] == [
        (1, [True, False]),
        (3, [False, True]),
        (4, [True, True]),
    ]


def test_the_plan_of_an_sg_ready_device_carries_the_states(broker: Broker) -> None:
    async def run() -> dict[str, object]:
        with running_heat_pump(broker):
            async with MqttCem(broker.settings()) as cem:
                driver = MqttDeviceDriver("heat pump", cem, "hp1", sg_ready=RATED)
                await fresh_state(driver)
                now = datetime.now(UTC)
                await driver.send_plan(
                    [PlanStep(now, 0.0), PlanStep(now + timedelta(hours=1), 2.8)],
                    now + timedelta(hours=2),
                )
            async with aiomqtt.Client(
                "127.0.0.1", broker.port, username=CEM_USER, password=CEM_PASSWORD,
                tls_context=broker.settings().tls_context(),
            ) as client:  # fmt: skip
                await client.subscribe("cem/home1/hp1/plan", qos=1)
                message = await asyncio.wait_for(anext(aiter(client.messages)), 5)
                assert isinstance(message.payload, bytes)
                plan: dict[str, object] = json.loads(message.payload)
                return plan

    plan = asyncio.run(run())
    steps = plan["steps"]
    assert isinstance(steps, list)
    assert [(s["power_kw"], s["sg_ready"]) for s in steps] == [(0.0, 1), (2.8, 4)]
