"""One frozen dataclass per OpenADR 2.0b message a B-profile VEN sends or receives.

The codec (:mod:`adapters.openadr.codec`) renders each of these to schema-valid XML and parses
XML back to them. Times are UTC, durations seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from adapters.openadr.events import Event, Target
from adapters.openadr.reports import ReportData, ReportMetadata, ReportRequest
from adapters.openadr.vocab import ResponseCode
from kernel.dsr import OptType


@dataclass(frozen=True, slots=True, kw_only=True)
class EiResponse:
    code: int
    request_id: str
    description: str | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.code < 300


def ok_response(request_id: str, description: str = "OK") -> EiResponse:
    return EiResponse(code=ResponseCode.OK, request_id=request_id, description=description)


# --- EiRegisterParty ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class QueryRegistration:
    request_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CreatePartyRegistration:
    """oadrCreatePartyRegistration. ``ven_name`` carries the CEM's identity
    (``<manufacturer>:<serial>``) as the DSRSP's asset screen asks for it."""

    request_id: str
    ven_name: str | None
    http_pull_model: bool
    xml_signature: bool
    report_only: bool = False
    transport_address: str | None = None
    registration_id: str | None = None
    ven_id: str | None = None
    profile_name: str = "2.0b"
    transport_name: str = "simpleHttp"


@dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    name: str
    transports: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class CreatedPartyRegistration:
    response: EiResponse
    vtn_id: str
    profiles: tuple[Profile, ...]
    registration_id: str | None = None
    ven_id: str | None = None
    poll_freq_s: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelPartyRegistration:
    request_id: str
    registration_id: str
    ven_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CanceledPartyRegistration:
    response: EiResponse
    registration_id: str | None = None
    ven_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestReregistration:
    ven_id: str


# --- EiEvent ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestEvent:
    request_id: str
    ven_id: str
    reply_limit: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DistributeEvent:
    request_id: str
    vtn_id: str
    events: tuple[Event, ...]
    response: EiResponse | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EventResponse:
    code: int
    request_id: str
    event_id: str
    modification_number: int
    opt_type: OptType
    description: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CreatedEvent:
    response: EiResponse
    ven_id: str
    event_responses: tuple[EventResponse, ...]


# --- EiOpt -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class AvailabilityWindow:
    """An xcal:available period (an opt schedule window)."""

    start_utc: datetime
    duration_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateOpt:
    """oadrCreateOpt: an opt schedule (availability windows) or an opt on one event
    (``event_id`` and ``modification_number``)."""

    request_id: str
    opt_id: str
    opt_type: OptType
    opt_reason: str
    ven_id: str
    created_utc: datetime
    target: Target
    market_context: str | None = None
    availability: tuple[AvailabilityWindow, ...] = ()
    event_id: str | None = None
    modification_number: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CreatedOpt:
    response: EiResponse
    opt_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelOpt:
    request_id: str
    opt_id: str
    ven_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CanceledOpt:
    response: EiResponse
    opt_id: str | None = None


# --- EiReport --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisterReport:
    request_id: str
    reports: tuple[ReportMetadata, ...]
    ven_id: str | None = None
    report_request_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisteredReport:
    response: EiResponse
    requests: tuple[ReportRequest, ...] = ()
    ven_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateReport:
    request_id: str
    requests: tuple[ReportRequest, ...]
    ven_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CreatedReport:
    response: EiResponse
    pending: tuple[str, ...]
    ven_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateReport:
    request_id: str
    reports: tuple[ReportData, ...]
    ven_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelReport:
    request_id: str
    report_request_ids: tuple[str, ...]
    report_to_follow: bool
    ven_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdatedReport:
    response: EiResponse
    cancel: CancelReport | None = None
    ven_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CanceledReport:
    response: EiResponse
    pending: tuple[str, ...]
    ven_id: str | None = None


# --- OadrPoll / generic ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Poll:
    ven_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Response:
    response: EiResponse
    ven_id: str | None = None


Message = (
    QueryRegistration
    | CreatePartyRegistration
    | CreatedPartyRegistration
    | CancelPartyRegistration
    | CanceledPartyRegistration
    | RequestReregistration
    | RequestEvent
    | DistributeEvent
    | CreatedEvent
    | CreateOpt
    | CreatedOpt
    | CancelOpt
    | CanceledOpt
    | RegisterReport
    | RegisteredReport
    | CreateReport
    | CreatedReport
    | UpdateReport
    | UpdatedReport
    | CancelReport
    | CanceledReport
    | Poll
    | Response
)

ELEMENT_NAME: dict[type, str] = {
    QueryRegistration: "oadrQueryRegistration",
    CreatePartyRegistration: "oadrCreatePartyRegistration",
    CreatedPartyRegistration: "oadrCreatedPartyRegistration",
    CancelPartyRegistration: "oadrCancelPartyRegistration",
    CanceledPartyRegistration: "oadrCanceledPartyRegistration",
    RequestReregistration: "oadrRequestReregistration",
    RequestEvent: "oadrRequestEvent",
    DistributeEvent: "oadrDistributeEvent",
    CreatedEvent: "oadrCreatedEvent",
    CreateOpt: "oadrCreateOpt",
    CreatedOpt: "oadrCreatedOpt",
    CancelOpt: "oadrCancelOpt",
    CanceledOpt: "oadrCanceledOpt",
    RegisterReport: "oadrRegisterReport",
    RegisteredReport: "oadrRegisteredReport",
    CreateReport: "oadrCreateReport",
    CreatedReport: "oadrCreatedReport",
    UpdateReport: "oadrUpdateReport",
    UpdatedReport: "oadrUpdatedReport",
    CancelReport: "oadrCancelReport",
    CanceledReport: "oadrCanceledReport",
    Poll: "oadrPoll",
    Response: "oadrResponse",
}
"""The oadrSignedObject child element of each message type."""
