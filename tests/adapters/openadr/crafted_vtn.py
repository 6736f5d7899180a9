"""A crafted VTN on 127.0.0.1 (aiohttp) for faults openleadr's VTN cannot produce: each
request is answered by a handler the test gives (a refused report, a compressed bomb...)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from tests.adapters.openadr.vtn_peer import free_port

Answer = Callable[[web.Request], Awaitable[web.StreamResponse]]


class CraftedVtn:
    """Serves every POST under ``/OpenADR2/Simple/2.0b/`` with ``answer``; ``url`` is the VEN's
    base URL."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/OpenADR2/Simple/2.0b"
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> CraftedVtn:
        app = web.Application()
        app.router.add_post("/OpenADR2/Simple/2.0b/{service}", self.answer)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()
