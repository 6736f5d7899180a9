"""The OpenADR VEN of each home, wired to the service (Interface A).

:class:`VenBridge` gives the VEN (``adapters.openadr``) its hooks:

The hooks call the service's operations (:mod:`hems.usecases`), the ones the API and the web
app call, and never read the store themselves.

* ``decide``: each event's power requests become DSR events of the home
  (:func:`hems.usecases.events.receive_event_parts`: consent, overrides and opt-out windows
  decide; the home re-plans once, before answering); an event with several intervals is stored
  as ``<event id>/<interval>``, and it is opted out whole if any part is. A ``SIMPLE`` event
  becomes an import cap by level (:data:`hems.dsr_events.SIMPLE_LEVEL_IMPORT_CAP_KW`).
* ``telemetry``: the site and each device: power, online, manual override (a consumer boost or
  pause in force), state of charge, the setpoint in force;
* ``flexibility``: the IO, LD and MD profiles of each device (:mod:`hems.flexibility`);
* ``cancelled``: the event's parts are cancelled and the home re-plans without them
  (:func:`hems.usecases.events.cancel_event`);
* ``registration_cancelled``: the VTN cancelled the home's registration: recorded
  (:func:`hems.usecases.enrolment.record_cancelled_by_dsrsp`), shown to the consumer, and the
  VEN does not register again until the home is enrolled again.

A consumer's opt-out through the API is sent on to the VTN (oadrCreatedEvent and EiOpt), and so
is an answer that a change of consent or opt-out windows turned (:func:`send_new_answer`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from adapters.openadr.events import Event
from adapters.openadr.hooks import (
    DispatchRequest,
    EventNotice,
    FlexibilityOffer,
    OptDecision,
    PowerProfile,
    Reading,
    Resource,
)
from adapters.openadr.ven import Ven
from adapters.openadr.vocab import OptReason
from hems.domain.home import HomeSpec
from hems.dsr_events import SIMPLE_LEVEL_IMPORT_CAP_KW
from hems.service import CemService
from hems.storage.store import StoredEvent
from hems.usecases import enrolment, events, homes, plans
from kernel.dsr import SITE, DsrKind, OptType

log = logging.getLogger(__name__)


def resource_id(device_name: str) -> str:
    """The report resource id of a device: its name in lower case, spaces as hyphens."""
    return device_name.strip().lower().replace(" ", "-")


def resources(home: HomeSpec) -> tuple[Resource, ...]:
    """The site and every device, as the VEN registers them."""
    devices = [
        Resource(resource_id=resource_id(d.name), has_soc=d.kind in ("battery", "ev_charger"))
        for d in home.devices
    ]
    return (Resource(resource_id=SITE, flexible=False), *devices)


def part_id(event_id: str, index: int, count: int) -> str:
    """How one interval of an event is stored (the event id itself when it has one part)."""
    return event_id if count == 1 else f"{event_id}/{index}"


def simple_requests(event: Event) -> tuple[DispatchRequest, ...]:
    """SIMPLE levels 1-3 as import caps over their intervals (level 0: no request)."""
    out = []
    for signal in event.signals:
        if signal.name != "SIMPLE":
            continue
        for interval in signal.intervals:
            cap = SIMPLE_LEVEL_IMPORT_CAP_KW.get(int(interval.value))
            if cap is not None:
                out.append(
                    DispatchRequest(
                        kind=DsrKind.IMPORT_CAP,
                        value_kw=cap,
                        start_utc=interval.start_utc,
                        end_utc=interval.start_utc
                        + timedelta(seconds=interval.duration_s or event.duration_s),
                    )
                )
    return tuple(out)


@dataclass
class VenBridge:
    """The hooks of one home's VEN.

    Attributes:
        service: the CEM service.
        home_id: the home.
        site_power_kw: the site meter's reading, if the home has one (else the sum of devices).
    """

    service: CemService
    home_id: int
    site_power_kw: Callable[[], float | None] = lambda: None

    async def decide(self, notice: EventNotice) -> OptDecision:
        event = notice.event
        requests = notice.requests or simple_requests(event)
        if not requests:
            return OptDecision(
                opt=OptType.OPT_IN,
                reason=OptReason.PARTICIPATING,
                explanation="no power request in this event; nothing to change",
            )
        parts = [
            StoredEvent(
                event_id=part_id(event.event_id, i, len(requests)),
                modification_number=event.modification_number,
                kind=request.kind,
                value_kw=request.value_kw,
                start=request.start_utc,
                end=request.end_utc,
                status=str(notice.status),
                response="",
                response_reason="",
            )
            for i, request in enumerate(requests)
        ]
        # all parts answered together and planned once (opted out whole if any part is)
        answers = await events.receive_event_parts(
            self.service, self.home_id, parts, event.event_id
        )
        refused = [a for a in answers if a.response != OptType.OPT_IN]
        if refused:
            return OptDecision(
                opt=OptType.OPT_OUT,
                reason=OptReason.OVERRIDE_STATUS,
                explanation=refused[0].response_reason,
            )
        return OptDecision(
            opt=OptType.OPT_IN,
            reason=OptReason.PARTICIPATING,
            explanation="; ".join(dict.fromkeys(a.response_reason for a in answers)),
        )

    async def telemetry(self) -> Sequence[Reading]:
        """The site and each device (:func:`hems.usecases.homes.device_readings`, what the API's
        and the web app's device status show)."""
        readings = []
        total = 0.0
        for r in homes.device_readings(self.service, self.home_id):
            power = r.state.power_kw if r.state is not None else 0.0
            total += power
            readings.append(
                Reading(
                    resource_id=resource_id(r.spec.name),
                    power_kw=power,
                    online=bool(r.health and r.health.online),
                    manual_override=r.overridden,
                    soc_pct=None if r.state is None or r.state.soc is None else 100 * r.state.soc,
                    setpoint_kw=r.setpoint_kw,
                )
            )
        site = self.site_power_kw()
        return [Reading(resource_id=SITE, power_kw=total if site is None else site), *readings]

    async def flexibility(self) -> Sequence[FlexibilityOffer]:
        profiles = await plans.flexibility_profiles(self.service, self.home_id)
        if profiles is None:
            return []
        index = profiles.intended.index
        step_s = (index[1] - index[0]).total_seconds() if len(index) > 1 else 1800.0
        start = index[0].to_pydatetime()
        offers = []
        for column in profiles.intended.columns:
            if not column.endswith(".power_kw"):
                continue
            name = column.removesuffix(".power_kw")

            def profile(frame: object, c: str = column) -> PowerProfile:
                values = tuple(round(float(v), 3) for v in frame[c])  # type: ignore[index]
                return PowerProfile(start_utc=start, step_s=step_s, power_kw=values)

            offers.append(
                FlexibilityOffer(
                    resource_id=resource_id(name),
                    intended=profile(profiles.intended),
                    least_delayed=profile(profiles.least_delayed),
                    most_delayed=profile(profiles.most_delayed),
                )
            )
        return offers

    async def cancelled(self, event: Event) -> None:
        """The VTN cancelled the event (explicitly or by leaving it out)."""
        await events.cancel_event(self.service, self.home_id, event.event_id)

    async def registration_cancelled(self, at_utc: datetime) -> None:
        """The VTN cancelled the home's registration (oadrCancelPartyRegistration)."""
        enrolment.record_cancelled_by_dsrsp(self.service, self.home_id, at_utc)
        log.warning("home %s: the DSRSP cancelled its registration", self.home_id)


async def send_new_answer(ven: Ven, event_id: str, response: str, reason: str) -> None:
    """Tell the VTN that the home's answer to ``event_id`` changed (the consumer's consent or
    opt-out windows changed after the event was answered).

    optOut: the VEN's own opt-out (an unsolicited oadrCreatedEvent optOut and an EiOpt
    oadrCreateOpt). optIn: an unsolicited oadrCreatedEvent optIn (``created_event_for``), and
    any EiOpt opt-out this VEN sent for the event is cancelled (oadrCancelOpt). Raises
    KeyError when the VEN does not know the event (or is not registered)."""
    if response != OptType.OPT_IN:
        await ven.opt_out(event_id, reason=OptReason.NOT_PARTICIPATING)
        return
    tracked = ven.events.get(event_id)
    if tracked is None or ven.ven_id is None:
        raise KeyError(event_id)
    decision = OptDecision(opt=OptType.OPT_IN, reason=OptReason.PARTICIPATING, explanation=reason)
    await ven.send(ven.inbound.created_event_for(tracked.event, decision, ven.new_id()))
    for opt_id, opt in list(ven.opts.items()):
        if opt.event_id == event_id and opt.opt_type == OptType.OPT_OUT:
            await ven.cancel_opt(opt_id)
