"""Registration, deregistration and the signatures of every message (rule 514)."""

from __future__ import annotations

from adapters.openadr import codec
from adapters.openadr import messages as m
from adapters.openadr.conformance.case import Case
from adapters.openadr.conformance.context import CaseContext, CaseFailedError, expect
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
)
