"""What the VEN answers to each message the VTN initiates (push body or poll answer).

oadrDistributeEvent -> oadrCreatedEvent (one eventResponse per new or modified event whose
oadrResponseRequired is ``always``; none at all when every event says ``never``: rules 12, 62);
oadrCreateReport -> oadrCreatedReport; oadrRegisterReport -> oadrRegisteredReport;
oadrCancelReport -> oadrCanceledReport; oadrRequestReregistration -> oadrResponse, then a new
registration; oadrCancelPartyRegistration -> oadrCanceledPartyRegistration. Unexpected IDs are
answered with 452 (rule 21), unsupported signals with 460, other messages with 459.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from adapters.openadr import messages as m
from adapters.openadr.events import Event
from adapters.openadr.hooks import EventNotice, OptDecision, dispatch_requests
from adapters.openadr.lifecycle import Change, EventUpdate, check_event
from adapters.openadr.reports import ReportRequest
from adapters.openadr.vocab import OptReason, ResponseCode, ResponseRequired
from kernel.dsr import OptType

if TYPE_CHECKING:
    from adapters.openadr.ven import Ven

log = logging.getLogger(__name__)


class InboundHandler:
    def __init__(self, ven: Ven) -> None:
        self.ven = ven

    async def handle(self, message: m.Message) -> m.Message | None:
        ven = self.ven
        ven_id = getattr(message, "ven_id", None)
        if ven_id is not None and ven.ven_id is not None and ven_id != ven.ven_id:
            log.warning(
                "openadr: %s for venID %r refused (rule 21)", type(message).__name__, ven_id
            )
            return self._error(message, ResponseCode.INVALID_ID, f"unknown venID {ven_id}")
        if isinstance(message, m.DistributeEvent):
            if ven.settings.report_only:
                return self._error(
                    message, ResponseCode.COMPLIANCE_ERROR, "a report-only VEN takes no events"
                )
            return await self.distribute_event(message)
        if isinstance(message, m.CreateReport):
            return await self.create_reports(message.requests, message.request_id)
        if isinstance(message, m.RegisterReport):
            return m.RegisteredReport(response=m.ok_response(message.request_id), ven_id=ven.ven_id)
        if isinstance(message, m.CancelReport):
            pending = ven.reports.cancel(
                message.report_request_ids, ven.now(), message.report_to_follow
            )
            return m.CanceledReport(
                response=m.ok_response(message.request_id), pending=pending, ven_id=ven.ven_id
            )
        if isinstance(message, m.RequestReregistration):
            ven.registration.ven_id = None
            return m.Response(response=m.ok_response(""), ven_id=message.ven_id)
        if isinstance(message, m.CancelPartyRegistration):
            registration_id = ven.registration.registration_id
            if message.registration_id != registration_id:
                return self._error(message, ResponseCode.INVALID_ID, "unknown registrationID")
            await ven.registration_cancelled_by_vtn()
            return m.CanceledPartyRegistration(
                response=m.ok_response(message.request_id),
                registration_id=registration_id,
                ven_id=message.ven_id,
            )
        if isinstance(message, m.Response | m.CreatedOpt | m.CanceledOpt | m.UpdatedReport):
            return None
        return self._error(message, ResponseCode.COMPLIANCE_ERROR, "not a message for a VEN")

    def _error(self, message: m.Message, code: ResponseCode, text: str) -> m.Message:
        request_id = getattr(message, "request_id", "") or ""
        response = m.EiResponse(code=code, request_id=request_id, description=text)
        if isinstance(message, m.DistributeEvent):
            return m.CreatedEvent(
                response=response, ven_id=self.ven.ven_id or "", event_responses=()
            )
        return m.Response(response=response, ven_id=self.ven.ven_id)

    # --- events ----------------------------------------------------------------------------

    async def distribute_event(self, message: m.DistributeEvent) -> m.Message | None:
        ven = self.ven
        vtn_id = ven.registration.vtn_id
        if vtn_id is not None and message.vtn_id != vtn_id:
            log.warning(
                "openadr: oadrDistributeEvent from vtnID %r refused (rule 21)", message.vtn_id
            )
            return self._error(message, ResponseCode.INVALID_ID, f"unknown vtnID {message.vtn_id}")
        now = ven.now()
        responses: list[m.EventResponse] = []
        for update in ven.events.apply(message.events, now):
            response = await self._on_update(update, message.request_id, now)
            if response is not None:
                responses.append(response)
        if not responses:
            return None
        return m.CreatedEvent(
            response=m.ok_response(message.request_id),
            ven_id=ven.ven_id or "",
            event_responses=tuple(responses),
        )

    async def _on_update(
        self, update: EventUpdate, request_id: str, now: datetime
    ) -> m.EventResponse | None:
        ven, tracked = self.ven, update.tracked
        event = tracked.event
        if update.change in {Change.CANCELLED, Change.IMPLIED_CANCELLED}:
            if ven.hooks.cancelled is not None and update.previous is not None:
                await ven.hooks.cancelled(event)
            if update.change is Change.IMPLIED_CANCELLED:
                return None
            decision = OptDecision(opt=OptType.OPT_IN, reason=OptReason.PARTICIPATING)
            return self._event_response(event, decision, request_id)
        if update.change in {Change.UNCHANGED, Change.STALE}:
            return None
        problem = check_event(event, ven_id=ven.ven_id, resource_ids=ven.resource_ids)
        if problem is not None:
            code, text = problem
            log.warning("openadr: event %s refused: %s", event.event_id, text)
            decision = OptDecision(opt=OptType.OPT_OUT, reason=OptReason.NOT_PARTICIPATING)
            return self._event_response(event, decision, request_id, code=code, text=text)
        if event.test_event:
            decision = OptDecision(opt=OptType.OPT_IN, explanation="test event: not acted on")
        else:
            notice = EventNotice(
                event=event,
                change=update.change,
                status=tracked.status_at(now),
                start_offset_s=tracked.start_offset_s,
                requests=dispatch_requests(event, tracked.start_offset_s),
            )
            ven.hooks.notices.append(notice)
            decision = await ven.hooks.decide(notice)
        return self._event_response(event, decision, request_id)

    def _event_response(
        self,
        event: Event,
        decision: OptDecision,
        request_id: str,
        *,
        code: ResponseCode = ResponseCode.OK,
        text: str | None = None,
    ) -> m.EventResponse | None:
        if event.response_required is ResponseRequired.NEVER:
            return None
        return m.EventResponse(
            code=code,
            description=text or decision.explanation or ("OK" if code == ResponseCode.OK else None),
            request_id=request_id,
            event_id=event.event_id,
            modification_number=event.modification_number,
            opt_type=decision.opt,
        )

    def created_event_for(
        self, event: Event, decision: OptDecision, request_id: str
    ) -> m.CreatedEvent:
        """An unsolicited oadrCreatedEvent changing the VEN's answer to one event."""
        response = m.EventResponse(
            code=ResponseCode.OK,
            description=decision.explanation,
            request_id=request_id,
            event_id=event.event_id,
            modification_number=event.modification_number,
            opt_type=decision.opt,
        )
        return m.CreatedEvent(
            response=m.ok_response(request_id),
            ven_id=self.ven.ven_id or "",
            event_responses=(response,),
        )

    # --- reports ---------------------------------------------------------------------------

    async def create_reports(
        self, requests: tuple[ReportRequest, ...], request_id: str
    ) -> m.CreatedReport:
        ven = self.ven
        for request in requests:
            offered = ven.catalogue.r_ids(request.report_specifier_id)
            unknown = request.r_ids - offered
            if not offered or unknown:
                log.warning(
                    "openadr: report request %s asks for %s, not offered (461)",
                    request.report_request_id,
                    sorted(unknown) or request.report_specifier_id,
                )
                return m.CreatedReport(
                    response=m.EiResponse(
                        code=ResponseCode.REPORT_NOT_SUPPORTED,
                        request_id=request_id,
                        description=f"not offered: {sorted(unknown)}",
                    ),
                    pending=ven.reports.pending(),
                    ven_id=ven.ven_id,
                )
            ven.reports.add(request, ven.catalogue.name_of(request.report_specifier_id), ven.now())
        return m.CreatedReport(
            response=m.ok_response(request_id), pending=ven.reports.pending(), ven_id=ven.ven_id
        )
