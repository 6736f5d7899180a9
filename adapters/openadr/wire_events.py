"""EiEvent on the wire: oadrDistributeEvent, oadrRequestEvent, oadrCreatedEvent."""

from __future__ import annotations

from datetime import datetime, timedelta

from adapters.openadr.events import Event, EventSignal, Interval
from adapters.openadr.messages import (
    CreatedEvent,
    DistributeEvent,
    EventResponse,
    RequestEvent,
)
from adapters.openadr.schema import CodecError
from adapters.openadr.vocab import EventStatus, ResponseCode, ResponseRequired
from adapters.openadr.xmlnodes import (
    Element,
    Node,
    add_dtstart,
    add_duration,
    add_item,
    add_response,
    add_target,
    datetime_at,
    duration_at,
    find,
    findall,
    fmt_float,
    leaf,
    number,
    read_item,
    read_response,
    read_target,
    required,
    required_datetime,
    sub,
    text,
)
from adapters.openadr.xmltime import format_datetime, format_duration, parse_duration
from kernel.dsr import OptType

# --- render ----------------------------------------------------------------------------------


def render_distribute_event(parent: Node, msg: DistributeEvent) -> None:
    if msg.response is not None:
        add_response(parent, msg.response)
    leaf(parent, "pyld:requestID", msg.request_id)
    leaf(parent, "ei:vtnID", msg.vtn_id)
    for event in msg.events:
        oadr_event = sub(parent, "oadr:oadrEvent")
        _render_event(sub(oadr_event, "ei:eiEvent"), event)
        leaf(oadr_event, "oadr:oadrResponseRequired", event.response_required.value)


def _render_event(el: Node, event: Event) -> None:
    desc = sub(el, "ei:eventDescriptor")
    leaf(desc, "ei:eventID", event.event_id)
    leaf(desc, "ei:modificationNumber", str(event.modification_number))
    if event.modification_utc is not None:
        leaf(desc, "ei:modificationDateTime", format_datetime(event.modification_utc))
    if event.modification_reason is not None:
        leaf(desc, "ei:modificationReason", event.modification_reason)
    if event.priority is not None:
        leaf(desc, "ei:priority", str(event.priority))
    leaf(sub(desc, "ei:eiMarketContext"), "emix:marketContext", event.market_context)
    leaf(desc, "ei:createdDateTime", format_datetime(event.created_utc))
    leaf(desc, "ei:eventStatus", event.status.value)
    if event.test_event_raw is not None or event.test_event:
        leaf(desc, "ei:testEvent", event.test_event_raw or "true")
    if event.vtn_comment is not None:
        leaf(desc, "ei:vtnComment", event.vtn_comment)

    period = sub(el, "ei:eiActivePeriod")
    props = sub(period, "xcal:properties")
    add_dtstart(props, event.start_utc)
    add_duration(props, "xcal:duration", event.duration_s)
    if event.start_after_s is not None:
        tolerate = sub(sub(props, "xcal:tolerance"), "xcal:tolerate")
        leaf(tolerate, "xcal:startafter", format_duration(event.start_after_s))
    for tag, value in (
        ("ei:x-eiNotification", event.notification_s),
        ("ei:x-eiRampUp", event.ramp_up_s),
        ("ei:x-eiRecovery", event.recovery_s),
    ):
        if value is not None:
            add_duration(props, tag, value)
    leaf(period, "xcal:components")

    signals = sub(el, "ei:eiEventSignals")
    for signal in event.signals:
        _render_signal(sub(signals, "ei:eiEventSignal"), signal)
    add_target(el, event.target)


def _render_signal(el: Node, signal: EventSignal) -> None:
    intervals = sub(el, "strm:intervals")
    for interval in signal.intervals:
        iv = sub(intervals, "ei:interval")
        add_duration(iv, "xcal:duration", interval.duration_s)
        leaf(sub(iv, "xcal:uid"), "xcal:text", str(interval.uid))
        payload = sub(sub(iv, "ei:signalPayload"), "ei:payloadFloat")
        leaf(payload, "ei:value", fmt_float(interval.value))
    if signal.target is not None:
        add_target(el, signal.target)
    leaf(el, "ei:signalName", signal.name)
    leaf(el, "ei:signalType", signal.type)
    leaf(el, "ei:signalID", signal.signal_id)
    if signal.unit is not None:
        add_item(el, signal.unit)
    if signal.current_value is not None:
        current = sub(sub(el, "ei:currentValue"), "ei:payloadFloat")
        leaf(current, "ei:value", fmt_float(signal.current_value))


def render_request_event(parent: Node, msg: RequestEvent) -> None:
    req = sub(parent, "pyld:eiRequestEvent")
    leaf(req, "pyld:requestID", msg.request_id)
    leaf(req, "ei:venID", msg.ven_id)
    if msg.reply_limit is not None:
        leaf(req, "pyld:replyLimit", str(msg.reply_limit))


def render_created_event(parent: Node, msg: CreatedEvent) -> None:
    created = sub(parent, "pyld:eiCreatedEvent")
    add_response(created, msg.response)
    if msg.event_responses:
        responses = sub(created, "ei:eventResponses")
        for r in msg.event_responses:
            er = sub(responses, "ei:eventResponse")
            leaf(er, "ei:responseCode", f"{int(r.code):03d}")
            if r.description is not None:
                leaf(er, "ei:responseDescription", r.description)
            leaf(er, "pyld:requestID", r.request_id)
            qualified = sub(er, "ei:qualifiedEventID")
            leaf(qualified, "ei:eventID", r.event_id)
            leaf(qualified, "ei:modificationNumber", str(r.modification_number))
            leaf(er, "ei:optType", r.opt_type.value)
    leaf(created, "ei:venID", msg.ven_id)


# --- parse -----------------------------------------------------------------------------------


def parse_distribute_event(el: Element) -> DistributeEvent:
    response_el = find(el, "ei:eiResponse")
    return DistributeEvent(
        request_id=required(el, "pyld:requestID"),
        vtn_id=required(el, "ei:vtnID"),
        response=read_response(response_el) if response_el is not None else None,
        events=tuple(_parse_oadr_event(e) for e in findall(el, "oadr:oadrEvent")),
    )


def _parse_oadr_event(el: Element) -> Event:
    ei_event = find(el, "ei:eiEvent")
    if ei_event is None:
        raise CodecError(ResponseCode.INVALID_DATA, "oadrEvent without eiEvent")
    desc = find(ei_event, "ei:eventDescriptor")
    props = find(ei_event, "ei:eiActivePeriod/xcal:properties")
    if desc is None or props is None:
        raise CodecError(ResponseCode.INVALID_DATA, "event without descriptor or active period")
    start = required_datetime(props, "xcal:dtstart/xcal:date-time")
    startafter = text(props, "xcal:tolerance/xcal:tolerate/xcal:startafter")
    test_raw = text(desc, "ei:testEvent")
    priority = text(desc, "ei:priority")
    try:
        status = EventStatus(required(desc, "ei:eventStatus"))
        response_required = ResponseRequired(required(el, "oadr:oadrResponseRequired"))
        start_after_s = parse_duration(startafter) if startafter is not None else None
    except ValueError as exc:
        raise CodecError(ResponseCode.INVALID_DATA, str(exc)) from None
    return Event(
        event_id=required(desc, "ei:eventID"),
        modification_number=int(number(desc, "ei:modificationNumber")),
        modification_utc=datetime_at(desc, "ei:modificationDateTime"),
        modification_reason=text(desc, "ei:modificationReason"),
        priority=int(priority) if priority is not None else None,
        market_context=required(desc, "ei:eiMarketContext/emix:marketContext"),
        created_utc=required_datetime(desc, "ei:createdDateTime"),
        status=status,
        test_event=test_raw is not None and test_raw.lower() != "false",
        test_event_raw=test_raw,
        vtn_comment=text(desc, "ei:vtnComment"),
        start_utc=start,
        duration_s=duration_at(props, "xcal:duration") or 0.0,
        start_after_s=start_after_s,
        notification_s=duration_at(props, "ei:x-eiNotification"),
        ramp_up_s=duration_at(props, "ei:x-eiRampUp"),
        recovery_s=duration_at(props, "ei:x-eiRecovery"),
        signals=tuple(
            _parse_signal(s, start) for s in findall(ei_event, "ei:eiEventSignals/ei:eiEventSignal")
        ),
        target=read_target(find(ei_event, "ei:eiTarget")),
        response_required=response_required,
    )


def _parse_signal(el: Element, event_start: datetime) -> EventSignal:
    cursor = event_start
    intervals: list[Interval] = []
    for index, iv in enumerate(findall(el, "strm:intervals/ei:interval")):
        start = datetime_at(iv, "xcal:dtstart/xcal:date-time") or cursor
        duration = duration_at(iv, "xcal:duration") or 0.0
        uid_text = text(iv, "xcal:uid/xcal:text")
        try:
            uid = int(uid_text) if uid_text is not None else index
        except ValueError:
            raise CodecError(ResponseCode.INVALID_DATA, f"interval uid {uid_text!r}") from None
        value = number(iv, "ei:signalPayload/ei:payloadFloat/ei:value")
        intervals.append(Interval(uid=uid, duration_s=duration, value=value, start_utc=start))
        cursor = start + timedelta(seconds=duration)
    current = find(el, "ei:currentValue/ei:payloadFloat")
    target_el = find(el, "ei:eiTarget")
    return EventSignal(
        signal_id=required(el, "ei:signalID"),
        name=required(el, "ei:signalName"),
        type=required(el, "ei:signalType"),
        intervals=tuple(intervals),
        unit=read_item(el),
        current_value=number(current, "ei:value") if current is not None else None,
        target=read_target(target_el) if target_el is not None else None,
    )


def parse_request_event(el: Element) -> RequestEvent:
    limit = text(el, "pyld:eiRequestEvent/pyld:replyLimit")
    return RequestEvent(
        request_id=required(el, "pyld:eiRequestEvent/pyld:requestID"),
        ven_id=required(el, "pyld:eiRequestEvent/ei:venID"),
        reply_limit=int(limit) if limit is not None else None,
    )


def parse_created_event(el: Element) -> CreatedEvent:
    created = find(el, "pyld:eiCreatedEvent")
    response_el = find(el, "pyld:eiCreatedEvent/ei:eiResponse")
    if created is None or response_el is None:
        raise CodecError(ResponseCode.INVALID_DATA, "oadrCreatedEvent without eiCreatedEvent")
    responses = []
    for er in findall(created, "ei:eventResponses/ei:eventResponse"):
        try:
            opt_type = OptType(required(er, "ei:optType"))
        except ValueError:
            raise CodecError(ResponseCode.INVALID_DATA, "unknown optType") from None
        responses.append(
            EventResponse(
                code=int(required(er, "ei:responseCode")),
                description=text(er, "ei:responseDescription"),
                request_id=text(er, "pyld:requestID") or "",
                event_id=required(er, "ei:qualifiedEventID/ei:eventID"),
                modification_number=int(number(er, "ei:qualifiedEventID/ei:modificationNumber")),
                opt_type=opt_type,
            )
        )
    return CreatedEvent(
        response=read_response(response_el),
        ven_id=required(created, "ei:venID"),
        event_responses=tuple(responses),
    )
