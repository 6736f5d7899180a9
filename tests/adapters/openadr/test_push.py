"""Push mode end to end, and EiOpt over HTTP: the VEN registers with oadrHttpPullModel false
and its own endpoint as transport address; a pushing VTN (tests/adapters/openadr/push_vtn.py,
since openleadr cannot push) POSTs oadrDistributeEvent, oadrCreateReport, oadrCancelReport and
oadrRequestReregistration to that endpoint over HTTP on 127.0.0.1, signed both ways; bad pushes
get the right OpenADR response code and the endpoint keeps serving."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import ssl
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from adapters.openadr import codec
from adapters.openadr import messages as m
from adapters.openadr.events import Target
from adapters.openadr.hooks import OptDecision, Reading, Resource
from adapters.openadr.push import push_routes
from adapters.openadr.reports import ReportRequest, SpecifierPayload
from adapters.openadr.signatures import XmlSigner, XmlVerifier
from adapters.openadr.tls import TlsSettings, client_context, fingerprint_pem, server_context
from adapters.openadr.transport import HttpTransport
from adapters.openadr.ven import Ven, VenSettings
from adapters.openadr.vocab import OptReason, ResponseCode
from kernel.dsr import OptType
from tests.adapters.openadr.hostile_xml import hostile_bodies
from tests.adapters.openadr.push_vtn import (
    REGISTRATION_ID,
    VEN_ID,
    VTN_ID,
    PushingVtn,
    serving,
)
from tests.adapters.openadr.samples import dispatch_event
from tests.adapters.openadr.vtn_peer import free_port
from tests.adapters.openadr.waiting import until

PUSH_LIMIT_BYTES = 64 * 1024


def _event(event_id: str):
    start = datetime.now(UTC) + timedelta(minutes=5)
    event = dispatch_event(event_id=event_id, values_kw=(2.0,), start=start)
    return dataclasses.replace(event, target=Target(ven_ids=(VEN_ID,)))


Scenario = Callable[[PushingVtn, Ven, list[str]], Awaitable[None]]


def _run(pki, scenario: Scenario, *, mutual_tls: bool = False) -> None:
    """Both sides signing; with ``mutual_tls`` both servers serve HTTPS and require client
    certificates (``tls.server_context``), the VEN pins the VTN and the VTN pushes with its
    certificate."""
    ca_file, vtn_party, ven_party = pki
    scheme = "https" if mutual_tls else "http"
    vtn_server_ssl = ven_server_ssl = vtn_client_ssl = ven_client_ssl = None
    if mutual_tls:
        vtn_server_ssl = server_context(vtn_party.cert_file, vtn_party.key_file, ca_file)
        ven_server_ssl = server_context(ven_party.cert_file, ven_party.key_file, ca_file)
        vtn_client_ssl = ssl.create_default_context(cafile=str(ca_file))
        vtn_client_ssl.load_cert_chain(vtn_party.cert_file, vtn_party.key_file)
        ven_client_ssl = client_context(
            TlsSettings(
                cert_file=ven_party.cert_file,
                key_file=ven_party.key_file,
                ca_file=ca_file,
                vtn_fingerprint=fingerprint_pem(vtn_party.cert_pem),
            )
        )

    async def flow() -> None:
        vtn = PushingVtn(
            signer=XmlSigner(vtn_party.cert_pem, vtn_party.key_pem),
            verifier=XmlVerifier(fingerprint=fingerprint_pem(ven_party.cert_pem)),
            client_ssl=vtn_client_ssl,
        )
        vtn.events = (_event("ev-0"),)
        vtn_port, ven_port = free_port(), free_port()
        from_vtn = XmlVerifier(fingerprint=fingerprint_pem(vtn_party.cert_pem), required=True)
        transport = HttpTransport(
            f"{scheme}://127.0.0.1:{vtn_port}",
            ssl_context=ven_client_ssl,
            signer=XmlSigner(ven_party.cert_pem, ven_party.key_pem),
            verifier=from_vtn,
        )
        decided: list[str] = []

        async def decide(notice):
            if notice.event.event_id == "ev-boom":
                raise RuntimeError("the planner fell over")
            decided.append(notice.event.event_id)
            return OptDecision(opt=OptType.OPT_IN, reason=OptReason.PARTICIPATING)

        async def telemetry():
            return [
                Reading(resource_id="site", power_kw=4.25),
                Reading(resource_id="ev-charger", power_kw=7.0),
            ]

        ven = Ven(
            VenSettings(
                manufacturer="ACME-CEM",
                serial_number="SN-PUSH",
                resources=(Resource(resource_id="ev-charger"),),
                pull=False,
                push_url=f"{scheme}://127.0.0.1:{ven_port}/oadr",
                xml_signature=True,
                report_min_period_s=1.0,
            ),
            transport,
            decide=decide,
            telemetry=telemetry,
        )
        ven_app = Starlette(
            routes=[Mount("/oadr", routes=push_routes(ven, from_vtn, max_bytes=PUSH_LIMIT_BYTES))]
        )
        stop = asyncio.Event()
        async with (
            serving(vtn.app(), vtn_port, vtn_server_ssl),
            serving(ven_app, ven_port, ven_server_ssl),
        ):
            runner = asyncio.create_task(ven.run(stop, tick_s=0.1))
            try:
                # Registered, and the answer to the start-up oadrRequestEvent (the VTN's current
                # event list) has been read: pushes from now on cannot be overtaken by it.
                await until(lambda: ven.events.get("ev-0") is not None)
                decided.clear()
                await scenario(vtn, ven, decided)
            finally:
                stop.set()
                await runner
                await transport.aclose()
                await vtn.aclose()

    asyncio.run(flow())


@pytest.mark.parametrize("mutual_tls", [False, True], ids=["http", "mutual-tls"])
def test_push_mode_end_to_end(pki, mutual_tls):
    async def scenario(vtn: PushingVtn, ven: Ven, decided: list[str]) -> None:
        registration = vtn.registrations[0]
        assert registration.http_pull_model is False
        assert registration.transport_address == vtn.ven_url
        assert vtn.ven_url.endswith("/oadr")
        assert ven.ven_id == VEN_ID

        # A pushed event reaches the decision hook and is answered with oadrCreatedEvent.
        answer = await vtn.push(
            "EiEvent", m.DistributeEvent(request_id="d-1", vtn_id=VTN_ID, events=(_event("ev-1"),))
        )
        assert decided == ["ev-1"]
        assert isinstance(answer, m.CreatedEvent)
        assert answer.response.ok
        assert answer.response.request_id == "d-1"
        (response,) = answer.event_responses
        assert (response.event_id, response.opt_type) == ("ev-1", OptType.OPT_IN)

        # EiOpt over HTTP (openleadr's VTN serves none): the consumer's override, then
        # opt-out windows.
        await ven.opt_out("ev-1")
        created_events = [msg for msg in vtn.received if isinstance(msg, m.CreatedEvent)]
        assert created_events[-1].event_responses[0].opt_type == OptType.OPT_OUT
        (opt,) = vtn.opts
        assert (opt.opt_type, opt.event_id, opt.ven_id) == (OptType.OPT_OUT, "ev-1", VEN_ID)
        window = m.AvailabilityWindow(start_utc=datetime.now(UTC), duration_s=3600)
        opt_id = await ven.opt_schedule((window,))
        assert vtn.opts[1].availability[0].duration_s == 3600
        await ven.cancel_opt(opt_id)
        assert vtn.opts_cancelled == [opt_id]

        # A pushed oadrCreateReport: answered, then telemetry flows to the VTN.
        usage = next(r for r in vtn.metadata if r.report_specifier_id == "TELEMETRY_USAGE")
        site = next(d for d in usage.descriptions if d.resource_id == "site")
        request = ReportRequest(
            report_request_id="rr-push",
            report_specifier_id=usage.report_specifier_id,
            granularity_s=1,
            report_back_duration_s=1,
            specifiers=(SpecifierPayload(r_id=site.r_id, reading_type=site.reading_type),),
        )
        created = await vtn.push("EiReport", m.CreateReport(request_id="cr-1", requests=(request,)))
        assert isinstance(created, m.CreatedReport)
        assert created.response.ok
        assert created.response.request_id == "cr-1"
        assert created.pending == ("rr-push",)
        await until(lambda: bool(vtn.updates))
        (data,) = vtn.updates[0].reports
        assert data.report_request_id == "rr-push"
        values = {p.value for i in data.intervals for p in i.points if p.r_id == site.r_id}
        assert values == {4.25}

        # A pushed oadrCancelReport stops it.
        canceled = await vtn.push(
            "EiReport",
            m.CancelReport(
                request_id="can-1", report_request_ids=("rr-push",), report_to_follow=False
            ),
        )
        assert isinstance(canceled, m.CanceledReport)
        assert canceled.response.ok
        assert canceled.pending == ()
        await asyncio.sleep(0.3)  # an update already under way may still land
        sent = len(vtn.updates)
        await asyncio.sleep(2.5)
        assert len(vtn.updates) == sent

        # A pushed oadrRequestReregistration: acknowledged, then a new registration follows.
        ack = await vtn.push("EiRegisterParty", m.RequestReregistration(ven_id=VEN_ID))
        assert isinstance(ack, m.Response)
        assert ack.response.ok
        await until(lambda: len(vtn.registrations) == 2)
        again = vtn.registrations[1]
        assert again.http_pull_model is False
        assert again.transport_address == registration.transport_address
        assert again.registration_id == REGISTRATION_ID
        assert not any(isinstance(msg, m.Poll) for msg in vtn.received)  # push: no polling

        if mutual_tls:  # the VEN's endpoint requires a client certificate
            ca_only = ssl.create_default_context(cafile=str(pki[0]))
            async with httpx.AsyncClient(verify=ca_only) as anonymous:
                with pytest.raises(httpx.HTTPError):
                    await anonymous.post(f"{vtn.ven_url}/EiEvent", content=b"<a/>")

    _run(pki, scenario, mutual_tls=mutual_tls)


def test_bad_pushes_get_openadr_error_codes_and_the_endpoint_keeps_serving(pki, caplog, tmp_path):
    async def scenario(vtn: PushingVtn, ven: Ven, decided: list[str]) -> None:
        async def code_of(body: bytes, service: str = "EiEvent") -> int:
            answer = await vtn.push_raw(service, body)
            assert isinstance(answer, m.Response)
            return answer.response.code

        distribute = m.DistributeEvent(request_id="d-2", vtn_id=VTN_ID, events=(_event("ev-2"),))
        assert await code_of(b"<oadr:oadrPayload") == ResponseCode.INVALID_DATA
        assert await code_of(b"\xff\xfe\x00garbage") == ResponseCode.INVALID_DATA
        entity = b'<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>'
        assert await code_of(entity) == ResponseCode.INVALID_DATA
        for name, body in hostile_bodies(tmp_path / "secret", PUSH_LIMIT_BYTES).items():
            assert await code_of(body) == ResponseCode.INVALID_DATA, name
        assert await code_of(b"<a/>") == ResponseCode.NOT_RECOGNIZED
        assert await code_of(b"<a>" + b"x" * PUSH_LIMIT_BYTES + b"</a>") == (
            ResponseCode.INVALID_DATA
        )
        # Signatures are required: an unsigned (valid) push is refused, and so is a replay.
        unsigned = codec.render(distribute)
        assert await code_of(unsigned) == ResponseCode.NOT_REGISTERED_OR_AUTHORIZED
        signed = codec.render(distribute, signer=vtn.signer)
        tampered = signed.replace(b"<ei:value>2</ei:value>", b"<ei:value>9</ei:value>", 1)
        assert tampered != signed
        assert await code_of(tampered) == ResponseCode.NOT_REGISTERED_OR_AUTHORIZED
        assert decided == []
        # A failure while handling a valid push is answered with 469, not an HTTP 500.
        boom = m.DistributeEvent(request_id="d-3", vtn_id=VTN_ID, events=(_event("ev-boom"),))
        assert await code_of(codec.render(boom, signer=vtn.signer)) == (
            ResponseCode.DEPLOYMENT_ERROR_OR_OTHER
        )
        # ... and the endpoint still serves the next, valid, push.
        answer = await vtn.push_raw("EiEvent", signed)
        assert isinstance(answer, m.CreatedEvent)
        assert answer.response.ok
        assert decided == ["ev-2"]
        assert await code_of(signed) == ResponseCode.NOT_REGISTERED_OR_AUTHORIZED  # replayed

    with caplog.at_level(logging.WARNING, logger="adapters.openadr"):
        _run(pki, scenario)
    assert "openadr push: refused a message" in caplog.text


def test_a_pushed_registration_cancellation_sticks_until_enrolled(pki):
    """The VTN pushes oadrCancelPartyRegistration: answered, recorded, and the running VEN does
    not register again (before: at once, forever) until enrol()."""

    async def scenario(vtn: PushingVtn, ven: Ven, decided: list[str]) -> None:
        answer = await vtn.push(
            "EiRegisterParty",
            m.CancelPartyRegistration(
                request_id="cancel-1", registration_id=REGISTRATION_ID, ven_id=VEN_ID
            ),
        )
        assert isinstance(answer, m.CanceledPartyRegistration)
        assert answer.response.ok
        assert ven.cancelled_by_vtn_utc is not None
        await asyncio.sleep(2.0)
        assert len(vtn.registrations) == 1
        ven.enrol()
        await until(lambda: len(vtn.registrations) == 2)

    _run(pki, scenario)
