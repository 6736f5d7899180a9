"""Simple HTTP transport (OpenADR 2.0b): POST an oadrPayload to ``<vtn_url>/<service>``.

Outbound messages are rendered (and signed) by the codec; answers are parsed (and verified)
by it. Network failures and HTTP errors become :class:`TransportError` so that the VEN can back
off; a parsed answer is returned as a typed message (None for an empty 200 body). An answer is
read only up to the codec's size limit, counted on the bytes as they arrive: a VTN that sends
more is hung up on, so a hostile or broken VTN cannot make the VEN buffer an endless body.

Compressed answers are refused, not inflated: the VEN asks for ``Accept-Encoding: identity``
and an answer with any other Content-Encoding is a :class:`TransportError` (logged) before a
byte of it is decoded. Why: httpx inflates gzip/deflate/br/zstd before the size check could
run, so a 98 kB gzip answer inflating to 96 MiB raised the VEN's peak memory by 204 MB.
OpenADR payloads are a few kB and the VTNs we talk to need not compress.
"""

from __future__ import annotations

import logging
import ssl
from typing import Protocol

import httpx

from adapters.openadr import codec
from adapters.openadr.messages import (
    CanceledPartyRegistration,
    CanceledReport,
    CancelOpt,
    CancelPartyRegistration,
    CreatedEvent,
    CreatedReport,
    CreateOpt,
    CreatePartyRegistration,
    Message,
    Poll,
    QueryRegistration,
    RegisteredReport,
    RegisterReport,
    RequestEvent,
    Response,
    UpdateReport,
)
from adapters.openadr.schema import MAX_MESSAGE_BYTES, CodecError

log = logging.getLogger(__name__)

SERVICE_OF: dict[type, str] = {
    QueryRegistration: "EiRegisterParty",
    CreatePartyRegistration: "EiRegisterParty",
    CancelPartyRegistration: "EiRegisterParty",
    CanceledPartyRegistration: "EiRegisterParty",
    Response: "EiRegisterParty",
    RequestEvent: "EiEvent",
    CreatedEvent: "EiEvent",
    CreateOpt: "EiOpt",
    CancelOpt: "EiOpt",
    RegisterReport: "EiReport",
    RegisteredReport: "EiReport",
    CreatedReport: "EiReport",
    UpdateReport: "EiReport",
    CanceledReport: "EiReport",
    Poll: "OadrPoll",
}
"""The VTN service endpoint each VEN-sent message goes to."""


class TransportError(Exception):
    """The VTN could not be reached or answered with an HTTP error (retry later)."""


class VtnRefusedError(TransportError):
    """The VTN was reached but refused the message (an HTTP error status) or gave an answer the
    VEN refuses (too large, compressed, invalid). The link works: the VEN retries this one
    message on its own schedule instead of backing off everything (a refused report must not
    stall polling)."""


class Transport(Protocol):
    async def send(self, message: Message) -> Message | None: ...


class TransportTracer(Protocol):
    """Sees the bytes a transport sends and receives, as they are on the wire (the conformance
    runner's tracelog, :mod:`adapters.openadr.conformance.tracelog`). It only records: the
    transport behaves the same with or without one."""

    def sent(self, service: str, body: bytes) -> None: ...

    def received(self, service: str, status: int, body: bytes) -> None: ...

    def failed(self, service: str, reason: str) -> None: ...


class HttpTransport:
    """httpx-based transport; one pooled client per VEN.

    Args:
        vtn_url: base URL, e.g. ``https://vtn.example/OpenADR2/Simple/2.0b``.
        ssl_context: client TLS context (mutual TLS and VTN pinning: see ``tls``); None for
            plain HTTP (tests only).
        signer / verifier: XML signatures (see ``signatures``); None when not used.
        timeout_s: per-request timeout [s].
        max_bytes: the largest answer read [bytes]; a longer one is a :class:`TransportError`.
        tracer: told every body sent and every answer read (None: nothing recorded).
    """

    def __init__(
        self,
        vtn_url: str,
        *,
        ssl_context: ssl.SSLContext | None = None,
        signer: codec.Signer | None = None,
        verifier: codec.Verifier | None = None,
        timeout_s: float = 10.0,
        max_bytes: int = MAX_MESSAGE_BYTES,
        tracer: TransportTracer | None = None,
    ) -> None:
        self.vtn_url = vtn_url.rstrip("/")
        self.tracer = tracer
        self.max_bytes = max_bytes
        self.signer = signer
        self.verifier = verifier
        verify: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._client = httpx.AsyncClient(timeout=timeout_s, verify=verify)

    async def send(self, message: Message) -> Message | None:
        service = SERVICE_OF[type(message)]
        body = codec.render(message, signer=self.signer)
        if self.tracer is not None:
            self.tracer.sent(service, body)
        try:
            async with self._client.stream(
                "POST",
                f"{self.vtn_url}/{service}",
                content=body,
                headers={"Content-Type": "application/xml", "Accept-Encoding": "identity"},
            ) as reply:
                encoding = reply.headers.get("content-encoding", "identity").strip().lower()
                if encoding not in {"", "identity"}:
                    log.warning(
                        "openadr: refused the VTN's answer on %s: Content-Encoding %r (the VEN"
                        " asks for identity and never inflates an answer)",
                        service,
                        encoding,
                    )
                    self._trace_failure(service, f"compressed answer ({encoding}) refused")
                    raise VtnRefusedError(f"{service}: compressed answer ({encoding}) refused")
                content = await _read_at_most(reply, self.max_bytes)
        except httpx.HTTPError as exc:
            self._trace_failure(service, f"{type(exc).__name__}: {exc}")
            raise TransportError(f"{service}: {type(exc).__name__}: {exc}") from exc
        if content is None:
            self._trace_failure(service, f"answer larger than {self.max_bytes} bytes")
            log.warning(
                "openadr: refused the VTN's answer on %s: over %d bytes", service, self.max_bytes
            )
            raise VtnRefusedError(f"{service}: answer larger than {self.max_bytes} bytes")
        if self.tracer is not None:
            self.tracer.received(service, reply.status_code, content)
        if reply.status_code != 200:
            text = content[:200].decode("utf-8", "replace")
            raise VtnRefusedError(f"{service}: HTTP {reply.status_code}: {text}")
        if not content.strip():
            return None
        try:
            return codec.parse(content, verifier=self.verifier, max_bytes=self.max_bytes)
        except CodecError as exc:
            log.warning("openadr: refused the VTN's answer on %s: %s", service, exc)
            self._trace_failure(service, f"answer refused: {exc}")
            raise VtnRefusedError(f"{service}: unusable answer ({exc})") from exc

    async def aclose(self) -> None:
        await self._client.aclose()

    def _trace_failure(self, service: str, reason: str) -> None:
        if self.tracer is not None:
            self.tracer.failed(service, reason)


async def _read_at_most(reply: httpx.Response, max_bytes: int) -> bytes | None:
    """The answer's raw body (never decoded), or None as soon as it is longer than
    ``max_bytes``."""
    declared = reply.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in reply.aiter_raw():
        size += len(chunk)
        if size > max_bytes:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
