"""How each home's VEN talks, chosen per home (``PUT /homes/{id}/ven-mode``), against
openleadr's VTN on 127.0.0.1: a report-only VEN registers as one (oadrReportOnly), sends the
telemetry the VTN asks for, and never asks or polls for events, also after a restart."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web

from hems.clock import ManualClock
from hems.runtime import Runtime, build_runtime
from hems.settings import Settings
from hems.storage.enrolments import VenMode
from hems.usecases import enrolment
from tests.adapters.openadr.vtn_peer import free_port, make_vtn

pytestmark = [
    pytest.mark.interop,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:.*NotAppKeyWarning.*"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]

TICK_S = 0.2


@pytest.fixture(autouse=True)
def _quiet_openleadr(caplog):
    caplog.set_level(logging.CRITICAL, logger="openleadr")


async def _until(condition, timeout_s: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting for the VTN")
        await asyncio.sleep(0.1)


def _runtime(tmp_path, port: int) -> tuple[Runtime, int]:
    settings = Settings(
        state_dir=tmp_path,
        demo=True,
        planner_processes=0,
        vtn_url=f"http://127.0.0.1:{port}/OpenADR2/Simple/2.0b",
    )
    runtime = build_runtime(settings, ManualClock(datetime.now(UTC)), seed=2)
    assert runtime.vens is not None
    runtime.vens.start(tick_s=TICK_S)
    return runtime, next(iter(runtime.simulations))


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
    runtime, home_id = _runtime(tmp_path, port)
    try:
        await _until(lambda: "OadrPoll" in services)  # pull mode first: it polls
        assert peer.registrations[0]["report_only"] is False
        shown = enrolment.set_ven_mode(runtime.service, home_id, VenMode.REPORT_ONLY, "admin")
        assert shown.mode == "report_only"
        await _until(lambda: len(peer.registrations) == 2)
        assert len(peer.cancelled_registrations) == 1  # the pull VEN deregistered first
        assert peer.registrations[1]["report_only"] is True
        since = len(services)
        peer.values.clear()
        await _until(lambda: "site" in peer.values and "ev" in peer.values)
        await asyncio.sleep(10 * TICK_S)
        after = services[since:]
        assert "EiReport" in after
        assert "OadrPoll" not in after
        assert "EiEvent" not in after
    finally:
        assert runtime.vens is not None
        await runtime.vens.stop()
    runtime, home_id = _runtime(tmp_path, port)  # a restart keeps the mode
    try:
        since = len(services)
        await _until(lambda: len(peer.registrations) == 3)
        assert peer.registrations[2]["report_only"] is True
        peer.values.clear()
        await _until(lambda: "site" in peer.values)
        assert {"OadrPoll", "EiEvent"}.isdisjoint(services[since:])
    finally:
        assert runtime.vens is not None
        await runtime.vens.stop()
        await server.stop()
