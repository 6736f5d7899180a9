"""Home Assistant MQTT discovery: the retained ``config`` messages that make a Home Assistant
on the same broker show the CEM's devices (power, temperature, the setpoint as a number the
consumer may change, the SG-Ready state, the plan) and the CEM's own availability, with no
configuration in Home Assistant. Only keys of Home Assistant's documented discovery schema are
used, spelt out (no abbreviations)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from adapters.devices.mqtt.topics import (
    OFFLINE,
    ONLINE,
    DeviceTopics,
    cem_availability_topic,
    check_id,
    device_topics,
)


@dataclass(frozen=True, slots=True)
class DeviceDescription:
    """What Home Assistant is told about one device.

    Attributes:
        device_id: its topic level; name: what the consumer sees.
        min_power_kw, max_power_kw: the setpoint number's range.
        has_temperature: it reports ``temperature_c`` (a heat pump).
        sg_ready: it is driven through SG-Ready states rather than setpoints.
    """

    device_id: str
    name: str
    manufacturer: str | None = None
    model: str | None = None
    min_power_kw: float = 0.0
    max_power_kw: float = 10.0
    has_temperature: bool = False
    sg_ready: bool = False


def _availability(home: str, device_avail: str | None, prefix: str) -> dict[str, Any]:
    topics = [cem_availability_topic(home, prefix)]
    if device_avail is not None:
        topics.append(device_avail)
    return {
        "availability": [
            {"topic": t, "payload_available": ONLINE, "payload_not_available": OFFLINE}
            for t in topics
        ],
        "availability_mode": "all",
    }


def discovery_messages(
    home: str,
    device: DeviceDescription,
    *,
    prefix: str = "cem",
    discovery_prefix: str = "homeassistant",
) -> list[tuple[str, bytes]]:
    """(topic, payload) of each config message for ``device``; publish them retained. An
    entity is unavailable in Home Assistant while the CEM or the device is offline."""
    check_id("device", device.device_id)
    topics = device_topics(home, device.device_id, prefix)
    node = f"{prefix}_{check_id('home', home)}"
    ha_device: dict[str, Any] = {
        "identifiers": [f"{node}_{device.device_id}"],
        "name": device.name,
        "via_device": f"{node}_cem",
    }
    if device.manufacturer:
        ha_device["manufacturer"] = device.manufacturer
    if device.model:
        ha_device["model"] = device.model
    common = {"device": ha_device, **_availability(home, topics.availability, prefix)}
    entities = _entities(device, topics)
    messages = []
    for component, key, config in entities:
        object_id = f"{device.device_id}_{key}"
        body = {**config, "unique_id": f"{node}_{object_id}", **common}
        topic = f"{discovery_prefix}/{component}/{node}/{object_id}/config"
        messages.append((topic, json.dumps(body).encode()))
    return messages


def _entities(
    device: DeviceDescription, topics: DeviceTopics
) -> list[tuple[str, str, dict[str, Any]]]:
    """(component, key, config) of each Home Assistant entity of ``device``: its power, its
    planned power, its temperature if it has one, and its SG-Ready state or, for a device that
    takes a power, a setpoint number."""
    entities: list[tuple[str, str, dict[str, Any]]] = [
        (
            "sensor",
            "power",
            {
                "name": "Power",
                "state_topic": topics.state,
                "value_template": "{{ value_json.power_kw }}",
                "unit_of_measurement": "kW",
                "device_class": "power",
                "state_class": "measurement",
            },
        ),
        (
            "sensor",
            "plan",
            {
                "name": "Planned power",
                "state_topic": topics.plan,
                "value_template": "{{ value_json.steps[0].power_kw if value_json.steps else 0 }}",
                "unit_of_measurement": "kW",
                "device_class": "power",
                "json_attributes_topic": topics.plan,
                "json_attributes_template": (
                    '{{ {"end": value_json.end, "steps": value_json.steps} | tojson }}'
                ),
            },
        ),
    ]
    if device.has_temperature:
        entities.append(
            (
                "sensor",
                "temperature",
                {
                    "name": "Temperature",
                    "state_topic": topics.state,
                    "value_template": "{{ value_json.temperature_c }}",
                    "unit_of_measurement": "°C",
                    "device_class": "temperature",
                    "state_class": "measurement",
                },
            )
        )
    entities.append(_control_entity(device, topics))
    return entities


def _control_entity(
    device: DeviceDescription, topics: DeviceTopics
) -> tuple[str, str, dict[str, Any]]:
    """The entity that shows what the CEM asks of ``device``: its SG-Ready state, or a number
    holding its setpoint (which a Home Assistant user may also set)."""
    if device.sg_ready:
        return (
            "sensor",
            "sg_ready",
            {
                "name": "SG-Ready state",
                "state_topic": topics.sg_ready,
                "value_template": "{{ value_json.state }}",
            },
        )
    return (
        "number",
        "setpoint",
        {
            "name": "Setpoint",
            "state_topic": topics.setpoint,
            "value_template": "{{ value_json.power_kw }}",
            "command_topic": topics.setpoint_command,
            "min": device.min_power_kw,
            "max": device.max_power_kw,
            "step": 0.1,
            "mode": "box",
            "unit_of_measurement": "kW",
            "device_class": "power",
        },
    )


def cem_discovery_message(
    home: str, *, prefix: str = "cem", discovery_prefix: str = "homeassistant"
) -> tuple[str, bytes]:
    """The CEM's own connectivity sensor (its devices' ``via_device``)."""
    node = f"{prefix}_{check_id('home', home)}"
    body = {
        "name": "CEM",
        "unique_id": f"{node}_cem_online",
        "state_topic": cem_availability_topic(home, prefix),
        "payload_on": ONLINE,
        "payload_off": OFFLINE,
        "device_class": "connectivity",
        "device": {"identifiers": [f"{node}_cem"], "name": f"CEM {home}"},
    }
    return f"{discovery_prefix}/binary_sensor/{node}/cem_online/config", json.dumps(body).encode()
