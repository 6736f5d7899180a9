"""Faults between the MQTT driver, the broker (a real Mosquitto) and a device (the simulated
heat pump process): a device that goes offline (its last will), a broker that goes away and
comes back, garbage on a retained topic, a stale state, a refused setpoint, wrong credentials
and ACL denials. Each is a DeviceUnavailableError (or a clear refusal) with a clear log line,
and the driver works again once the fault is gone."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiomqtt
import pytest

from adapters.devices.driver import DeviceUnavailableError, Setpoint
from adapters.devices.mqtt import MqttAccessDeniedError, MqttAuthError, MqttCem, MqttDeviceDriver
from tests.adapters.devices.certs import make_pki
from tests.adapters.devices.mqtt_peers import (
    DEVICES,
    Broker,
    fresh_state,
    running_heat_pump,
)


def as_device(broker: Broker, device: str) -> aiomqtt.Client:
    """A client with ``device``'s own credentials."""
    user, password = DEVICES[device]
    return aiomqtt.Client(
        "127.0.0.1",
        broker.port,
        username=user,
        password=password,
        tls_context=broker.settings().tls_context(),
    )


async def until(check: object, timeout_s: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not check() and loop.time() < deadline:  # type: ignore[operator]
        await asyncio.sleep(0.05)


def test_a_device_that_goes_offline_is_unavailable_and_gets_the_setpoint_back(
    broker: Broker,
) -> None:
    async def run() -> None:
        async with MqttCem(broker.settings()) as cem:
            driver = MqttDeviceDriver("heat pump", cem, "hp1", ack_timeout_s=1.0)
            with running_heat_pump(broker) as pump:
                await fresh_state(driver)
                await driver.apply(Setpoint(power_kw=1.0))
                await asyncio.to_thread(pump.kill)  # no clean disconnect: the broker sends the will
            live = cem.device("hp1")
            await until(lambda: live.availability == "offline")
            with pytest.raises(DeviceUnavailableError, match="hp1 is offline"):
                await driver.read_state()
            with pytest.raises(DeviceUnavailableError, match="offline"):
                await driver.apply(Setpoint(power_kw=2.5))
            with running_heat_pump(broker) as pump:  # it comes back and finds the setpoint
                state = await asyncio.to_thread(
                    pump.wait_for, lambda s: s["setpoint_kw"] == pytest.approx(2.5)
                )
                assert state["setpoint_kw"] == pytest.approx(2.5)
                await fresh_state(driver)
                await driver.apply(Setpoint(power_kw=0.5))

    asyncio.run(run())


def test_a_broker_that_goes_away_and_comes_back(
    broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    async def run() -> None:
        with running_heat_pump(broker) as pump:
            async with MqttCem(broker.settings()) as cem:
                driver = MqttDeviceDriver("heat pump", cem, "hp1", ack_timeout_s=2.0)
                await fresh_state(driver)
                await driver.apply(Setpoint(power_kw=1.0))
                await asyncio.to_thread(broker.stop)
                await until(lambda: not cem.connected)
                with pytest.raises(DeviceUnavailableError, match="not connected to the MQTT"):
                    await driver.apply(Setpoint(power_kw=2.0))
                with pytest.raises(DeviceUnavailableError, match="not connected to the MQTT"):
                    await driver.read_state()
                await asyncio.to_thread(broker.start)
                await until(lambda: cem.connected)
                assert cem.connected
                await fresh_state(driver)  # the heat pump is back as well
                await driver.apply(Setpoint(power_kw=2.0))
                state = await asyncio.to_thread(
                    pump.wait_for, lambda s: s["power_kw"] == pytest.approx(2.0)
                )
                assert state["power_kw"] == pytest.approx(2.0)

    with caplog.at_level(logging.INFO, logger="adapters.devices.mqtt"):
        asyncio.run(run())
    lost = [r for r in caplog.records if "reconnecting" in r.getMessage()]
    back = [r for r in caplog.records if "reconnected to MQTT broker" in r.getMessage()]
    assert len(lost) == 1, [r.getMessage() for r in caplog.records]
    assert len(back) == 1


def test_a_retained_state_with_garbage(broker: Broker, caplog: pytest.LogCaptureFixture) -> None:
    async def run() -> None:
        async with as_device(broker, "hp1") as device:
            await device.publish("cem/home1/hp1/state", b"\x00garbage{", qos=1, retain=True)
            async with MqttCem(broker.settings()) as cem:
                driver = MqttDeviceDriver("heat pump", cem, "hp1")
                await device.publish("cem/home1/hp1/ack", b"[1, 2]", qos=1)
                await until(lambda: cem.device("hp1").invalid is not None)
                with pytest.raises(
                    DeviceUnavailableError, match="last state was invalid: not JSON"
                ):
                    await driver.read_state()
                for payload in (
                    {"at": "yesterday", "power_kw": 1.0},
                    {"at": datetime.now(UTC).isoformat(), "power_kw": "lots"},
                    {"at": datetime.now(UTC).isoformat()},
                ):
                    await device.publish("cem/home1/hp1/state", json.dumps(payload), qos=1)
                    await asyncio.sleep(0.2)
                    with pytest.raises(DeviceUnavailableError, match="invalid"):
                        await driver.read_state()
                await device.publish("cem/home1/hp1/availability", b"maybe", qos=1, retain=True)
                good = {"at": datetime.now(UTC).isoformat(), "power_kw": 1.25}
                await device.publish("cem/home1/hp1/state", json.dumps(good), qos=1, retain=True)
                await device.publish("cem/home1/hp1/availability", b"online", qos=1, retain=True)
                state = await fresh_state(driver, timeout_s=5)
                assert state.power_kw == pytest.approx(1.25)
                assert cem.connected  # the loop lives on

    with caplog.at_level(logging.WARNING, logger="adapters.devices.mqtt"):
        asyncio.run(run())
    messages = [r.getMessage() for r in caplog.records]
    assert any(
        "device hp1 sent an invalid state on cem/home1/hp1/state (retained), ignored: not JSON" in m
        for m in messages
    ), messages
    assert any("invalid ack" in m and "not a JSON object" in m for m in messages), messages
    assert any("'at' is not an ISO 8601 time" in m for m in messages), messages
    assert any("invalid availability" in m for m in messages), messages
    assert not any(r.exc_info for r in caplog.records)  # no tracebacks


def test_a_stale_state_is_unavailable(broker: Broker) -> None:
    async def run() -> None:
        async with as_device(broker, "hp1") as device:
            old = {"at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(), "power_kw": 1.0}
            await device.publish("cem/home1/hp1/state", json.dumps(old), qos=1, retain=True)
            async with MqttCem(broker.settings()) as cem:
                driver = MqttDeviceDriver("heat pump", cem, "hp1", stale_after_s=60)
                await until(lambda: cem.device("hp1").state is not None)
                with pytest.raises(DeviceUnavailableError, match=r"3600 s old \(stale after 60"):
                    await driver.read_state()

    asyncio.run(run())


def test_a_setpoint_the_device_refuses(broker: Broker) -> None:
    async def run() -> None:
        with running_heat_pump(broker, "hp1", "--max-power-kw", "3"):
            async with MqttCem(broker.settings()) as cem:
                driver = MqttDeviceDriver("heat pump", cem, "hp1")
                await fresh_state(driver)
                with pytest.raises(DeviceUnavailableError, match=r"refused .* outside 0\.\.3"):
                    await driver.apply(Setpoint(power_kw=5.0))
                with pytest.raises(ValueError, match="finite"):
                    await driver.apply(Setpoint(power_kw=float("nan")))
                await driver.apply(Setpoint(power_kw=3.0))

    asyncio.run(run())


def test_wrong_credentials_are_a_clear_error(broker: Broker) -> None:
    async def run() -> None:
        with pytest.raises(MqttAuthError, match="refused the CEM's credentials") as refused:
            await MqttCem(broker.settings(password="not-the-password")).start()
        assert "not-the-password" not in str(refused.value)
        with pytest.raises(MqttAuthError, match="user 'hp1-user'"):
            await MqttCem(broker.settings(username="hp1-user")).start()  # a device's user

    asyncio.run(run())


def test_the_acl_confines_each_user_to_its_own_topics(broker: Broker) -> None:
    async def run() -> None:
        # the CEM's user for home1 cannot work for home2
        with pytest.raises(
            MqttAccessDeniedError, match="ACL lets user 'cem-home1' read and write cem/home2/#"
        ):
            await MqttCem(broker.settings(home="home2")).start()
        async with MqttCem(broker.settings()) as cem:
            hp2 = MqttDeviceDriver("other heat pump", cem, "hp2", ack_timeout_s=0.5)
            async with as_device(broker, "hp1") as device:
                # hp1's credentials cannot read hp2's setpoints...
                await device.subscribe("cem/home1/hp2/setpoint", qos=1)
                with pytest.raises(DeviceUnavailableError, match="did not acknowledge"):
                    await hp2.apply(Setpoint(power_kw=1.0))  # hp2 itself is not there
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(anext(aiter(device.messages)), 1.0)
                # ...nor pose as hp2 (mosquitto drops the message)
                fake = {"at": datetime.now(UTC).isoformat(), "power_kw": 9.0}
                await device.publish("cem/home1/hp2/state", json.dumps(fake), qos=1)
                good = {"at": datetime.now(UTC).isoformat(), "power_kw": 1.0}
                await device.publish("cem/home1/hp1/state", json.dumps(good), qos=1)
                hp1 = MqttDeviceDriver("heat pump", cem, "hp1")
                assert (await fresh_state(hp1, timeout_s=5)).power_kw == 1.0
                with pytest.raises(DeviceUnavailableError, match="no state"):
                    await hp2.read_state()

    asyncio.run(run())


def test_a_broker_that_wants_a_client_certificate(broker: Broker) -> None:
    async def run() -> None:
        cert, key = broker.pki.clients["cem-home1"]
        settings = broker.settings(port=broker.cert_port)
        with pytest.raises(DeviceUnavailableError, match=f"127.0.0.1:{broker.cert_port}"):
            await MqttCem(settings).start()  # no certificate: the TLS handshake fails
        with_cert = broker.settings(
            port=broker.cert_port, client_cert_file=cert, client_key_file=key
        )
        async with MqttCem(with_cert) as cem:
            assert cem.connected

    asyncio.run(run())


# paho-mqtt 2.2 does not close its socket when the TLS handshake fails (the SSLSocket is
# closed by the garbage collector, with a ResourceWarning); the refusal itself is what is tested.
@pytest.mark.filterwarnings("ignore:Exception ignored in. <ssl.SSLSocket")
def test_the_broker_s_certificate_is_checked(broker: Broker, tmp_path: Path) -> None:
    async def run() -> None:
        with pytest.raises(DeviceUnavailableError, match="CERTIFICATE_VERIFY_FAILED"):
            await MqttCem(broker.settings(ca_file=other.ca_file)).start()

    (tmp_path / "other").mkdir()
    other = make_pki(tmp_path / "other", ())
    asyncio.run(run())
    gc.collect()  # paho's socket closed here, under this test's filter, not in a later test
