"""Registration, deregistration and the signatures of every message (rule 514)."""

from __future__ import annotations

from adapters.openadr import codec
from adapters.openadr import messages as m
from adapters.openadr.conformance.case import MISBEHAVING_VTN, Case
from adapters.openadr.conformance.context import CaseContext, CaseFailedError, expect
from adapters.openadr.conformance.reference_vtn import REGISTRATION_ID, VEN_ID
from adapters.openadr.conformance.tracelog import IN, OUT
from adapters.openadr.schema import CodecError
from adapters.openadr.signatures import XmlVerifier
from adapters.openadr.tls import fingerprint_pem


async def registration(ctx: CaseContext) -> None:
    await ctx.ven.register()
    expect(
        bool(ctx.trace.sent_messages(m.QueryRegistration)),
        "no oadrQueryRegistration before registering",
    )
    creates = ctx.trace.sent_messages(m.CreatePartyRegistration)
    expect(len(creates) == 1, f"{len(creates)} oadrCreatePartyRegistration sent, expected 1")
    create = creates[0]
    settings = ctx.ven.settings
    expect(create.ven_name == settings.ven_name, f"oadrVenName {create.ven_name!r}")
    expect(create.http_pull_model == settings.pull, "oadrHttpPullModel differs from the mode")
    expect(
        create.xml_signature == (ctx.ven_cert_pem is not None),
        f"oadrXmlSignature {create.xml_signature} but the VEN "
        + ("signs" if ctx.ven_cert_pem else "does not sign"),
    )
    created = ctx.trace.received_messages(m.CreatedPartyRegistration)
    expect(bool(created) and created[-1].response.ok, "no oadrCreatedPartyRegistration 200")
    expect(ctx.ven.ven_id == created[-1].ven_id, "the VEN did not take the venID it was given")
    ctx.note(f"registered as {ctx.ven.ven_id}; now deregistering")
    await ctx.ven.deregister()
    cancels = ctx.trace.sent_messages(m.CancelPartyRegistration)
    expect(
        [c.registration_id for c in cancels] == [created[-1].registration_id],
        "oadrCancelPartyRegistration does not name the registrationID",
    )
    canceled = ctx.trace.received_messages(m.CanceledPartyRegistration)
    expect(bool(canceled) and canceled[-1].response.ok, "no oadrCanceledPartyRegistration 200")
    expect(ctx.ven.ven_id is None, "the VEN still holds a venID after deregistering")


async def signatures(ctx: CaseContext) -> None:
    """Rule 514: every VEN message signed over oadrSignedObject and ReplayProtect, every VTN
    answer signed and verified."""
    if ctx.ven_cert_pem is None:
        raise CaseFailedError("the VEN does not sign (configure the signing key and certificate)")
    await ctx.ven.register()
    await ctx.ven.poll()
    own = XmlVerifier(fingerprint=fingerprint_pem(ctx.ven_cert_pem), window_s=3600.0)
    sent = [e for e in ctx.trace.entries if e.direction == OUT]
    expect(len(sent) >= 5, f"only {len(sent)} messages sent")
    for entry in sent:
        try:
            codec.parse(entry.body, verifier=own)
        except CodecError as exc:
            raise CaseFailedError(
                f"{entry.service} message at {entry.at_utc:%H:%M:%S.%f}: {exc}"
            ) from None
    answers = [e for e in ctx.trace.entries if e.direction == IN and e.body.strip()]
    unsigned = [e.service for e in answers if b"Signature" not in e.body]
    expect(not unsigned, f"unsigned answers from the VTN on {unsigned}")
    expect(not ctx.trace.failures(), f"answers refused: {ctx.trace.failures()}")
    ctx.note(f"{len(sent)} VEN messages verified against the VEN's certificate")


async def reregistration(ctx: CaseContext) -> None:
    await ctx.ven.register()
    ctx.reference.inject(m.RequestReregistration(ven_id=VEN_ID))
    ctx.note("the VTN asks the VEN to register again (oadrRequestReregistration)")

    def registered_twice() -> bool:
        return len(ctx.trace.sent_messages(m.CreatePartyRegistration)) == 2

    expect(await ctx.run_until(registered_twice, 5.0), "no new registration within 5 s")
    expect(ctx.ven.ven_id == VEN_ID, f"the VEN holds venID {ctx.ven.ven_id} after re-registering")


async def cancelled_by_vtn(ctx: CaseContext) -> None:
    await ctx.ven.register()
    cancel = m.CancelPartyRegistration(
        request_id="cancel-1", registration_id=REGISTRATION_ID, ven_id=VEN_ID
    )
    ctx.reference.inject(cancel)
    ctx.note("the VTN cancels the registration (oadrCancelPartyRegistration)")
    await ctx.run_until(lambda: bool(ctx.trace.sent_messages(m.CanceledPartyRegistration)), 3.0)
    answers = ctx.trace.sent_messages(m.CanceledPartyRegistration)
    expect(
        [(a.response.code, a.registration_id) for a in answers] == [(200, REGISTRATION_ID)],
        f"oadrCanceledPartyRegistration answers {answers}",
    )
    ctx.note("the VEN's loop runs on for 2 s: it must not register again")
    await ctx.run_until(lambda: False, 2.0)
    creates = ctx.trace.sent_messages(m.CreatePartyRegistration)
    expect(len(creates) == 1, f"{len(creates) - 1} new registrations after the VTN cancelled")
    expect(ctx.ven.cancelled_by_vtn_utc is not None, "the cancellation is not recorded")


CASES = (
    Case(
        "registration",
        ("registration",),
        "oadrQueryRegistration then oadrCreatePartyRegistration (venName, pull model, signature"
        " flag), the venID taken from oadrCreatedPartyRegistration; deregistration with"
        " oadrCancelPartyRegistration naming the registrationID",
        registration,
    ),
    Case(
        "signatures",
        ("514",),
        "every VEN message signed (ds:Signature over oadrSignedObject and ReplayProtect, checked"
        " against the VEN's certificate), every VTN answer signed and verified",
        signatures,
    ),
    Case(
        "reregistration_requested",
        ("registration",),
        "oadrRequestReregistration in a poll answer is acknowledged and followed by a new"
        " registration",
        reregistration,
        MISBEHAVING_VTN,
    ),
    Case(
        "registration_cancelled_by_vtn",
        ("registration",),
        "oadrCancelPartyRegistration from the VTN is answered oadrCanceledPartyRegistration 200"
        " naming the registrationID, recorded, and the VEN does not register again",
        cancelled_by_vtn,
        MISBEHAVING_VTN,
    ),
)
