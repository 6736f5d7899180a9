"""A VTN answering with a gzip bomb (98 kB inflating to 96 MiB): the transport refuses it at the
HTTP layer with a logged reason and never inflates it (peak memory stays small)."""

from __future__ import annotations

import asyncio
import logging
import tracemalloc
import zlib

import pytest
from aiohttp import web

from adapters.openadr import messages as m
from adapters.openadr.transport import HttpTransport, TransportError
from tests.adapters.openadr.crafted_vtn import CraftedVtn

INFLATED_BYTES = 96 * 2**20


def _gzip_bomb() -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: a gzip stream
    block = b"<oadrPayload>" + b" " * (2**20 - 13)
    parts = [packer.compress(block) for _ in range(INFLATED_BYTES // 2**20)]
    return b"".join(parts) + packer.flush()


def test_a_gzip_bomb_answer_is_refused_without_inflating_it(caplog):
    bomb = _gzip_bomb()
    assert len(bomb) < 200_000
    seen_encodings: list[str] = []

    async def answer(request: web.Request) -> web.StreamResponse:
        seen_encodings.append(request.headers.get("Accept-Encoding", ""))
        return web.Response(
            body=bomb, headers={"Content-Encoding": "gzip", "Content-Type": "application/xml"}
        )

    async def scenario() -> int:
        async with CraftedVtn(answer) as vtn:
            transport = HttpTransport(vtn.url)  # the default 1 MiB limit
            try:
                tracemalloc.start()
                base, _ = tracemalloc.get_traced_memory()
                with pytest.raises(TransportError, match="compressed answer"):
                    await transport.send(m.Poll(ven_id="ven-1"))
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
            finally:
                await transport.aclose()
        return peak - base

    with caplog.at_level(logging.WARNING, logger="adapters.openadr"):
        growth_bytes = asyncio.run(scenario())
    assert growth_bytes < 4 * 2**20, growth_bytes  # not the 96 MiB (204 MB peak before)
    assert seen_encodings == ["identity"]
    assert any(
        "refused the VTN's answer on OadrPoll: Content-Encoding 'gzip'" in r.getMessage()
        for r in caplog.records
    )
