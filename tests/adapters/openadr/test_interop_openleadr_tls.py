"""Interoperability over mutual TLS with signed XML: our VEN against openleadr's OpenADRServer
(the independent peer) on 127.0.0.1, in the test's own event loop.

The VTN serves HTTPS with its certificate, requires client certificates from the test CA,
checks that the connection's client certificate and the signing certificate of every message
are the VEN's (its ``ven_lookup`` gives the fingerprint) and verifies every signature; it signs
its own messages. Our VEN presents its client certificate, signs every message, pins the VTN's
fingerprint and the CA, and verifies every answer's signature (refusing unsigned ones)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from openleadr.service.vtn_service import VTNService

from adapters.openadr.hooks import OptDecision, Reading, Resource
from adapters.openadr.signatures import XmlSigner, XmlVerifier
from adapters.openadr.tls import TlsSettings, client_context, fingerprint_pem
from adapters.openadr.transport import HttpTransport
from adapters.openadr.ven import Ven, VenSettings
from adapters.openadr.vocab import OptReason
from kernel.dsr import OptType
from tests.adapters.openadr.certs import Party
from tests.adapters.openadr.vtn_peer import (
    REGISTRATION_ID,
    VEN_ID,
    PeerLog,
    dispatch_event,
    free_port,
    make_vtn,
)
from tests.adapters.openadr.waiting import until

pytestmark = [
    pytest.mark.interop,
    pytest.mark.filterwarnings("ignore::aiohttp.web_exceptions.NotAppKeyWarning"),
]


@pytest.fixture(autouse=True)
def _restore_openleadr_class_state(caplog) -> Iterator[None]:
    """OpenADRServer keeps its lookups and signing key on the VTNService class: put them back."""
    caplog.set_level(logging.ERROR, logger="openleadr")
    saved = {k: VTNService.__dict__[k] for k in ("_create_message",) if k in VTNService.__dict__}
    yield
    for name in ("ven_lookup", "fingerprint_lookup", "_create_message"):
        if name in VTNService.__dict__:
            delattr(VTNService, name)
    for name, value in saved.items():
        setattr(VTNService, name, value)


def _settings() -> VenSettings:
    return VenSettings(
        manufacturer="ACME-CEM",
        serial_number="SN0001",
        resources=(Resource(resource_id="ev-charger", has_soc=True),),
    )


def _secure_vtn(port: int, ca_file, vtn: Party, ven: Party):
    """openleadr's VTN over mutual TLS, signing, knowing the VEN's fingerprint; counts every
    HTTP request that reaches it."""
    ven_fingerprint = fingerprint_pem(ven.cert_pem)
    peers: list[PeerLog] = []  # openleadr's record of registrations, once the server exists

    def ven_lookup(ven_id: str) -> dict[str, Any] | None:
        if ven_id != VEN_ID:
            return None
        return {
            "ven_id": VEN_ID,
            "ven_name": "ACME-CEM:SN0001",
            "fingerprint": ven_fingerprint,
            "registration_id": REGISTRATION_ID if peers[0].registrations else None,
        }

    server, peer = make_vtn(
        port,
        cert=str(vtn.cert_file),
        key=str(vtn.key_file),
        http_cert=str(vtn.cert_file),
        http_key=str(vtn.key_file),
        http_ca_file=str(ca_file),
        ven_lookup=ven_lookup,
        show_fingerprint=False,
    )
    requests: list[str] = []

    @web.middleware
    async def count(request: web.Request, handler):
        requests.append(request.path)
        return await handler(request)

    server.app.middlewares.append(count)
    peers.append(peer)
    return server, peer, requests


def _ven_transport(port: int, ca_file, vtn: Party, ven: Party, pinned: str) -> HttpTransport:
    return HttpTransport(
        f"https://127.0.0.1:{port}/OpenADR2/Simple/2.0b",
        ssl_context=client_context(
            TlsSettings(
                cert_file=ven.cert_file,
                key_file=ven.key_file,
                ca_file=ca_file,
                vtn_fingerprint=pinned,
            )
        ),
        signer=XmlSigner(ven.cert_pem, ven.key_pem),
        verifier=XmlVerifier(fingerprint=fingerprint_pem(vtn.cert_pem), required=True),
    )


def test_full_flow_over_mutual_tls_with_signed_xml(pki):
    asyncio.run(_secure_flow(*pki))


async def _secure_flow(ca_file, vtn: Party, ven: Party) -> None:
    port = free_port()
    server, peer, requests = _secure_vtn(port, ca_file, vtn, ven)
    await server.run()
    opts: dict[str, str] = {}

    async def decide(notice):
        return OptDecision(opt=OptType.OPT_IN, reason=OptReason.PARTICIPATING)

    async def telemetry():
        return [
            Reading(resource_id="site", power_kw=3.25),
            Reading(resource_id="ev-charger", power_kw=7.4, soc_pct=55.0),
        ]

    transport = _ven_transport(port, ca_file, vtn, ven, fingerprint_pem(vtn.cert_pem))
    ven_under_test = Ven(_settings(), transport, decide=decide, telemetry=telemetry)
    try:
        await ven_under_test.register()
        assert ven_under_test.ven_id == VEN_ID
        # openleadr read the client certificate of the TLS connection.
        assert peer.registrations[0]["fingerprint"] == fingerprint_pem(ven.cert_pem)
        assert peer.registrations[0]["ven_name"] == "ACME-CEM:SN0001"

        start = datetime.now(UTC) + timedelta(minutes=5)
        server.add_raw_event(
            VEN_ID,
            dispatch_event(peer, "ev-tls", start, (2.5, 1.0), "setpoint"),
            callback=lambda ven_id, event_id, opt_type: opts.__setitem__(event_id, opt_type),
        )
        stop = asyncio.Event()
        runner = asyncio.create_task(ven_under_test.run(stop, tick_s=0.2))
        await until(lambda: opts == {"ev-tls": "optIn"})
        notice = ven_under_test.hooks.notices[0]
        assert (notice.requests[0].kind, notice.requests[0].value_kw) == ("setpoint", 2.5)

        await until(lambda: len(peer.values.get("ev-charger", [])) >= 2)
        assert {v for _, v in peer.values["site"]} == {3.25}
        assert {v for _, v in peer.values["ev-charger"]} == {7.4}

        stop.set()
        await runner
        await ven_under_test.deregister()
        assert peer.cancelled_registrations[0]["registration_id"] == REGISTRATION_ID
        assert ven_under_test.ven_id is None
        assert len(requests) > 4
    finally:
        await transport.aclose()
        await server.stop()


def test_wrong_vtn_fingerprint_refuses_the_connection_and_sends_nothing(pki, caplog):
    asyncio.run(_wrong_pin(*pki, caplog))


async def _wrong_pin(ca_file, vtn: Party, ven: Party, caplog) -> None:
    port = free_port()
    server, peer, requests = _secure_vtn(port, ca_file, vtn, ven)
    await server.run()
    readings: list[int] = []

    async def decide(notice):
        raise AssertionError("no event can arrive")

    async def telemetry():
        readings.append(1)
        return [Reading(resource_id="site", power_kw=1.0)]

    # The VTN's certificate chains to the trusted CA, but it is not the pinned one.
    transport = _ven_transport(port, ca_file, vtn, ven, fingerprint_pem(ven.cert_pem))
    ven_under_test = Ven(_settings(), transport, decide=decide, telemetry=telemetry)
    stop = asyncio.Event()
    try:
        with caplog.at_level(logging.WARNING, logger="adapters.openadr"):
            runner = asyncio.create_task(ven_under_test.run(stop, tick_s=0.1))
            await until(lambda: caplog.text.count("refused the VTN's connection") >= 2)
            # Local operation continues: the loop is alive, backing off, not registered.
            assert not runner.done()
            assert ven_under_test.ven_id is None
            stop.set()
            await asyncio.wait_for(runner, 5)
        assert requests == []  # not one HTTP request reached the VTN
        assert peer.registrations == []
        assert "retrying" in caplog.text
    finally:
        await transport.aclose()
        await server.stop()
