"""Conformance rules (OpenADR 2.0b test harness numbering), one test each, quoting the rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from adapters.openadr import codec
from adapters.openadr import messages as m
from adapters.openadr.events import Target
from adapters.openadr.lifecycle import EventBook, TrackedEvent, current_value
from adapters.openadr.reporting import USAGE, Catalogue
from adapters.openadr.vocab import EventStatus, ResponseCode, ResponseRequired
from kernel.dsr import OptType
from tests.adapters.openadr.fakes import VEN, VTN, registered_ven, run
from tests.adapters.openadr.samples import T0, dispatch_event


def _distribute(*events, vtn_id=VTN):
    """As the VEN receives it: through the codec (render, validate, parse)."""
    message = m.DistributeEvent(request_id="dist-1", vtn_id=vtn_id, events=tuple(events))
    return codec.parse(codec.render(message))


def _answer(event):
    ven, _ = registered_ven()
    reply = run(ven.handle(_distribute(event)))
    assert isinstance(reply, m.CreatedEvent)
    return reply.event_responses[0]


def test_rule_2_interval_uids_start_at_0_and_step_by_1():
    """Rule 2: "interval uids start at 0 and step by 1"; an event breaking it is refused (454)."""
    event = dispatch_event()
    signal = event.signals[0]
    bad = replace(signal, intervals=tuple(replace(i, uid=i.uid + 1) for i in signal.intervals))
    response = _answer(replace(event, signals=(bad,)))
    assert (response.code, response.opt_type) == (ResponseCode.INVALID_DATA, OptType.OPT_OUT)


def test_rule_6_any_test_event_value_but_false_marks_a_test_event():
    """Rule 6: "any testEvent value but 'false' marks a test event" (acknowledged, not acted on)."""
    ven, _ = registered_ven()
    for raw in ("true", "TRUE", "x-anything", "false"):
        run(ven.handle(_distribute(dispatch_event(f"ev-{raw}", test_event_raw=raw))))
    assert [n.event.event_id for n in ven.decided] == ["ev-false"]


def test_rule_8_interval_durations_add_up_to_the_active_period():
    """Rule 8: "interval durations add up to the event's active period"."""
    response = _answer(replace(dispatch_event(), duration_s=7000))
    assert response.code == ResponseCode.INVALID_DATA


def test_rule_9_simple_payloads_are_0_to_3():
    """Rule 9: "SIMPLE payloads are 0-3"."""
    event = dispatch_event(name="SIMPLE", signal_type="level", values_kw=(1.0, 4.0))
    assert _answer(replace(event, signals=(replace(event.signals[0], unit=None),))).code == 454
    ok = dispatch_event(name="SIMPLE", signal_type="level", values_kw=(0.0, 3.0))
    assert _answer(ok).code == ResponseCode.OK


def test_rule_12_no_created_event_when_response_is_never():
    """Rule 12: "with oadrResponseRequired = never, the VEN sends no oadrCreatedEvent"."""
    ven, _ = registered_ven()
    event = dispatch_event(response_required=ResponseRequired.NEVER)
    assert run(ven.handle(_distribute(event))) is None


def test_rule_62_never_events_get_no_event_response_in_a_mixed_distribute():
    """Rule 62: "with oadrResponseRequired = never, the VEN sends no oadrCreatedEvent" (for
    that event, even when other events in the same message need an answer)."""
    ven, _ = registered_ven()
    never = dispatch_event("ev-never", response_required=ResponseRequired.NEVER)
    reply = run(ven.handle(_distribute(never, dispatch_event("ev-always"))))
    assert [r.event_id for r in reply.event_responses] == ["ev-always"]


def test_rule_14_simple_current_value_is_0_while_not_active():
    """Rule 14: "a SIMPLE signal's currentValue is 0 while the event is not active"."""
    event = dispatch_event(name="SIMPLE", signal_type="level", values_kw=(2.0, 3.0))
    tracked = TrackedEvent(event=event)
    assert current_value(tracked, 0, T0 - timedelta(minutes=1)) == 0.0
    assert current_value(tracked, 0, T0 + timedelta(minutes=40)) == 3.0
    assert current_value(tracked, 0, T0 + timedelta(hours=2)) == 0.0


def test_rule_21_unexpected_vtn_id_is_an_error():
    """Rule 21: "the VEN validates venID, vtnID and eventID and answers unexpected values with
    an error" ..."""
    ven, _ = registered_ven()
    reply = run(ven.handle(_distribute(dispatch_event(), vtn_id="someone-else")))
    assert reply.response.code == ResponseCode.INVALID_ID


def test_rule_21_unexpected_ven_id_is_an_error():
    """Rule 21 (venID): a message for another VEN is answered with 452."""
    ven, _ = registered_ven()
    reply = run(ven.handle(m.CreateReport(request_id="r", requests=(), ven_id="not-me")))
    assert reply.response.code == ResponseCode.INVALID_ID


def test_rule_21_event_not_targeted_at_this_ven_is_an_error():
    """Rule 21 (targets): an event targeted at another VEN is refused (462)."""
    response = _answer(replace(dispatch_event(), target=Target(ven_ids=("other",))))
    assert response.code == ResponseCode.TARGET_MISMATCH


def test_rule_21_no_error_for_an_unknown_event_that_is_cancelled():
    """Rule 21: "... (but no error for an unknown event that is cancelled)"."""
    response = _answer(dispatch_event("ev-unknown", status=EventStatus.CANCELLED))
    assert response.code == ResponseCode.OK


def test_rule_510_the_ven_offers_telemetry_usage_and_supports_eiopt():
    """Rule 510: "the VEN produces TELEMETRY_USAGE (sample data if it has no meter) and
    supports EiOpt"."""
    ven, vtn = registered_ven(lambda msg: m.CreatedOpt(response=m.ok_response("r"), opt_id="o"))
    catalogue = Catalogue.build(ven.settings.resources, T0)
    assert "site.power" in catalogue.r_ids(USAGE)
    run(ven.handle(_distribute(dispatch_event())))
    run(ven.opt_out("ev-1"))
    (opt,) = vtn.of(m.CreateOpt)
    assert (opt.opt_type, opt.event_id, opt.ven_id) == (OptType.OPT_OUT, "ev-1", VEN)


def test_unknown_signal_is_answered_with_460():
    """Harness habit: "respond to unknown or unsupported signals with the proper response
    code (e.g. 460)"."""
    response = _answer(dispatch_event(name="BID_LOAD", signal_type="setpoint"))
    assert (response.code, response.opt_type) == (
        ResponseCode.SIGNAL_NOT_SUPPORTED,
        OptType.OPT_OUT,
    )


def test_request_ids_are_echoed_in_created_event():
    """Harness habit: "echo requestIDs"."""
    ven, _ = registered_ven()
    reply = run(ven.handle(_distribute(dispatch_event())))
    assert reply.response.request_id == "dist-1"
    assert reply.event_responses[0].request_id == "dist-1"


def test_event_missing_from_a_later_distribute_is_cancelled_implicitly():
    book = EventBook()
    book.apply((dispatch_event("a"), dispatch_event("b")), T0 - timedelta(hours=1))
    updates = book.apply((dispatch_event("a"),), T0 - timedelta(hours=1))
    assert [(u.tracked.event.event_id, u.change) for u in updates] == [
        ("a", "unchanged"),
        ("b", "implied_cancelled"),
    ]


def test_a_higher_modification_number_is_a_modification_and_a_lower_one_is_stale():
    book = EventBook()
    book.apply((dispatch_event(modification_number=2),), T0)
    assert book.apply((dispatch_event(modification_number=3),), T0)[0].change == "modified"
    assert book.apply((dispatch_event(modification_number=1),), T0)[0].change == "stale"


def test_startafter_offset_is_drawn_within_the_window_and_kept():
    ven, _ = registered_ven()
    run(ven.handle(_distribute(dispatch_event())))
    offset = ven.events.get("ev-1").start_offset_s
    assert 0 <= offset < 600
    assert ven.decided[0].requests[0].start_utc == T0 + timedelta(seconds=offset)
    run(ven.handle(_distribute(dispatch_event(modification_number=1, values_kw=(1.0, 1.0)))))
    assert ven.events.get("ev-1").start_offset_s == offset


def test_lifecycle_far_near_active_completed():
    tracked = TrackedEvent(event=replace(dispatch_event(), ramp_up_s=600))
    statuses = [tracked.status_at(T0 + timedelta(minutes=k)) for k in (-60, -5, 0, 30, 60, 61)]
    assert statuses == ["far", "near", "active", "active", "completed", "completed"]
