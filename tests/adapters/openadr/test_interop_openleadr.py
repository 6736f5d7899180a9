"""Interoperability: our VEN against openleadr's OpenADRServer as the VTN, over HTTP on
127.0.0.1, in the test's own event loop. openleadr is an independent implementation (not a
conformance oracle): registration, a LOAD_DISPATCH event, optIn and optOut, telemetry arriving
with the right values, modification, cancellation, deregistration."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest
from openleadr import utils as ol_utils

from adapters.openadr.hooks import OptDecision, Reading, Resource
from adapters.openadr.transport import HttpTransport
from adapters.openadr.ven import Ven, VenSettings
from adapters.openadr.vocab import OptReason
from kernel.dsr import OptType
from tests.adapters.openadr.vtn_peer import (
    REGISTRATION_ID,
    VEN_ID,
    VTN_ID,
    dispatch_event,
    free_port,
    make_vtn,
)
from tests.adapters.openadr.waiting import until

pytestmark = [
    pytest.mark.interop,
    # openleadr 0.5.36 stores its server under a str key in aiohttp's app (the peer's code).
    pytest.mark.filterwarnings("ignore::aiohttp.web_exceptions.NotAppKeyWarning"),
]


@pytest.fixture(autouse=True)
def _quiet_openleadr(caplog):
    caplog.set_level(logging.ERROR, logger="openleadr")


def _settings() -> VenSettings:
    return VenSettings(
        manufacturer="ACME-CEM",
        serial_number="SN0001",
        resources=(
            Resource(resource_id="ev-charger", has_soc=True),
            Resource(resource_id="battery"),
        ),
    )


def test_full_flow_against_openleadr_vtn():
    asyncio.run(_full_flow())


async def _full_flow() -> None:
    port = free_port()
    server, peer = make_vtn(port)
    await server.run()
    decisions: list[str] = []
    opts: dict[str, str] = {}
    answer = {"ev-in": OptType.OPT_IN, "ev-out": OptType.OPT_OUT}

    async def decide(notice):
        decisions.append(f"{notice.event.event_id}#{notice.event.modification_number}")
        opt = answer[notice.event.event_id]
        reason = OptReason.PARTICIPATING if opt is OptType.OPT_IN else OptReason.OVERRIDE_STATUS
        return OptDecision(opt=opt, reason=reason)

    async def telemetry():
        return [
            Reading(resource_id="site", power_kw=2.5),
            Reading(resource_id="ev-charger", power_kw=7.2, soc_pct=40.0),
            Reading(resource_id="battery", power_kw=-1.5),
        ]

    def on_opt(ven_id: str, event_id: str, opt_type: str) -> None:
        opts[event_id] = opt_type

    transport = HttpTransport(f"http://127.0.0.1:{port}/OpenADR2/Simple/2.0b")
    ven = Ven(_settings(), transport, decide=decide, telemetry=telemetry)
    try:
        await ven.register()
        assert (ven.ven_id, ven.registration.registration_id, ven.registration.vtn_id) == (
            VEN_ID,
            REGISTRATION_ID,
            VTN_ID,
        )
        assert peer.registrations[0]["ven_name"] == "ACME-CEM:SN0001"
        assert ven.registration.poll_freq_s == 1.0
        offered = {(res, meas) for res, meas, _ in peer.offered}
        assert {
            ("site", "RealPower"),
            ("ev-charger", "RealPower"),
            ("battery", "RealPower"),
        } <= offered

        start = datetime.now(UTC) + timedelta(minutes=5)
        server.add_raw_event(
            VEN_ID, dispatch_event(peer, "ev-in", start, (3.0, 2.0), "setpoint"), callback=on_opt
        )
        server.add_raw_event(
            VEN_ID, dispatch_event(peer, "ev-out", start, (1.5,), "delta"), callback=on_opt
        )

        stop = asyncio.Event()
        runner = asyncio.create_task(ven.run(stop, tick_s=0.2))
        await until(lambda: len(opts) == 2)
        assert opts == {"ev-in": "optIn", "ev-out": "optOut"}
        notice = ven.hooks.notices[0]
        assert notice.requests[0].value_kw == 3.0
        assert notice.requests[0].kind == "setpoint"

        await until(lambda: len(peer.values.get("ev-charger", [])) >= 2)
        assert {v for _, v in peer.values["site"]} == {2.5}
        assert {v for _, v in peer.values["ev-charger"]} == {7.2}
        assert {v for _, v in peer.values["battery"]} == {-1.5}

        # Modification: the VTN raises the modification number and changes a value.
        event = server.events[VEN_ID][0]
        event.event_signals[0].intervals[0].signal_payload = 4.0
        ol_utils.increment_event_modification_number(event)
        server.events_updated[VEN_ID] = True
        await until(lambda: "ev-in#1" in decisions)
        assert ven.events.get("ev-in").event.signals[0].intervals[0].value == 4.0

        # Cancellation.
        server.cancel_event(VEN_ID, "ev-out")
        await until(lambda: ven.events.get("ev-out") is None or ven.events.get("ev-out").cancelled)

        stop.set()
        await runner
        await ven.deregister()
        assert peer.cancelled_registrations[0]["registration_id"] == REGISTRATION_ID
        assert ven.ven_id is None
    finally:
        await transport.aclose()
        await server.stop()
