"""Events from the reference VTN: answers, modification, cancellation (explicit and implied),
test events (rule 6) and oadrResponseRequired never (rules 12, 62)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.openadr import messages as m
from adapters.openadr.conformance.case import OPERATOR_EVENT, Case
from adapters.openadr.conformance.context import CaseContext, expect, openleadr_event
from kernel.dsr import OptType


async def opt_in(ctx: CaseContext) -> None:
    vtn = ctx.reference
    await ctx.ven.register()
    vtn.add_event(openleadr_event("ev-in", (2.5, 1.0)))
    await ctx.poll_until(lambda: "ev-in" in vtn.record.opts, "the VEN's answer at the VTN")
    expect(vtn.record.opts["ev-in"] == "optIn", f"the VTN read {vtn.record.opts['ev-in']}")
    (answer,) = ctx.answers_for("ev-in")
    expect(answer.code == 200, f"responseCode {answer.code}")
    expect(answer.opt_type is OptType.OPT_IN, f"optType {answer.opt_type}")
    distributed = ctx.trace.received_messages(m.DistributeEvent)
    expect(
        answer.request_id == distributed[-1].request_id,
        f"requestID {answer.request_id!r} does not echo {distributed[-1].request_id!r}",
    )
    notice = ctx.hooks.notices[0]
    expect(
        (notice.requests[0].kind, notice.requests[0].value_kw) == ("setpoint", 2.5),
        f"the decision hook was told {notice.requests[0]}",
    )


async def opt_out(ctx: CaseContext) -> None:
    vtn = ctx.reference
    ctx.hooks.opt = OptType.OPT_OUT
    await ctx.ven.register()
    vtn.add_event(openleadr_event("ev-out"))
    await ctx.poll_until(lambda: "ev-out" in vtn.record.opts, "the VEN's answer at the VTN")
    expect(vtn.record.opts["ev-out"] == "optOut", f"the VTN read {vtn.record.opts['ev-out']}")
    (answer,) = ctx.answers_for("ev-out")
    expect((answer.code, answer.opt_type) == (200, OptType.OPT_OUT), f"answered {answer}")


async def modification(ctx: CaseContext) -> None:
    vtn = ctx.reference
    await ctx.ven.register()
    vtn.add_event(openleadr_event("ev-mod", (2.5, 1.0)))
    await ctx.poll_until(lambda: "ev-mod" in vtn.record.opts, "the first answer")
    vtn.modify("ev-mod", 4.0)
    ctx.note("the VTN changes the first interval to 4.0 kW, modificationNumber 1")
    await ctx.poll_until(lambda: "ev-mod#1" in ctx.hooks.decided(), "a decision on version 1")
    numbers = [a.modification_number for a in ctx.answers_for("ev-mod")]
    expect(numbers == [0, 1], f"answers for modificationNumbers {numbers}, expected [0, 1]")
    tracked = ctx.ven.events.get("ev-mod")
    expect(tracked is not None, "the event is gone")
    assert tracked is not None
    value = tracked.event.signals[0].intervals[0].value
    expect(value == 4.0, f"the VEN holds {value} kW, not the modified 4.0 kW")


async def cancellation(ctx: CaseContext) -> None:
    vtn = ctx.reference
    await ctx.ven.register()
    vtn.add_event(openleadr_event("ev-cancel"))
    await ctx.poll_until(lambda: "ev-cancel" in vtn.record.opts, "the first answer")
    vtn.cancel("ev-cancel")
    ctx.note("the VTN cancels the event (eventStatus cancelled, modificationNumber 1)")
    await ctx.poll_until(lambda: "ev-cancel" in ctx.hooks.cancelled, "the VEN told of it")
    answers = ctx.answers_for("ev-cancel")
    expect(
        [a.modification_number for a in answers] == [0, 1] and answers[-1].code == 200,
        f"the cancellation was not acknowledged: {answers}",
    )


async def implied_cancel(ctx: CaseContext) -> None:
    vtn = ctx.reference
    await ctx.ven.register()
    vtn.add_event(openleadr_event("ev-stays"))
    vtn.add_event(openleadr_event("ev-dropped"))
    opts = vtn.record.opts
    await ctx.poll_until(lambda: {"ev-stays", "ev-dropped"} <= opts.keys(), "both answers")
    vtn.withdraw("ev-dropped")
    ctx.note("the VTN leaves ev-dropped out of its next oadrDistributeEvent")
    await ctx.poll_until(lambda: "ev-dropped" in ctx.hooks.cancelled, "ev-dropped cancelled")
    expect("ev-stays" not in ctx.hooks.cancelled, "the event still distributed was cancelled")


async def test_event(ctx: CaseContext) -> None:
    vtn = ctx.reference
    await ctx.ven.register()
    vtn.add_event(openleadr_event("ev-test", test_event=True))
    await ctx.poll_until(lambda: "ev-test" in vtn.record.opts, "the test event acknowledged")
    expect("ev-test#0" not in ctx.hooks.decided(), "a test event was acted on")
    (answer,) = ctx.answers_for("ev-test")
    expect(answer.code == 200, f"a test event answered with {answer.code}")


async def response_never(ctx: CaseContext) -> None:
    vtn = ctx.reference
    await ctx.ven.register()
    vtn.add_event(openleadr_event("ev-never", response_required="never"))
    vtn.add_event(openleadr_event("ev-always"))
    await ctx.poll_until(lambda: "ev-always" in vtn.record.opts, "the answer to ev-always")
    await ctx.settle()
    expect("ev-never#0" in ctx.hooks.decided(), "the never-answered event was not taken")
    expect(not ctx.answers_for("ev-never"), "an oadrCreatedEvent names ev-never")


async def ei_opt_out(ctx: CaseContext) -> None:
    vtn = ctx.reference
    await ctx.ven.register()
    vtn.add_event(openleadr_event("ev-overridden"))
    await ctx.poll_until(lambda: "ev-overridden" in vtn.record.opts, "the first answer")
    ctx.note("the consumer opts out of ev-overridden")
    await ctx.ven.opt_out("ev-overridden")
    # openleadr calls its event callback once: the second answer is read from the wire
    answers = [a.opt_type for a in ctx.answers_for("ev-overridden")]
    expect(answers == [OptType.OPT_IN, OptType.OPT_OUT], f"eventResponses {answers}")
    opts = [o for o in ctx.trace.sent_messages(m.CreateOpt) if o.event_id == "ev-overridden"]
    expect(len(opts) == 1, f"{len(opts)} oadrCreateOpt for the event, expected 1")
    expect(opts[0].opt_type is OptType.OPT_OUT, f"oadrCreateOpt {opts[0].opt_type}")
    expect(opts[0].ven_id == ctx.ven.ven_id, f"oadrCreateOpt venID {opts[0].ven_id}")
    created = ctx.trace.received_messages(m.CreatedOpt)
    expect(bool(created) and created[-1].response.ok, "no oadrCreatedOpt 200")


async def opt_schedule(ctx: CaseContext) -> None:
    await ctx.ven.register()
    window = m.AvailabilityWindow(start_utc=datetime.now(UTC) + timedelta(hours=2), duration_s=3600)
    ctx.note("the consumer opts out of an hour starting in two hours (an opt schedule)")
    opt_id = await ctx.ven.opt_schedule((window,))
    sent = ctx.trace.sent_messages(m.CreateOpt)
    expect([o.opt_id for o in sent] == [opt_id], "no oadrCreateOpt with the schedule")
    expect(sent[0].availability == (window,), f"the schedule sent is {sent[0].availability}")
    created = ctx.trace.received_messages(m.CreatedOpt)
    expect(bool(created) and created[-1].response.ok, "no oadrCreatedOpt 200")
    await ctx.ven.cancel_opt(opt_id)
    cancels = ctx.trace.sent_messages(m.CancelOpt)
    expect([c.opt_id for c in cancels] == [opt_id], "no oadrCancelOpt naming the opt")
    canceled = ctx.trace.received_messages(m.CanceledOpt)
    expect(bool(canceled) and canceled[-1].response.ok, "no oadrCanceledOpt 200")


CASES = (
    Case(
        "event_opt_in",
        ("echo requestIDs",),
        "an event is decided (the hook told the setpoint in kW) and answered by oadrCreatedEvent"
        " 200 optIn echoing the oadrDistributeEvent's requestID",
        opt_in,
        OPERATOR_EVENT,
    ),
    Case(
        "event_opt_out",
        ("opt-out",),
        "an event the home declines is answered optOut, and the VTN reads optOut",
        opt_out,
        OPERATOR_EVENT,
    ),
    Case(
        "event_modification",
        ("modificationNumber",),
        "a higher modificationNumber with a changed value is decided and answered again; the VEN"
        " holds the new value",
        modification,
        OPERATOR_EVENT,
    ),
    Case(
        "event_cancellation",
        ("cancellation",),
        "an event cancelled by the VTN is acknowledged (modificationNumber 1) and the home told",
        cancellation,
        OPERATOR_EVENT,
    ),
    Case(
        "implied_cancellation",
        ("implied cancel",),
        "an event left out of a later oadrDistributeEvent is cancelled, the others kept",
        implied_cancel,
        OPERATOR_EVENT,
    ),
    Case(
        "test_event",
        ("6",),
        "a testEvent is acknowledged (200) and not acted on",
        test_event,
        OPERATOR_EVENT,
    ),
    Case(
        "response_required_never",
        ("12", "62"),
        "an event with oadrResponseRequired never is taken but gets no eventResponse, even in a"
        " distribution where another event is answered",
        response_never,
        OPERATOR_EVENT,
    ),
    Case(
        "eiopt_event_opt_out",
        ("510",),
        "the consumer's opt-out of an event is sent as oadrCreatedEvent optOut and as"
        " oadrCreateOpt (EiOpt) naming the event and the venID, answered oadrCreatedOpt 200",
        ei_opt_out,
        OPERATOR_EVENT,
    ),
    Case(
        "eiopt_schedule",
        ("510",),
        "an opt-out schedule (one availability window) sent as oadrCreateOpt and cancelled with"
        " oadrCancelOpt, each answered 200 (a VTN without EiOpt fails this case)",
        opt_schedule,
    ),
)
