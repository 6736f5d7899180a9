"""What a conformance case gets: the VEN under test, its tracelog, the reference VTN (``--self``)
and the VEN's hooks as the case set them; and how a case states its verdict."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.openadr import messages as m
from adapters.openadr.conformance.reference_vtn import VEN_ID, ReferenceVtn
from adapters.openadr.conformance.tracelog import TraceLog
from adapters.openadr.events import Event
from adapters.openadr.hooks import EventNotice, OptDecision, Reading
from adapters.openadr.ven import Ven
from adapters.openadr.vocab import OptReason
from kernel.dsr import OptType

SITE_KW = 3.25
"""The site's real power the VEN reports in every case [kW]."""
EV_KW = 7.4
"""The EV charger's real power the VEN reports [kW]."""


class CaseFailedError(Exception):
    """The VEN did not do what the rule asks (the message says what was expected and seen)."""


class CaseSkippedError(Exception):
    """The case cannot run against this VTN (the message says why)."""


@dataclass
class VenHooks:
    """The VEN's decision and telemetry hooks as the case wants them: every event answered with
    ``opt`` (optIn unless the case says otherwise), fixed readings."""

    opt: OptType = OptType.OPT_IN
    notices: list[EventNotice] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)

    async def decide(self, notice: EventNotice) -> OptDecision:
        self.notices.append(notice)
        reason = (
            OptReason.PARTICIPATING if self.opt is OptType.OPT_IN else OptReason.OVERRIDE_STATUS
        )
        return OptDecision(opt=self.opt, reason=reason)

    async def telemetry(self) -> list[Reading]:
        return [
            Reading(resource_id="site", power_kw=SITE_KW),
            Reading(resource_id="ev-charger", power_kw=EV_KW, soc_pct=55.0),
        ]

    async def on_cancelled(self, event: Event) -> None:
        self.cancelled.append(event.event_id)

    def decided(self) -> list[str]:
        """``event_id#modificationNumber`` of every decision the VEN asked for."""
        return [f"{n.event.event_id}#{n.event.modification_number}" for n in self.notices]


@dataclass
class CaseContext:
    """One case's world: the VEN under test (registered by the case itself), its tracelog
    (the transport's tracer), the hooks it decides and reads telemetry with, the reference
    VTN (``--self`` only) and the certificate the VEN signs with."""

    ven: Ven
    trace: TraceLog
    hooks: VenHooks
    vtn: ReferenceVtn | None = None
    ven_cert_pem: bytes | None = None
    """The certificate the VEN signs with (None: the VEN does not sign)."""
    step_timeout_s: float = 8.0

    @property
    def reference(self) -> ReferenceVtn:
        """The reference VTN (only ``--self`` cases use it)."""
        if self.vtn is None:
            raise CaseSkippedError("needs the reference VTN (--self)")
        return self.vtn

    def note(self, text: str) -> None:
        self.trace.note(text)

    async def poll_until(self, condition: Callable[[], bool], what: str) -> None:
        """Poll (and report) until ``condition()`` holds; a failure naming ``what`` after
        ``step_timeout_s``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.step_timeout_s
        while not condition():
            if loop.time() > deadline:
                raise CaseFailedError(f"not seen within {self.step_timeout_s:.0f} s: {what}")
            await self.ven.poll()
            await self.ven.report_tick()
            if not condition():
                await asyncio.sleep(0.1)

    async def run_until(
        self, condition: Callable[[], bool], seconds: float, ven: Ven | None = None
    ) -> bool:
        """Let the VEN's own loop (``ven``'s: another VEN a case made) run (register, poll,
        report) until ``condition()`` holds or ``seconds`` pass; whether it held."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        task = asyncio.create_task((ven or self.ven).run(stop, tick_s=0.2))
        deadline = loop.time() + seconds
        try:
            while not condition() and loop.time() < deadline and not task.done():
                await asyncio.sleep(0.05)
        finally:
            stop.set()
            await task
        return condition()

    async def settle(self, polls: int = 2) -> None:
        """Poll a few times (for checks that something did not happen)."""
        for _ in range(polls):
            await self.ven.poll()
            await asyncio.sleep(0.1)

    def answers_for(self, event_id: str) -> list[m.EventResponse]:
        """Every eventResponse the VEN sent for ``event_id`` (oadrCreatedEvent), in order."""
        return [
            response
            for created in self.trace.sent_messages(m.CreatedEvent)
            for response in created.event_responses
            if response.event_id == event_id
        ]


def expect(condition: bool, message: str) -> None:
    """The case's check: a :class:`CaseFailedError` with ``message`` unless ``condition``."""
    if not condition:
        raise CaseFailedError(message)


def openleadr_event(
    event_id: str,
    values_kw: tuple[float, ...] = (2.5, 1.0),
    *,
    signal_type: str = "setpoint",
    response_required: str = "always",
    test_event: bool = False,
    start_in: timedelta = timedelta(minutes=10),
) -> Any:
    """A LOAD_DISPATCH event for the VEN in kW, 30-minute intervals, as openleadr's objects."""
    from openleadr import objects as ol

    start = datetime.now(UTC) + start_in
    intervals = [
        ol.Interval(
            dtstart=start + timedelta(minutes=30 * i),
            duration=timedelta(minutes=30),
            signal_payload=value,
            uid=i,
        )
        for i, value in enumerate(values_kw)
    ]
    measurement = ol.Measurement(
        name="powerReal",
        description="RealPower",
        unit="W",
        scale="k",
        power_attributes=ol.PowerAttributes(),
    )
    return ol.Event(
        event_descriptor=ol.EventDescriptor(
            event_id=event_id,
            modification_number=0,
            market_context="http://conformance.invalid/programme",
            event_status="far",
            created_date_time=start - start_in,
            test_event=test_event,
        ),
        active_period=ol.ActivePeriod(
            dtstart=start, duration=timedelta(minutes=30 * len(intervals))
        ),
        event_signals=[
            ol.EventSignal(
                intervals=intervals,
                signal_name="LOAD_DISPATCH",
                signal_type=signal_type,
                signal_id=f"{event_id}-sig",
                measurement=measurement,
            )
        ],
        targets=[ol.Target(ven_id=VEN_ID)],
        response_required=response_required,
    )
