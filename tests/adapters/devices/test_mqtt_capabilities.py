"""What an MQTT device says it can do, on its retained ``capabilities`` topic, through a real
Mosquitto broker (TLS, per-device credentials, the ACL) from the simulated heat pump, a separate
process: read by the driver; garbage (not JSON, nonsense values) is logged and left out, the
connection goes on."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from adapters.devices.mqtt import MqttCem, MqttDeviceDriver
from kernel.devices import DeviceCapabilities
from tests.adapters.devices.mqtt_peers import (
    Broker,
    fresh_state,
    running_heat_pump,
)


async def _reported(broker: Broker, *pump_args: str) -> DeviceCapabilities | None:
    with running_heat_pump(broker, "hp1", *pump_args):
        async with MqttCem(broker.settings()) as cem:
            driver = MqttDeviceDriver("heat pump", cem, "hp1", stale_after_s=5)
            await fresh_state(driver)  # it is online: its retained capabilities came before
            deadline = time.monotonic() + 5
            while await driver.capabilities() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            caps = await driver.capabilities()
            await fresh_state(driver)  # the connection goes on
            return caps


def test_a_device_s_capabilities_are_read_from_its_retained_message(broker: Broker) -> None:
    caps = asyncio.run(_reported(broker, "--max-power-kw", "2.5"))
    assert caps == DeviceCapabilities(max_power_kw=2.5, phases=1)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ('{"max_power_kw": -3, "phases": 7, "capacity_kwh": 1e12}', DeviceCapabilities()),
        ('{"max_power_kw": "lots", "phases": 1, "colour": "red"}', DeviceCapabilities(phases=1)),
        ("not json", None),
    ],
)
def test_garbage_capabilities_are_logged_and_left_out(
    broker: Broker,
    caplog: pytest.LogCaptureFixture,
    payload: str,
    expected: DeviceCapabilities | None,
) -> None:
    caplog.set_level(logging.WARNING)
    caps = asyncio.run(_reported(broker, "--capabilities-json", payload))
    assert caps == expected
    assert any("hp1" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
