"""Event content a correct VTN never sends (rules 2, 8, 9, 21, signals not supported): the
reference VTN answers a poll with an oadrDistributeEvent written by our codec and signed with
its key, and the VEN's oadrCreatedEvent must carry the rule's response code (and optOut)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from adapters.openadr import messages as m
from adapters.openadr.conformance.case import MISBEHAVING_VTN, Case
from adapters.openadr.conformance.context import CaseContext, expect
from adapters.openadr.conformance.reference_vtn import VEN_ID, VTN_ID
from adapters.openadr.events import REAL_POWER_KW, Event, EventSignal, Interval, Target
from adapters.openadr.lifecycle import current_value
from adapters.openadr.transport import VtnRefusedError
from adapters.openadr.vocab import EventStatus, ResponseCode
from kernel.dsr import OptType


def crafted_event(
    event_id: str,
    values: tuple[float, ...] = (2.0, 1.0),
    *,
    name: str = "LOAD_DISPATCH",
    signal_type: str = "setpoint",
    status: EventStatus = EventStatus.FAR,
    first_uid: int = 0,
) -> Event:
    """An event of 30-minute intervals starting in an hour, targeted at the VEN."""
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    intervals = tuple(
        Interval(
            uid=first_uid + i, duration_s=1800, value=v, start_utc=start + i * timedelta(minutes=30)
        )
        for i, v in enumerate(values)
    )
    unit = None if name == "SIMPLE" else REAL_POWER_KW
    signal = EventSignal(
        signal_id=f"{event_id}-sig",
        name=name,
        type=signal_type,
        unit=unit,
        intervals=intervals,
        current_value=0.0,
    )
    return Event(
        event_id=event_id,
        modification_number=0,
        status=status,
        market_context="http://conformance.invalid/programme",
        created_utc=start - timedelta(hours=1),
        start_utc=start,
        duration_s=1800 * len(values),
        signals=(signal,),
        target=Target(ven_ids=(VEN_ID,)),
    )


async def _distribute(ctx: CaseContext, event: Event, vtn_id: str = VTN_ID) -> None:
    """Distribute ``event`` (crafted) at the VEN's next poll."""
    message = m.DistributeEvent(request_id=f"dist-{event.event_id}", vtn_id=vtn_id, events=(event,))
    ctx.reference.inject(message)
    ctx.note(f"the VTN distributes crafted event {event.event_id} as vtnID {vtn_id}")
    try:
        await ctx.ven.poll()
    except VtnRefusedError as exc:  # openleadr may refuse an answer about an event it never sent
        ctx.note(f"the VTN refused the VEN's answer: {exc}")


async def _answer(ctx: CaseContext, event: Event) -> m.EventResponse:
    """The VEN's eventResponse to ``event``, distributed at its next poll."""
    await _distribute(ctx, event)
    answers = ctx.answers_for(event.event_id)
    expect(len(answers) == 1, f"{len(answers)} eventResponses for {event.event_id}, expected 1")
    return answers[0]


def _refused(answer: m.EventResponse, code: ResponseCode, what: str) -> None:
    expect(
        (answer.code, answer.opt_type) == (code, OptType.OPT_OUT),
        f"{what}: answered {answer.code} {answer.opt_type}, expected {int(code)} optOut",
    )


async def rule_2(ctx: CaseContext) -> None:
    await ctx.ven.register()
    _refused(
        await _answer(ctx, crafted_event("uids-from-1", first_uid=1)),
        ResponseCode.INVALID_DATA,
        "uids 1, 2",
    )
    expect(not ctx.hooks.notices, "the invalid event reached the decision")
    answer = await _answer(ctx, crafted_event("uids-from-0"))
    expect(answer.code == 200, f"uids 0, 1 answered {answer.code}")


async def rule_8(ctx: CaseContext) -> None:
    await ctx.ven.register()
    event = replace(crafted_event("durations"), duration_s=7000)
    _refused(
        await _answer(ctx, event),
        ResponseCode.INVALID_DATA,
        "active period 7000 s, intervals 3600 s",
    )
    expect(not ctx.hooks.notices, "the invalid event reached the decision")


async def rules_9_and_14(ctx: CaseContext) -> None:
    await ctx.ven.register()
    level_4 = crafted_event("simple-4", (1.0, 4.0), name="SIMPLE", signal_type="level")
    _refused(await _answer(ctx, level_4), ResponseCode.INVALID_DATA, "SIMPLE level 4")
    level_3 = crafted_event("simple-3", (2.0, 3.0), name="SIMPLE", signal_type="level")
    answer = await _answer(ctx, level_3)
    expect(answer.code == 200, f"SIMPLE levels 2, 3 answered {answer.code}")
    tracked = ctx.ven.events.get("simple-3")
    expect(tracked is not None, "the SIMPLE event was not kept")
    assert tracked is not None
    now = current_value(tracked, 0, datetime.now(UTC))
    expect(now == 0.0, f"currentValue {now} while the event is not active (rule 14: 0)")


async def rule_21(ctx: CaseContext) -> None:
    await ctx.ven.register()
    await _distribute(ctx, crafted_event("from-elsewhere"), vtn_id="someone-else")
    created = ctx.trace.sent_messages(m.CreatedEvent)
    code = created[-1].response.code if created else None
    expect(code == ResponseCode.INVALID_ID, f"vtnID someone-else answered {code}, expected 452")
    other = replace(crafted_event("not-for-me"), target=Target(ven_ids=("another-ven",)))
    _refused(await _answer(ctx, other), ResponseCode.TARGET_MISMATCH, "targeted at another VEN")
    cancelled = crafted_event("unknown-cancelled", status=EventStatus.CANCELLED)
    answer = await _answer(ctx, cancelled)
    expect(answer.code == 200, f"an unknown event already cancelled answered {answer.code}")
    expect(not ctx.hooks.notices, "an event of another VTN or VEN reached the decision")


async def unknown_signal(ctx: CaseContext) -> None:
    await ctx.ven.register()
    event = crafted_event("bid-load", name="BID_LOAD", signal_type="setpoint")
    _refused(await _answer(ctx, event), ResponseCode.SIGNAL_NOT_SUPPORTED, "signal BID_LOAD")


CASES = (
    Case(
        "rule_2_interval_uids",
        ("2",),
        "an event whose interval uids start at 1 is answered 454 optOut and not decided; uids"
        " from 0 are taken",
        rule_2,
        MISBEHAVING_VTN,
    ),
    Case(
        "rule_8_interval_durations",
        ("8",),
        "an event whose interval durations do not add up to its active period is answered 454"
        " optOut and not decided",
        rule_8,
        MISBEHAVING_VTN,
    ),
    Case(
        "rule_9_14_simple_levels",
        ("9", "14"),
        "a SIMPLE signal with level 4 is answered 454 optOut, levels 0-3 are taken, and the"
        " signal's currentValue is 0 while the event is not active",
        rules_9_and_14,
        MISBEHAVING_VTN,
    ),
    Case(
        "rule_21_ids_and_targets",
        ("21",),
        "a distribution from another vtnID is answered 452, an event targeted at another VEN"
        " 462 optOut, an unknown event already cancelled 200; none is decided",
        rule_21,
        MISBEHAVING_VTN,
    ),
    Case(
        "unsupported_signal",
        ("460",),
        "an event with a signal the VEN does not support (BID_LOAD) is answered 460 optOut",
        unknown_signal,
        MISBEHAVING_VTN,
    ),
)
