"""A small VTN that pushes (openleadr's VTN cannot): it answers the VEN's own requests with
this package's codec (EiOpt included, which openleadr's VTN does not serve) and POSTs
oadrDistributeEvent, oadrCreateReport, oadrCancelReport and oadrRequestReregistration to the
transport address the VEN registered. Test harness only."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.openadr import codec
from adapters.openadr import messages as m
from adapters.openadr.events import Event
from adapters.openadr.push import SERVICES
from adapters.openadr.reports import ReportMetadata

VTN_ID = "push-vtn"
VEN_ID = "ven-pushed"
REGISTRATION_ID = "reg-push"
XML = "application/xml"
PROFILES = (m.Profile(name="2.0b", transports=("simpleHttp",)),)


class PushingVtn:
    def __init__(
        self,
        signer: codec.Signer | None = None,
        verifier: codec.Verifier | None = None,
        client_ssl: ssl.SSLContext | None = None,
    ) -> None:
        self.signer = signer
        self.verifier = verifier
        self.received: list[m.Message] = []
        self.registrations: list[m.CreatePartyRegistration] = []
        self.metadata: tuple[ReportMetadata, ...] = ()
        self.updates: list[m.UpdateReport] = []
        self.opts: list[m.CreateOpt] = []
        self.events: tuple[Event, ...] = ()  # as last distributed
        self.opts_cancelled: list[str] = []
        self.client = httpx.AsyncClient(timeout=10, verify=client_ssl or True)

    def app(self) -> Starlette:
        return Starlette(routes=[Route(f"/{s}", self._serve, methods=["POST"]) for s in SERVICES])

    async def _serve(self, request: Request) -> Response:
        message = codec.parse(await request.body(), verifier=self.verifier)
        self.received.append(message)
        answer = self.answer(message)
        body = codec.render(answer, signer=self.signer) if answer is not None else b""
        return Response(body, media_type=XML)

    def answer(self, msg: m.Message) -> m.Message | None:
        if isinstance(msg, m.QueryRegistration):
            return m.CreatedPartyRegistration(
                response=m.ok_response(msg.request_id), vtn_id=VTN_ID, profiles=PROFILES
            )
        if isinstance(msg, m.CreatePartyRegistration):
            self.registrations.append(msg)
            return m.CreatedPartyRegistration(
                response=m.ok_response(msg.request_id),
                vtn_id=VTN_ID,
                profiles=PROFILES,
                registration_id=REGISTRATION_ID,
                ven_id=VEN_ID,
            )
        if isinstance(msg, m.RegisterReport):
            self.metadata = msg.reports
            return m.RegisteredReport(response=m.ok_response(msg.request_id), ven_id=VEN_ID)
        if isinstance(msg, m.RequestEvent):  # the full list: a missing event is cancelled
            return m.DistributeEvent(
                request_id=msg.request_id,
                vtn_id=VTN_ID,
                events=self.events,
                response=m.ok_response(msg.request_id),
            )
        if isinstance(msg, m.UpdateReport):
            self.updates.append(msg)
            return m.UpdatedReport(response=m.ok_response(msg.request_id), ven_id=VEN_ID)
        if isinstance(msg, m.CancelPartyRegistration):
            return m.CanceledPartyRegistration(
                response=m.ok_response(msg.request_id),
                registration_id=msg.registration_id,
                ven_id=VEN_ID,
            )
        if isinstance(msg, m.CreateOpt):
            self.opts.append(msg)
            return m.CreatedOpt(response=m.ok_response(msg.request_id), opt_id=msg.opt_id)
        if isinstance(msg, m.CancelOpt):
            self.opts_cancelled.append(msg.opt_id)
            return m.CanceledOpt(response=m.ok_response(msg.request_id), opt_id=msg.opt_id)
        if isinstance(msg, m.Response):
            return None
        request_id = getattr(msg, "request_id", "") or ""
        return m.Response(response=m.ok_response(request_id), ven_id=VEN_ID)

    def of(self, kind: type) -> list[m.Message]:
        return [msg for msg in self.received if isinstance(msg, kind)]

    @property
    def ven_url(self) -> str:
        address = self.registrations[-1].transport_address
        assert address is not None
        return address.rstrip("/")

    async def push(self, service: str, message: m.Message) -> m.Message | None:
        """POST a message to the VEN's endpoint; its answer, parsed (and verified)."""
        if isinstance(message, m.DistributeEvent):
            self.events = message.events
        return await self.push_raw(service, codec.render(message, signer=self.signer))

    async def push_raw(self, service: str, body: bytes) -> m.Message | None:
        reply = await self.client.post(
            f"{self.ven_url}/{service}", content=body, headers={"Content-Type": XML}
        )
        assert reply.status_code == 200, reply.text
        return codec.parse(reply.content, verifier=self.verifier) if reply.content else None

    async def aclose(self) -> None:
        await self.client.aclose()


@contextlib.asynccontextmanager
async def serving(
    app: Any, port: int, ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[None]:
    """Serve an ASGI app on 127.0.0.1:port (uvicorn) in the running loop, over TLS with
    ``ssl_context`` when given."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        ssl_context_factory=(lambda _config, _default: ssl_context) if ssl_context else None,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield
    finally:
        server.should_exit = True
        await task
