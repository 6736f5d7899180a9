"""The demo DSRSP's console page (issue 28) over real HTTP on 127.0.0.1, with this project's VEN
registered to the demo VTN: its identity, reports and telemetry, the event's status moving with
time, its answers and opt-out, and delivered against asked."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime

import httpx
import pytest

from adapters.openadr.hooks import OptDecision, Reading, Resource
from adapters.openadr.transport import HttpTransport
from adapters.openadr.ven import Ven, VenSettings
from adapters.openadr.vocab import OptReason
from hems.dsrsp.console import render_console
from hems.dsrsp.ledger import Ledger, new_ven
from hems.dsrsp_sim import DemoDsrsp
from kernel.dsr import OptType
from tests.adapters.openadr.vtn_peer import free_port
from tests.adapters.openadr.waiting import until

pytestmark = [
    pytest.mark.interop,
    pytest.mark.filterwarnings("ignore::aiohttp.web_exceptions.NotAppKeyWarning"),
]

SITE_KW = 1.62


def _ven(url: str) -> tuple[Ven, HttpTransport]:
    async def decide(notice: object) -> OptDecision:
        return OptDecision(opt=OptType.OPT_IN, reason=OptReason.PARTICIPATING)

    async def telemetry() -> list[Reading]:
        return [
            Reading(resource_id="site", power_kw=SITE_KW),
            Reading(resource_id="battery", power_kw=0.9, soc_pct=63.0),
        ]

    settings = VenSettings(
        manufacturer="ACME-CEM",
        serial_number="SN0001",
        resources=(Resource(resource_id="site"), Resource(resource_id="battery", has_soc=True)),
    )
    transport = HttpTransport(url)
    return Ven(settings, transport, decide=decide, telemetry=telemetry), transport


def _status(page: str) -> str:
    found = re.search(r'<td class="status">(\w+)</td>', page)
    assert found is not None, page
    return found.group(1)


def test_the_console_shows_the_ven_its_telemetry_and_the_event_from_far_to_completed(
    tmp_path, caplog
):
    async def flow() -> None:
        dsrsp = DemoDsrsp(
            port=free_port(),
            console_port=free_port(),
            event_after_s=12,  # far for 6 s, near for 6 s (slow machines register late)
            event_minutes=0.1,  # 6 s
            report_interval_s=1,
            poll_s=1,
            state_dir=tmp_path,
        )
        await dsrsp.start()
        assert dsrsp.console_url is not None
        ven, transport = _ven(dsrsp.url)
        stop = asyncio.Event()
        seen: list[str] = []
        ven_seen: list[str] = []
        runner = None
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                empty = await client.get(dsrsp.console_url)
                assert empty.status_code == 200
                assert "No VEN has registered yet" in empty.text
                assert "default-src 'none'" in empty.headers["content-security-policy"]
                runner = asyncio.create_task(ven.run(stop, tick_s=0.2))
                await until(lambda: len(dsrsp.answers) == 1)
                (event_id,) = dsrsp.answers
                await ven.opt_out(event_id)

                async def page() -> str:
                    reply = await client.get(dsrsp.console_url or "")
                    assert reply.status_code == 200
                    seen.append(_status(reply.text))
                    tracked = ven.events.get(event_id)
                    if tracked is not None:
                        ven_seen.append(str(tracked.event.status))
                    return reply.text

                text = await page()
                assert ven.ven_id is not None
                assert ven.ven_id in text
                assert "ACME-CEM" in text
                assert "SN0001" in text
                assert "site/RealPower" in text
                assert "Hold the home&#39;s grid import at 1.5 kW" in text
                assert "optIn (oadrCreatedEvent" in text
                assert "optOut (oadrCreateOpt" in text
                assert "optOut: overrideStatus" in text
                for _ in range(120):  # 12 + 6 s from registration, with room
                    if _status(text) == "completed":
                        break
                    await asyncio.sleep(0.5)
                    text = await page()
                assert f"{SITE_KW:.2f}" in text  # latest telemetry
                assert "state of charge, %</td><td>63.00" in text
                assert "asked 1.50 kW, site averaged 1.62 kW" in text
                assert "not held" not in text
                assert "held" in text
                assert "the VEN opted out, so it owed nothing" in text
                stop.set()
                await runner
                runner = None
                await ven.deregister()
                text = await page()
                assert "cancelled by the VEN" in text
                refused = await client.post(dsrsp.console_url, content=b"x")
                assert refused.status_code == 405
        finally:
            stop.set()
            if runner is not None:
                await runner
            await transport.aclose()
            await dsrsp.stop()
        order = ["far", "near", "active", "completed"]
        assert [s for s in order if s in seen] == order
        assert seen == sorted(seen, key=order.index)
        # the VTN re-sent the event at each change: the home saw it move too (it stayed "far"),
        # and took it as the same event (openleadr's own status update moved createdDateTime)
        assert {"near", "active"} <= set(ven_seen)
        assert "without a new modificationNumber" not in caplog.text

    asyncio.run(flow())


def test_what_a_ven_sent_is_escaped_on_the_page():
    ledger = Ledger()
    at = datetime(2026, 12, 6, 15, tzinfo=UTC)
    ledger.register(new_ven("<script>alert(1)</script>:SN&1", at))
    page = render_console(ledger, at, "http://127.0.0.1:1/x")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "SN&amp;1" in page
