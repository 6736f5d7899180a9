"""Bad input and faults from a simulated charge point (separate process, OCPP 1.6J and 2.0.1):
a malformed frame, an unknown action and a refused profile each give one clear log line and a
device reported refused, and the CSMS keeps serving."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.devices.driver import DeviceUnavailableError, Setpoint
from adapters.devices.ocpp import Csms, OcppChargerDriver, PlanStep
from tests.adapters.devices.ocpp_peer import (
    IDENTITY,
    VERSIONS,
    charge_point,
    csms_settings,
    peer_args,
    until,
)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_malformed_frame_and_an_unknown_action_are_logged_and_survived(
    version: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        async with Csms(csms_settings()) as csms:
            driver = OcppChargerDriver("ev", csms, IDENTITY)
            async with charge_point(peer_args(csms, version), tmp_path / "cp.log") as peer:
                await peer.wait_for("booted", since=0)
                await until(lambda: csms.link(IDENTITY) is not None)
                mark = peer.mark()
                peer.send("garbage")
                peer.send("unknown")
                answer = await peer.wait_for("call_error", since=mark)
                assert '"u-1","NotImplemented"' in answer["raw"]
                peer.send("badpayload")
                answer = await peer.wait_for(
                    "call_error", since=mark, condition=lambda e: '"b-1"' in e["raw"]
                )
                assert "Violation" in answer["raw"]
                # the session goes on: the charger is still driven and read
                await driver.apply(Setpoint(power_kw=3.0))
                assert (await driver.read_state()).plugged_in is False
                assert csms.live(IDENTITY).connected

    with caplog.at_level(logging.WARNING):
        asyncio.run(scenario())
    malformed = [r for r in caplog.records if "malformed OCPP frame" in r.getMessage()]
    assert len(malformed) == 1
    assert "Message is not valid JSON" in malformed[0].getMessage()
    assert malformed[0].exc_info is None  # a clear line, not a traceback
    assert "sent an action the CSMS does not handle: 'FrobnicateWidget'" in caplog.text
    bad_payload = [r for r in caplog.records if "b-1" in r.getMessage()]
    assert len(bad_payload) == 1
    assert "Error while handling request" in bad_payload[0].getMessage()
    assert "connectorId" in bad_payload[0].getMessage()
    # no traceback for a charger's bad input, from our code or the ocpp library's
    assert not [r for r in caplog.records if r.exc_info]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_refused_profile_is_reported_with_its_reason(
    version: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        async with Csms(csms_settings()) as csms:
            driver = OcppChargerDriver("ev", csms, IDENTITY)
            args = peer_args(csms, version, "--reject-profiles")
            async with charge_point(args, tmp_path / "cp.log") as peer:
                await peer.wait_for("booted", since=0)
                await until(lambda: csms.link(IDENTITY) is not None)
                reason = "Rejected (UnsupportedLimit)" if version == "2.0.1" else "Rejected"
                with pytest.raises(DeviceUnavailableError) as refused:
                    await driver.apply(Setpoint(power_kw=3.0))
                assert str(refused.value) == (
                    f"charger {IDENTITY} refused the charging profile: {reason}"
                )
                now = datetime.now(UTC)
                with pytest.raises(DeviceUnavailableError, match="refused the charging profile"):
                    await driver.send_plan([PlanStep(now, 2.0)], now + timedelta(hours=1))
                # a refused plan is not taken as sent: the next send_plan tries again
                with pytest.raises(DeviceUnavailableError):
                    await driver.send_plan([PlanStep(now, 2.0)], now + timedelta(hours=1))
                assert csms.live(IDENTITY).connected

    asyncio.run(scenario())


@pytest.mark.parametrize("version", VERSIONS)
def test_a_faulted_charger_is_reported_unavailable(
    version: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        async with Csms(csms_settings()) as csms:
            driver = OcppChargerDriver("ev", csms, IDENTITY)
            async with charge_point(peer_args(csms, version), tmp_path / "cp.log") as peer:
                await peer.wait_for("booted", since=0)
                await until(lambda: csms.live(IDENTITY).plugged_in is False)
                peer.send("fault")
                await until(lambda: csms.live(IDENTITY).faulted)
                with pytest.raises(DeviceUnavailableError, match="reports a fault"):
                    await driver.read_state()
                peer.send("recover")
                await until(lambda: not csms.live(IDENTITY).faulted)
                assert (await driver.read_state()).plugged_in is False

    with caplog.at_level(logging.WARNING, logger="adapters.devices.ocpp"):
        asyncio.run(scenario())
    assert f"charger {IDENTITY} reports a fault" in caplog.text


@pytest.mark.parametrize("version", VERSIONS)
def test_a_charger_that_does_not_answer_or_drops_the_call(version: str, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Csms(csms_settings(response_timeout_s=0.5)) as csms:
            driver = OcppChargerDriver("ev", csms, IDENTITY)
            args = peer_args(csms, version, "--on-profile", "ignore")
            async with charge_point(args, tmp_path / "mute.log") as peer:
                await peer.wait_for("booted", since=0)
                await until(lambda: csms.link(IDENTITY) is not None)
                with pytest.raises(
                    DeviceUnavailableError, match="did not answer SetChargingProfile"
                ):
                    await driver.apply(Setpoint(power_kw=3.0))
            await until(lambda: csms.link(IDENTITY) is None)
        async with Csms(csms_settings(response_timeout_s=30)) as csms:
            driver = OcppChargerDriver("ev", csms, IDENTITY)
            args = peer_args(csms, version, "--on-profile", "drop")
            async with charge_point(args, tmp_path / "drop.log") as peer:
                await peer.wait_for("booted", since=0)
                await until(lambda: csms.link(IDENTITY) is not None)
                started = asyncio.get_running_loop().time()
                with pytest.raises(DeviceUnavailableError, match="disconnected during"):
                    await driver.apply(Setpoint(power_kw=3.0))
                # at once, not after the 30 s response timeout
                assert asyncio.get_running_loop().time() - started < 5
                with pytest.raises(DeviceUnavailableError, match="not connected"):
                    await driver.read_state()

    asyncio.run(scenario())
