"""EiRegisterParty, EiOpt, OadrPoll and oadrResponse on the wire."""

from __future__ import annotations

from adapters.openadr.messages import (
    AvailabilityWindow,
    CanceledOpt,
    CanceledPartyRegistration,
    CancelOpt,
    CancelPartyRegistration,
    CreatedOpt,
    CreatedPartyRegistration,
    CreateOpt,
    CreatePartyRegistration,
    EiResponse,
    Poll,
    Profile,
    QueryRegistration,
    RequestReregistration,
    Response,
)
from adapters.openadr.schema import CodecError
from adapters.openadr.vocab import ResponseCode
from adapters.openadr.xmlnodes import (
    Element,
    Node,
    add_dtstart,
    add_duration,
    add_response,
    add_target,
    boolean,
    duration_at,
    find,
    findall,
    fmt_bool,
    leaf,
    number,
    read_response,
    read_target,
    required,
    required_datetime,
    sub,
    text,
)
from adapters.openadr.xmltime import format_datetime
from kernel.dsr import OptType

# --- EiRegisterParty -------------------------------------------------------------------------


def render_query_registration(parent: Node, msg: QueryRegistration) -> None:
    leaf(parent, "pyld:requestID", msg.request_id)


def parse_query_registration(el: Element) -> QueryRegistration:
    return QueryRegistration(request_id=required(el, "pyld:requestID"))


def render_create_party_registration(parent: Node, msg: CreatePartyRegistration) -> None:
    leaf(parent, "pyld:requestID", msg.request_id)
    if msg.registration_id is not None:
        leaf(parent, "ei:registrationID", msg.registration_id)
    if msg.ven_id is not None:
        leaf(parent, "ei:venID", msg.ven_id)
    leaf(parent, "oadr:oadrProfileName", msg.profile_name)
    leaf(parent, "oadr:oadrTransportName", msg.transport_name)
    if msg.transport_address is not None:
        leaf(parent, "oadr:oadrTransportAddress", msg.transport_address)
    leaf(parent, "oadr:oadrReportOnly", fmt_bool(msg.report_only))
    leaf(parent, "oadr:oadrXmlSignature", fmt_bool(msg.xml_signature))
    if msg.ven_name is not None:
        leaf(parent, "oadr:oadrVenName", msg.ven_name)
    leaf(parent, "oadr:oadrHttpPullModel", fmt_bool(msg.http_pull_model))


def parse_create_party_registration(el: Element) -> CreatePartyRegistration:
    pull = text(el, "oadr:oadrHttpPullModel")
    return CreatePartyRegistration(
        request_id=required(el, "pyld:requestID"),
        registration_id=text(el, "ei:registrationID"),
        ven_id=text(el, "ei:venID"),
        profile_name=required(el, "oadr:oadrProfileName"),
        transport_name=required(el, "oadr:oadrTransportName"),
        transport_address=text(el, "oadr:oadrTransportAddress"),
        report_only=boolean(text(el, "oadr:oadrReportOnly")),
        xml_signature=boolean(text(el, "oadr:oadrXmlSignature")),
        ven_name=text(el, "oadr:oadrVenName"),
        http_pull_model=True if pull is None else boolean(pull),
    )


def render_created_party_registration(parent: Node, msg: CreatedPartyRegistration) -> None:
    add_response(parent, msg.response)
    if msg.registration_id is not None:
        leaf(parent, "ei:registrationID", msg.registration_id)
    if msg.ven_id is not None:
        leaf(parent, "ei:venID", msg.ven_id)
    leaf(parent, "ei:vtnID", msg.vtn_id)
    profiles = sub(parent, "oadr:oadrProfiles")
    for profile in msg.profiles:
        p = sub(profiles, "oadr:oadrProfile")
        leaf(p, "oadr:oadrProfileName", profile.name)
        transports = sub(p, "oadr:oadrTransports")
        for name in profile.transports:
            leaf(sub(transports, "oadr:oadrTransport"), "oadr:oadrTransportName", name)
    if msg.poll_freq_s is not None:
        add_duration(parent, "oadr:oadrRequestedOadrPollFreq", msg.poll_freq_s)


def parse_created_party_registration(el: Element) -> CreatedPartyRegistration:
    response = find(el, "ei:eiResponse")
    if response is None:
        raise CodecError(ResponseCode.INVALID_DATA, "missing eiResponse")
    return CreatedPartyRegistration(
        response=read_response(response),
        registration_id=text(el, "ei:registrationID"),
        ven_id=text(el, "ei:venID"),
        vtn_id=required(el, "ei:vtnID"),
        profiles=tuple(
            Profile(
                name=required(p, "oadr:oadrProfileName"),
                transports=tuple(
                    t.text.strip()
                    for t in findall(p, "oadr:oadrTransports/oadr:oadrTransport/*")
                    if t.text
                ),
            )
            for p in findall(el, "oadr:oadrProfiles/oadr:oadrProfile")
        ),
        poll_freq_s=duration_at(el, "oadr:oadrRequestedOadrPollFreq"),
    )


def render_cancel_party_registration(parent: Node, msg: CancelPartyRegistration) -> None:
    leaf(parent, "pyld:requestID", msg.request_id)
    leaf(parent, "ei:registrationID", msg.registration_id)
    if msg.ven_id is not None:
        leaf(parent, "ei:venID", msg.ven_id)


def parse_cancel_party_registration(el: Element) -> CancelPartyRegistration:
    return CancelPartyRegistration(
        request_id=required(el, "pyld:requestID"),
        registration_id=required(el, "ei:registrationID"),
        ven_id=text(el, "ei:venID"),
    )


def render_canceled_party_registration(parent: Node, msg: CanceledPartyRegistration) -> None:
    add_response(parent, msg.response)
    if msg.registration_id is not None:
        leaf(parent, "ei:registrationID", msg.registration_id)
    if msg.ven_id is not None:
        leaf(parent, "ei:venID", msg.ven_id)


def parse_canceled_party_registration(el: Element) -> CanceledPartyRegistration:
    return CanceledPartyRegistration(
        response=_response(el),
        registration_id=text(el, "ei:registrationID"),
        ven_id=text(el, "ei:venID"),
    )


def render_request_reregistration(parent: Node, msg: RequestReregistration) -> None:
    leaf(parent, "ei:venID", msg.ven_id)


def parse_request_reregistration(el: Element) -> RequestReregistration:
    return RequestReregistration(ven_id=required(el, "ei:venID"))


# --- EiOpt -----------------------------------------------------------------------------------


def render_create_opt(parent: Node, msg: CreateOpt) -> None:
    leaf(parent, "ei:optID", msg.opt_id)
    leaf(parent, "ei:optType", msg.opt_type.value)
    leaf(parent, "ei:optReason", msg.opt_reason)
    if msg.market_context is not None:
        leaf(parent, "emix:marketContext", msg.market_context)
    leaf(parent, "ei:venID", msg.ven_id)
    if msg.availability:
        components = sub(sub(parent, "xcal:vavailability"), "xcal:components")
        for window in msg.availability:
            props = sub(sub(components, "xcal:available"), "xcal:properties")
            add_dtstart(props, window.start_utc)
            add_duration(props, "xcal:duration", window.duration_s)
    leaf(parent, "ei:createdDateTime", format_datetime(msg.created_utc))
    leaf(parent, "pyld:requestID", msg.request_id)
    if msg.event_id is not None:
        qualified = sub(parent, "ei:qualifiedEventID")
        leaf(qualified, "ei:eventID", msg.event_id)
        leaf(qualified, "ei:modificationNumber", str(msg.modification_number or 0))
    add_target(parent, msg.target)


def parse_create_opt(el: Element) -> CreateOpt:
    try:
        opt_type = OptType(required(el, "ei:optType"))
    except ValueError:
        raise CodecError(ResponseCode.INVALID_DATA, "unknown optType") from None
    windows = tuple(
        AvailabilityWindow(
            start_utc=required_datetime(p, "xcal:dtstart/xcal:date-time"),
            duration_s=duration_at(p, "xcal:duration") or 0.0,
        )
        for p in findall(el, "xcal:vavailability/xcal:components/xcal:available/xcal:properties")
    )
    modification = find(el, "ei:qualifiedEventID/ei:modificationNumber")
    return CreateOpt(
        opt_id=required(el, "ei:optID"),
        opt_type=opt_type,
        opt_reason=required(el, "ei:optReason"),
        market_context=text(el, "emix:marketContext"),
        ven_id=required(el, "ei:venID"),
        availability=windows,
        created_utc=required_datetime(el, "ei:createdDateTime"),
        request_id=required(el, "pyld:requestID"),
        event_id=text(el, "ei:qualifiedEventID/ei:eventID"),
        modification_number=(
            int(number(el, "ei:qualifiedEventID/ei:modificationNumber"))
            if modification is not None
            else None
        ),
        target=read_target(find(el, "ei:eiTarget")),
    )


def render_created_opt(parent: Node, msg: CreatedOpt) -> None:
    add_response(parent, msg.response)
    leaf(parent, "ei:optID", msg.opt_id)


def parse_created_opt(el: Element) -> CreatedOpt:
    return CreatedOpt(response=_response(el), opt_id=required(el, "ei:optID"))


def render_cancel_opt(parent: Node, msg: CancelOpt) -> None:
    leaf(parent, "pyld:requestID", msg.request_id)
    leaf(parent, "ei:optID", msg.opt_id)
    leaf(parent, "ei:venID", msg.ven_id)


def parse_cancel_opt(el: Element) -> CancelOpt:
    return CancelOpt(
        request_id=required(el, "pyld:requestID"),
        opt_id=required(el, "ei:optID"),
        ven_id=required(el, "ei:venID"),
    )


def render_canceled_opt(parent: Node, msg: CanceledOpt) -> None:
    add_response(parent, msg.response)
    if msg.opt_id is not None:
        leaf(parent, "ei:optID", msg.opt_id)


def parse_canceled_opt(el: Element) -> CanceledOpt:
    return CanceledOpt(response=_response(el), opt_id=text(el, "ei:optID"))


# --- OadrPoll and oadrResponse ---------------------------------------------------------------


def render_poll(parent: Node, msg: Poll) -> None:
    leaf(parent, "ei:venID", msg.ven_id)


def parse_poll(el: Element) -> Poll:
    return Poll(ven_id=required(el, "ei:venID"))


def render_response(parent: Node, msg: Response) -> None:
    add_response(parent, msg.response)
    if msg.ven_id is not None:
        leaf(parent, "ei:venID", msg.ven_id)


def parse_response(el: Element) -> Response:
    return Response(response=_response(el), ven_id=text(el, "ei:venID"))


def _response(el: Element) -> EiResponse:
    response = find(el, "ei:eiResponse")
    if response is None:
        raise CodecError(ResponseCode.INVALID_DATA, "missing eiResponse")
    return read_response(response)
