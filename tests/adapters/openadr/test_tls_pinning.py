"""The VTN's fingerprint pin is checked on every new TLS connection, before anything is sent:
a server that changes its certificate between connections is refused from the next one on."""

from __future__ import annotations

import asyncio
import logging
import ssl

import httpx
import pytest

from adapters.openadr import messages as m
from adapters.openadr.tls import TlsSettings, client_context, fingerprint_pem, server_context
from adapters.openadr.transport import HttpTransport, TransportError


class OneShotServer:
    """HTTPS on 127.0.0.1 that answers each request with an empty 200 and closes the
    connection (so the client must open a new one); counts the requests that reach it."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context
        self.requests: list[bytes] = []

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.context)
        return int(self._server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            self.requests.append(head + await reader.readexactly(length))
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass  # the client refused us during or right after the handshake
        finally:
            writer.close()

    async def stop(self) -> None:
        self._server.close()
        await self._server.wait_closed()


@pytest.mark.parametrize("with_ca", [False, True], ids=["pin-only", "pin-and-ca"])
def test_pin_is_checked_on_every_new_connection(pki, with_ca, caplog):
    ca_file, vtn, ven = pki
    # The impostor certificate chains to the same CA: only the pin tells them apart.
    impostor = ven
    server_ctx = server_context(vtn.cert_file, vtn.key_file, ca_file)
    client_ctx = client_context(
        TlsSettings(
            cert_file=ven.cert_file,
            key_file=ven.key_file,
            ca_file=ca_file if with_ca else None,
            vtn_fingerprint=fingerprint_pem(vtn.cert_pem),
        )
    )

    async def flow() -> None:
        server = OneShotServer(server_ctx)
        port = await server.start()
        transport = HttpTransport(f"https://127.0.0.1:{port}/oadr", ssl_context=client_ctx)
        try:
            assert await transport.send(m.Poll(ven_id="v")) is None
            assert len(server.requests) == 1

            server_ctx.load_cert_chain(impostor.cert_file, impostor.key_file)  # next handshakes
            with (
                caplog.at_level(logging.WARNING, logger="adapters.openadr.tls"),
                pytest.raises(TransportError),
            ):
                await transport.send(m.Poll(ven_id="v"))
            assert len(server.requests) == 1  # nothing was sent to the impostor
            assert "refused the VTN's connection" in caplog.text

            server_ctx.load_cert_chain(vtn.cert_file, vtn.key_file)
            assert await transport.send(m.Poll(ven_id="v")) is None
            assert len(server.requests) == 2
        finally:
            await transport.aclose()
            await server.stop()

    asyncio.run(flow())


def test_pin_is_checked_on_blocking_sockets_too(pki):
    ca_file, vtn, ven = pki
    server_ctx = server_context(ven.cert_file, ven.key_file, ca_file)  # not the pinned VTN
    client_ctx = client_context(
        TlsSettings(
            cert_file=ven.cert_file,
            key_file=ven.key_file,
            vtn_fingerprint=fingerprint_pem(vtn.cert_pem),
        )
    )

    async def flow() -> None:
        server = OneShotServer(server_ctx)
        port = await server.start()
        try:

            def blocking_post() -> None:
                with httpx.Client(verify=client_ctx) as client:
                    client.post(f"https://127.0.0.1:{port}/x", content=b"secret")

            with pytest.raises(httpx.ConnectError, match="pinned"):
                await asyncio.to_thread(blocking_post)
            assert server.requests == []
        finally:
            await server.stop()

    asyncio.run(flow())
