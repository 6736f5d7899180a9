"""Home Assistant MQTT discovery through a real Mosquitto: the retained config messages with
the fields Home Assistant's discovery schema needs, their templates rendered against the heat
pump's real payloads, and the setpoint number: a consumer's value from Home Assistant reaches
the device and is reported as a manual override until the CEM's next setpoint."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import aiomqtt
import jinja2
import pytest

from adapters.devices.driver import Setpoint
from adapters.devices.mqtt import DeviceDescription, MqttCem, MqttDeviceDriver, PlanStep
from tests.adapters.devices.mqtt_peers import (
    CEM_PASSWORD,
    CEM_USER,
    Broker,
    fresh_state,
    running_heat_pump,
)

NODE = "homeassistant/{}/cem_home1/{}/config"


def client(broker: Broker) -> aiomqtt.Client:
    """Home Assistant's view of the broker (the CEM's user stands in for it)."""
    return aiomqtt.Client(
        "127.0.0.1",
        broker.port,
        username=CEM_USER,
        password=CEM_PASSWORD,
        tls_context=broker.settings().tls_context(),
    )


async def collect(c: aiomqtt.Client, topic: str, quiet_s: float = 0.5) -> list[aiomqtt.Message]:
    """Every message on ``topic`` until none comes for ``quiet_s`` (or 3 s have passed: the
    heat pump publishes its state every 0.1 s)."""
    await c.subscribe(topic, qos=1)
    messages: list[aiomqtt.Message] = []
    deadline = asyncio.get_running_loop().time() + 3.0
    while asyncio.get_running_loop().time() < deadline:
        try:
            messages.append(await asyncio.wait_for(anext(aiter(c.messages)), quiet_s))
        except TimeoutError:
            break
    return messages


def render(template: str, payload: bytes) -> str:
    """A value template as Home Assistant renders it (Jinja2, ``value_json``)."""
    env = jinja2.Environment(autoescape=False)  # templates of JSON, not HTML
    return env.from_string(template).render(value_json=json.loads(payload))


def test_discovery_messages_are_retained_and_follow_the_schema(broker: Broker) -> None:
    async def run() -> tuple[dict[str, Any], dict[str, bytes]]:
        with running_heat_pump(broker):
            async with MqttCem(broker.settings()) as cem:
                driver = MqttDeviceDriver("heat pump", cem, "hp1")
                await fresh_state(driver)
                await driver.publish_discovery(
                    DeviceDescription(
                        "hp1", "Heat pump", manufacturer="Acme", model="HP-3",
                        max_power_kw=3.0, has_temperature=True,
                    )
                )  # fmt: skip
                await driver.apply(Setpoint(power_kw=1.5))
                now = datetime.now(UTC)
                await driver.send_plan([PlanStep(now, 1.5)], now + timedelta(hours=1))
                async with client(broker) as ha:  # connects after: gets the retained ones
                    configs = await collect(ha, "homeassistant/#")
                async with client(broker) as ha:
                    data = {m.topic.value: m.payload for m in await collect(ha, "cem/home1/#")}
        assert all(m.retain for m in configs)
        return (
            {m.topic.value: json.loads(m.payload) for m in configs if isinstance(m.payload, bytes)},
            {k: v for k, v in data.items() if isinstance(v, bytes)},
        )

    configs, data = asyncio.run(run())
    assert set(configs) == {
        NODE.format("binary_sensor", "cem_online"),
        NODE.format("sensor", "hp1_power"),
        NODE.format("sensor", "hp1_plan"),
        NODE.format("sensor", "hp1_temperature"),
        NODE.format("number", "hp1_setpoint"),
    }
    unique_ids = [c["unique_id"] for c in configs.values()]
    assert len(set(unique_ids)) == len(unique_ids)
    for topic, config in configs.items():
        assert config["name"], topic
        assert config["state_topic"] in data, topic  # every entity's state is on the broker
        assert config["device"]["identifiers"], topic
    power = configs[NODE.format("sensor", "hp1_power")]
    assert power["device_class"] == "power"
    assert power["unit_of_measurement"] == "kW"
    assert power["state_class"] == "measurement"
    assert power["device"] | {} == {
        "identifiers": ["cem_home1_hp1"], "name": "Heat pump", "manufacturer": "Acme",
        "model": "HP-3", "via_device": "cem_home1_cem",
    }  # fmt: skip
    assert power["availability_mode"] == "all"
    assert [a["topic"] for a in power["availability"]] == [
        "cem/home1/availability",
        "cem/home1/hp1/availability",
    ]
    assert all(a["payload_available"] == "online" for a in power["availability"])
    assert data["cem/home1/availability"] == b"online"
    assert data["cem/home1/hp1/availability"] == b"online"
    number = configs[NODE.format("number", "hp1_setpoint")]
    assert number["command_topic"] == "cem/home1/hp1/setpoint/set"
    assert (number["min"], number["max"], number["unit_of_measurement"]) == (0.0, 3.0, "kW")
    # the templates give the values from the real payloads
    state = json.loads(data["cem/home1/hp1/state"])
    assert float(render(power["value_template"], data[power["state_topic"]])) == pytest.approx(
        state["power_kw"]
    )
    temperature = configs[NODE.format("sensor", "hp1_temperature")]
    assert float(render(temperature["value_template"], data[temperature["state_topic"]])) > 0
    assert float(render(number["value_template"], data[number["state_topic"]])) == 1.5
    plan = configs[NODE.format("sensor", "hp1_plan")]
    assert float(render(plan["value_template"], data[plan["state_topic"]])) == 1.5
    attributes = json.loads(render(plan["json_attributes_template"], data[plan["state_topic"]]))
    assert [s["power_kw"] for s in attributes["steps"]] == [1.5]


def test_an_sg_ready_device_has_a_state_sensor_and_no_setpoint(broker: Broker) -> None:
    async def run() -> set[str]:
        async with MqttCem(broker.settings()) as cem:
            driver = MqttDeviceDriver("heat pump", cem, "hp2")
            await driver.publish_discovery(DeviceDescription("hp2", "Old heat pump", sg_ready=True))
            async with client(broker) as ha:
                return {m.topic.value for m in await collect(ha, "homeassistant/+/+/+/config")}

    topics = asyncio.run(run())
    assert NODE.format("sensor", "hp2_sg_ready") in topics
    assert NODE.format("number", "hp2_setpoint") not in topics


def test_a_setpoint_from_home_assistant_is_a_manual_override(
    broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    async def run() -> None:
        with running_heat_pump(broker) as pump:
            async with MqttCem(broker.settings()) as cem, client(broker) as ha:
                driver = MqttDeviceDriver("heat pump", cem, "hp1")
                await fresh_state(driver)
                await driver.apply(Setpoint(power_kw=0.5))
                await ha.publish("cem/home1/hp1/setpoint/set", b"not a number", qos=1)
                await ha.publish("cem/home1/hp1/setpoint/set", b"2.5", qos=1)
                state = await asyncio.to_thread(
                    pump.wait_for, lambda s: s["setpoint_kw"] == pytest.approx(2.5)
                )
                assert state["setpoint_kw"] == pytest.approx(2.5)
                assert (await driver.read_state()).manual_override is True
                await driver.apply(Setpoint(power_kw=1.0))  # the CEM's next setpoint
                assert (await driver.read_state()).manual_override is False

    with caplog.at_level(logging.INFO, logger="adapters.devices.mqtt"):
        asyncio.run(run())
    messages = [r.getMessage() for r in caplog.records]
    assert any("invalid setpoint/set" in m and "not a number" in m for m in messages), messages
    assert any("manual setpoint for hp1 from Home Assistant: 2.500 kW" in m for m in messages)
