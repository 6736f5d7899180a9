"""A demo DSRSP: openleadr's VTN on localhost that registers any CEM, asks for its telemetry,
and a few minutes later sends each registered VEN an event asking the home to hold its grid
import at a set power (LOAD_DISPATCH setpoint, :mod:`hems.dsrsp.demo_event`). It records what
it saw (:mod:`hems.dsrsp.ledger`) and takes opt-outs (EiOpt, :mod:`hems.dsrsp.eiopt`).

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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapters.openadr.xml_guard import (
    MAX_MESSAGE_BYTES,
    HostileXmlError,
    XmlTooLargeError,
    check_untrusted_xml,
)
from hems.dsrsp.console import console_app, serve_console
from hems.dsrsp.demo_event import new_event, status_at, status_changes_utc, to_openleadr
from hems.dsrsp.eiopt import eiopt_handler
from hems.dsrsp.ledger import POWER, SOC, Answer, EventRecord, Ledger, new_ven
from hems.dsrsp.reregistration import reregistration_middleware

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger(__name__)
VTN_ID = "demo-dsrsp"
VTN_PATH = "/OpenADR2/Simple/2.0b"
LEDGER_FILE = "demo-dsrsp.json"

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
    """The demo VTN and what it saw (its :class:`~hems.dsrsp.ledger.Ledger`).

    A VEN is known by its oadrVenName: registering again (after a restart of the home, or of
    the demo when ``state_dir`` keeps its records) gives back the same venID and re-sends its
    event still to come instead of a new one; a VEN with no event to come gets one
    ``event_after_s`` after it registers.

    Attributes:
        port: where it listens on 127.0.0.1.
        event_after_s: delay from a VEN's registration to its event [s].
        event_kw: the site power the event asks the home to hold [kW] (LOAD_DISPATCH setpoint,
            see :mod:`hems.dsrsp.demo_event`).
        event_minutes: how long the event lasts [min].
        report_interval_s: how often it asks for the VENs' power readings [s] (at least the
            VEN's minimum).
        poll_s: the oadrPoll period it asks of the VENs [s].
        state_dir: where the records are kept (``demo-dsrsp.json``); None: in memory only.
        console_port: where its console page listens on 127.0.0.1 (:mod:`hems.dsrsp.console`);
            None: no console.
    """

    port: int = 8081
    event_after_s: float = 180.0
    event_kw: float = 1.5
    event_minutes: float = 60.0
    report_interval_s: float = 10.0
    poll_s: float = 10.0
    state_dir: Path | None = None
    console_port: int | None = None
    ledger: Ledger = field(init=False)
    _server: Any = None
    _console: Any = None
    _live: set[str] = field(default_factory=set)
    """The venIDs registered with this run (see :mod:`hems.dsrsp.reregistration`)."""
    _timers: list[asyncio.TimerHandle] = field(default_factory=list)

    def __post_init__(self) -> None:
        path = self.state_dir / LEDGER_FILE if self.state_dir is not None else None
        self.ledger = Ledger(path)

    @property
    def url(self) -> str:
        return vtn_url(self.port)

    @property
    def console_url(self) -> str | None:
        return None if self.console_port is None else f"http://127.0.0.1:{self.console_port}/"

    @property
    def registered(self) -> dict[str, str]:
        """venName -> venID of the registered VENs."""
        return {v.ven_name: v.ven_id for v in self.ledger.data.vens.values()}

    @property
    def answers(self) -> dict[str, str]:
        """eventID -> the last answer (optIn / optOut) to each event answered."""
        return {e: r.answers[-1].opt_type for e, r in self.ledger.data.events.items() if r.answers}

    @property
    def readings(self) -> dict[str, float]:
        """``venID/resourceID`` -> the last power reading [kW]."""
        readings = self.ledger.readings.items()
        return {
            f"{v}/{r}": vals[-1][1] for (v, r, what), vals in readings if what == POWER and vals
        }

    async def start(self) -> None:
        # signxml, which openleadr imports, is imported first by our signatures module, which
        # keeps its DSA deprecation warning out of the service's log
        import adapters.openadr.signatures  # noqa: F401, I001 (before openleadr, see above)
        from aiohttp import web
        from openleadr import OpenADRServer  # the independent peer, from the dev/openadr extra

        for noisy in ("openleadr", "aiohttp.access"):  # they log every message in full
            logging.getLogger(noisy).setLevel(logging.WARNING)

        server = OpenADRServer(
            vtn_id=VTN_ID,
            http_host="127.0.0.1",
            http_port=self.port,
            requested_poll_freq=timedelta(seconds=self.poll_s),
        )
        server.app.middlewares.append(xml_guard_middleware())  # before run() freezes the app
        server.app.middlewares.append(reregistration_middleware(self._live.__contains__))
        # openleadr has no EiOpt service: an opt-out would be a 404 (hems.dsrsp.eiopt)
        server.app.add_routes([web.post(f"{VTN_PATH}/EiOpt", eiopt_handler(self.ledger))])
        server.add_handler("on_create_party_registration", self._on_register)
        server.add_handler("on_register_report", self._on_register_report)
        server.add_handler("on_cancel_party_registration", self._on_cancel)
        await server.run()
        self._server = server
        log.info("demo DSRSP (VTN) listening on %s", self.url)
        if self.console_port is not None:
            app = console_app(self.ledger, self.url)
            try:
                self._console = await serve_console(app, self.console_port)
            except OSError as exc:  # the VTN is what the home needs: it runs on
                log.error("demo DSRSP console not started on %s: %s", self.console_url, exc)
            else:
                log.info("demo DSRSP console on %s", self.console_url)

    async def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        if self._console is not None:
            await self._console.cleanup()
        if self._server is not None:
            await self._server.stop()

    async def _on_register(self, info: dict[str, Any]) -> tuple[str, str] | bool:
        name = str(info.get("ven_name"))
        known = self.ledger.ven_by_name(name)
        if known is None:
            known = new_ven(name, datetime.now(UTC))
            try:
                self.ledger.register(known)
            except ValueError as exc:  # the ledger is full
                log.warning("demo DSRSP: %s not registered: %s", name, exc)
                return False
            log.info("demo DSRSP: registered %s as %s", name, known.ven_id)
        else:
            log.info("demo DSRSP: %s registered again as %s", name, known.ven_id)
            if known.cancelled_utc is not None:
                known.cancelled_utc = None
                self.ledger.save()
        self._live.add(known.ven_id)
        self._send_events(known.ven_id)
        return known.ven_id, known.registration_id

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
        self.ledger.offered(ven_id, str(resource_id), str(measurement))
        if measurement not in (POWER, SOC):
            return None

        def collect(values: list[tuple[datetime, float]], key: str = str(resource_id)) -> None:
            for at_utc, value in values:
                self.ledger.reading(ven_id, key, at_utc, float(value), str(measurement))

        every = max(timedelta(seconds=self.report_interval_s), min_sampling_interval or timedelta())
        return collect, every, every

    async def _on_cancel(self, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        ven_id = str(payload.get("ven_id"))
        self.ledger.cancelled(ven_id, datetime.now(UTC))
        self._live.discard(ven_id)
        log.info("demo DSRSP: %s cancelled its registration", ven_id)
        return "oadrCanceledPartyRegistration", {
            "registration_id": payload.get("registration_id"),
            "ven_id": payload.get("ven_id"),
        }

    def _send_events(self, ven_id: str) -> None:
        """Queue the VEN's events still to come (again, for openleadr, after a restart or a
        re-registration) or, when it has none, a new one."""
        now = datetime.now(UTC)
        queued = {e.event_descriptor.event_id for e in self._server.events.get(ven_id, [])}
        to_come = [e for e in self.ledger.events_of(ven_id) if status_at(e, now) != "completed"]
        if not to_come:
            notice_s = min(60.0, self.event_after_s / 2)
            event = new_event(
                ven_id,
                start_utc=now + timedelta(seconds=self.event_after_s),
                value_kw=self.event_kw,
                minutes=self.event_minutes,
                notice_s=notice_s,
            )
            self.ledger.add_event(event)
            to_come = [event]
            log.info(
                "demo DSRSP: event %s for %s: %s, from %s",
                event.event_id,
                ven_id,
                event.description,
                event.start_utc.isoformat(timespec="seconds"),
            )
        for event in to_come:
            if event.event_id not in queued:
                self._queue(event)

    def _queue(self, event: EventRecord) -> None:
        """Give openleadr the event, and tell it to re-send it at each change of status."""
        loop = asyncio.get_running_loop()
        ven_id = event.ven_id

        def answered(ven_id: str, event_id: str, opt_type: str) -> None:
            # openleadr forgets the callback after the first answer: keep hearing them
            self._server.event_callbacks[event_id] = (openleadr_event, answered)
            self.ledger.answer(
                event_id,
                Answer(at_utc=datetime.now(UTC), opt_type=opt_type, via="oadrCreatedEvent"),
            )
            log.info("demo DSRSP: %s answered %s to %s", ven_id, opt_type, event_id)

        def changed() -> None:
            # the new status set here, not left to openleadr: it would also move the event's
            # createdDateTime, which a VEN may take for a change without a new modification
            descriptor = openleadr_event.event_descriptor
            if descriptor.event_status != "cancelled":
                descriptor.event_status = status_at(event, datetime.now(UTC))
            self._server.events_updated[ven_id] = True

        openleadr_event = to_openleadr(event)
        active_period = openleadr_event.active_period
        self._server.add_raw_event(ven_id, openleadr_event, callback=answered)
        # add_raw_event replaces the active period by one computed from the intervals, without
        # the ramp-up period that makes openleadr call the event "near" before it starts
        openleadr_event.active_period = active_period
        for at_utc in status_changes_utc(event):
            delay_s = (at_utc - datetime.now(UTC)).total_seconds()
            if delay_s > 0:
                self._timers.append(loop.call_later(delay_s + 0.5, changed))
