"""The site meter over MQTT: a consumer access device publishing the home's import and export
on ``cem/<home>/<device>/meter``, through a real Mosquitto broker (TLS, its own credentials, the
ACL), recorded each tick like the Modbus meter (the base load net of the devices with it);
garbage and a silent meter are stored offline and logged, never raised."""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import aiomqtt
import pytest

from hems.domain.connections import DeviceSettings, HomeDevices, MqttConnection
from hems.measured_load import BASE_LOAD, SITE_METER, record_site_meters
from hems.runtime import build_runtime, start_devices, stop_devices
from hems.settings import Settings
from tests.adapters.devices.mqtt_peers import (
    DEVICES,
    HOME,
    Broker,
    running_broker,
)

from .mqtt_cem import cem_broker
from .test_device_runtime import home_spec

CAD = "hp2"  # the broker fixture's second device's credentials: the meter's own
SINCE = datetime(2000, 1, 1, tzinfo=UTC)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    yield from running_broker(tmp_path / "broker")


def _settings(tmp_path: Path, broker: Broker) -> Settings:
    mqtt = cem_broker(broker)
    meter = MqttConnection(broker="home", device_id=CAD, stale_after_s=30)
    devices = DeviceSettings(
        brokers={"home": mqtt}, homes={"CEM-T1": HomeDevices(site_meter=meter)}
    )
    return Settings(state_dir=tmp_path, planner_processes=0, devices=devices)


async def _publish(broker: Broker, payload: str) -> None:
    """The consumer access device's message (retained), with its own credentials."""
    user, password = DEVICES[CAD]
    context = ssl.create_default_context(cafile=str(broker.pki.ca_file))
    async with aiomqtt.Client(
        "127.0.0.1", broker.port, username=user, password=password, tls_context=context
    ) as client:
        await client.publish(f"cem/{HOME}/{CAD}/meter", payload, qos=1, retain=True)


async def _until_reading(runtime, home_id: int, count: int) -> list:
    for _ in range(100):
        await record_site_meters(runtime.service, runtime.devices)
        rows = runtime.store.telemetry_powers(home_id, SITE_METER, SINCE)
        if len(rows) >= count:
            return rows
        await asyncio.sleep(0.1)
    raise AssertionError("no meter reading stored")


def test_the_mqtt_meter_is_recorded_with_the_base_load(tmp_path, broker, caplog):
    caplog.set_level(logging.WARNING)

    async def run() -> None:
        runtime = build_runtime(_settings(tmp_path, broker))
        home = home_spec().model_copy(update={"devices": []})
        home_id = runtime.store.create_home(home, datetime.now(UTC), "test")
        await start_devices(runtime)
        assert runtime.devices is not None
        try:
            runtime.service.controller(home_id)
            now = datetime.now(UTC).isoformat()
            reading = {"at": now, "import_kw": 0.4, "export_kw": 1.5, "import_kwh": 1234.5}
            await _publish(broker, json.dumps(reading))
            await runtime.service.controller(home_id).read_states()  # no devices: all answered
            rows = await _until_reading(runtime, home_id, 1)
            assert rows[-1][1] == pytest.approx(-1.1)  # exporting 1.1 kW net
            base = runtime.store.telemetry_powers(home_id, BASE_LOAD, SINCE)
            assert base[-1][1] == pytest.approx(-1.1)  # no planned device: all of it
            assert runtime.devices.site_kw[home_id] == pytest.approx(-1.1)
            # garbage: logged, the meter stored offline until a valid reading comes
            await _publish(broker, '{"at": "yesterday", "import_kw": -3}')
            for _ in range(100):
                await record_site_meters(runtime.service, runtime.devices)
                if home_id not in runtime.devices.site_kw:
                    break
                await asyncio.sleep(0.1)
            assert home_id not in runtime.devices.site_kw
            assert any(
                f"device {CAD} sent an invalid meter" in r.getMessage() for r in caplog.records
            )
        finally:
            await stop_devices(runtime)
            runtime.service.close()

    asyncio.run(run())
