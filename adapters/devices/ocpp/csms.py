"""The CEM as the charging station management system (CSMS) of a home's chargers.

A WebSocket server (``websockets``) takes each charger at ``ws[s]://host:port/<identity>``
with subprotocol ``ocpp1.6`` or ``ocpp2.0.1``. The handshake is where a charger is refused:
an unknown identity (404), wrong or missing basic-auth credentials (401), or, with security
profile 3, a client certificate whose common name is not the identity (403). Refusing at the
handshake means an unpaired charger never gets an OCPP session at all.
"""

from __future__ import annotations

import asyncio
import hmac
import http
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

from websockets.asyncio.server import Server, ServerConnection
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed, InvalidHeader
from websockets.headers import build_www_authenticate_basic, parse_authorization_basic
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from adapters.devices.credentials import verify_secret
from adapters.devices.login_throttle import (
    LoginThrottle,
    LoginThrottledError,
    peer_host,
    throttled_response,
)
from adapters.devices.ocpp.link import ChargerLink
from adapters.devices.ocpp.settings import ChargerSettings, CsmsSettings
from adapters.devices.ocpp.state import ChargerEvent, ChargerLive
from adapters.devices.ocpp.v16 import CsmsLinkV16
from adapters.devices.ocpp.v201 import CsmsLinkV201
from adapters.devices.ws_server import WebSocketServer, certificate_refusal
from adapters.devices.ws_server import peer_id_from_path as identity_from_path

log = logging.getLogger(__name__)

SUBPROTOCOLS = (Subprotocol("ocpp2.0.1"), Subprotocol("ocpp1.6"))
_REALM = "hems-csms"
# unknown identities remembered for pairing; more (a scan) push the oldest out
MAX_REFUSED = 32
# how much of an unknown identity is kept and logged
_IDENTITY_CHARS = 48


@dataclass(frozen=True, slots=True)
class RefusedCharger:
    """A charger with an identity not paired that tried to connect: shown to the consumer, who
    may pair it."""

    identity: str
    address: str
    last_attempt_utc: datetime
    attempts: int


class Csms(WebSocketServer):
    """The CSMS: start it (``async with``), then drive chargers through
    :class:`adapters.devices.ocpp.driver.OcppChargerDriver`."""

    _name = "the CSMS"

    def __init__(self, settings: CsmsSettings, login_throttle: LoginThrottle | None = None) -> None:
        self.settings = settings
        self._login_throttle = login_throttle or LoginThrottle()
        self._chargers = {c.identity: c for c in settings.chargers}
        self._listeners: list[Callable[[str, ChargerEvent], None]] = []
        self._live = {c.identity: self._new_live(c.identity) for c in settings.chargers}
        self._links: dict[str, CsmsLinkV16 | CsmsLinkV201] = {}
        self._refused: dict[str, RefusedCharger] = {}
        self._server: Server | None = None

    async def start(self) -> None:
        """Listen; returns once the socket is bound."""
        await self._listen(
            self._serve_charger,
            self.settings.host,
            self.settings.port,
            self.settings.tls,
            subprotocols=list(SUBPROTOCOLS),
            process_request=self._check_request,
            max_size=256 * 1024,
        )
        log.info("CSMS listening on %s:%d", self.settings.host, self.port)

    def charger(self, identity: str) -> ChargerSettings:
        """A paired charger's settings; KeyError if not paired."""
        return self._chargers[identity]

    def pair(self, charger: ChargerSettings) -> None:
        """Pair a charger, or change a paired one's settings (a new password counts from its
        next connection). A charger refused until now gets in at its next attempt."""
        self._chargers[charger.identity] = charger
        if charger.identity not in self._live:
            self._live[charger.identity] = self._new_live(charger.identity)
        self._refused.pop(charger.identity, None)
        log.info("charger %s paired", charger.identity)

    async def unpair(self, identity: str) -> None:
        """Forget a charger and its credentials, and end its session: it is refused from now
        on. KeyError if not paired."""
        del self._chargers[identity]
        link = self._links.pop(identity, None)
        self._live.pop(identity).connected = False
        if link is not None:
            await link.close()
        log.info("charger %s unpaired", identity)

    def subscribe(self, listener: Callable[[str, ChargerEvent], None]) -> None:
        """Call ``listener(identity, event)`` on each charger event (on the CSMS's loop; keep it
        short, schedule any work). A listener that raises is logged and the session goes on."""
        self._listeners.append(listener)

    def _new_live(self, identity: str) -> ChargerLive:
        return ChargerLive(notify=partial(self._notify, identity))

    def _notify(self, identity: str, event: ChargerEvent) -> None:
        for listener in self._listeners:
            try:
                listener(identity, event)
            except Exception:
                log.exception("a listener failed on charger %s's %s event", identity, event)

    def refused_chargers(self) -> list[RefusedCharger]:
        """Unknown identities that tried to connect, the latest last (at most MAX_REFUSED)."""
        return sorted(self._refused.values(), key=lambda r: r.last_attempt_utc)

    def live(self, identity: str) -> ChargerLive:
        """A paired charger's last known state; KeyError if not paired."""
        return self._live[identity]

    def link(self, identity: str) -> ChargerLink | None:
        """The charger's connection, None when it is not connected."""
        return self._links.get(identity)

    async def _check_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        """Refuse an unknown identity, bad credentials or a certificate of another charger."""
        identity = identity_from_path(request.path)
        peer = connection.remote_address
        charger = self._chargers.get(identity)
        if charger is None:
            self._note_refused(identity[:_IDENTITY_CHARS], str(peer))
            return connection.respond(http.HTTPStatus.NOT_FOUND, "Unknown charger\n")
        if charger.password_hash is not None:
            refusal = await self._check_password(connection, request.headers, charger)
            if refusal is not None:
                return refusal
        return certificate_refusal(connection, self.settings.tls, identity, "charger", log)

    def _note_refused(self, identity: str, address: str) -> None:
        """Remember an unknown identity for pairing; its first attempt is logged as a warning,
        its retries (a charger retries for ever) at debug level."""
        earlier = self._refused.pop(identity, None)
        attempts = 1 if earlier is None else earlier.attempts + 1
        level = logging.WARNING if earlier is None else logging.DEBUG
        log.log(level, "refused a charger with unknown identity %r from %s", identity, address)
        self._refused[identity] = RefusedCharger(identity, address, datetime.now(UTC), attempts)
        while len(self._refused) > MAX_REFUSED:
            del self._refused[next(iter(self._refused))]

    async def _check_password(
        self, connection: ServerConnection, headers: Headers, charger: ChargerSettings
    ) -> Response | None:
        """Basic auth: the user name is the identity, the password verified against its hash
        (scrypt, in a worker thread: it takes ~0.1 s of CPU on purpose), failures throttled
        (adapters/devices/login_throttle.py: 429 with Retry-After)."""
        password_hash = charger.password_hash
        assert password_hash is not None
        try:
            username, password = parse_authorization_basic(headers["Authorization"])
        except (KeyError, InvalidHeader):
            username, password = "", ""
        right_user = hmac.compare_digest(username.encode(), charger.identity.encode())
        try:
            right = await self._login_throttle.verify(
                charger.identity,
                peer_host(connection.remote_address),
                lambda: verify_secret(password, password_hash) and right_user,
            )
        except LoginThrottledError as exc:
            log.debug("refused charger %s: too many failed logins", charger.identity)
            return throttled_response(connection, exc)
        if right:
            return None
        log.warning(
            "refused charger %s from %s: missing or wrong basic-auth credentials",
            charger.identity,
            connection.remote_address,
        )
        response = connection.respond(http.HTTPStatus.UNAUTHORIZED, "Invalid credentials\n")
        response.headers["WWW-Authenticate"] = build_www_authenticate_basic(_REALM)
        return response

    async def _serve_charger(self, connection: ServerConnection) -> None:
        """One charger's session, from handshake to close; nothing it does ends the server."""
        identity = identity_from_path(connection.request.path if connection.request else "")
        version = connection.subprotocol
        live = self._live.get(identity)
        if live is None:  # unpaired between its handshake and now
            await connection.close(code=1008, reason="not paired")
            return
        settings = self.settings
        link: CsmsLinkV16 | CsmsLinkV201
        link_type = CsmsLinkV16 if version == "ocpp1.6" else CsmsLinkV201
        link = link_type(
            identity,
            connection,
            live,
            heartbeat_interval_s=settings.heartbeat_interval_s,
            response_timeout_s=settings.response_timeout_s,
        )
        previous = self._links.get(identity)
        if previous is not None:
            log.warning("charger %s connected again: its older connection is closed", identity)
            await previous.close()
        self._links[identity] = link
        live.connected = True
        live.ocpp_version = version
        live.seen()
        log.info("charger %s connected (%s) from %s", identity, version, connection.remote_address)
        try:
            await link.start()
        except ConnectionClosed as closed:
            log.warning("charger %s disconnected: %s", identity, closed)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("charger %s: its session failed", identity)
        finally:
            link.closed.set()
            if self._links.get(identity) is link:
                del self._links[identity]
                live.connected = False
                live.notify(ChargerEvent.DISCONNECTED)
