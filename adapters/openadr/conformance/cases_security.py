"""Refusals: a VTN message signed with another key (rule 514) and a replayed one."""

from __future__ import annotations

from adapters.openadr.conformance.case import MISBEHAVING_VTN, Case
from adapters.openadr.conformance.context import CaseContext, expect, openleadr_event
from adapters.openadr.transport import VtnRefusedError


async def _refused_polls(ctx: CaseContext, polls: int) -> int:
    """Poll ``polls`` times; the number of answers the VEN refused."""
    refused = 0
    for _ in range(polls):
        try:
            await ctx.ven.poll()
        except VtnRefusedError:
            refused += 1
    return refused


async def wrong_signature(ctx: CaseContext) -> None:
    vtn = ctx.reference
    await ctx.ven.register()
    vtn.sign_with(vtn.pki.rogue)
    ctx.note("the VTN now signs with a key that is not the pinned VTN certificate's")
    vtn.add_event(openleadr_event("forged"))
    refused = await _refused_polls(ctx, 3)
    expect(refused == 3, f"{3 - refused} of 3 wrongly signed answers accepted")
    expect("forged" not in ctx.hooks.decided(), "the wrongly signed event reached the decision")
    expect(not ctx.answers_for("forged"), "the VEN answered the wrongly signed event")
    expect(
        any("signed by" in e.text or "signature" in e.text for e in ctx.trace.failures()),
        "the refusal does not name the signature",
    )
    vtn.sign_with(vtn.pki.vtn)
    vtn.resend_events()
    ctx.note("the VTN signs with its own key again and sends its events again")
    await ctx.poll_until(lambda: "forged" in vtn.record.opts, "the event, rightly signed")


async def replay(ctx: CaseContext) -> None:
    vtn = ctx.reference
    await ctx.ven.register()
    vtn.add_event(openleadr_event("ev-replayed"))
    await ctx.poll_until(lambda: "ev-replayed" in vtn.record.opts, "the event answered")
    expect(vtn.replay_last_distribution(), "the VTN sent no oadrDistributeEvent to replay")
    ctx.note("the VTN sends the last oadrDistributeEvent again, byte for byte")
    refused = await _refused_polls(ctx, 1)
    expect(refused == 1, "the replayed message was accepted")
    expect(
        any("replayed" in e.text for e in ctx.trace.failures()),
        "the refusal does not say replayed",
    )
    expect(len(ctx.answers_for("ev-replayed")) == 1, "the replayed event was answered again")


CASES = (
    Case(
        "wrong_signature_refused",
        ("514",),
        "a VTN message signed with another key (same CA, not the pinned certificate) is refused"
        " and logged, its event neither decided nor answered; signed rightly again it is taken",
        wrong_signature,
        MISBEHAVING_VTN,
    ),
    Case(
        "replay_refused",
        ("514",),
        "an oadrDistributeEvent sent again byte for byte (same ReplayProtect nonce and"
        " timestamp) is refused as replayed and not answered twice",
        replay,
        MISBEHAVING_VTN,
    ),
)
