"""An S2 resource manager written with s2-python (a simulated battery, separate process)
connects to the CEM over ws:// and wss://: the handshake picks the S2 version, its
ResourceManagerDetails are read, FRBC is selected, and read_state gives its power and SoC.
Unknown or unauthenticated RMs are refused."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from adapters.devices.driver import DeviceDriver, DeviceUnavailableError
from adapters.devices.s2 import (
    SUPPORTED_VERSIONS,
    ResourceManagerSettings,
    S2Cem,
    S2FrbcDriver,
    TlsServerSettings,
    hash_token,
)
from tests.adapters.devices.certs import make_pki
from tests.adapters.devices.s2_peer import (
    RESOURCE_ID,
    RM_ID,
    TOKEN,
    cem_settings,
    resource_manager,
    rm_args,
)


async def _set_up_and_read(cem: S2Cem, args: list[str], log_file: Path) -> None:
    driver = S2FrbcDriver("battery", cem, RM_ID)
    assert isinstance(driver, DeviceDriver)
    async with resource_manager(args, log_file) as peer:
        session = await cem.wait_ready(RM_ID, 10)
        await peer.wait_for("activated", since=0)
        assert session.version == SUPPORTED_VERSIONS[0]
        identity = driver.identity()
        assert identity is not None
        assert identity.resource_id == uuid.UUID(RESOURCE_ID)
        assert (identity.manufacturer, identity.model, identity.serial_number) == (
            "Acme",
            "B-10",
            "SN-0042",
        )
        assert identity.firmware_version == "1.2.3"
        assert identity.control_types == ("FILL_RATE_BASED_CONTROL",)
        await peer.wait_for("tick", lambda e: e["active"], since=0)
        await asyncio.sleep(0.3)  # a report after activation has arrived
        state = await driver.read_state()
        assert state.power_kw == 0.0
        assert state.soc == pytest.approx(0.3)


def test_handshake_details_frbc_and_state_over_ws(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with S2Cem(cem_settings()) as cem:
            await _set_up_and_read(cem, rm_args(cem, "--soc", "0.3"), tmp_path / "rm.log")

    asyncio.run(scenario())


def test_handshake_details_frbc_and_state_over_wss_with_client_certificate(
    tmp_path: Path,
) -> None:
    pki = make_pki(tmp_path, (RM_ID,))
    cert, key = pki.clients[RM_ID]
    tls = TlsServerSettings(
        cert_file=pki.server_cert, key_file=pki.server_key, client_ca_file=pki.ca_file
    )

    async def scenario() -> None:
        async with S2Cem(cem_settings(tls=tls)) as cem:
            args = rm_args(
                cem,
                "--soc",
                "0.3",
                "--ca-file",
                str(pki.ca_file),
                "--cert-file",
                str(cert),
                "--key-file",
                str(key),
                scheme="wss",
            )
            await _set_up_and_read(cem, args, tmp_path / "rm.log")

    asyncio.run(scenario())


def test_over_wss_a_token_alone_authenticates(tmp_path: Path) -> None:
    pki = make_pki(tmp_path, ())
    tls = TlsServerSettings(cert_file=pki.server_cert, key_file=pki.server_key)

    async def scenario() -> None:
        async with S2Cem(cem_settings(tls=tls)) as cem:
            args = rm_args(cem, "--soc", "0.3", "--ca-file", str(pki.ca_file), scheme="wss")
            await _set_up_and_read(cem, args, tmp_path / "rm.log")
            wrong = rm_args(
                cem,
                "--token",
                "a-wrong-token-0123456789",
                "--ca-file",
                str(pki.ca_file),
                scheme="wss",
            )
            async with resource_manager(wrong, tmp_path / "rm2.log") as peer:
                assert "401" in (await peer.wait_for("connect_failed", since=0))["error"]

    asyncio.run(scenario())


def test_read_state_before_the_rm_connects_raises() -> None:
    async def scenario() -> None:
        async with S2Cem(cem_settings()) as cem:
            driver = S2FrbcDriver("battery", cem, RM_ID)
            with pytest.raises(DeviceUnavailableError, match="not connected"):
                await driver.read_state()
            assert driver.identity() is None
            with pytest.raises(KeyError):
                S2FrbcDriver("other", cem, "not-paired")

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("extra", "rm_id", "refusal"),
    [
        ((), "intruder", "404"),
        (("--token", "a-wrong-token-0123456789"), RM_ID, "401"),
        (("--token", ""), RM_ID, "401"),
    ],
    ids=["unknown-rm", "wrong-token", "no-token"],
)
def test_an_unknown_or_unauthenticated_rm_is_refused_at_the_websocket_handshake(
    extra: tuple[str, ...], rm_id: str, refusal: str, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with S2Cem(cem_settings()) as cem:
            args = rm_args(cem, *extra, rm_id=rm_id)
            async with resource_manager(args, tmp_path / "rm.log") as peer:
                failed = await peer.wait_for("connect_failed", since=0)
                assert refusal in failed["error"]
                assert cem.session(rm_id) is None

    asyncio.run(scenario())


def test_another_rms_certificate_is_refused(tmp_path: Path) -> None:
    pki = make_pki(tmp_path, ("battery-2",))
    cert, key = pki.clients["battery-2"]
    tls = TlsServerSettings(
        cert_file=pki.server_cert, key_file=pki.server_key, client_ca_file=pki.ca_file
    )

    async def scenario() -> None:
        async with S2Cem(cem_settings(tls=tls)) as cem:
            args = rm_args(
                cem,
                "--ca-file",
                str(pki.ca_file),
                "--cert-file",
                str(cert),
                "--key-file",
                str(key),
                scheme="wss",
            )
            async with resource_manager(args, tmp_path / "rm.log") as peer:
                failed = await peer.wait_for("connect_failed", since=0)
                assert "403" in failed["error"]
            no_cert = rm_args(cem, "--ca-file", str(pki.ca_file), scheme="wss")
            async with resource_manager(no_cert, tmp_path / "rm2.log") as peer:
                await peer.wait_for("connect_failed", since=0)
                assert cem.session(RM_ID) is None

    asyncio.run(scenario())


def test_another_resource_behind_a_paired_rm_is_refused_at_its_details(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with S2Cem(cem_settings()) as cem:
            driver = S2FrbcDriver("battery", cem, RM_ID)
            other = str(uuid.uuid4())
            args = rm_args(cem, "--resource-id", other)
            async with resource_manager(args, tmp_path / "rm.log") as peer:
                await peer.wait_for("disconnected", since=0)
                assert not peer.of("activated")
                with pytest.raises(DeviceUnavailableError):
                    await driver.read_state()

    asyncio.run(scenario())


def test_an_rm_paired_while_running_gets_in_and_an_unpaired_one_is_cut_off(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with (
            S2Cem(cem_settings(resource_managers=())) as cem,
            resource_manager(rm_args(cem), tmp_path / "rm.log") as peer,
        ):
            await peer.wait_for("connect_failed", since=0)
            cem.pair(ResourceManagerSettings(rm_id=RM_ID, token_hash=hash_token(TOKEN)))
            await cem.wait_ready(RM_ID, 10)
            mark = peer.mark()
            await cem.unpair(RM_ID)
            await peer.wait_for("disconnected", since=mark)
            assert cem.session(RM_ID) is None

    asyncio.run(scenario())
