"""What a charger reports it can do, asked by the CSMS after its boot, against the simulated
charge point (a separate process): OCPP 2.0.1's EVSE Power and SupplyPhases, OCPP 1.6's
ConnectorPhaseRotation; garbage (a power that is not a number, a negative one) is logged and
left out, the session goes on."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from adapters.devices.ocpp import Csms, OcppChargerDriver
from adapters.devices.ocpp.configuration import phases_from_rotation
from kernel.devices import DeviceCapabilities
from tests.adapters.devices.ocpp_peer import IDENTITY, charge_point, csms_settings, peer_args, until


async def _reported(version: str, tmp_path: Path, *extra: str) -> DeviceCapabilities | None:
    async with Csms(csms_settings()) as csms:
        driver = OcppChargerDriver("ev", csms, IDENTITY)
        assert await driver.capabilities() is None  # not booted yet
        async with charge_point(peer_args(csms, version, *extra), tmp_path / "cp.log") as peer:
            await peer.wait_for("booted", since=0)
            await until(lambda: csms.live(IDENTITY).capabilities is not None)
            caps = await driver.capabilities()
            # the session goes on: the plug state comes after the answer
            await until(lambda: csms.live(IDENTITY).plugged_in is not None)
            await driver.read_state()
            return caps


def test_a_2_0_1_charger_reports_its_power_and_phases(tmp_path: Path) -> None:
    caps = asyncio.run(_reported("2.0.1", tmp_path, "--rated-kw", "11", "--phases", "3"))
    assert caps == DeviceCapabilities(max_charge_kw=11.0, phases=3)


@pytest.mark.parametrize(("phases", "expected"), [("1", 1), ("3", 3)])
def test_a_1_6_charger_reports_its_phases(tmp_path: Path, phases: str, expected: int) -> None:
    caps = asyncio.run(_reported("1.6", tmp_path, "--phases", phases))
    assert caps == DeviceCapabilities(phases=expected)  # 1.6 has no standard power key


@pytest.mark.parametrize("garbage", ["lots", "-7400", "NaN"])
def test_a_2_0_1_charger_reporting_garbage_is_logged_and_left_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, garbage: str
) -> None:
    caplog.set_level(logging.WARNING)
    caps = asyncio.run(_reported("2.0.1", tmp_path, "--reported-power-w", garbage))
    assert caps == DeviceCapabilities(phases=1)
    assert any(IDENTITY in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


@pytest.mark.parametrize(
    ("value", "phases"),
    [
        ("0.RST,1.RTS", 3),
        ("RST", 3),
        ("1.NotApplicable", 1),
        ("1.Unknown", None),
        ("0.RST", 3),  # the station's rotation stands for its connector
        ("x.RST", None),
    ],
)
def test_connector_phase_rotation_gives_the_phases(value: str, phases: int | None) -> None:
    assert phases_from_rotation("CP-1", value) == phases
