"""OCPP security profiles with a simulated charge point (separate process): 1, basic auth
over ws://; 2, basic auth over TLS (wss://); 3, TLS with a client certificate naming the
charger. Certificates are made at run time (tests/adapters/devices/certs.py)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from adapters.devices.driver import Setpoint
from adapters.devices.ocpp import ChargerSettings, Csms, OcppChargerDriver, TlsServerSettings
from adapters.devices.ocpp.settings import hash_password
from tests.adapters.devices.certs import Pki, make_pki
from tests.adapters.devices.ocpp_peer import (
    IDENTITY,
    VERSIONS,
    charge_point,
    csms_settings,
    peer_args,
    until,
)

PASSWORD = "a-long-charger-secret-01"
PASSWORD_HASH = hash_password(PASSWORD)  # the CSMS keeps only this


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("ocpp-pki"), (IDENTITY, "CP-OTHER"))


async def _connects_and_is_driven(csms: Csms, args: list[str], log_file: Path) -> None:
    driver = OcppChargerDriver("ev", csms, IDENTITY)
    async with charge_point(args, log_file) as peer:
        booted = await peer.wait_for("booted", since=0)
        assert booted["status"] == "Accepted"
        await until(lambda: csms.link(IDENTITY) is not None)
        await driver.apply(Setpoint(power_kw=3.0))


async def _refused(args: list[str], log_file: Path) -> dict[str, object]:
    async with charge_point(args, log_file) as peer:
        event = await peer.wait_for("refused", since=0)
        assert not peer.of("connected")
        return event


@pytest.mark.parametrize("version", VERSIONS)
def test_profile_1_basic_auth(
    version: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = csms_settings(
        chargers=(ChargerSettings(identity=IDENTITY, password_hash=PASSWORD_HASH),)
    )

    async def scenario() -> None:
        async with Csms(settings) as csms:
            good = peer_args(csms, version, "--password", PASSWORD)
            await _connects_and_is_driven(csms, good, tmp_path / "good.log")
            wrong = peer_args(csms, version, "--password", "not-the-right-secret")
            assert (await _refused(wrong, tmp_path / "wrong.log"))["status"] == 401
            assert (await _refused(peer_args(csms, version), tmp_path / "none.log"))[
                "status"
            ] == 401

    with caplog.at_level(logging.WARNING, logger="adapters.devices.ocpp"):
        asyncio.run(scenario())
    assert f"refused charger {IDENTITY} from" in caplog.text
    assert "wrong basic-auth credentials" in caplog.text
    assert PASSWORD not in caplog.text


@pytest.mark.parametrize("version", VERSIONS)
def test_profile_2_basic_auth_over_tls(version: str, tmp_path: Path, pki: Pki) -> None:
    settings = csms_settings(
        chargers=(ChargerSettings(identity=IDENTITY, password_hash=PASSWORD_HASH),),
        tls=TlsServerSettings(cert_file=pki.server_cert, key_file=pki.server_key),
    )

    async def scenario() -> None:
        async with Csms(settings) as csms:
            tls = ("--ca", str(pki.ca_file))
            good = peer_args(csms, version, "--password", PASSWORD, *tls, scheme="wss")
            await _connects_and_is_driven(csms, good, tmp_path / "good.log")
            wrong = peer_args(csms, version, "--password", "x" * 20, *tls, scheme="wss")
            assert (await _refused(wrong, tmp_path / "wrong.log"))["status"] == 401

    asyncio.run(scenario())


@pytest.mark.parametrize("version", VERSIONS)
def test_profile_3_client_certificates(
    version: str, tmp_path: Path, pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    settings = csms_settings(
        tls=TlsServerSettings(
            cert_file=pki.server_cert, key_file=pki.server_key, client_ca_file=pki.ca_file
        ),
    )

    async def scenario() -> None:
        async with Csms(settings) as csms:
            cert, key = pki.clients[IDENTITY]
            own = ("--ca", str(pki.ca_file), "--cert", str(cert), "--key", str(key))
            await _connects_and_is_driven(
                csms, peer_args(csms, version, *own, scheme="wss"), tmp_path / "own.log"
            )
            # another charger's valid certificate does not pass for this identity
            other_cert, other_key = pki.clients["CP-OTHER"]
            other = ("--ca", str(pki.ca_file), "--cert", str(other_cert), "--key", str(other_key))
            refused = await _refused(
                peer_args(csms, version, *other, scheme="wss"), tmp_path / "other.log"
            )
            assert refused["status"] == 403
            # no certificate: the TLS handshake fails
            args = peer_args(csms, version, "--ca", str(pki.ca_file), scheme="wss")
            async with charge_point(args, tmp_path / "none.log") as peer:
                await peer.wait_for("connect_failed", since=0)
                assert not peer.of("connected")
            assert csms.link(IDENTITY) is None

    with caplog.at_level(logging.WARNING, logger="adapters.devices.ocpp"):
        asyncio.run(scenario())
    assert f"refused charger {IDENTITY} from" in caplog.text
    assert "its certificate names 'CP-OTHER'" in caplog.text
