"""Push mode: the VEN's own endpoint, where the VTN POSTs oadrPayload messages.

:func:`push_routes` returns Starlette routes the service mounts (``/OpenADR2/Simple/2.0b/<svc>``
or any prefix); each request body goes through the codec (size limit, no DTD, schema,
signature when required) and :meth:`Ven.handle`; the answer is the HTTP response body. A
message that fails the codec is answered with an oadrResponse carrying the response code.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.openadr import codec
from adapters.openadr import messages as m
from adapters.openadr.schema import MAX_MESSAGE_BYTES, CodecError

if TYPE_CHECKING:
    from adapters.openadr.ven import Ven

log = logging.getLogger(__name__)

SERVICES = ("EiEvent", "EiReport", "EiRegisterParty", "EiOpt", "OadrPoll")
XML = "application/xml"


def push_routes(ven: Ven, verifier: codec.Verifier | None = None) -> list[Route]:
    async def endpoint(request: Request) -> Response:
        body = await request.body()
        try:
            message = codec.parse(body[: MAX_MESSAGE_BYTES + 1], verifier=verifier)
        except CodecError as exc:
            log.warning("openadr push: refused a message: %s", exc)
            answer: m.Message | None = m.Response(
                response=m.EiResponse(code=exc.code, request_id="", description=exc.description),
                ven_id=ven.ven_id,
            )
        else:
            answer = await ven.handle(message)
        if answer is None:
            answer = m.Response(response=m.ok_response(""), ven_id=ven.ven_id)
        signer = getattr(ven.transport, "signer", None)
        return Response(codec.render(answer, signer=signer), media_type=XML)

    return [Route(f"/{service}", endpoint, methods=["POST"]) for service in SERVICES]
