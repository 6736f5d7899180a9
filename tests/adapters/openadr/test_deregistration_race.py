"""A withdrawal that comes while the VTN is still answering the VEN's registration sticks: the
running VEN cancels the registration it was given and does not poll (before: ``register()``
enrolled the VEN again on its way in, so the VEN stayed registered and polled until a
restart)."""

from __future__ import annotations

import asyncio
import dataclasses
import random

from adapters.openadr import codec
from adapters.openadr import messages as m
from adapters.openadr.hooks import OptDecision, Reading
from adapters.openadr.ven import Ven, VenSettings
from kernel.dsr import OptType
from tests.adapters.openadr.fakes import VEN, VTN
from tests.adapters.openadr.waiting import until

PROFILES = (m.Profile(name="2.0b", transports=("simpleHttp",)),)


class SlowRegistrar:
    """A VTN that holds its answer to the ``held`` kind of message until released."""

    def __init__(self, held: type = m.CreatePartyRegistration) -> None:
        self.sent: list[m.Message] = []
        self.held = held
        self.arrived = asyncio.Event()
        self.release = asyncio.Event()

    async def send(self, message: m.Message) -> m.Message | None:
        self.sent.append(codec.parse(codec.render(message)))
        if isinstance(message, self.held):
            self.arrived.set()
            await self.release.wait()
        if isinstance(message, m.QueryRegistration):
            return m.CreatedPartyRegistration(
                response=m.ok_response(message.request_id), vtn_id=VTN, profiles=PROFILES
            )
        if isinstance(message, m.CreatePartyRegistration):
            return m.CreatedPartyRegistration(
                response=m.ok_response(message.request_id),
                registration_id="reg-1",
                ven_id=VEN,
                vtn_id=VTN,
                profiles=PROFILES,
            )
        if isinstance(message, m.CancelPartyRegistration):
            return m.CanceledPartyRegistration(
                response=m.ok_response(message.request_id), registration_id="reg-1", ven_id=VEN
            )
        return None

    def of(self, kind: type) -> list[m.Message]:
        return [msg for msg in self.sent if isinstance(msg, kind)]


def _ven(vtn: SlowRegistrar) -> Ven:
    async def decide(notice):
        return OptDecision(opt=OptType.OPT_IN)

    async def telemetry():
        return [Reading(resource_id="site", power_kw=1.0)]

    return Ven(
        VenSettings(manufacturer="ACME", serial_number="SN1", poll_freq_s=0.1),
        vtn,
        decide=decide,
        telemetry=telemetry,
        rng=random.Random(1),
    )


def test_a_withdrawal_during_registration_is_not_undone():
    async def scenario() -> None:
        vtn = SlowRegistrar()
        ven = _ven(vtn)
        stop = asyncio.Event()
        runner = asyncio.create_task(ven.run(stop, tick_s=0.05))
        try:
            await until(vtn.arrived.is_set)
            await ven.deregister()  # nothing registered yet: nothing to cancel
            vtn.release.set()
            await until(lambda: bool(vtn.of(m.CancelPartyRegistration)))
            await asyncio.sleep(0.5)
            assert ven.ven_id is None
            assert not ven.enrolled
            assert vtn.of(m.Poll) == []
            assert len(vtn.of(m.CreatePartyRegistration)) == 1
        finally:
            stop.set()
            await runner

    asyncio.run(scenario())


def test_a_withdrawal_while_the_reports_register_sends_one_cancellation():
    """Registered, its oadrRegisterReport still unanswered, the VEN is withdrawn and its
    cancellation is slow: the loop, finding itself registered but withdrawn, waits for that
    cancellation instead of sending a second one (before: two oadrCancelPartyRegistration)."""

    async def scenario() -> None:
        vtn = SlowRegistrar(held=m.RegisterReport)
        ven = _ven(vtn)
        stop = asyncio.Event()
        runner = asyncio.create_task(ven.run(stop, tick_s=0.05))
        try:
            await until(vtn.arrived.is_set)
            vtn.held, vtn.arrived = m.CancelPartyRegistration, asyncio.Event()
            withdrawal = asyncio.create_task(ven.deregister())
            await until(vtn.arrived.is_set)  # the cancellation is on its way, held
            vtn.release.set()  # both answers go: the reports', then the cancellation's
            await withdrawal
            await asyncio.sleep(0.5)
            assert len(vtn.of(m.CancelPartyRegistration)) == 1
            assert ven.ven_id is None
            assert vtn.of(m.Poll) == []
        finally:
            stop.set()
            await runner

    asyncio.run(scenario())


def test_an_event_answer_that_finds_the_ven_withdrawn_is_not_sent():
    """The VEN is withdrawn while its decision hook re-plans for an event: the answer is not
    sent (before: an oadrCreatedEvent with no venID went out, and openleadr's VTN failed on it
    with a KeyError, answering 500)."""
    from adapters.openadr.events import Target
    from tests.adapters.openadr.fakes import registered_ven
    from tests.adapters.openadr.samples import dispatch_event

    async def scenario() -> None:
        ven, vtn = registered_ven(
            lambda msg: (
                m.CanceledPartyRegistration(
                    response=m.ok_response(msg.request_id), registration_id="reg-1", ven_id=VEN
                )
                if isinstance(msg, m.CancelPartyRegistration)
                else None
            )
        )
        deciding, release = asyncio.Event(), asyncio.Event()

        async def slow_decide(notice):
            deciding.set()
            await release.wait()
            return OptDecision(opt=OptType.OPT_IN)

        ven.hooks.decide = slow_decide
        event = dataclasses.replace(dispatch_event(), target=Target(ven_ids=(VEN,)))
        message = m.DistributeEvent(request_id="d-1", vtn_id=VTN, events=(event,))
        answering = asyncio.create_task(ven.follow_up(codec.parse(codec.render(message))))
        await deciding.wait()
        await ven.deregister()
        release.set()
        await answering
        assert len(vtn.of(m.CancelPartyRegistration)) == 1
        assert vtn.of(m.CreatedEvent) == []

    asyncio.run(scenario())
