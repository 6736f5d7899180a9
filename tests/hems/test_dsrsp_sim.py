"""The demo DSRSP's VTN (openleadr's aiohttp server) over real HTTP on 127.0.0.1: hostile XML is
refused before openleadr's parser sees it, and the next legitimate request is still answered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from adapters.openadr import codec
from adapters.openadr import messages as m
from adapters.openadr.events import Target
from adapters.openadr.hooks import OptDecision, Reading, Resource
from adapters.openadr.transport import HttpTransport
from adapters.openadr.ven import Ven, VenSettings
from adapters.openadr.vocab import OptReason
from adapters.openadr.xml_guard import MAX_MESSAGE_BYTES
from hems.dsrsp_sim import DemoDsrsp
from kernel.dsr import OptType
from tests.adapters.openadr.hostile_xml import HOSTILE_NAMES, hostile_bodies
from tests.adapters.openadr.vtn_peer import free_port
from tests.adapters.openadr.waiting import until

pytestmark = [
    pytest.mark.interop,
    pytest.mark.filterwarnings("ignore::aiohttp.web_exceptions.NotAppKeyWarning"),
]
XML = {"Content-Type": "application/xml"}


async def _still_answers(client: httpx.AsyncClient, url: str) -> None:
    """A legitimate oadrQueryRegistration is answered with oadrCreatedPartyRegistration."""
    reply = await client.post(
        f"{url}/EiRegisterParty",
        content=codec.render(m.QueryRegistration(request_id="q")),
        headers=XML,
    )
    assert reply.status_code == 200
    assert isinstance(codec.parse(reply.content), m.CreatedPartyRegistration)


def test_hostile_xml_is_refused_with_a_4xx_and_the_vtn_keeps_answering(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("TOPSECRET")
    bodies = hostile_bodies(secret, MAX_MESSAGE_BYTES)

    async def chunked(body: bytes) -> AsyncIterator[bytes]:  # no Content-Length to trust
        for start in range(0, len(body), 65_536):
            yield body[start : start + 65_536]

    async def flow() -> None:
        dsrsp = DemoDsrsp(port=free_port())
        await dsrsp.start()
        try:
            async with httpx.AsyncClient(timeout=30) as client:
                await _still_answers(client, dsrsp.url)
                for name in HOSTILE_NAMES:
                    for service in ("EiRegisterParty", "OadrPoll", "EiReport", "EiEvent"):
                        reply = await client.post(
                            f"{dsrsp.url}/{service}", content=bodies[name], headers=XML
                        )
                        assert reply.status_code == (413 if name == "oversized" else 400), name
                        assert "TOPSECRET" not in reply.text
                    await _still_answers(client, dsrsp.url)
                reply = await client.post(
                    f"{dsrsp.url}/EiReport", content=chunked(bodies["oversized"]), headers=XML
                )
                assert reply.status_code == 413
                await _still_answers(client, dsrsp.url)
        finally:
            await dsrsp.stop()

    asyncio.run(flow())


def _ven(
    url: str, opt: OptType = OptType.OPT_IN, backoff_max_s: float = 60.0
) -> tuple[Ven, HttpTransport]:
    async def decide(notice: object) -> OptDecision:
        return OptDecision(opt=opt, reason=OptReason.PARTICIPATING)

    async def telemetry() -> list[Reading]:
        return [Reading(resource_id="site", power_kw=1.7)]

    settings = VenSettings(
        manufacturer="ACME-CEM",
        serial_number="SN0001",
        resources=(Resource(resource_id="site"),),
        backoff_initial_s=min(1.0, backoff_max_s),
        backoff_max_s=backoff_max_s,
    )
    transport = HttpTransport(url)
    return Ven(settings, transport, decide=decide, telemetry=telemetry), transport


def test_the_demo_vtn_records_an_opt_out_sent_by_our_ven():
    """Issue 28: the home's oadrCreateOpt reached the demo as HTTP 404 ("EiOpt not delivered");
    now the demo answers oadrCreatedOpt and records the opt-out against its event."""

    async def flow() -> None:
        dsrsp = DemoDsrsp(port=free_port(), event_after_s=30)
        await dsrsp.start()
        ven, transport = _ven(dsrsp.url)
        stop = asyncio.Event()
        try:
            runner = asyncio.create_task(ven.run(stop, tick_s=0.2))
            await until(lambda: len(dsrsp.answers) == 1)
            (event_id,) = dsrsp.answers
            assert dsrsp.answers[event_id] == "optIn"
            replies: list[object] = []
            sent = ven.send

            async def spy(message: m.Message) -> m.Message | None:
                reply = await sent(message)
                replies.append(reply)
                return reply

            ven.send = spy  # type: ignore[method-assign]
            await ven.opt_out(event_id)
            await until(lambda: dsrsp.answers[event_id] == "optOut")
            created = [r for r in replies if isinstance(r, m.CreatedOpt)]
            assert len(created) == 1
            assert created[0].response.ok
            (opt,) = dsrsp.ledger.opts_of(ven.ven_id or "")
            assert (opt.event_id, opt.opt_type) == (event_id, "optOut")
            vias = [a.via for a in dsrsp.ledger.data.events[event_id].answers]
            assert vias[0] == "oadrCreatedEvent"
            assert "oadrCreateOpt" in vias
            stop.set()
            await runner
        finally:
            stop.set()
            await transport.aclose()
            await dsrsp.stop()

    asyncio.run(flow())


def test_an_opt_from_an_unknown_ven_or_garbage_is_answered_with_an_error_code():
    async def flow() -> None:
        dsrsp = DemoDsrsp(port=free_port())
        await dsrsp.start()
        try:
            async with httpx.AsyncClient(timeout=30) as client:
                url = f"{dsrsp.url}/EiOpt"
                reply = await client.post(url, content=b"<not-openadr/>", headers=XML)
                assert reply.status_code == 200
                answer = codec.parse(reply.content)
                assert isinstance(answer, m.Response)
                assert not answer.response.ok
                opt = m.CreateOpt(
                    request_id="r1",
                    opt_id="o1",
                    opt_type=OptType.OPT_OUT,
                    opt_reason="notParticipating",
                    ven_id="ven-nobody",
                    created_utc=datetime.now(UTC),
                    target=Target(ven_ids=("ven-nobody",)),
                    event_id="demo-none",
                    modification_number=0,
                )
                reply = await client.post(url, content=codec.render(opt), headers=XML)
                created = codec.parse(reply.content)
                assert isinstance(created, m.CreatedOpt)
                assert created.response.code == 452
                assert dsrsp.ledger.data.opts == []
        finally:
            await dsrsp.stop()

    asyncio.run(flow())


def test_a_restart_reuses_the_registration_and_sends_no_second_event(tmp_path):
    """Issue 28: each restart of `hems run --demo` (the home and the demo DSRSP) registered a
    new VEN and got a second, overlapping event. The demo keeps its registrations and events
    under the state dir: the same VEN name gets its venID back, and the event still to come."""

    async def run_once(port: int) -> tuple[str | None, set[str], int]:
        dsrsp = DemoDsrsp(port=port, event_after_s=300, state_dir=tmp_path)
        await dsrsp.start()
        ven, transport = _ven(dsrsp.url)
        stop = asyncio.Event()
        try:
            runner = asyncio.create_task(ven.run(stop, tick_s=0.2))
            await until(lambda: ven.events.all() and len(dsrsp.answers) == 1)
            stop.set()
            await runner
            await ven.register()  # registering again (asked to, or a new VEN) is no new event
            assert len(dsrsp._server.events[ven.ven_id]) == 1
            received = {t.event.event_id for t in ven.events.all()}
            return ven.ven_id, received, len(dsrsp.ledger.data.events)
        finally:
            stop.set()
            await transport.aclose()
            await dsrsp.stop()

    first = asyncio.run(run_once(free_port()))
    second = asyncio.run(run_once(free_port()))
    assert first[0] is not None
    assert second == first
    assert first[2] == 1


def test_a_demo_restarted_alone_has_the_polling_ven_register_again_under_its_venid(tmp_path):
    """The home keeps running while the demo DSRSP restarts: its next oadrPoll is answered
    oadrRequestReregistration, so it registers again (same venID, by name), its event is
    re-sent (still one) and its telemetry flows to the new run (it went silent before)."""

    async def flow() -> None:
        port = free_port()
        first = DemoDsrsp(
            port=port, event_after_s=300, state_dir=tmp_path, poll_s=1, report_interval_s=1
        )
        await first.start()
        ven, transport = _ven(first.url, backoff_max_s=0.5)
        stop = asyncio.Event()
        runner = asyncio.create_task(ven.run(stop, tick_s=0.2))
        second = None
        try:
            await until(lambda: len(first.answers) == 1 and bool(first.readings))
            ven_id = ven.ven_id
            await first.stop()
            second = DemoDsrsp(
                port=port, event_after_s=300, state_dir=tmp_path, poll_s=1, report_interval_s=1
            )
            await second.start()
            await until(lambda: bool(second.readings), timeout_s=20)
            assert ven.ven_id == ven_id
            assert list(second.registered.values()) == [ven_id]
            assert len(second.ledger.data.events) == 1
            (event_id,) = second.ledger.data.events
            assert [e.event_descriptor.event_id for e in second._server.events[ven_id]] == [
                event_id
            ]
        finally:
            stop.set()
            await runner
            await transport.aclose()
            await (second or first).stop()

    asyncio.run(flow())
