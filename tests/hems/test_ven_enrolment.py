"""Withdrawing a home from the DSRSP's programme and enrolling it again, against openleadr's VTN
on 127.0.0.1: a withdrawn home's VEN cancels its registration (oadrCancelPartyRegistration) and
stays deregistered, across a restart, until enrolled again; a registration the VTN cancels is
recorded, shown to the consumer (API and web page) and not retried until re-enrolment."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from hems.runtime import Runtime
from hems.storage.store import StoredEvent
from hems.usecases import enrolment
from tests.adapters.openadr.vtn_peer import REGISTRATION_ID, VEN_ID, free_port, make_vtn
from tests.hems.ven_setup import VEN_INTEROP_MARKS, started_demo_runtime, until

pytestmark = VEN_INTEROP_MARKS

TICK_S = 0.2


def cancel_on_next_poll(server: Any) -> None:
    """openleadr's VTN answers the next oadrPoll with oadrCancelPartyRegistration (through its
    own ``on_poll`` hook), then polls as before."""
    poll = server.services["poll_service"]

    async def on_poll(ven_id: str) -> tuple[str, dict[str, str]]:
        poll.polling_method = "internal"
        return "oadrCancelPartyRegistration", {
            "request_id": "vtn-cancel-1",
            "registration_id": REGISTRATION_ID,
            "ven_id": ven_id,
        }

    poll.on_poll = on_poll
    poll.polling_method = "external"


def test_a_withdrawn_home_deregisters_and_stays_so_across_a_restart_until_enrolled(
    tmp_path, caplog
):
    asyncio.run(_withdraw_restart_enrol(tmp_path, caplog))


async def _opt_out_while_withdrawn(runtime: Runtime, home_id: int, caplog) -> None:
    """The consumer opts out of an event while withdrawn: stored, and nobody to tell (before:
    the VEN's KeyError was logged as a failure with its traceback)."""
    now = runtime.service.clock.now()
    part = StoredEvent("dsr-9", 0, "import_cap", 1.0, now, now + timedelta(hours=1), "far", "", "")
    runtime.service.store.upsert_event(home_id, part, now)
    caplog.set_level(logging.ERROR, logger="hems.service")
    await runtime.service.opt_out(home_id, "dsr-9", "test")
    assert [e.response for e in runtime.service.store.events(home_id)] == ["optOut"]
    assert "could not pass the opt-out" not in caplog.text


async def _withdraw_restart_enrol(tmp_path, caplog) -> None:
    port = free_port()
    server, peer = make_vtn(port)
    await server.run()
    runtime, home_id = started_demo_runtime(tmp_path, port, TICK_S)
    try:
        await until(lambda: len(peer.registrations) == 1)
        shown = enrolment.withdraw(runtime.service, home_id, "home-token-1")
        assert shown.status == "withdrawn"
        await until(lambda: len(peer.cancelled_registrations) == 1)
        assert peer.cancelled_registrations[0]["ven_id"] == VEN_ID
        await asyncio.sleep(5 * TICK_S)
        assert len(peer.registrations) == 1  # it does not register again
        await _opt_out_while_withdrawn(runtime, home_id, caplog)
    finally:
        assert runtime.vens is not None
        await runtime.vens.stop()
    # a restart on the same database: the withdrawn home's VEN does not register
    runtime, home_id = started_demo_runtime(tmp_path, port, TICK_S)
    try:
        await asyncio.sleep(8 * TICK_S)
        assert len(peer.registrations) == 1
        assert enrolment.enrolment(runtime.service, home_id).status == "withdrawn"
        enrolment.enrol(runtime.service, home_id, "admin")
        await until(lambda: len(peer.registrations) == 2)
        assert enrolment.enrolment(runtime.service, home_id).status == "enrolled"
    finally:
        assert runtime.vens is not None
        await runtime.vens.stop()
        await server.stop()


def test_a_registration_cancelled_by_the_vtn_is_recorded_shown_and_not_retried(tmp_path):
    asyncio.run(_cancelled_by_vtn(tmp_path))


async def _cancelled_by_vtn(tmp_path) -> None:
    port = free_port()
    server, peer = make_vtn(port)
    await server.run()
    runtime, home_id = started_demo_runtime(tmp_path, port, TICK_S)
    try:
        await until(lambda: len(peer.registrations) == 1)
        cancel_on_next_poll(server)
        await until(
            lambda: enrolment.enrolment(runtime.service, home_id).status == "cancelled_by_dsrsp"
        )
        shown = enrolment.enrolment(runtime.service, home_id)
        assert shown.since is not None
        assert "cancelled your home's registration" in shown.message
        await asyncio.sleep(8 * TICK_S)
        assert len(peer.registrations) == 1  # not retried
    finally:
        assert runtime.vens is not None
        await runtime.vens.stop()
    runtime, home_id = started_demo_runtime(tmp_path, port, TICK_S)  # nor after a restart
    try:
        await asyncio.sleep(8 * TICK_S)
        assert len(peer.registrations) == 1
        assert runtime.vens is not None
        assert runtime.vens.vens[home_id].cancelled_by_vtn_utc == shown.since
        enrolment.enrol(runtime.service, home_id, "home-token-1")
        await until(lambda: len(peer.registrations) == 2)
        assert enrolment.enrolment(runtime.service, home_id).status == "enrolled"
    finally:
        assert runtime.vens is not None
        await runtime.vens.stop()
        await server.stop()
