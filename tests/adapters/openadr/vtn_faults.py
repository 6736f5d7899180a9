"""Faults injected into openleadr's VTN (an aiohttp middleware): an outage (every connection cut
before an answer), refused reports (HTTP 500 to oadrUpdateReport), answers swapped for crafted
ones; and a record of when the VEN polled."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Faults:
    def __init__(self) -> None:
        self.down = False
        self.refuse_reports = False
        self.refused_reports = 0
        self.poll_times_s: list[float] = []  # the test loop's clock
        self.poll_answers: list[bytes] = []  # answer the next polls with these bodies
        self.updates_received = 0  # oadrUpdateReport bodies that reached the VTN

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.down:
            if request.transport is not None:
                request.transport.close()
            raise web.HTTPServiceUnavailable()
        if request.path.endswith("/OadrPoll"):
            self.poll_times_s.append(asyncio.get_running_loop().time())
            if self.poll_answers:
                body = self.poll_answers.pop(0)
                return web.Response(body=body, content_type="application/xml")
        update = request.path.endswith("/EiReport") and b"oadrUpdateReport" in await request.read()
        if update and self.refuse_reports:
            self.refused_reports += 1
            return web.Response(status=500, text="report refused")
        self.updates_received += update
        return await handler(request)
