"""The demo DSRSP's VTN (openleadr's aiohttp server) over real HTTP on 127.0.0.1: hostile XML is
refused before openleadr's parser sees it, and the next legitimate request is still answered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from adapters.openadr import codec
from adapters.openadr import messages as m
from adapters.openadr.xml_guard import MAX_MESSAGE_BYTES
from hems.dsrsp_sim import DemoDsrsp
from tests.adapters.openadr.hostile_xml import HOSTILE_NAMES, hostile_bodies
from tests.adapters.openadr.vtn_peer import free_port

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
