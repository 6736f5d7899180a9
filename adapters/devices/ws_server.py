"""What the two device WebSocket servers (the OCPP CSMS and the S2 CEM) share: the TLS
context, the peer's id read from the URL path, the handshake refusal of a client certificate
that names another peer, and listening (start, stop, the bound port, ``async with``).

Each server keeps its own protocol: its subprotocols, credentials and sessions.
"""

from __future__ import annotations

import http
import logging
import ssl
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import unquote, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Response

from adapters.devices.credentials import handshake_logger


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsServerSettings:
    """A device server's TLS (wss://): the OCPP CSMS's and the S2 CEM's, each exported again
    by its package's settings module.

    Attributes:
        cert_file: the server's certificate chain (PEM).
        key_file: its private key (PEM).
        client_ca_file: the CA that signs the devices' client certificates (PEM); a device
            must then present one whose common name is its identity (a charger's OCPP
            identity: security profile 3; an S2 RM's ``rm_id``). None: no client certificate
            asked (OCPP security profile 2).
    """

    cert_file: Path
    key_file: Path
    client_ca_file: Path | None = None


def server_ssl_context(tls: TlsServerSettings) -> ssl.SSLContext:
    """TLS 1.2+ with the server's certificate; with a client CA, a client certificate is
    required."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(tls.cert_file, tls.key_file)
    if tls.client_ca_file is not None:
        context.load_verify_locations(cafile=tls.client_ca_file)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def peer_id_from_path(path: str) -> str:
    """The peer's id (a charger's identity, an RM's id): the URL path's last segment,
    percent-decoded."""
    return unquote(urlsplit(path).path.rstrip("/").rsplit("/", 1)[-1])


def certificate_refusal(
    connection: ServerConnection,
    tls: TlsServerSettings | None,
    peer_id: str,
    kind: str,
    log: logging.Logger,
) -> Response | None:
    """With a client CA, a 403 response (logged as a refused ``kind``) unless the client
    certificate's common name is ``peer_id``; None when it is, or when no CA is set."""
    if tls is None or tls.client_ca_file is None:
        return None
    ssl_object = connection.transport.get_extra_info("ssl_object")
    name = _common_name(ssl_object.getpeercert() if ssl_object else None)
    if name == peer_id:
        return None
    log.warning(
        "refused %s %s from %s: its certificate names %r",
        kind,
        peer_id,
        connection.remote_address,
        name,
    )
    return connection.respond(http.HTTPStatus.FORBIDDEN, "Certificate mismatch\n")


def _common_name(peer_cert: dict[str, Any] | None) -> str | None:
    for rdn in (peer_cert or {}).get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None


class WebSocketServer(ABC):
    """Listening for a device server: ``_listen`` from its ``start``, then ``stop``, ``port``
    and ``async with``. ``_name`` (e.g. "the CSMS") says which in errors."""

    _name = "the server"
    _server: Server | None = None

    @abstractmethod
    async def start(self) -> None:
        """Listen (through ``_listen``); returns once the socket is bound."""

    async def _listen(
        self,
        handler: Callable[[ServerConnection], Awaitable[None]],
        host: str,
        port: int,
        tls: TlsServerSettings | None,
        **options: Any,
    ) -> None:
        """Bind ``host:port`` (TLS when ``tls``); ``options`` go to ``websockets``' serve. Its
        handshake log redacts credentials (``handshake_logger``)."""
        self._server = await serve(
            handler,
            host,
            port,
            logger=handshake_logger(),
            ssl=server_ssl_context(tls) if tls else None,
            **options,
        )

    async def stop(self) -> None:
        """Close every peer's connection and stop listening."""
        if self._server is None:
            return
        self._server.close()
        await self._server.wait_closed()
        self._server = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The bound port (useful with ``port=0``)."""
        if self._server is None:
            raise RuntimeError(f"{self._name} is not running")
        return int(next(iter(self._server.sockets)).getsockname()[1])
