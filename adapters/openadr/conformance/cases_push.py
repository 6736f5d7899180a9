"""Push mode (simple HTTP push, B profile): the VEN registers with oadrHttpPullModel false and
its endpoint as oadrTransportAddress; the reference VTN pushes an event to it over mutual TLS
(openleadr cannot push: the push is ours, signed with the VTN's key), then a push signed with
another key and a replayed one, which the endpoint must refuse with 463."""

from __future__ import annotations

from dataclasses import replace

from adapters.openadr import codec
from adapters.openadr import messages as m
from adapters.openadr.conformance.case import Case
from adapters.openadr.conformance.cases_rules import crafted_event
from adapters.openadr.conformance.context import CaseContext, expect
from adapters.openadr.conformance.push_endpoint import serving_push
from adapters.openadr.conformance.reference_vtn import VTN_ID, ReferenceVtn, free_port
from adapters.openadr.signatures import XmlVerifier
from adapters.openadr.tls import fingerprint_pem, server_context
from adapters.openadr.transport import HttpTransport
from adapters.openadr.ven import Ven
from adapters.openadr.vocab import ResponseCode
from kernel.dsr import OptType

PUSH_ONLY = "needs a VTN that pushes on cue (only the reference VTN, --self)"


def _distribution(event_id: str) -> m.DistributeEvent:
    return m.DistributeEvent(
        request_id=f"push-{event_id}", vtn_id=VTN_ID, events=(crafted_event(event_id),)
    )


def _read_answer(vtn: ReferenceVtn, body: bytes) -> m.Message:
    """The VEN's answer to a push, its signature checked against the VEN's certificate."""
    return codec.parse(
        body, verifier=XmlVerifier(fingerprint=fingerprint_pem(vtn.pki.ven.cert_pem))
    )


def _refusal_code(answer: m.Message) -> int | None:
    return answer.response.code if isinstance(answer, m.Response) else None


async def push_mode(ctx: CaseContext) -> None:
    vtn, pki = ctx.reference, ctx.reference.pki
    transport = ctx.ven.transport
    assert isinstance(transport, HttpTransport)
    port = free_port()
    url = f"https://127.0.0.1:{port}/oadr"
    ven = Ven(
        replace(ctx.ven.settings, pull=False, push_url=url),
        transport,
        decide=ctx.hooks.decide,
        telemetry=ctx.hooks.telemetry,
    )
    pinned = fingerprint_pem(pki.vtn.cert_pem)
    tls = server_context(pki.ven.cert_file, pki.ven.key_file, pki.ca_file, vtn_fingerprint=pinned)
    async with serving_push(ven, transport.verifier, ctx.trace, port, tls):
        await ven.register()
        create = ctx.trace.sent_messages(m.CreatePartyRegistration)[-1]
        expect(
            (create.http_pull_model, create.transport_address) == (False, url),
            f"registered pull model {create.http_pull_model}, address {create.transport_address}",
        )
        ctx.note("the VTN pushes ev-pushed")
        pushed = codec.render(_distribution("ev-pushed"), signer=vtn.signer)
        answer = _read_answer(vtn, await vtn.push_raw(url, "EiEvent", pushed))
        expect(isinstance(answer, m.CreatedEvent), f"a push answered with {answer}")
        assert isinstance(answer, m.CreatedEvent)
        (response,) = answer.event_responses
        expect(
            (response.event_id, response.code, response.opt_type)
            == ("ev-pushed", 200, OptType.OPT_IN),
            f"the pushed event answered {response}",
        )
        ctx.note("the VTN pushes ev-forged signed with another key, then ev-pushed again")
        forged = await vtn.push(url, "EiEvent", _distribution("ev-forged"), party=pki.rogue)
        replayed = await vtn.push_raw(url, "EiEvent", pushed)
    for what, body in (("a wrongly signed push", forged), ("a replayed push", replayed)):
        code = _refusal_code(_read_answer(vtn, body))
        refused = code == ResponseCode.NOT_REGISTERED_OR_AUTHORIZED
        expect(refused, f"{what} answered {code}, expected 463")
    decided = ctx.hooks.decided()
    expect(decided == ["ev-pushed#0"], f"decisions {decided}: only ev-pushed, once")


CASES = (
    Case(
        "push_mode",
        ("push", "514"),
        "registered with oadrHttpPullModel false and the push address; an event pushed over"
        " mutual TLS is decided and answered in the HTTP response (oadrCreatedEvent 200 optIn,"
        " signed); a push signed with another key and a replayed push are answered 463 and not"
        " decided",
        push_mode,
        PUSH_ONLY,
    ),
)
