"""One example of every message the VEN sends or receives (shared by the codec tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.openadr import messages as m
from adapters.openadr.events import (
    REAL_POWER_KW,
    REAL_POWER_W,
    Event,
    EventSignal,
    Interval,
    Target,
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
from adapters.openadr.vocab import (
    EventStatus,
    OptReason,
    ReadingType,
    ReportName,
    ReportType,
    ResponseRequired,
)
from kernel.dsr import OptType

T0 = datetime(2026, 1, 15, 17, 0, tzinfo=UTC)
OK = m.ok_response("req-1")


def dispatch_event(
    event_id: str = "ev-1",
    modification_number: int = 0,
    values_kw: tuple[float, ...] = (3.0, 2.0),
    status: EventStatus = EventStatus.FAR,
    start: datetime = T0,
    response_required: ResponseRequired = ResponseRequired.ALWAYS,
    signal_type: str = "setpoint",
    name: str = "LOAD_DISPATCH",
    test_event_raw: str | None = None,
) -> Event:
    """A LOAD_DISPATCH event of 30-minute intervals in kW."""
    intervals = tuple(
        Interval(uid=i, duration_s=1800, value=v, start_utc=start + timedelta(minutes=30 * i))
        for i, v in enumerate(values_kw)
    )
    return Event(
        event_id=event_id,
        modification_number=modification_number,
        status=status,
        market_context="http://dsrsp.example/programme",
        created_utc=start,
        start_utc=start,
        duration_s=1800 * len(values_kw),
        signals=(
            EventSignal(
                signal_id="sig-1",
                name=name,
                type=signal_type,
                unit=REAL_POWER_KW,
                intervals=intervals,
                current_value=0.0,
            ),
        ),
        target=Target(ven_ids=("ven-1",)),
        priority=1,
        start_after_s=600,
        notification_s=3600,
        test_event_raw=test_event_raw,
        vtn_comment="evening peak",
        response_required=response_required,
    )


def metadata() -> ReportMetadata:
    return ReportMetadata(
        report_specifier_id="TELEMETRY_USAGE",
        report_name=ReportName.METADATA_TELEMETRY_USAGE,
        created_utc=T0,
        duration_s=3600,
        descriptions=(
            ReportDescription(
                r_id="site.power",
                resource_id="site",
                report_type=ReportType.USAGE,
                reading_type=ReadingType.DIRECT_READ,
                unit=REAL_POWER_W,
                market_context="http://dsrsp.example/programme",
                min_period_s=2,
                max_period_s=3600,
            ),
        ),
    )


def report_request(request_id: str = "rr-1") -> ReportRequest:
    return ReportRequest(
        report_request_id=request_id,
        report_specifier_id="TELEMETRY_USAGE",
        granularity_s=2,
        report_back_duration_s=10,
        start_utc=T0,
        duration_s=3600,
        specifiers=(SpecifierPayload(r_id="site.power", reading_type=ReadingType.DIRECT_READ),),
    )


def report_data() -> ReportData:
    status = ResourceStatus(
        online=True,
        manual_override=False,
        set_point=LoadControlValue(current=3.5, minimum=0, maximum=7.4, normal=7.4),
    )
    return ReportData(
        report_id="rep-1",
        report_request_id="rr-1",
        report_specifier_id="TELEMETRY_USAGE",
        report_name=ReportName.TELEMETRY_USAGE,
        created_utc=T0,
        start_utc=T0,
        duration_s=10,
        intervals=(
            ReportInterval(
                start_utc=T0,
                duration_s=2,
                points=(
                    ReportPoint(r_id="site.power", value=1234.5, confidence=100, accuracy=0.5),
                    ReportPoint(
                        r_id="ev.status", value=status, data_quality="Quality Good - Non Specific"
                    ),
                ),
            ),
        ),
    )


def every_message() -> list[m.Message]:
    return [
        m.QueryRegistration(request_id="req-1"),
        m.CreatePartyRegistration(
            request_id="req-1",
            ven_name="ACME-CEM:SN0001",
            http_pull_model=True,
            xml_signature=False,
            transport_address=None,
        ),
        m.CreatedPartyRegistration(
            response=OK,
            registration_id="reg-1",
            ven_id="ven-1",
            vtn_id="vtn-1",
            profiles=(m.Profile(name="2.0b", transports=("simpleHttp",)),),
            poll_freq_s=10,
        ),
        m.CancelPartyRegistration(request_id="req-1", registration_id="reg-1", ven_id="ven-1"),
        m.CanceledPartyRegistration(response=OK, registration_id="reg-1", ven_id="ven-1"),
        m.RequestReregistration(ven_id="ven-1"),
        m.RequestEvent(request_id="req-1", ven_id="ven-1", reply_limit=5),
        m.DistributeEvent(request_id="req-1", vtn_id="vtn-1", events=(dispatch_event(),)),
        m.CreatedEvent(
            response=OK,
            ven_id="ven-1",
            event_responses=(
                m.EventResponse(
                    code=200,
                    description="OK",
                    request_id="req-1",
                    event_id="ev-1",
                    modification_number=0,
                    opt_type=OptType.OPT_IN,
                ),
            ),
        ),
        m.CreateOpt(
            request_id="req-1",
            opt_id="opt-1",
            opt_type=OptType.OPT_OUT,
            opt_reason=OptReason.NOT_PARTICIPATING,
            ven_id="ven-1",
            created_utc=T0,
            target=Target(resource_ids=("ev-charger",)),
            market_context="http://dsrsp.example/programme",
            availability=(m.AvailabilityWindow(start_utc=T0, duration_s=7200),),
        ),
        m.CreatedOpt(response=OK, opt_id="opt-1"),
        m.CancelOpt(request_id="req-1", opt_id="opt-1", ven_id="ven-1"),
        m.CanceledOpt(response=OK, opt_id="opt-1"),
        m.RegisterReport(request_id="req-1", reports=(metadata(),), ven_id="ven-1"),
        m.RegisteredReport(response=OK, requests=(report_request(),), ven_id="ven-1"),
        m.CreateReport(request_id="req-1", requests=(report_request(),), ven_id="ven-1"),
        m.CreatedReport(response=OK, pending=("rr-1",), ven_id="ven-1"),
        m.UpdateReport(request_id="req-1", reports=(report_data(),), ven_id="ven-1"),
        m.UpdatedReport(
            response=OK,
            cancel=m.CancelReport(
                request_id="req-2", report_request_ids=("rr-1",), report_to_follow=False
            ),
            ven_id="ven-1",
        ),
        m.CancelReport(
            request_id="req-1", report_request_ids=("rr-1",), report_to_follow=True, ven_id="ven-1"
        ),
        m.CanceledReport(response=OK, pending=(), ven_id="ven-1"),
        m.Poll(ven_id="ven-1"),
        m.Response(response=OK, ven_id="ven-1"),
    ]
