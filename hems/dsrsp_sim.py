"""A demo DSRSP: openleadr's VTN on localhost that registers any CEM, asks for its telemetry,
and a few minutes later sends each registered VEN a LOAD_DISPATCH event (an import limit).

``hems dsrsp-sim`` runs it alone; ``hems run --demo`` runs that command as a child process
(:mod:`hems.dsrsp_process`) so that ``make run`` shows the whole loop (registration, the event,
the home's re-plan and its answer) and a crash of the VTN cannot take the service with it.

Every request is checked by :func:`xml_guard_middleware` before openleadr parses it: openleadr
validates with lxml's default parser, which expands entities (a 634-byte billion-laughs body
segfaulted libxml2 2.14.6 in it).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from adapters.openadr.xml_guard import (
    MAX_MESSAGE_BYTES,
    HostileXmlError,
    XmlTooLargeError,
    check_untrusted_xml,
)

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger(__name__)
VTN_ID = "demo-dsrsp"
VTN_PATH = "/OpenADR2/Simple/2.0b"

Handler = Callable[["web.Request"], Awaitable["web.StreamResponse"]]
Middleware = Callable[["web.Request", Handler], Awaitable["web.StreamResponse"]]


def vtn_url(port: int) -> str:
    """The demo VTN's base URL on 127.0.0.1."""
    return f"http://127.0.0.1:{port}{VTN_PATH}"


def xml_guard_middleware(max_bytes: int = MAX_MESSAGE_BYTES) -> Middleware:
    """An aiohttp middleware that reads each request body up to ``max_bytes`` and refuses it,
    unparsed, with 413 (too large) or 400 (not UTF-8, DOCTYPE, ENTITY, processing instruction),
    see :mod:`adapters.openadr.xml_guard`; the handler gets a request whose body is already
    read (aiohttp caches it), so it cannot read past the limit either."""
    from aiohttp import web

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.content_length is not None and request.content_length > max_bytes:
            return _refused(request, 413, f"message larger than {max_bytes} bytes")
        bounded = request.clone(client_max_size=max_bytes)
        try:
            body = await bounded.read()
        except web.HTTPRequestEntityTooLarge:
            return _refused(request, 413, f"message larger than {max_bytes} bytes")
        try:
            check_untrusted_xml(body, max_bytes=max_bytes)
        except XmlTooLargeError as exc:
            return _refused(request, 413, str(exc))
        except HostileXmlError as exc:
            return _refused(request, 400, str(exc))
        return await handler(bounded)

    return guard


def _refused(request: web.Request, status: int, reason: str) -> web.StreamResponse:
    from aiohttp import web

    log.warning("demo DSRSP: refused %s from %s: %s", request.path, request.remote, reason)
    return web.Response(status=status, text=f"refused: {reason}\n")


def serve_until_stopped(
    sim: DemoDsrsp, *, on_ready: Callable[[], None], supervised: bool = False
) -> None:
    """Run ``sim`` until SIGTERM or SIGINT; ``supervised`` (a child of ``hems run``), until
    SIGTERM or its stdin closes (the parent stopped, or died: the kernel closes the pipe), and
    SIGINT is ignored (Ctrl-C reaches the whole process group; the parent decides)."""

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        if supervised:
            loop.add_signal_handler(signal.SIGINT, lambda: None)
            stdin = sys.stdin.fileno()

            def on_stdin() -> None:
                try:
                    data = os.read(stdin, 4096)
                except OSError:
                    data = b""
                if not data:
                    loop.remove_reader(stdin)
                    stop.set()

            loop.add_reader(stdin, on_stdin)
        else:
            loop.add_signal_handler(signal.SIGINT, stop.set)
        await sim.start()
        on_ready()
        try:
            await stop.wait()
        finally:
            await sim.stop()

    asyncio.run(serve())


@dataclass
class DemoDsrsp:
    """The demo VTN and what it saw.

    Attributes:
        port: where it listens on 127.0.0.1.
        event_after_s: delay from a VEN's registration to its event [s].
        event_kw: the import limit the event asks for [kW] (LOAD_DISPATCH setpoint).
        event_minutes: how long the event lasts [min].
    """

    port: int = 8081
    event_after_s: float = 180.0
    event_kw: float = 1.5
    event_minutes: int = 60
    registered: dict[str, str] = field(default_factory=dict)
    readings: dict[str, float] = field(default_factory=dict)
    answers: dict[str, str] = field(default_factory=dict)
    _server: Any = None

    @property
    def url(self) -> str:
        return vtn_url(self.port)

    async def start(self) -> None:
        # signxml, which openleadr imports, is imported first by our signatures module, which
        # keeps its DSA deprecation warning out of the service's log
        import adapters.openadr.signatures  # noqa: F401, I001 (before openleadr, see above)
        from openleadr import OpenADRServer  # the independent peer, from the dev/openadr extra

        for noisy in ("openleadr", "aiohttp.access"):  # they log every message in full
            logging.getLogger(noisy).setLevel(logging.WARNING)

        server = OpenADRServer(
            vtn_id=VTN_ID,
            http_host="127.0.0.1",
            http_port=self.port,
            requested_poll_freq=timedelta(seconds=10),
        )
        server.app.middlewares.append(xml_guard_middleware())  # before run() freezes the app
        server.add_handler("on_create_party_registration", self._on_register)
        server.add_handler("on_register_report", self._on_register_report)
        server.add_handler("on_cancel_party_registration", self._on_cancel)
        await server.run()
        self._server = server
        log.info("demo DSRSP (VTN) listening on %s", self.url)

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop()

    async def _on_register(self, info: dict[str, Any]) -> tuple[str, str]:
        name = str(info.get("ven_name"))
        ven_id = self.registered.get(name) or f"ven-{uuid.uuid4().hex[:8]}"
        self.registered[name] = ven_id
        log.info("demo DSRSP: registered %s as %s", name, ven_id)
        self._schedule_event(ven_id)
        return ven_id, f"reg-{ven_id}"

    async def _on_register_report(
        self,
        ven_id: str,
        resource_id: str,
        measurement: str,
        unit: str,
        scale: str,
        min_sampling_interval: timedelta,
        max_sampling_interval: timedelta,
    ) -> Any:
        if measurement != "RealPower":
            return None

        def collect(values: list[tuple[datetime, float]], key: str = resource_id) -> None:
            if values:
                self.readings[f"{ven_id}/{key}"] = values[-1][1]

        return collect, timedelta(seconds=10), timedelta(seconds=10)

    async def _on_cancel(self, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return "oadrCanceledPartyRegistration", {
            "registration_id": payload.get("registration_id"),
            "ven_id": payload.get("ven_id"),
        }

    def _schedule_event(self, ven_id: str) -> None:
        from openleadr import objects as ol

        start = datetime.now(UTC) + timedelta(seconds=self.event_after_s)
        event_id = f"demo-{uuid.uuid4().hex[:6]}"
        event = ol.Event(
            event_descriptor=ol.EventDescriptor(
                event_id=event_id,
                modification_number=0,
                market_context="http://demo-dsrsp.local/flex",
                event_status="far",
                created_date_time=datetime.now(UTC),
            ),
            active_period=ol.ActivePeriod(
                dtstart=start, duration=timedelta(minutes=self.event_minutes)
            ),
            event_signals=[
                ol.EventSignal(
                    intervals=[
                        ol.Interval(
                            dtstart=start,
                            duration=timedelta(minutes=self.event_minutes),
                            signal_payload=self.event_kw,
                            uid=0,
                        )
                    ],
                    signal_name="LOAD_DISPATCH",
                    signal_type="setpoint",
                    signal_id=f"{event_id}-sig",
                    measurement=ol.Measurement(
                        name="powerReal",
                        description="RealPower",
                        unit="W",
                        scale="k",
                        power_attributes=ol.PowerAttributes(),
                    ),
                )
            ],
            targets=[ol.Target(ven_id=ven_id)],
            response_required="always",
        )

        def answered(ven_id: str, event_id: str, opt_type: str) -> None:
            self.answers[event_id] = opt_type
            log.info("demo DSRSP: %s answered %s to %s", ven_id, opt_type, event_id)

        self._server.add_raw_event(ven_id, event, callback=answered)
        log.info(
            "demo DSRSP: event %s for %s: site at %.1f kW from %s for %d min",
            event_id,
            ven_id,
            self.event_kw,
            start.isoformat(timespec="seconds"),
            self.event_minutes,
        )
