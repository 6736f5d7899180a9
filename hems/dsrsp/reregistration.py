"""Ask a VEN to register again when this demo process did not register it.

A VEN registered with an earlier run of the demo DSRSP keeps polling with its venID after the
demo restarts alone (``hems dsrsp-sim`` restarted, the home still running). The ledger still
knows the VEN, but openleadr's queues do not: no event would be re-sent and no report
requested again, so the console would see the home go silent. openleadr can ask for a
re-registration only through its class-wide ``VTNService.ven_lookup`` (shared by every server
in the process), so the demo does it itself: an oadrPoll from a venID not registered since
this start is answered oadrRequestReregistration (2.0b: the VEN registers again, and gets the
same venID back by its name: :class:`hems.dsrsp_sim.DemoDsrsp`).

The body was already size-checked and screened by the XML guard middleware (which runs first)
and is parsed here with this project's codec; a body it cannot parse goes on to openleadr,
which answers it as before.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from adapters.openadr import codec
from adapters.openadr import messages as m
from adapters.openadr.schema import CodecError

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger(__name__)

Handler = Callable[["web.Request"], Awaitable["web.StreamResponse"]]
Middleware = Callable[["web.Request", Handler], Awaitable["web.StreamResponse"]]


def reregistration_middleware(registered: Callable[[str], bool]) -> Middleware:
    """An aiohttp middleware answering oadrRequestReregistration to an oadrPoll from a venID
    for which ``registered(ven_id)`` is False."""
    from aiohttp import web

    @web.middleware
    async def ask(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.endswith("/OadrPoll"):
            return await handler(request)
        try:
            message = codec.parse(await request.read())
        except CodecError:
            return await handler(request)
        if not isinstance(message, m.Poll) or registered(message.ven_id):
            return await handler(request)
        log.info("demo DSRSP: %s polls unregistered; asking it to register", message.ven_id)
        body = codec.render(m.RequestReregistration(ven_id=message.ven_id))
        return web.Response(body=body, content_type="application/xml")

    return ask
