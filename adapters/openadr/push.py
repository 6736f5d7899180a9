"""Push mode: the VEN's own endpoint, where the VTN POSTs oadrPayload messages.

Chosen at registration (``VenSettings(pull=False, push_url=...)``: oadrHttpPullModel false and
the endpoint as oadrTransportAddress). :func:`push_routes` returns Starlette routes the service
mounts under its push URL (``<push_url>/EiEvent``, ``/EiReport``, ``/EiRegisterParty``...).
Each request body is read up to the size limit (a longer one is refused without being read
further), goes through the codec (no DTD, schema, signature and replay checks when a verifier
is given) and :meth:`Ven.handle`; the answer (oadrCreatedEvent, oadrCreatedReport,
oadrCanceledReport, oadrResponse...) is the HTTP response body, signed when the VEN signs.

A message that fails the codec is answered with an oadrResponse carrying its response code
(454 malformed or invalid, 453 not an OpenADR payload, 463 unsigned/wrongly signed/stale/
replayed); a failure while handling a valid message is logged and answered with 469. Every
answer is HTTP 200 with an OpenADR body, as 2.0b transports errors; the endpoint never raises.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.openadr import codec
from adapters.openadr import messages as m
from adapters.openadr.schema import MAX_MESSAGE_BYTES, CodecError
from adapters.openadr.vocab import ResponseCode

if TYPE_CHECKING:
    from adapters.openadr.ven import Ven


class PushTracer(Protocol):
    """Sees each push as it arrived and the answer as it leaves (the conformance runner's
    tracelog); it only records."""

    def pushed(self, service: str, body: bytes) -> None: ...

    def answered(self, service: str, body: bytes) -> None: ...


log = logging.getLogger(__name__)

SERVICES = ("EiEvent", "EiReport", "EiRegisterParty", "EiOpt", "OadrPoll")
XML = "application/xml"


async def read_limited(request: Request, max_bytes: int) -> bytes | None:
    """The request body, or None as soon as it exceeds ``max_bytes``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def push_routes(
    ven: Ven,
    verifier: codec.Verifier | None = None,
    *,
    max_bytes: int = MAX_MESSAGE_BYTES,
    one_push_per_connection: bool = False,
    tracer: PushTracer | None = None,
) -> list[Route]:
    """Routes for the VTN's pushes, one per 2.0b service (same handling for each).

    ``one_push_per_connection``: each answer closes its connection (``Connection: close``),
    so every push comes on a new TLS connection whose handshake checks the VTN's certificate
    (``tls.server_context(vtn_fingerprint=...)``): the pin is compared on each push, not once
    per keep-alive connection. Pushes are rare; a handshake costs milliseconds.
    ``tracer`` is told each push body read and each answer (it only records)."""
    headers = {"Connection": "close"} if one_push_per_connection else None

    def error(code: ResponseCode, description: str) -> m.Message:
        response = m.EiResponse(code=code, request_id="", description=description)
        return m.Response(response=response, ven_id=ven.ven_id)

    async def endpoint(request: Request) -> Response:
        answer: m.Message | None
        body = await read_limited(request, max_bytes)
        service = request.url.path.rsplit("/", 1)[-1]
        if tracer is not None and body is not None:
            tracer.pushed(service, body)
        if body is None:
            log.warning("openadr push: refused a message larger than %d bytes", max_bytes)
            answer = error(ResponseCode.INVALID_DATA, f"message larger than {max_bytes} bytes")
        else:
            try:
                message = codec.parse(body, verifier=verifier, max_bytes=max_bytes)
            except CodecError as exc:
                log.warning("openadr push: refused a message: %s", exc)
                answer = error(exc.code, exc.description)
            else:
                try:
                    answer = await ven.handle(message)
                except Exception:  # a trust boundary: log it, answer, keep serving
                    log.exception("openadr push: handling %s failed", type(message).__name__)
                    answer = error(ResponseCode.DEPLOYMENT_ERROR_OR_OTHER, "internal error")
        if answer is None:
            answer = m.Response(response=m.ok_response(""), ven_id=ven.ven_id)
        signer = getattr(ven.transport, "signer", None)
        rendered = codec.render(answer, signer=signer)
        if tracer is not None:
            tracer.answered(service, rendered)
        return Response(rendered, media_type=XML, headers=headers)

    return [Route(f"/{service}", endpoint, methods=["POST"]) for service in SERVICES]
