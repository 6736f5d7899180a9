"""The CEM's S2 WebSocket server: resource managers connect to it, as s2-ws-json has it.

Each RM connects to ``ws[s]://host:port/<rm_id>``. It is refused at the WebSocket handshake,
before any S2 message, when its ``rm_id`` is not paired (404), its bearer token is missing or
wrong (401), or, with a client CA, its certificate does not name its ``rm_id`` (403); a
resource with another ``resource_id`` than the one paired is refused at its
ResourceManagerDetails. Nothing an RM sends ends the server.
"""

from __future__ import annotations

import asyncio
import http
import logging
from collections.abc import Callable
from enum import StrEnum

from websockets.asyncio.server import Server, ServerConnection
from websockets.http11 import Request, Response

from adapters.devices.credentials import verify_secret
from adapters.devices.login_throttle import (
    LoginThrottle,
    LoginThrottledError,
    peer_host,
    throttled_response,
)
from adapters.devices.s2.session import RmSession
from adapters.devices.s2.settings import CemSettings, ResourceManagerSettings
from adapters.devices.ws_server import WebSocketServer, certificate_refusal
from adapters.devices.ws_server import peer_id_from_path as rm_id_from_path
from kernel.devices import DeviceUnavailableError

log = logging.getLogger(__name__)

_BEARER = "bearer "
_SHOWN_ID_CHARS = 64


class RmEvent(StrEnum):
    """What an S2 listener hears about an RM (``S2Cem.subscribe``): set up (connected, FRBC
    selected and described: send the plan, again after a reconnection), or disconnected."""

    READY = "ready"
    DISCONNECTED = "disconnected"


class S2Cem(WebSocketServer):
    """The CEM side of S2: start it (``async with``), then drive each paired RM through
    :class:`adapters.devices.s2.driver.S2FrbcDriver`."""

    _name = "the S2 CEM"

    def __init__(self, settings: CemSettings, login_throttle: LoginThrottle | None = None) -> None:
        self.settings = settings
        self._login_throttle = login_throttle or LoginThrottle()
        self._rms = {rm.rm_id: rm for rm in settings.resource_managers}
        self._sessions: dict[str, RmSession] = {}
        self._server: Server | None = None
        self._listeners: list[Callable[[str, RmEvent], None]] = []

    def subscribe(self, listener: Callable[[str, RmEvent], None]) -> None:
        """Call ``listener(rm_id, event)`` on each RM event (on the server's loop; keep it
        short, schedule any work). A listener that raises is logged and the session goes on."""
        self._listeners.append(listener)

    def _notify(self, rm_id: str, event: RmEvent) -> None:
        for listener in self._listeners:
            try:
                listener(rm_id, event)
            except Exception:
                log.exception("a listener failed on resource manager %s's %s event", rm_id, event)

    async def _when_ready(self, rm_id: str, session: RmSession) -> None:
        await session.ready.wait()
        self._notify(rm_id, RmEvent.READY)

    async def start(self) -> None:
        """Listen; returns once the socket is bound."""
        await self._listen(
            self._serve,
            self.settings.host,
            self.settings.port,
            self.settings.tls,
            process_request=self._check_request,
            max_size=self.settings.max_message_bytes,
        )
        log.info("S2 CEM listening on %s:%d", self.settings.host, self.port)

    def resource_manager(self, rm_id: str) -> ResourceManagerSettings:
        """A paired RM's settings; KeyError if not paired."""
        return self._rms[rm_id]

    def pair(self, rm: ResourceManagerSettings) -> None:
        """Pair an RM, or change a paired one's settings (from its next connection)."""
        self._rms[rm.rm_id] = rm
        log.info("resource manager %s paired", rm.rm_id)

    async def unpair(self, rm_id: str) -> None:
        """Forget an RM and its token, and end its session. KeyError if not paired."""
        del self._rms[rm_id]
        session = self._sessions.pop(rm_id, None)
        if session is not None:
            await session.close(1008, "unpaired")
        log.info("resource manager %s unpaired", rm_id)

    def session(self, rm_id: str) -> RmSession | None:
        """The RM's current session, None when it is not connected."""
        return self._sessions.get(rm_id)

    async def wait_ready(self, rm_id: str, timeout_s: float) -> RmSession:
        """The RM's session once FRBC is selected and the RM has described its system.

        Raises:
            DeviceUnavailableError: not within ``timeout_s``.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            session = self._sessions.get(rm_id)
            if session is not None and session.ready.is_set():
                return session
            if loop.time() >= deadline:
                raise DeviceUnavailableError(
                    f"resource manager {rm_id} is not connected and set up for FRBC"
                )
            await asyncio.sleep(0.01)

    async def _check_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        """Refuse an unknown RM, a missing or wrong token (verified against its hash in a
        worker thread: scrypt takes ~0.1 s of CPU on purpose; failures throttled, 429 with
        Retry-After: adapters/devices/login_throttle.py), or another RM's certificate."""
        rm_id = rm_id_from_path(request.path)
        peer = connection.remote_address
        rm = self._rms.get(rm_id)
        if rm is None:
            log.warning(
                "refused an S2 resource manager with unknown id %r from %s",
                rm_id[:_SHOWN_ID_CHARS],
                peer,
            )
            return connection.respond(http.HTTPStatus.NOT_FOUND, "Unknown resource manager\n")
        token_hash = rm.token_hash
        if token_hash is not None:
            header = request.headers.get("Authorization", "")
            presented = header[len(_BEARER) :] if header.lower().startswith(_BEARER) else ""
            try:
                right = await self._login_throttle.verify(
                    rm_id, peer_host(peer), lambda: verify_secret(presented, token_hash)
                )
            except LoginThrottledError as exc:
                log.debug("refused resource manager %s: too many failed logins", rm_id)
                return throttled_response(connection, exc)
            if not right:
                log.warning(
                    "refused resource manager %s from %s: missing or wrong bearer token",
                    rm_id,
                    peer,
                )
                response = connection.respond(http.HTTPStatus.UNAUTHORIZED, "Invalid token\n")
                response.headers["WWW-Authenticate"] = 'Bearer realm="hems-s2"'
                return response
        return certificate_refusal(connection, self.settings.tls, rm_id, "resource manager", log)

    async def _serve(self, connection: ServerConnection) -> None:
        """One RM's session; nothing it does ends the server."""
        rm_id = rm_id_from_path(connection.request.path if connection.request else "")
        rm = self._rms.get(rm_id)
        if rm is None:  # unpaired between its handshake and now
            await connection.close(code=1008, reason="not paired")
            return
        session = RmSession(rm, connection, self.settings)
        previous = self._sessions.get(rm_id)
        if previous is not None:
            log.warning("resource manager %s connected again: its older connection closed", rm_id)
            await previous.close(1000, "replaced by a newer connection")
        self._sessions[rm_id] = session
        log.info("resource manager %s connected from %s", rm_id, connection.remote_address)
        ready = asyncio.create_task(self._when_ready(rm_id, session))
        try:
            await session.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("resource manager %s: its session failed", rm_id)
        finally:
            ready.cancel()
            if self._sessions.get(rm_id) is session:
                del self._sessions[rm_id]
            log.info(
                "resource manager %s disconnected: %s",
                rm_id,
                session.close_reason or "connection closed",
            )
            self._notify(rm_id, RmEvent.DISCONNECTED)
