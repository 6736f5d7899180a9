"""The reference VTN of a ``--self`` run: openleadr's OpenADRServer (an independent 2.0b
implementation) in the runner's event loop on 127.0.0.1, over mutual TLS, signing its messages
with the VTN's key and verifying every VEN message against the VEN's certificate.

A conformance harness must also send what a correct VTN never would: messages breaking rules 2,
8, 9 and 21 (openleadr corrects or refuses them before sending), a message signed with another
key, and a replay of a message already delivered. :meth:`ReferenceVtn.inject` answers the VEN's
next oadrPoll with a message written by our codec and signed with the VTN's key (or any
``signer``); :meth:`ReferenceVtn.replay_last_distribution` answers it with the bytes of the last
oadrDistributeEvent again, signature and nonce unchanged; :meth:`ReferenceVtn.sign_with` swaps
openleadr's signing key.

openleadr keeps its signing function and lookups on the ``VTNService`` class: they are saved at
:meth:`start` and put back at :meth:`stop`, so one reference VTN at a time (the runner runs its
cases one after the other).
"""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import ssl
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import httpx

from adapters.openadr import codec
from adapters.openadr import messages as m
from adapters.openadr.conformance.pki import Party, Pki
from adapters.openadr.schema import CodecError
from adapters.openadr.signatures import XmlSigner, XmlVerifier
from adapters.openadr.tls import fingerprint_pem

VTN_ID = "conformance-vtn"
VEN_ID = "ven-under-test"
REGISTRATION_ID = "reg-conformance"
PATH = "/OpenADR2/Simple/2.0b"
_CLASS_STATE = ("_create_message", "ven_lookup", "fingerprint_lookup", "verify_message_signatures")

Handler = Callable[[Any], Awaitable[Any]]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class VtnRecord:
    """What the reference VTN saw: registrations, reports offered, values received, the VEN's
    answers to events (event id -> optIn/optOut, as openleadr read them)."""

    registrations: list[dict[str, Any]] = field(default_factory=list)
    offered: list[tuple[str | None, str]] = field(default_factory=list)
    values: dict[str, list[tuple[datetime, float]]] = field(default_factory=dict)
    opts: dict[str, str] = field(default_factory=dict)
    cancelled_registrations: list[dict[str, Any]] = field(default_factory=list)
    ei_opts: list[m.CreateOpt | m.CancelOpt] = field(default_factory=list)


class ReferenceVtn:
    """openleadr's VTN with mutual TLS and signatures both ways, and the harness's extras."""

    def __init__(self, pki: Pki, *, report_period_s: float = 1.0) -> None:
        self.pki = pki
        self.port = free_port()
        self.record = VtnRecord()
        self.report_period = timedelta(seconds=report_period_s)
        self._signer = XmlSigner(pki.vtn.cert_pem, pki.vtn.key_pem)
        self._injected: list[bytes] = []
        self._last_distribution: bytes | None = None
        self._saved: dict[str, Any] = {}
        self._server: Any = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}{PATH}"

    @property
    def signer(self) -> XmlSigner:
        """Signs as the VTN (what openleadr signs with)."""
        return self._signer

    @property
    def server(self) -> Any:
        """openleadr's OpenADRServer (started)."""
        if self._server is None:
            raise RuntimeError("the reference VTN is not started")
        return self._server

    async def start(self) -> None:
        import adapters.openadr.signatures  # noqa: F401, I001 (signxml first: see dsrsp_sim)
        from openleadr.service.vtn_service import VTNService

        for noisy in ("openleadr", "aiohttp.access"):  # they log every message in full
            logging.getLogger(noisy).setLevel(logging.CRITICAL)
        # openleadr names cryptography's DSA type when it signs (a deprecation warning per
        # message); nothing here uses DSA (the pytest filter of the same name, pyproject.toml)
        warnings.filterwarnings(
            "ignore", message="DSA is deprecated", module="openleadr", append=False
        )
        self._saved = {k: VTNService.__dict__[k] for k in _CLASS_STATE if k in VTNService.__dict__}
        self._server = self._make_server()
        self._server.app.middlewares.append(self._middleware())
        with contextlib.redirect_stdout(io.StringIO()):  # openleadr prints a banner
            await self._server.run()

    async def stop(self) -> None:
        from openleadr.service.vtn_service import VTNService

        try:
            if self._server is not None:
                await self._server.stop()
        finally:
            for name in _CLASS_STATE:
                if name in VTNService.__dict__:
                    delattr(VTNService, name)
            for name, value in self._saved.items():
                setattr(VTNService, name, value)

    def _make_server(self) -> Any:
        from aiohttp.web_exceptions import NotAppKeyWarning
        from openleadr import OpenADRServer

        pki, ven_fingerprint = self.pki, fingerprint_pem(self.pki.ven.cert_pem)

        def ven_lookup(ven_id: str) -> dict[str, Any] | None:
            if ven_id != VEN_ID:
                return None
            registered = REGISTRATION_ID if self.record.registrations else None
            return {
                "ven_id": VEN_ID,
                "ven_name": "",
                "fingerprint": ven_fingerprint,
                "registration_id": registered,
            }

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotAppKeyWarning)  # openleadr's app["server"]
            server = OpenADRServer(
                vtn_id=VTN_ID,
                http_host="127.0.0.1",
                http_port=self.port,
                requested_poll_freq=timedelta(seconds=1),
                cert=str(pki.vtn.cert_file),
                key=str(pki.vtn.key_file),
                http_cert=str(pki.vtn.cert_file),
                http_key=str(pki.vtn.key_file),
                http_ca_file=str(pki.ca_file),
                ven_lookup=ven_lookup,
                show_fingerprint=False,
                verify_message_signatures=True,
            )
        server.add_handler("on_create_party_registration", self._on_register)
        server.add_handler("on_register_report", self._on_register_report)
        server.add_handler("on_cancel_party_registration", self._on_cancel)
        # openleadr 0.5.36 ships an OptService but does not mount it: EiOpt is ours
        server.app.router.add_post(f"{PATH}/EiOpt", self._on_opt)
        return server

    # --- openleadr's handlers --------------------------------------------------------------

    async def _on_register(self, info: dict[str, Any]) -> tuple[str, str]:
        self.record.registrations.append(info)
        return VEN_ID, REGISTRATION_ID

    async def _on_register_report(
        self,
        ven_id: str,
        resource_id: str | None,
        measurement: str,
        unit: str,
        scale: str,
        min_sampling_interval: timedelta,
        max_sampling_interval: timedelta,
    ) -> Any:
        self.record.offered.append((resource_id, measurement))
        if measurement != "RealPower":
            return None

        def collect(values: list[tuple[datetime, float]], key: str = str(resource_id)) -> None:
            self.record.values.setdefault(key, []).extend(values)

        return collect, self.report_period, self.report_period

    async def _on_cancel(self, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self.record.cancelled_registrations.append(payload)
        return "oadrCanceledPartyRegistration", {
            "registration_id": payload.get("registration_id"),
            "ven_id": payload.get("ven_id"),
        }

    async def _on_opt(self, request: Any) -> Any:
        """EiOpt: oadrCreateOpt / oadrCancelOpt verified against the VEN's certificate and
        answered 200 (signed); anything else 400."""
        from aiohttp import web

        verifier = XmlVerifier(fingerprint=fingerprint_pem(self.pki.ven.cert_pem))
        try:
            message = codec.parse(await request.read(), verifier=verifier)
        except CodecError as exc:
            return web.Response(status=400, text=f"refused: {exc}")
        answer: m.Message
        if isinstance(message, m.CreateOpt):
            answer = m.CreatedOpt(response=m.ok_response(message.request_id), opt_id=message.opt_id)
        elif isinstance(message, m.CancelOpt):
            response = m.ok_response(message.request_id)
            answer = m.CanceledOpt(response=response, opt_id=message.opt_id)
        else:
            return web.Response(status=400, text="not an EiOpt message")
        self.record.ei_opts.append(message)
        body = codec.render(answer, signer=self._signer)
        return web.Response(body=body, content_type="application/xml")

    # --- what a case makes the VTN do ------------------------------------------------------

    def add_event(self, event: Any) -> None:
        """Queue an openleadr ``objects.Event`` for the VEN (sent at its next poll); the VEN's
        answer lands in ``record.opts``."""

        def answered(ven_id: str, event_id: str, opt_type: str) -> None:
            self.record.opts[event_id] = opt_type

        self.server.add_raw_event(VEN_ID, event, callback=answered)

    def event(self, event_id: str) -> Any:
        """The openleadr event queued under ``event_id``."""
        for event in self.server.events.get(VEN_ID, []):
            if event.event_descriptor.event_id == event_id:
                return event
        raise KeyError(event_id)

    def modify(self, event_id: str, value: float) -> None:
        """Change the first interval's value and raise the modificationNumber."""
        from openleadr import utils

        event = self.event(event_id)
        event.event_signals[0].intervals[0].signal_payload = value
        utils.increment_event_modification_number(event)
        self.server.events_updated[VEN_ID] = True

    def cancel(self, event_id: str) -> None:
        self.server.cancel_event(VEN_ID, event_id)

    def withdraw(self, event_id: str) -> None:
        """Leave the event out of the next oadrDistributeEvent (an implied cancellation)."""
        self.server.events[VEN_ID].remove(self.event(event_id))
        self.server.events_updated[VEN_ID] = True

    def resend_events(self) -> None:
        """Send the queued events again at the next poll (openleadr sends them once)."""
        self.server.events_updated[VEN_ID] = True

    def sign_with(self, party: Party) -> None:
        """Sign every message from now on with ``party``'s key (the wrong-key case)."""
        from openleadr.messaging import create_message
        from openleadr.service.vtn_service import VTNService

        VTNService._create_message = partial(
            create_message, cert=party.cert_pem, key=party.key_pem, passphrase=None
        )

    def inject(self, message: m.Message, signer: XmlSigner | None = None) -> None:
        """Answer the VEN's next oadrPoll with ``message`` (our codec, signed by the VTN's key
        unless ``signer`` is given; schema not checked, so rule-breaking content goes out)."""
        self._injected.append(codec.render(message, signer=signer or self._signer, check=False))

    def replay_last_distribution(self) -> bool:
        """Answer the next oadrPoll with the last oadrDistributeEvent's bytes again; False when
        none was sent yet."""
        if self._last_distribution is None:
            return False
        self._injected.append(self._last_distribution)
        return True

    async def push(
        self, url: str, service: str, message: m.Message, party: Party | None = None
    ) -> bytes:
        """POST ``message`` to the VEN's push endpoint (signed by ``party``, the VTN by
        default) with the VTN's client certificate; the answer's bytes."""
        signer = XmlSigner(party.cert_pem, party.key_pem) if party else self._signer
        return await self.push_raw(url, service, codec.render(message, signer=signer))

    async def push_raw(self, url: str, service: str, body: bytes) -> bytes:
        """POST ``body`` as it is (a replay) to the VEN's push endpoint."""
        context = ssl.create_default_context(cafile=str(self.pki.ca_file))
        context.load_cert_chain(self.pki.vtn.cert_file, self.pki.vtn.key_file)
        async with httpx.AsyncClient(verify=context, timeout=10.0) as client:
            reply = await client.post(
                f"{url}/{service}", content=body, headers={"Content-Type": "application/xml"}
            )
        reply.raise_for_status()
        return reply.content

    def _middleware(self) -> Any:
        from aiohttp import web

        @web.middleware
        async def harness(request: web.Request, handler: Handler) -> Any:
            if request.path.endswith("/OadrPoll") and self._injected:
                await request.read()
                injected = self._injected.pop(0)
                return web.Response(body=injected, content_type="application/xml")
            response = await handler(request)
            sent = response.body if isinstance(response, web.Response) else None
            if isinstance(sent, bytes) and b"oadrDistributeEvent" in sent:
                self._last_distribution = sent
            return response

        return harness
