"""A VTN that answers polls with hostile XML (openleadr's VTN on 127.0.0.1 with a middleware that
swaps its answers): the VEN refuses each answer with a logged reason, keeps polling and still
takes the next real event; an endless answer is hung up on at the size limit."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from adapters.openadr.hooks import OptDecision, Resource
from adapters.openadr.transport import HttpTransport
from adapters.openadr.ven import Ven, VenSettings
from adapters.openadr.vocab import OptReason
from kernel.dsr import OptType
from tests.adapters.openadr.hostile_xml import HOSTILE_NAMES, hostile_bodies
from tests.adapters.openadr.vtn_peer import VEN_ID, PeerLog, dispatch_event, free_port, make_vtn
from tests.adapters.openadr.waiting import until

pytestmark = [
    pytest.mark.interop,
    pytest.mark.filterwarnings("ignore::aiohttp.web_exceptions.NotAppKeyWarning"),
]
LIMIT_BYTES = 200_000  # every hostile body but "oversized" is under it
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class PollAnswers:
    """Answers the next polls with queued bodies (``None``: an endless stream), then lets
    openleadr answer again."""

    def __init__(self) -> None:
        self.queue: list[bytes | None] = []
        self.streamed_bytes = 0

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.endswith("/OadrPoll") or not self.queue:
            return await handler(request)
        body = self.queue.pop(0)
        if body is not None:
            return web.Response(body=body, content_type="application/xml")
        response = web.StreamResponse(headers={"Content-Type": "application/xml"})
        await response.prepare(request)
        chunk = b"<a>" + b" " * 65_533
        try:
            while self.streamed_bytes < 64 * 2**20:
                await response.write(chunk)
                self.streamed_bytes += len(chunk)
        except (ConnectionError, RuntimeError):  # the VEN hung up
            pass
        return response


async def _decide(notice):  # type: ignore[no-untyped-def]
    return OptDecision(opt=OptType.OPT_IN, reason=OptReason.PARTICIPATING)


async def _telemetry():  # type: ignore[no-untyped-def]
    return []


@dataclass
class Scene:
    ven: Ven
    answers: PollAnswers
    server: Any
    peer: PeerLog


async def _with_vtn(scenario: Callable[[Scene], Awaitable[None]]) -> PollAnswers:
    """Register a VEN with openleadr's VTN, run it, play ``scenario``; the VEN must still run."""
    port = free_port()
    server, peer = make_vtn(port)
    answers = PollAnswers()
    server.app.middlewares.append(answers.middleware)
    await server.run()
    settings = VenSettings(
        manufacturer="ACME-CEM",
        serial_number="SN0001",
        resources=(Resource(resource_id="ev"),),
        backoff_initial_s=0.05,
        backoff_max_s=0.2,
    )
    url = f"http://127.0.0.1:{port}/OpenADR2/Simple/2.0b"
    transport = HttpTransport(url, max_bytes=LIMIT_BYTES)
    ven = Ven(settings, transport, decide=_decide, telemetry=_telemetry)
    stop = asyncio.Event()
    try:
        await ven.register()
        runner = asyncio.create_task(ven.run(stop, tick_s=0.1))
        await scenario(Scene(ven, answers, server, peer))
        assert not runner.done()  # the VEN kept running through it all
        stop.set()
        await runner
    finally:
        stop.set()
        await transport.aclose()
        await server.stop()
    return answers


def _refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if "refused the VTN's answer on OadrPoll" in r.getMessage()
    ]


def test_hostile_poll_answers_are_refused_and_the_ven_keeps_running(tmp_path, caplog):
    secret = tmp_path / "secret"
    secret.write_text("TOPSECRET")
    bodies = hostile_bodies(secret, LIMIT_BYTES)

    async def scenario(scene: Scene) -> None:
        scene.answers.queue.extend(bodies[name] for name in HOSTILE_NAMES)
        await until(lambda: not scene.answers.queue)
        start = datetime.now(UTC) + timedelta(minutes=5)
        event = dispatch_event(scene.peer, "ev-1", start, (2.0,), "setpoint")
        scene.server.add_raw_event(VEN_ID, event)
        await until(lambda: "ev-1" in scene.ven.events)  # the next real poll is taken

    with caplog.at_level(logging.WARNING, logger="adapters.openadr"):
        asyncio.run(_with_vtn(scenario))
    refusals = _refusals(caplog)
    assert len(refusals) == len(HOSTILE_NAMES), refusals
    assert not any("TOPSECRET" in r for r in refusals)


def test_an_endless_poll_answer_is_hung_up_on_at_the_size_limit(caplog):
    async def scenario(scene: Scene) -> None:
        scene.answers.queue.append(None)
        await until(lambda: bool(_refusals(caplog)), timeout_s=5)

    with caplog.at_level(logging.WARNING, logger="adapters.openadr"):
        answers = asyncio.run(_with_vtn(scenario))
    assert _refusals(caplog) == [
        f"openadr: refused the VTN's answer on OadrPoll: over {LIMIT_BYTES} bytes"
    ]
    # what the VTN pushed before the VEN hung up: socket buffers, not its 64 MiB
    assert answers.streamed_bytes < 16 * 2**20
