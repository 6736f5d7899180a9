"""Error bodies: one shape per kind of error, each declared in the OpenAPI schema.

- 422 (the request does not validate): ``{"detail": [{"loc", "msg", "type", ...}]}``, FastAPI's
  ``HTTPValidationError``; ``loc`` names the field. Raise :func:`invalid` for a check the models
  cannot make, so it has the same shape.
- every other 4xx/5xx: ``{"detail": "<message>"}`` (:class:`ErrorBody`).

The 422 body echoes the input, and an input may hold NaN or Infinity (refused by the models,
but still in the body): FastAPI's own handler then fails to encode its answer and the client
gets a 500. :func:`install` answers with them as strings instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pydantic_core
from fastapi import FastAPI, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hems.storage.store import NotFoundError

MAX_BODY_BYTES = 1024 * 1024
"""The largest request body [bytes]: a home with its devices or a year of preferences is a
few kB; a bigger body is refused (413) before it is read."""


class ErrorBody(BaseModel):
    """Every error but a validation error (422)."""

    detail: str


class HandedOverBody(BaseModel):
    """202 from a replica that does not run the home (docs/service.md, "Replicas"): the
    change is stored and ``replica`` re-plans the home within ``replan_within_s``."""

    detail: str
    replica: str
    replan_within_s: float


HANDED_OVER: dict[int | str, dict[str, Any]] = {
    status.HTTP_202_ACCEPTED: {
        "model": HandedOverBody,
        "description": "Stored; the replica that runs the home re-plans it (replicas only)",
    }
}


_MEANINGS = {
    status.HTTP_400_BAD_REQUEST: "The body could not be parsed (e.g. JSON nested too deep)",
    status.HTTP_401_UNAUTHORIZED: "Missing, unknown or revoked token",
    status.HTTP_403_FORBIDDEN: "An admin token is required",
    status.HTTP_404_NOT_FOUND: "No such home (or not this token's home), or no such item",
    status.HTTP_409_CONFLICT: "Conflicts with what is stored",
    status.HTTP_413_CONTENT_TOO_LARGE: f"Body over {MAX_BODY_BYTES} bytes",
    status.HTTP_429_TOO_MANY_REQUESTS: "Too many failed sign-ins or requests: see Retry-After",
    status.HTTP_502_BAD_GATEWAY: "A source the request needs (Octopus) failed or answered nonsense",
    status.HTTP_503_SERVICE_UNAVAILABLE: "Not ready, or planning unavailable: see Retry-After",
}

AUTH = (401, 429)  # hems.serving.rate_limits
HOME = (*AUTH, 404)
ADMIN = (*AUTH, 403)
BODY = (400, 413)


def responses(*codes: int | Sequence[int]) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route that may answer these error codes (422 is declared by
    FastAPI itself for any route with parameters or a body)."""
    flat = sorted({c for code in codes for c in ((code,) if isinstance(code, int) else code)})
    return {c: {"model": ErrorBody, "description": _MEANINGS[c]} for c in flat}


def invalid(loc: tuple[str | int, ...], msg: str, value: Any) -> RequestValidationError:
    """A 422 in the shape of the models' own (for a check that needs the store)."""
    return RequestValidationError([{"type": "value_error", "loc": loc, "msg": msg, "input": value}])


async def _validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    body = pydantic_core.to_json(
        {"detail": exc.errors()}, inf_nan_mode="strings", bytes_mode="base64", fallback=str
    )
    return Response(body, status.HTTP_422_UNPROCESSABLE_CONTENT, media_type="application/json")


class _BodyLimit:
    """A body over ``max_bytes`` is refused with a JSON 413: at once when its Content-Length
    says so, else when the bytes read pass the limit (a chunked body). FastAPI's own
    ``max_body_size`` would answer a declared length in plain text, off the error schema."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        detail = f"request body over {self.max_bytes} bytes"
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            await JSONResponse({"detail": detail}, 413)(scope, receive, send)
            return
        read_bytes = 0

        async def limited() -> Message:
            nonlocal read_bytes
            message = await receive()
            read_bytes += len(message.get("body", b""))
            if read_bytes > self.max_bytes:
                raise HTTPException(413, detail)  # answered by the app's exception handler
            return message

        await self.app(scope, limited, send)


async def _not_found(_request: Request, exc: Exception) -> Response:
    """A record the route took for granted is gone (an admin names a home that does not
    exist, or another request deleted it meanwhile): 404, as the route's own check says."""
    return JSONResponse({"detail": f"{exc} not found"}, status.HTTP_404_NOT_FOUND)


def install(app: FastAPI) -> None:
    """Encodable 422 bodies, 404 for a record not found, and the body size limit, on every
    route of ``app``."""
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(NotFoundError, _not_found)
    app.add_middleware(_BodyLimit, max_bytes=MAX_BODY_BYTES)
