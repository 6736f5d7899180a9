"""The VENs' push endpoint: the service's own TLS listener where the DSRSP's VTN POSTs to the
VENs of the homes in push mode (settings ``ven_push_*``).

One listener serves every such home at ``<ven_push_url>/homes/<id>/<service>`` (what each VEN
advertises as its oadrTransportAddress); :class:`PushDispatcher` hands each request to the
routes of that home's VEN (:func:`adapters.openadr.push.push_routes`: size limit, schema,
signatures and replay checks, answer signed). The TLS context requires a client certificate
chaining to ``vtn_ca_file`` and compares it with ``vtn_fingerprint`` at every handshake, and
each answer closes its connection, so the VTN's certificate is checked on each push.

With replicas (docs/service.md, "Replicas") each replica serves its own homes' pushes, and a
VEN registers the push address of the replica that runs its home. Until the VTN has the new
address after a takeover it may push to a replica that no longer runs the home (or that is
still taking it over): that push is not applied there (the home is not run there: a second
VEN answering would answer twice). Its ``misrouted`` hook asks the owner through the home's
lease to fetch what was pushed (the owner's VEN pulls the events, or registers again,
:meth:`hems.vens.VenFleet.resync`), and the VTN gets 503 with ``Retry-After``: nothing pushed
is lost, and it is applied once, by the owner.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import uvicorn
from starlette.responses import PlainTextResponse
from starlette.routing import Router

from adapters.openadr import codec
from adapters.openadr.push import SERVICES, push_routes
from adapters.openadr.tls import server_context
from adapters.openadr.ven import Ven
from hems.settings import Settings

log = logging.getLogger(__name__)

HOME_PATH = re.compile(r"^/homes/(\d{1,19})(/.*)$")

Scope = dict[str, Any]

Misrouted = Callable[[int, str], Awaitable[float | None]]
"""A push for a home whose VEN does not run here, (home id, service) -> in how many seconds
the VTN may push again (the owner was asked to fetch it), or None: no such push home."""


class PushDispatcher:
    """An ASGI app: ``/homes/<id>/<service>`` to the routes of that home's VEN (404 for a home
    not in push mode). Homes come and go while it serves (:meth:`mount`, :meth:`unmount`);
    a push for a home run by another replica goes to :attr:`misrouted` (503, see the module
    doc)."""

    def __init__(self, verifier: codec.Verifier | None) -> None:
        self.verifier = verifier
        self._routers: dict[int, Router] = {}
        self.misrouted: Misrouted | None = None

    def mount(self, home_id: int, ven: Ven) -> None:
        routes = push_routes(ven, self.verifier, one_push_per_connection=True)
        self._routers[home_id] = Router(routes=routes)

    def unmount(self, home_id: int) -> None:
        self._routers.pop(home_id, None)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return  # lifespan is off; nothing else is served
        found = HOME_PATH.match(scope["path"])
        router = self._routers.get(int(found.group(1))) if found else None
        service = found.group(2).removeprefix("/") if found else ""
        if found is not None and router is None and self.misrouted and service in SERVICES:
            home_id = int(found.group(1))
            retry_s = await self.misrouted(home_id, service)
            if retry_s is not None:
                await _not_here(home_id, retry_s)(scope, receive, send)
                return
        if found is None or router is None:
            response = PlainTextResponse("no such push endpoint", status_code=404)
            await response(scope, receive, send)
            return
        await router({**scope, "path": found.group(2), "root_path": ""}, receive, send)


def _not_here(home_id: int, retry_s: float) -> PlainTextResponse:
    """The answer to a push for a home another replica runs: try again, the owner fetches it."""
    return PlainTextResponse(
        f"home {home_id} is not run by this replica: its owner fetches the message; push "
        "again later (its VEN registers its own push address)",
        status_code=503,
        headers={"Retry-After": str(max(1, round(retry_s))), "Connection": "close"},
    )


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers: the service's own server handles the signals and
    stops the push listener with the VENs."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class PushListener:
    """The push endpoint's uvicorn server in the service's loop. Its socket is bound when it is
    made (at start-up: a port in use stops the service there, not later in a task)."""

    def __init__(self, settings: Settings, verifier: codec.Verifier | None) -> None:
        assert settings.ven_push_cert_file is not None
        assert settings.ven_push_key_file is not None
        assert settings.vtn_ca_file is not None
        self.base_url = settings.ven_push_base_url
        self.dispatcher = PushDispatcher(verifier)
        context = server_context(
            settings.ven_push_cert_file,
            settings.ven_push_key_file,
            settings.vtn_ca_file,
            vtn_fingerprint=settings.vtn_fingerprint or None,
        )
        config = uvicorn.Config(
            self.dispatcher,
            host=settings.ven_push_host,
            port=settings.ven_push_port,
            lifespan="off",
            log_level="warning",
            ssl_context_factory=_given(context),
        )
        self._server = _Server(config)
        self._socket = _bind(settings.ven_push_host, settings.ven_push_port)
        self._task: asyncio.Task[None] | None = None

    def url_for(self, home_id: int) -> str:
        """The home's push address (its VEN's oadrTransportAddress)."""
        return f"{self.base_url}/homes/{home_id}"

    def start(self) -> None:
        """Serve on the bound socket, as a task of the running loop."""
        self._task = asyncio.get_running_loop().create_task(self._server.serve([self._socket]))
        log.info("openadr: the VENs' push endpoint listens at %s", self.base_url)

    async def stop(self) -> None:
        if self._task is not None:
            self._server.should_exit = True
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        self._socket.close()


def _bind(host: str, port: int) -> socket.socket:
    """The listener's socket; an address in use is an OSError naming the setting (``hems run``
    prints it and exits 1)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        reason = f"the VENs' push endpoint (ven_push_port) cannot listen on {host}:{port}"
        raise OSError(exc.errno, f"{reason}: {exc.strerror}") from None


def _given(context: ssl.SSLContext) -> Any:
    """uvicorn's ``ssl_context_factory``: our context (client certificates, the VTN's pin)."""

    def factory(_config: uvicorn.Config, _default: Any) -> ssl.SSLContext:
        return context

    return factory
