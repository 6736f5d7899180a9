"""How each home's VEN talks, chosen per home (``PUT /homes/{id}/ven-mode``), against
openleadr's VTN on 127.0.0.1: a report-only VEN registers as one (oadrReportOnly), sends the
telemetry the VTN asks for, and never asks or polls for events, also after a restart."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from hems.storage.enrolments import VenMode
from hems.usecases import enrolment
from tests.adapters.openadr.vtn_peer import free_port, make_vtn
from tests.hems.ven_setup import VEN_INTEROP_MARKS, started_demo_runtime, until

pytestmark = VEN_INTEROP_MARKS

TICK_S = 0.2


def count_services(server: Any) -> list[str]:
    """The service (last path segment) of every request openleadr's VTN receives, in order."""
    seen: list[str] = []

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        seen.append(request.path.rsplit("/", 1)[-1])
        return await handler(request)

    server.app.middlewares.append(record)
    return seen


def test_a_report_only_home_registers_as_one_reports_and_never_polls(tmp_path):
    asyncio.run(_report_only(tmp_path))


async def _report_only(tmp_path) -> None:
    port = free_port()
    server, peer = make_vtn(port)
    services = count_services(server)
    await server.run()
    runtime, home_id = started_demo_runtime(tmp_path, port, TICK_S)
    try:
        await until(lambda: "OadrPoll" in services)  # pull mode first: it polls
        assert peer.registrations[0]["report_only"] is False
        shown = enrolment.set_ven_mode(runtime.service, home_id, VenMode.REPORT_ONLY, "admin")
        assert shown.mode == "report_only"
        await until(lambda: len(peer.registrations) == 2)
        assert len(peer.cancelled_registrations) == 1  # the pull VEN deregistered first
        assert peer.registrations[1]["report_only"] is True
        since = len(services)
        peer.values.clear()
        await until(lambda: "site" in peer.values and "ev" in peer.values)
        await asyncio.sleep(10 * TICK_S)
        after = services[since:]
        assert "EiReport" in after
        assert "OadrPoll" not in after
        assert "EiEvent" not in after
    finally:
        assert runtime.vens is not None
        await runtime.vens.stop()
    runtime, home_id = started_demo_runtime(tmp_path, port, TICK_S)  # a restart keeps the mode
    try:
        since = len(services)
        await until(lambda: len(peer.registrations) == 3)
        assert peer.registrations[2]["report_only"] is True
        peer.values.clear()
        await until(lambda: "site" in peer.values)
        assert {"OadrPoll", "EiEvent"}.isdisjoint(services[since:])
    finally:
        assert runtime.vens is not None
        await runtime.vens.stop()
        await server.stop()
