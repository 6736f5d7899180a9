"""EiReport on the wire: register, registered, create, created, update, updated, cancel,
canceled."""

from __future__ import annotations

from adapters.openadr.messages import (
    CanceledReport,
    CancelReport,
    CreatedReport,
    CreateReport,
    EiResponse,
    RegisteredReport,
    RegisterReport,
    UpdatedReport,
    UpdateReport,
)
from adapters.openadr.reports import (
    LoadControlValue,
    ReportData,
    ReportDescription,
    ReportInterval,
    ReportMetadata,
    ReportPoint,
    ReportRequest,
    ResourceStatus,
    SpecifierPayload,
)
from adapters.openadr.schema import CodecError
from adapters.openadr.vocab import ResponseCode
from adapters.openadr.xmlnodes import (
    Element,
    Node,
    add_dtstart,
    add_duration,
    add_item,
    add_response,
    boolean,
    datetime_at,
    duration_at,
    escape_text,
    find,
    findall,
    fmt_bool,
    fmt_float,
    leaf,
    number,
    q,
    raw,
    read_item,
    read_response,
    read_target,
    required,
    required_datetime,
    sub,
    text,
)
from adapters.openadr.xmltime import format_datetime, format_duration, parse_duration

_LOAD_CONTROL = (
    ("capacity", "oadr:oadrCapacity"),
    ("level_offset", "oadr:oadrLevelOffset"),
    ("percent_offset", "oadr:oadrPercentOffset"),
    ("set_point", "oadr:oadrSetPoint"),
)

# --- metadata (oadrRegisterReport) ------------------------------------------------------------


def _render_description(parent: Node, d: ReportDescription) -> None:
    el = sub(parent, "oadr:oadrReportDescription")
    leaf(el, "ei:rID", d.r_id)
    if d.resource_id is not None:
        leaf(sub(el, "ei:reportDataSource"), "ei:resourceID", d.resource_id)
    leaf(el, "ei:reportType", d.report_type)
    if d.unit is not None:
        add_item(el, d.unit)
    leaf(el, "ei:readingType", d.reading_type)
    if d.market_context is not None:
        leaf(el, "emix:marketContext", d.market_context)
    if d.min_period_s is not None and d.max_period_s is not None:
        rate = sub(el, "oadr:oadrSamplingRate")
        leaf(rate, "oadr:oadrMinPeriod", format_duration(d.min_period_s))
        leaf(rate, "oadr:oadrMaxPeriod", format_duration(d.max_period_s))
        leaf(rate, "oadr:oadrOnChange", fmt_bool(d.on_change))


def _parse_description(el: Element) -> ReportDescription:
    source = read_target(find(el, "ei:reportDataSource"))
    rate = find(el, "oadr:oadrSamplingRate")
    min_raw = text(rate, "oadr:oadrMinPeriod") if rate is not None else None
    max_raw = text(rate, "oadr:oadrMaxPeriod") if rate is not None else None
    try:
        min_s = parse_duration(min_raw) if min_raw else None
        max_s = parse_duration(max_raw) if max_raw else None
    except ValueError:
        raise CodecError(ResponseCode.INVALID_DATA, "bad sampling rate") from None
    return ReportDescription(
        r_id=required(el, "ei:rID"),
        resource_id=source.resource_ids[0] if source.resource_ids else None,
        report_type=required(el, "ei:reportType"),
        unit=read_item(el),
        reading_type=required(el, "ei:readingType"),
        market_context=text(el, "emix:marketContext"),
        min_period_s=min_s,
        max_period_s=max_s,
        on_change=boolean(text(rate, "oadr:oadrOnChange")) if rate is not None else False,
    )


def _render_metadata(parent: Node, r: ReportMetadata) -> None:
    el = sub(parent, "oadr:oadrReport")
    if r.duration_s is not None:
        add_duration(el, "xcal:duration", r.duration_s)
    for d in r.descriptions:
        _render_description(el, d)
    leaf(el, "ei:reportRequestID", r.report_request_id)
    leaf(el, "ei:reportSpecifierID", r.report_specifier_id)
    leaf(el, "ei:reportName", r.report_name)
    leaf(el, "ei:createdDateTime", format_datetime(r.created_utc))


def _parse_metadata(el: Element) -> ReportMetadata:
    return ReportMetadata(
        report_specifier_id=required(el, "ei:reportSpecifierID"),
        report_name=text(el, "ei:reportName") or "",
        created_utc=required_datetime(el, "ei:createdDateTime"),
        duration_s=duration_at(el, "xcal:duration"),
        report_request_id=text(el, "ei:reportRequestID") or "0",
        descriptions=tuple(
            _parse_description(d) for d in findall(el, "oadr:oadrReportDescription")
        ),
    )


def render_register_report(parent: Node, msg: RegisterReport) -> None:
    leaf(parent, "pyld:requestID", msg.request_id)
    for r in msg.reports:
        _render_metadata(parent, r)
    if msg.ven_id is not None:
        leaf(parent, "ei:venID", msg.ven_id)
    if msg.report_request_id is not None:
        leaf(parent, "ei:reportRequestID", msg.report_request_id)


def parse_register_report(el: Element) -> RegisterReport:
    return RegisterReport(
        request_id=required(el, "pyld:requestID"),
        reports=tuple(_parse_metadata(r) for r in findall(el, "oadr:oadrReport")),
        ven_id=text(el, "ei:venID"),
        report_request_id=text(el, "ei:reportRequestID"),
    )


# --- requests (oadrRegisteredReport, oadrCreateReport) ----------------------------------------


def _render_request(parent: Node, r: ReportRequest) -> None:
    el = sub(parent, "oadr:oadrReportRequest")
    leaf(el, "ei:reportRequestID", r.report_request_id)
    spec = sub(el, "ei:reportSpecifier")
    leaf(spec, "ei:reportSpecifierID", r.report_specifier_id)
    add_duration(spec, "xcal:granularity", r.granularity_s)
    add_duration(spec, "ei:reportBackDuration", r.report_back_duration_s)
    if r.start_utc is not None:
        props = sub(sub(spec, "ei:reportInterval"), "xcal:properties")
        add_dtstart(props, r.start_utc)
        add_duration(props, "xcal:duration", r.duration_s or 0.0)
    for s in r.specifiers:
        payload = sub(spec, "ei:specifierPayload")
        leaf(payload, "ei:rID", s.r_id)
        if s.unit is not None:
            add_item(payload, s.unit)
        leaf(payload, "ei:readingType", s.reading_type)


def _parse_request(el: Element) -> ReportRequest:
    spec = find(el, "ei:reportSpecifier")
    if spec is None:
        raise CodecError(ResponseCode.INVALID_DATA, "oadrReportRequest without reportSpecifier")
    props = find(spec, "ei:reportInterval/xcal:properties")
    return ReportRequest(
        report_request_id=required(el, "ei:reportRequestID"),
        report_specifier_id=required(spec, "ei:reportSpecifierID"),
        granularity_s=duration_at(spec, "xcal:granularity") or 0.0,
        report_back_duration_s=duration_at(spec, "ei:reportBackDuration") or 0.0,
        start_utc=datetime_at(props, "xcal:dtstart/xcal:date-time") if props is not None else None,
        duration_s=duration_at(props, "xcal:duration") if props is not None else None,
        specifiers=tuple(
            SpecifierPayload(
                r_id=required(p, "ei:rID"),
                reading_type=required(p, "ei:readingType"),
                unit=read_item(p),
            )
            for p in findall(spec, "ei:specifierPayload")
        ),
    )


def render_registered_report(parent: Node, msg: RegisteredReport) -> None:
    add_response(parent, msg.response)
    for r in msg.requests:
        _render_request(parent, r)
    if msg.ven_id is not None:
        leaf(parent, "ei:venID", msg.ven_id)


def parse_registered_report(el: Element) -> RegisteredReport:
    return RegisteredReport(
        response=_response(el),
        requests=tuple(_parse_request(r) for r in findall(el, "oadr:oadrReportRequest")),
        ven_id=text(el, "ei:venID"),
    )


def render_create_report(parent: Node, msg: CreateReport) -> None:
    leaf(parent, "pyld:requestID", msg.request_id)
    for r in msg.requests:
        _render_request(parent, r)
    if msg.ven_id is not None:
        leaf(parent, "ei:venID", msg.ven_id)


def parse_create_report(el: Element) -> CreateReport:
    return CreateReport(
        request_id=required(el, "pyld:requestID"),
        requests=tuple(_parse_request(r) for r in findall(el, "oadr:oadrReportRequest")),
        ven_id=text(el, "ei:venID"),
    )


def _render_pending(parent: Node, pending: tuple[str, ...]) -> None:
    el = sub(parent, "oadr:oadrPendingReports")
    for request_id in pending:
        leaf(el, "ei:reportRequestID", request_id)


def _parse_pending(el: Element) -> tuple[str, ...]:
    return tuple(
        e.text.strip() for e in findall(el, "oadr:oadrPendingReports/ei:reportRequestID") if e.text
    )


def render_created_report(parent: Node, msg: CreatedReport) -> None:
    add_response(parent, msg.response)
    _render_pending(parent, msg.pending)
    if msg.ven_id is not None:
        leaf(parent, "ei:venID", msg.ven_id)


def parse_created_report(el: Element) -> CreatedReport:
    return CreatedReport(
        response=_response(el), pending=_parse_pending(el), ven_id=text(el, "ei:venID")
    )


# --- data (oadrUpdateReport) -------------------------------------------------------------------


def _point_xml(p: ReportPoint) -> str:
    """An oadrReportPayload in canonical form (the hot loop of telemetry: written as one
    string instead of element by element)."""
    parts = [f"<oadr:oadrReportPayload><ei:rID>{escape_text(p.r_id)}</ei:rID>"]
    if p.confidence is not None:
        parts.append(f"<ei:confidence>{int(p.confidence)}</ei:confidence>")
    if p.accuracy is not None:
        parts.append(f"<ei:accuracy>{fmt_float(p.accuracy)}</ei:accuracy>")
    if isinstance(p.value, ResourceStatus):
        parts.append(
            "<oadr:oadrPayloadResourceStatus>"
            f"<oadr:oadrOnline>{fmt_bool(p.value.online)}</oadr:oadrOnline>"
            f"<oadr:oadrManualOverride>{fmt_bool(p.value.manual_override)}"
            "</oadr:oadrManualOverride>"
        )
        values = [(tag, getattr(p.value, name)) for name, tag in _LOAD_CONTROL]
        if any(v is not None for _, v in values):
            parts.append("<oadr:oadrLoadControlState>")
            parts.extend(_load_control_xml(tag, v) for tag, v in values if v is not None)
            parts.append("</oadr:oadrLoadControlState>")
        parts.append("</oadr:oadrPayloadResourceStatus>")
    else:
        parts.append(
            f"<ei:payloadFloat><ei:value>{fmt_float(p.value)}</ei:value></ei:payloadFloat>"
        )
    if p.data_quality is not None:
        parts.append(f"<oadr:oadrDataQuality>{escape_text(p.data_quality)}</oadr:oadrDataQuality>")
    parts.append("</oadr:oadrReportPayload>")
    return "".join(parts)


def _load_control_xml(tag: str, v: LoadControlValue) -> str:
    parts = [f"<{tag}>"]
    if v.minimum is not None:
        parts.append(f"<oadr:oadrMin>{fmt_float(v.minimum)}</oadr:oadrMin>")
    if v.maximum is not None:
        parts.append(f"<oadr:oadrMax>{fmt_float(v.maximum)}</oadr:oadrMax>")
    parts.append(f"<oadr:oadrCurrent>{fmt_float(v.current)}</oadr:oadrCurrent>")
    if v.normal is not None:
        parts.append(f"<oadr:oadrNormal>{fmt_float(v.normal)}</oadr:oadrNormal>")
    parts.append(f"</{tag}>")
    return "".join(parts)


def _interval_xml(i: ReportInterval) -> str:
    duration = (
        f"<xcal:duration><xcal:duration>{format_duration(i.duration_s)}</xcal:duration>"
        "</xcal:duration>"
        if i.duration_s is not None
        else ""
    )
    return (
        "<ei:interval><xcal:dtstart><xcal:date-time>"
        f"{format_datetime(i.start_utc)}</xcal:date-time></xcal:dtstart>{duration}"
        + "".join(_point_xml(p) for p in i.points)
        + "</ei:interval>"
    )


def _parse_load_control(el: Element | None) -> LoadControlValue | None:
    if el is None:
        return None
    optional = {tag: text(el, f"oadr:oadr{tag}") for tag in ("Min", "Max", "Normal")}
    return LoadControlValue(
        current=number(el, "oadr:oadrCurrent"),
        minimum=float(optional["Min"]) if optional["Min"] is not None else None,
        maximum=float(optional["Max"]) if optional["Max"] is not None else None,
        normal=float(optional["Normal"]) if optional["Normal"] is not None else None,
    )


def _parse_point(el: Element) -> ReportPoint:
    status_el = find(el, "oadr:oadrPayloadResourceStatus")
    value: float | ResourceStatus
    if status_el is not None:
        state = find(status_el, "oadr:oadrLoadControlState")
        parts = {
            name: _parse_load_control(find(state, tag)) if state is not None else None
            for name, tag in _LOAD_CONTROL
        }
        value = ResourceStatus(
            online=boolean(text(status_el, "oadr:oadrOnline")),
            manual_override=boolean(text(status_el, "oadr:oadrManualOverride")),
            **parts,
        )
    else:
        value = number(el, "ei:payloadFloat/ei:value")
    confidence = text(el, "ei:confidence")
    accuracy = text(el, "ei:accuracy")
    return ReportPoint(
        r_id=required(el, "ei:rID"),
        value=value,
        confidence=int(confidence) if confidence is not None else None,
        accuracy=float(accuracy) if accuracy is not None else None,
        data_quality=text(el, "oadr:oadrDataQuality"),
    )


def _render_data(parent: Node, r: ReportData) -> None:
    el = sub(parent, "oadr:oadrReport")
    if r.start_utc is not None:
        add_dtstart(el, r.start_utc)
    if r.duration_s is not None:
        add_duration(el, "xcal:duration", r.duration_s)
    if r.intervals:
        raw(sub(el, "strm:intervals"), "".join(_interval_xml(i) for i in r.intervals))
    leaf(el, "ei:eiReportID", r.report_id)
    leaf(el, "ei:reportRequestID", r.report_request_id)
    leaf(el, "ei:reportSpecifierID", r.report_specifier_id)
    leaf(el, "ei:reportName", r.report_name)
    leaf(el, "ei:createdDateTime", format_datetime(r.created_utc))


def _parse_data(el: Element) -> ReportData:
    intervals = []
    for iv in findall(el, "strm:intervals/ei:interval"):
        intervals.append(
            ReportInterval(
                start_utc=required_datetime(iv, "xcal:dtstart/xcal:date-time"),
                duration_s=duration_at(iv, "xcal:duration"),
                points=tuple(_parse_point(p) for p in iv if p.tag == q("oadr:oadrReportPayload")),
            )
        )
    return ReportData(
        report_id=text(el, "ei:eiReportID") or "",
        report_request_id=required(el, "ei:reportRequestID"),
        report_specifier_id=required(el, "ei:reportSpecifierID"),
        report_name=text(el, "ei:reportName") or "",
        created_utc=required_datetime(el, "ei:createdDateTime"),
        start_utc=datetime_at(el, "xcal:dtstart/xcal:date-time"),
        duration_s=duration_at(el, "xcal:duration"),
        intervals=tuple(intervals),
    )


def render_update_report(parent: Node, msg: UpdateReport) -> None:
    leaf(parent, "pyld:requestID", msg.request_id)
    for r in msg.reports:
        _render_data(parent, r)
    if msg.ven_id is not None:
        leaf(parent, "ei:venID", msg.ven_id)


def parse_update_report(el: Element) -> UpdateReport:
    return UpdateReport(
        request_id=required(el, "pyld:requestID"),
        reports=tuple(_parse_data(r) for r in findall(el, "oadr:oadrReport")),
        ven_id=text(el, "ei:venID"),
    )


def render_cancel_report(parent: Node, msg: CancelReport) -> None:
    leaf(parent, "pyld:requestID", msg.request_id)
    for request_id in msg.report_request_ids:
        leaf(parent, "ei:reportRequestID", request_id)
    leaf(parent, "pyld:reportToFollow", fmt_bool(msg.report_to_follow))
    if msg.ven_id is not None:
        leaf(parent, "ei:venID", msg.ven_id)


def parse_cancel_report(el: Element) -> CancelReport:
    return CancelReport(
        request_id=required(el, "pyld:requestID"),
        report_request_ids=tuple(
            e.text.strip() for e in findall(el, "ei:reportRequestID") if e.text
        ),
        report_to_follow=boolean(text(el, "pyld:reportToFollow")),
        ven_id=text(el, "ei:venID"),
    )


def render_updated_report(parent: Node, msg: UpdatedReport) -> None:
    add_response(parent, msg.response)
    if msg.cancel is not None:
        render_cancel_report(sub(parent, "oadr:oadrCancelReport"), msg.cancel)
    if msg.ven_id is not None:
        leaf(parent, "ei:venID", msg.ven_id)


def parse_updated_report(el: Element) -> UpdatedReport:
    cancel = find(el, "oadr:oadrCancelReport")
    return UpdatedReport(
        response=_response(el),
        cancel=parse_cancel_report(cancel) if cancel is not None else None,
        ven_id=text(el, "ei:venID"),
    )


def render_canceled_report(parent: Node, msg: CanceledReport) -> None:
    add_response(parent, msg.response)
    _render_pending(parent, msg.pending)
    if msg.ven_id is not None:
        leaf(parent, "ei:venID", msg.ven_id)


def parse_canceled_report(el: Element) -> CanceledReport:
    return CanceledReport(
        response=_response(el), pending=_parse_pending(el), ven_id=text(el, "ei:venID")
    )


def _response(el: Element) -> EiResponse:
    response = find(el, "ei:eiResponse")
    if response is None:
        raise CodecError(ResponseCode.INVALID_DATA, "missing eiResponse")
    return read_response(response)
