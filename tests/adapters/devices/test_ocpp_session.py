"""The CSMS's sessions with a simulated charge point (a separate process, OCPP 1.6J and
2.0.1 over ws:// on 127.0.0.1): registration, an unknown charger refused, plug-in and out,
a charger that goes away or falls silent."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from adapters.devices.driver import DeviceDriver, DeviceUnavailableError, Setpoint
from adapters.devices.ocpp import (
    ChargerEvent,
    ChargerInfo,
    ChargerSettings,
    Csms,
    OcppChargerDriver,
)
from tests.adapters.devices.ocpp_peer import (
    IDENTITY,
    VERSIONS,
    charge_point,
    csms_settings,
    peer_args,
    until,
)

BOOT_INFO = {
    "1.6": ChargerInfo(
        vendor="HEMS Test", model="SimCharger-16", serial="SIM-0016", firmware="1.6.0"
    ),
    "2.0.1": ChargerInfo(
        vendor="HEMS Test", model="SimCharger-201", serial="SIM-0201", firmware="2.0.1"
    ),
}


@pytest.mark.parametrize("version", VERSIONS)
def test_boot_notification_registers_the_charger(version: str, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Csms(csms_settings()) as csms:
            driver = OcppChargerDriver("ev", csms, IDENTITY)
            assert isinstance(driver, DeviceDriver)
            with pytest.raises(DeviceUnavailableError, match="not connected"):
                await driver.read_state()
            async with charge_point(peer_args(csms, version), tmp_path / "cp.log") as peer:
                booted = await peer.wait_for("booted", since=0)
                assert booted["status"] == "Accepted"
                assert booted["interval"] == 1
                await until(lambda: driver.info() is not None)
                assert driver.info() == BOOT_INFO[version]
                assert csms.live(IDENTITY).ocpp_version == f"ocpp{version}"
                await until(lambda: csms.live(IDENTITY).plugged_in is False)
                state = await driver.read_state()
                assert state.plugged_in is False
                assert state.power_kw == 0.0

    asyncio.run(scenario())


@pytest.mark.parametrize("version", VERSIONS)
def test_an_unknown_charger_is_refused(
    version: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        async with Csms(csms_settings()) as csms:
            args = peer_args(csms, version, identity="CP-STRANGER")
            async with charge_point(args, tmp_path / "cp.log") as peer:
                refused = await peer.wait_for("refused")
                assert refused["status"] == 404
                assert not peer.of("connected")
            assert csms.link("CP-STRANGER") is None
            with pytest.raises(KeyError):
                OcppChargerDriver("ev", csms, "CP-STRANGER")

    with caplog.at_level(logging.WARNING, logger="adapters.devices.ocpp"):
        asyncio.run(scenario())
    assert "refused a charger with unknown identity 'CP-STRANGER'" in caplog.text


@pytest.mark.parametrize("version", VERSIONS)
def test_plug_in_and_out_are_seen_with_power_and_soc(version: str, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Csms(csms_settings()) as csms:
            driver = OcppChargerDriver("ev", csms, IDENTITY)
            live = csms.live(IDENTITY)
            async with charge_point(
                peer_args(csms, version, "--soc", "0.4", "--capacity-kwh", "2"), tmp_path / "cp.log"
            ) as peer:
                await peer.wait_for("booted", since=0)
                peer.send("plug")
                await until(lambda: live.plugged_in is True and live.power_kw > 7.0)
                state = await driver.read_state()
                assert state.plugged_in is True
                assert state.power_kw == pytest.approx(7.4)
                assert state.soc is not None
                assert 0.4 <= state.soc < 0.41
                assert live.transaction_id is not None
                soc_then, energy_then = state.soc, live.energy_kwh or 0.0
                await until(lambda: (live.energy_kwh or 0.0) > energy_then + 0.001)
                later = await driver.read_state()
                assert later.soc is not None
                assert later.soc > soc_then
                peer.send("unplug")
                await until(lambda: live.plugged_in is False)
                state = await driver.read_state()
                assert state.power_kw == 0.0
                assert live.transaction_id is None

    asyncio.run(scenario())


@pytest.mark.parametrize("version", VERSIONS)
def test_a_charger_that_disconnects_is_reported_offline(
    version: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        async with Csms(csms_settings()) as csms:
            driver = OcppChargerDriver("ev", csms, IDENTITY)
            async with charge_point(peer_args(csms, version), tmp_path / "cp.log") as peer:
                await peer.wait_for("booted", since=0)
                await until(lambda: csms.link(IDENTITY) is not None)
                peer.send("drop")
                await until(lambda: csms.link(IDENTITY) is None)
                with pytest.raises(DeviceUnavailableError, match="not connected"):
                    await driver.read_state()
                with pytest.raises(DeviceUnavailableError, match="not connected"):
                    await driver.apply(Setpoint(power_kw=3.0))
                mark = peer.mark()
                peer.send("online")
                await peer.wait_for("booted", since=mark)
                await driver.apply(Setpoint(power_kw=3.0))
                assert (await driver.read_state()).plugged_in is False

    with caplog.at_level(logging.WARNING, logger="adapters.devices.ocpp"):
        asyncio.run(scenario())
    assert f"charger {IDENTITY} disconnected" in caplog.text


def test_a_silent_charger_is_stale(tmp_path: Path) -> None:
    async def scenario() -> None:
        settings = csms_settings(stale_after_s=0.5, heartbeat_interval_s=60)
        async with Csms(settings) as csms:
            driver = OcppChargerDriver("ev", csms, IDENTITY)
            # meter values every 30 s: after its boot the charger says nothing for a while
            args = peer_args(csms, "1.6", "--meter-interval-s", "30")
            async with charge_point(args, tmp_path / "cp.log") as peer:
                await peer.wait_for("booted", timeout_s=10)
                await until(lambda: csms.live(IDENTITY).plugged_in is False)
                await driver.read_state()
                await asyncio.sleep(0.8)
                with pytest.raises(DeviceUnavailableError, match="silent for"):
                    await driver.read_state()

    asyncio.run(scenario())


@pytest.mark.parametrize("version", VERSIONS)
def test_a_refused_charger_is_paired_then_unpaired(
    version: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        async with Csms(csms_settings()) as csms:
            args = peer_args(csms, version, identity="CP-NEW")
            async with charge_point(args, tmp_path / "cp.log") as peer:
                await peer.wait_for("refused", since=0)
                await peer.wait_for("refused")  # it retries, as a charger does
                (refused,) = csms.refused_chargers()
                assert refused.identity == "CP-NEW"
                assert refused.attempts >= 2
                assert refused.address.startswith("('127.0.0.1'")
                # the consumer pairs it: its next attempt gets in
                csms.pair(ChargerSettings(identity="CP-NEW"))
                assert csms.refused_chargers() == []
                await peer.wait_for("booted", since=0)
                driver = OcppChargerDriver("ev", csms, "CP-NEW")
                await until(lambda: driver.info() is not None)
                await driver.apply(Setpoint(power_kw=3.0))
                # deregistration: the session ends and the charger is refused again
                mark = peer.mark()
                await csms.unpair("CP-NEW")
                await peer.wait_for("disconnected", since=mark)
                await peer.wait_for("refused", since=mark)
                with pytest.raises(DeviceUnavailableError, match="not paired"):
                    await driver.read_state()
                with pytest.raises(DeviceUnavailableError, match="not paired"):
                    await driver.apply(Setpoint(power_kw=3.0))
                assert driver.info() is None

    with caplog.at_level(logging.DEBUG, logger="adapters.devices.ocpp"):
        asyncio.run(scenario())
    refusals = [r for r in caplog.records if "unknown identity 'CP-NEW'" in r.getMessage()]
    # one warning for a charger that keeps retrying; the retries at debug level
    assert [r.levelno for r in refusals].count(logging.WARNING) == 2  # before pairing, after
    assert len(refusals) > 2


@pytest.mark.parametrize("version", VERSIONS)
def test_a_transaction_that_ended_while_offline_is_forgotten(version: str, tmp_path: Path) -> None:
    """The car leaves while the charger is offline: back online the charger reports its
    connector free, and the next plan goes as a default profile, not a TxProfile for a
    transaction the charger no longer runs (which it would refuse)."""

    async def scenario() -> None:
        async with Csms(csms_settings()) as csms:
            driver = OcppChargerDriver("ev", csms, IDENTITY)
            live = csms.live(IDENTITY)
            async with charge_point(peer_args(csms, version), tmp_path / "cp.log") as peer:
                await peer.wait_for("booted", since=0)
                peer.send("plug")
                await until(lambda: live.transaction_id is not None)
                peer.send("drop")
                await until(lambda: csms.link(IDENTITY) is None)
                peer.send("unplug")
                mark = peer.mark()
                peer.send("online")
                await peer.wait_for("booted", since=mark)
                await until(lambda: live.plugged_in is False)
                assert live.transaction_id is None
                await driver.apply(Setpoint(power_kw=3.0))
                profile = await peer.wait_for("profile", since=mark)
                assert profile["purpose"] == "TxDefaultProfile"
                assert profile["accepted"]

    asyncio.run(scenario())


@pytest.mark.parametrize("version", VERSIONS)
def test_listeners_hear_boot_plug_fault_and_disconnect(
    version: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    heard: list[tuple[str, ChargerEvent]] = []

    def broken_listener(identity: str, event: ChargerEvent) -> None:
        raise RuntimeError("a listener's own bug")

    async def scenario() -> None:
        async with Csms(csms_settings()) as csms:
            csms.subscribe(broken_listener)  # logged; the session and the next listener go on
            csms.subscribe(lambda identity, event: heard.append((identity, event)))
            live = csms.live(IDENTITY)
            async with charge_point(peer_args(csms, version), tmp_path / "cp.log") as peer:
                await peer.wait_for("booted", since=0)
                await until(lambda: live.plugged_in is False)
                peer.send("plug")
                await until(lambda: live.transaction_id is not None)
                peer.send("unplug")
                await until(lambda: live.plugged_in is False and live.transaction_id is None)
                peer.send("fault")
                await until(lambda: live.faulted)
                peer.send("recover")
                await until(lambda: not live.faulted)
                peer.send("drop")
                await until(lambda: csms.link(IDENTITY) is None)

    with caplog.at_level(logging.ERROR, logger="adapters.devices.ocpp"):
        asyncio.run(scenario())
    assert [event for _, event in heard] == [
        ChargerEvent.BOOTED,
        ChargerEvent.UNPLUGGED,  # the first status: no car
        ChargerEvent.PLUGGED_IN,
        ChargerEvent.UNPLUGGED,
        ChargerEvent.FAULTED,
        ChargerEvent.DISCONNECTED,
    ]
    assert {identity for identity, _ in heard} == {IDENTITY}
    assert "a listener failed on charger CP-1's booted event" in caplog.text
