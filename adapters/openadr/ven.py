"""The VEN: registration, events and opts, reports, in pull or push mode.

:class:`Ven` is transport-agnostic: it sends through a :class:`~adapters.openadr.transport.
Transport` and answers VTN-initiated messages in :meth:`Ven.handle` (the reply goes back in the
HTTP response in push mode, or to the VTN's service endpoint after an oadrPoll in pull mode).
:meth:`Ven.run` is two loops: one samples the requested reports every tick whatever the VTN
does (an outage loses no sample: the reports wait in the outbox), the other talks to the VTN:
register (bounded backoff while the VTN is unreachable), request events, poll at the VTN's
frequency, send the outbox; after an outage it re-requests events (state resync) and sends what
was queued. A report the VTN refuses is retried on its own schedule (see ``Outbox``), so it
never stalls polling or the other reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from adapters.openadr import messages as m
from adapters.openadr.events import Target
from adapters.openadr.hooks import (
    CancelListener,
    Decide,
    EventNotice,
    FlexibilityProvider,
    OptDecision,
    RegistrationCancelListener,
    Resource,
    TelemetryProvider,
)
from adapters.openadr.inbound import InboundHandler
from adapters.openadr.lifecycle import EventBook
from adapters.openadr.pacing import PollPacer, first_poll_delay_s
from adapters.openadr.reporting import Catalogue, Outbox
from adapters.openadr.scheduling import ReportSchedule
from adapters.openadr.transport import Transport, TransportError, VtnRefusedError
from adapters.openadr.vocab import OptReason
from kernel.dsr import OptType

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class VenSettings:
    """Who the VEN is and how it talks.

    Attributes:
        manufacturer, serial_number: the CEM's identity; registered as oadrVenName
            ``<manufacturer>:<serial_number>`` (what the DSRSP's asset screen asks for).
        resources: the devices, each registered as a report resource.
        pull: oadrHttpPullModel; False means push to ``push_url``.
        report_only: a report-only VEN (oadrReportOnly): EiRegisterParty and EiReport only; it
            never requests or polls for events (no oadrRequestEvent, no oadrPoll), sends the
            reports its oadrRegisteredReport asks for (and, in push mode, those pushed to it),
            and answers an event pushed to it with 459.
        xml_signature: announce (and use) XML signatures.
        poll_freq_s: poll period until the VTN states its own [s].
        backoff_initial_s, backoff_max_s: retry delays while the VTN is unreachable, and for
            a report it refused (each report on its own) [s].
        outbox_capacity: reports kept while the VTN is unreachable (oldest dropped, counted).
        jitter_first_poll: wait a random part of the poll period before the first poll
            (:mod:`adapters.openadr.pacing`: a fleet's VENs do not poll in step).
    """

    manufacturer: str
    serial_number: str
    resources: tuple[Resource, ...] = ()
    pull: bool = True
    push_url: str | None = None
    report_only: bool = False
    xml_signature: bool = False
    expected_vtn_id: str | None = None
    market_context: str | None = None
    poll_freq_s: float = 10.0
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0
    outbox_capacity: int = 1000
    report_min_period_s: float = 2.0
    jitter_first_poll: bool = False

    @property
    def ven_name(self) -> str:
        return f"{self.manufacturer}:{self.serial_number}"


@dataclass(slots=True)
class Registration:
    ven_id: str | None = None
    registration_id: str | None = None
    vtn_id: str | None = None
    poll_freq_s: float | None = None
    reports_registered: bool = False


@dataclass(slots=True)
class Hooks:
    decide: Decide
    telemetry: TelemetryProvider
    flexibility: FlexibilityProvider | None = None
    cancelled: CancelListener | None = None
    registration_cancelled: RegistrationCancelListener | None = None
    notices: list[EventNotice] = field(default_factory=list)


class Ven:
    def __init__(
        self,
        settings: VenSettings,
        transport: Transport,
        *,
        decide: Decide,
        telemetry: TelemetryProvider,
        flexibility: FlexibilityProvider | None = None,
        cancelled: CancelListener | None = None,
        registration_cancelled: RegistrationCancelListener | None = None,
        rng: random.Random | None = None,
        clock: Any = None,
        pacer: PollPacer | None = None,
    ) -> None:
        self.settings = settings
        self.transport = transport
        self.hooks = Hooks(decide, telemetry, flexibility, cancelled, registration_cancelled)
        self.registration = Registration()
        self.events = EventBook(rng)
        self.outbox = Outbox(
            settings.outbox_capacity,
            retry_initial_s=settings.backoff_initial_s,
            retry_max_s=settings.backoff_max_s,
        )
        self.reports = ReportSchedule(self.outbox)
        self.catalogue = Catalogue(reports=())
        self._now = clock or (lambda: datetime.now(UTC))
        self._ids = itertools.count(1)
        self._rng = rng or random.SystemRandom()
        self.pacer = pacer
        """The fleet's cap on polls and registrations per second (None: no cap)."""
        self.inbound = InboundHandler(self)
        self.opts: dict[str, m.CreateOpt] = {}
        self.connected = False
        self.enrolled = True
        """Whether :meth:`run` (re)registers: False after :meth:`deregister` or a cancellation
        by the VTN, until :meth:`enrol` (the consumer or operator enrols again)."""
        self.cancelled_by_vtn_utc: datetime | None = None
        """When the VTN cancelled the registration (None: it did not, or the VEN re-enrolled)."""
        self._deregistering = asyncio.Lock()

    # --- small helpers -------------------------------------------------------------------

    def now(self) -> datetime:
        return cast(datetime, self._now())

    def new_id(self, prefix: str = "req") -> str:
        return f"{prefix}-{self.settings.serial_number}-{next(self._ids)}"

    @property
    def ven_id(self) -> str | None:
        return self.registration.ven_id

    @property
    def resource_ids(self) -> frozenset[str]:
        return frozenset(r.resource_id for r in self.settings.resources)

    async def send(self, message: m.Message) -> m.Message | None:
        reply = await self.transport.send(message)
        self.connected = True
        if isinstance(reply, m.RequestReregistration):
            log.info("openadr: the VTN asked to re-register")
            self.registration = Registration()
        return reply

    # --- registration ----------------------------------------------------------------------

    def enrol(self) -> None:
        """Enrol again after a deregistration or a cancellation by the VTN: :meth:`run` registers
        at its next turn (an explicit :meth:`register` call does too)."""
        self.enrolled = True
        self.cancelled_by_vtn_utc = None

    async def registration_cancelled_by_vtn(self) -> None:
        """The VTN cancelled the registration: record it, stop registering until re-enrolled
        (retrying would only be refused, or undo the DSRSP's decision) and tell the
        ``registration_cancelled`` hook (its failure is logged: the VTN is answered anyway)."""
        self.enrolled = False
        self.cancelled_by_vtn_utc = self.now()
        self.registration = Registration()
        self.reports.cancel_all()
        self.outbox.drop_requests(frozenset())
        log.warning(
            "openadr: the VTN cancelled the registration; not registering again until re-enrolled"
        )
        if self.hooks.registration_cancelled is not None:
            try:
                await self.hooks.registration_cancelled(self.cancelled_by_vtn_utc)
            except Exception:
                log.exception("openadr: the registration_cancelled hook failed")

    async def register(self) -> None:
        """Query, create the party registration, register reports and request events (an
        explicit call enrols the VEN again)."""
        self.enrol()
        await self._register()

    async def _register(self) -> None:
        """:meth:`register` without enrolling: what :meth:`run` does, so a :meth:`deregister`
        while the VTN answers is not undone (the loop then cancels what was registered)."""
        query = await self.send(m.QueryRegistration(request_id=self.new_id()))
        if isinstance(query, m.CreatedPartyRegistration) and query.poll_freq_s:
            self.registration.poll_freq_s = query.poll_freq_s
        created = await self.send(
            m.CreatePartyRegistration(
                request_id=self.new_id(),
                ven_name=self.settings.ven_name,
                http_pull_model=self.settings.pull,
                xml_signature=self.settings.xml_signature,
                report_only=self.settings.report_only,
                transport_address=None if self.settings.pull else self.settings.push_url,
                registration_id=self.registration.registration_id,
                ven_id=self.registration.ven_id,
            )
        )
        if not isinstance(created, m.CreatedPartyRegistration) or not created.response.ok:
            raise RegistrationError(f"registration refused: {created!r}")
        if created.ven_id is None or created.registration_id is None:
            raise RegistrationError("the VTN registered no venID / registrationID")
        expected = self.settings.expected_vtn_id
        if expected is not None and created.vtn_id != expected:
            raise RegistrationError(f"vtnID {created.vtn_id!r}, expected {expected!r}")
        self.registration = Registration(
            ven_id=created.ven_id,
            registration_id=created.registration_id,
            vtn_id=created.vtn_id,
            poll_freq_s=created.poll_freq_s or self.registration.poll_freq_s,
        )
        self.reports.ven_id = created.ven_id
        # A new registration starts from the requests its oadrRegisteredReport makes: the VTN
        # may have lost its state, and must not receive streams (or queued reports) for
        # requests it never issued.
        self.reports.cancel_all()
        self.outbox.drop_requests(frozenset())
        log.info("openadr: registered as %s with %s", created.ven_id, created.vtn_id)
        if not self.enrolled:
            return  # deregistered meanwhile: run() cancels this registration at its next turn
        await self.register_reports()
        if not self.settings.report_only:
            await self.request_events()

    async def register_reports(self) -> None:
        self.catalogue = Catalogue.build(
            self.settings.resources,
            self.now(),
            min_period_s=self.settings.report_min_period_s,
            market_context=self.settings.market_context,
        )
        reply = await self.send(
            m.RegisterReport(
                request_id=self.new_id(), reports=self.catalogue.reports, ven_id=self.ven_id
            )
        )
        self.registration.reports_registered = True
        if isinstance(reply, m.RegisteredReport):
            created = await self.inbound.create_reports(reply.requests, reply.response.request_id)
            await self.send(created)

    async def request_events(self) -> None:
        if self.settings.report_only or self.ven_id is None:
            return  # no EiEvent for a report-only VEN; none for a VEN deregistered meanwhile
        reply = await self.send(m.RequestEvent(request_id=self.new_id(), ven_id=self.ven_id))
        await self.follow_up(reply)

    async def deregister(self) -> None:
        """Cancel the registration (oadrCancelPartyRegistration); :meth:`run` does not register
        again until :meth:`enrol`. One cancellation at a time: a caller that comes while
        another's is on its way finds nothing left to cancel (no second message)."""
        self.enrolled = False
        async with self._deregistering:
            if self.registration.registration_id is None:
                return
            await self.send(
                m.CancelPartyRegistration(
                    request_id=self.new_id(),
                    registration_id=self.registration.registration_id,
                    ven_id=self.ven_id,
                )
            )
            self.registration = Registration()
        self.reports.cancel_all()
        self.outbox.drop_requests(frozenset())

    # --- VTN-initiated messages ------------------------------------------------------------

    async def handle(self, message: m.Message) -> m.Message | None:
        """Answer a message from the VTN (push body, or a poll's answer)."""
        return await self.inbound.handle(message)

    async def follow_up(self, message: m.Message | None) -> None:
        """Pull mode: handle a VTN message and send the answer to its service endpoint. An
        answer that finds the VEN deregistered meanwhile (withdrawn while the decision hook
        re-planned) is not sent: it would name no venID, and the VTN no longer expects it."""
        if message is None:
            return
        answer = await self.handle(message)
        if answer is None:
            return
        if not self.enrolled and not isinstance(answer, m.CanceledPartyRegistration):
            log.info("openadr: deregistered meanwhile; %s not sent", type(answer).__name__)
            return
        await self.send(answer)
        reregister = isinstance(message, m.RequestReregistration)
        if reregister and self.registration.ven_id is None and self.enrolled:
            await self._register()

    @property
    def polls(self) -> bool:
        """Whether :meth:`run` polls: in pull mode, unless report-only."""
        return self.settings.pull and not self.settings.report_only

    async def poll(self) -> None:
        assert self.ven_id is not None
        await self.follow_up(await self.send(m.Poll(ven_id=self.ven_id)))

    # --- opt -------------------------------------------------------------------------------

    async def opt_out(self, event_id: str, reason: str = OptReason.OVERRIDE_STATUS) -> None:
        """The consumer opted out of an event: tell the VTN with oadrCreatedEvent (always
        understood) and oadrCreateOpt (EiOpt; a VTN without EiOpt is logged, not fatal)."""
        tracked = self.events.get(event_id)
        if tracked is None or self.ven_id is None:
            raise KeyError(event_id)
        decision = OptDecision(opt=OptType.OPT_OUT, reason=reason)
        await self.send(self.inbound.created_event_for(tracked.event, decision, self.new_id()))
        opt = m.CreateOpt(
            request_id=self.new_id(),
            opt_id=self.new_id("opt"),
            opt_type=OptType.OPT_OUT,
            opt_reason=reason,
            ven_id=self.ven_id,
            created_utc=self.now(),
            target=Target(ven_ids=(self.ven_id,)),
            event_id=event_id,
            modification_number=tracked.event.modification_number,
        )
        await self._send_opt(opt)

    async def opt_schedule(
        self,
        windows: tuple[m.AvailabilityWindow, ...],
        opt_type: OptType = OptType.OPT_OUT,
        reason: str = OptReason.NOT_PARTICIPATING,
        resource_ids: tuple[str, ...] = (),
    ) -> str:
        """Send the consumer's opt-out (or opt-in) windows as an oadrCreateOpt schedule."""
        assert self.ven_id is not None
        opt = m.CreateOpt(
            request_id=self.new_id(),
            opt_id=self.new_id("opt"),
            opt_type=opt_type,
            opt_reason=reason,
            ven_id=self.ven_id,
            created_utc=self.now(),
            market_context=self.settings.market_context,
            availability=windows,
            target=Target(resource_ids=resource_ids)
            if resource_ids
            else Target(ven_ids=(self.ven_id,)),
        )
        await self._send_opt(opt)
        return opt.opt_id

    async def cancel_opt(self, opt_id: str) -> None:
        assert self.ven_id is not None
        await self._send_opt(
            m.CancelOpt(request_id=self.new_id(), opt_id=opt_id, ven_id=self.ven_id)
        )
        self.opts.pop(opt_id, None)

    async def _send_opt(self, opt: m.CreateOpt | m.CancelOpt) -> None:
        try:
            reply = await self.send(opt)
        except TransportError as exc:
            log.warning("openadr: EiOpt not delivered (%s); the VTN keeps the event answer", exc)
            return
        if isinstance(opt, m.CreateOpt):
            self.opts[opt.opt_id] = opt
        if isinstance(reply, m.CreatedOpt | m.CanceledOpt) and not reply.response.ok:
            log.warning("openadr: the VTN refused opt %s: %s", opt.opt_id, reply.response)

    # --- reports ---------------------------------------------------------------------------

    async def report_tick(self) -> None:
        """Sample and queue due reports, then send what the outbox holds."""
        await self.sample_reports()
        await self.flush_outbox()

    async def sample_reports(self) -> None:
        """Sample the active report requests that are due (needs no VTN)."""
        await self.reports.tick(self.now(), self.hooks, self.catalogue)

    async def flush_outbox(self) -> None:
        """Send the reports due, oldest first. A refused one waits for its own retry and the
        others go on; an unreachable VTN raises (everything stays queued)."""
        if self.ven_id is None:
            return  # nobody to send them to (deregistered or re-registering)
        self.outbox.expire(self.now())
        for message in self.outbox.due(self.now()):
            try:
                reply = await self.send(message)
            except VtnRefusedError as exc:
                log.warning("openadr: report %s refused: %s", message.request_id, exc)
                self.outbox.refused(message, self.now())
                continue
            self.outbox.sent(message)
            if isinstance(reply, m.UpdatedReport) and reply.cancel is not None:
                await self.handle(reply.cancel)

    # --- the loop --------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event, tick_s: float = 1.0) -> None:
        """Sample reports and talk to the VTN until ``stop`` is set (see the module doc)."""
        sampler = asyncio.create_task(self._sample_until(stop, tick_s))
        try:
            await self._talk_until(stop, tick_s)
        finally:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler

    async def _sample_until(self, stop: asyncio.Event, tick_s: float) -> None:
        while not stop.is_set():
            try:
                await self.sample_reports()
            except Exception:  # a failing telemetry hook must not end reporting
                log.exception("openadr: sampling the reports failed; trying again next tick")
            await _sleep_unless(stop, tick_s)

    async def _talk_until(self, stop: asyncio.Event, tick_s: float) -> None:
        """Register, poll and send reports; back off while the VTN is unreachable."""
        delay = self.settings.backoff_initial_s
        next_poll: float | None = None  # set once registered
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            if self.ven_id is None and not self.enrolled:
                await _sleep_unless(stop, tick_s)  # deregistered: wait for enrol()
                continue
            try:
                if self.ven_id is None:
                    await self._paced()
                    await self._register()
                elif self.enrolled and not self.connected:
                    await self.request_events()  # resync after an outage
                if not self.enrolled and self.ven_id is not None:
                    await self.deregister()  # deregistered while the VTN answered: cancel it
                    continue
                period_s = self.registration.poll_freq_s or self.settings.poll_freq_s
                if next_poll is None and self.ven_id is not None:
                    jitter = self.settings.jitter_first_poll
                    next_poll = loop.time() + (
                        first_poll_delay_s(self._rng, period_s) if jitter else 0.0
                    )
                if self.polls and next_poll is not None and loop.time() >= next_poll:
                    await self._paced()
                    await self.poll()
                    next_poll = loop.time() + period_s
                await self.flush_outbox()
                delay = self.settings.backoff_initial_s
                wait = tick_s
            except (TransportError, RegistrationError) as exc:
                self.connected = False
                wait = delay * (0.5 + self._rng.random() / 2)
                log.warning("openadr: %s; retrying in %.1f s", exc, wait)
                delay = min(delay * 2, self.settings.backoff_max_s)
            await _sleep_unless(stop, wait)

    async def _paced(self) -> None:
        """Wait for this VEN's turn under the fleet's cap, if any."""
        if self.pacer is not None:
            await self.pacer.turn()


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


class RegistrationError(Exception):
    """The VTN refused or garbled the registration."""
