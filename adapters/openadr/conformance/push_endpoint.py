"""The VEN's push endpoint for the push-mode case: :func:`~adapters.openadr.push.push_routes`
served by uvicorn in the runner's loop on 127.0.0.1 over mutual TLS (the VTN's client
certificate required and pinned), every push and answer recorded in the case's tracelog."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from adapters.openadr import codec
from adapters.openadr.push import PushTracer, push_routes
from adapters.openadr.ven import Ven

PUSH_PATH = "/oadr"


@contextlib.asynccontextmanager
async def serving_push(
    ven: Ven,
    verifier: codec.Verifier | None,
    tracer: PushTracer,
    port: int,
    ssl_context: ssl.SSLContext,
) -> AsyncIterator[str]:
    """Serve ``ven``'s push routes until the block ends; yields the push URL."""
    routes = push_routes(ven, verifier, tracer=tracer, one_push_per_connection=True)
    app = Starlette(routes=[Mount(PUSH_PATH, routes=routes)])
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        ssl_context_factory=lambda _config, _default: ssl_context,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # it could not listen: raise why
            await asyncio.sleep(0.01)
        yield f"https://127.0.0.1:{port}{PUSH_PATH}"
    finally:
        server.should_exit = True
        await task
