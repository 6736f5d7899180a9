"""Start and stop the OpenADR VEN of every home (setting ``vtn_url``).

Each home registers with the DSRSP's VTN as its own VEN (venName ``<manufacturer>:<serial>``),
its devices as report resources, over mutual TLS when the URL is https, signing every message
and verifying the VTN's signatures as the settings' security profile says. The VENs run as tasks
in the service's event loop; a VTN that goes away is retried with backoff by the VEN while the
home keeps running on its own plan.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from functools import partial

from adapters.openadr.signatures import XmlSigner, XmlVerifier
from adapters.openadr.tls import TlsSettings, client_context, fingerprint_file
from adapters.openadr.transport import HttpTransport
from adapters.openadr.ven import Ven, VenSettings
from hems.dsr_events import base_event_id
from hems.service import CemService
from hems.settings import Settings
from hems.ven_bridge import VenBridge, resources, send_new_answer

log = logging.getLogger(__name__)


@dataclass
class VenFleet:
    """The VENs of all homes and their tasks."""

    service: CemService
    settings: Settings
    vens: dict[int, Ven] = field(default_factory=dict)
    bridges: dict[int, VenBridge] = field(default_factory=dict)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _stop: asyncio.Event | None = None
    _transports: list[HttpTransport] = field(default_factory=list)

    def build(self) -> None:
        """One VEN per home (call before :meth:`start`)."""
        s = self.settings
        ssl_context = None
        if s.vtn_url.startswith("https"):
            assert s.ven_cert_file is not None
            assert s.ven_key_file is not None
            ssl_context = client_context(
                TlsSettings(
                    cert_file=s.ven_cert_file,
                    key_file=s.ven_key_file,
                    ca_file=s.vtn_ca_file,
                    vtn_fingerprint=s.vtn_fingerprint or None,
                )
            )
        signer, verifier = signatures(s)
        for home_id in self.service.store.home_ids():
            home = self.service.store.home(home_id)
            bridge = VenBridge(self.service, home_id)
            transport = HttpTransport(
                s.vtn_url, ssl_context=ssl_context, signer=signer, verifier=verifier
            )
            self._transports.append(transport)
            self.bridges[home_id] = bridge
            self.vens[home_id] = Ven(
                VenSettings(
                    manufacturer=home.cem_manufacturer,
                    serial_number=home.cem_serial,
                    resources=resources(home),
                ),
                transport,
                decide=bridge.decide,
                telemetry=bridge.telemetry,
                flexibility=bridge.flexibility,
                cancelled=bridge.cancelled,
            )
        self.service.opt_out_listeners.append(self._opt_out)
        self.service.answer_listeners.append(self._new_answer)

    async def _opt_out(self, home_id: int, event_id: str) -> None:
        ven = self.vens.get(home_id)
        if ven is not None:
            await ven.opt_out(base_event_id(event_id))

    async def _new_answer(self, home_id: int, event_id: str, response: str, reason: str) -> None:
        ven = self.vens.get(home_id)
        if ven is not None:
            await send_new_answer(ven, event_id, response, reason)

    def start(self, tick_s: float = 1.0) -> None:
        """Run every VEN as a task of the running loop."""
        self._stop = asyncio.Event()
        for home_id, ven in self.vens.items():
            task = asyncio.get_running_loop().create_task(ven.run(self._stop, tick_s=tick_s))
            task.add_done_callback(partial(_log_end, home_id=home_id))
            self._tasks.append(task)

    async def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for transport in self._transports:
            await transport.aclose()


def signatures(settings: Settings) -> tuple[XmlSigner | None, XmlVerifier | None]:
    """The signer and verifier of the settings' security profile (None: not used).

    One of each serves every home's VEN: the signer holds no state, and the verifier's memory
    of (timestamp, nonce) pairs then also refuses a message to one home replayed to another.
    """
    files = settings.ven_signing_files if settings.ven_sign_messages else None
    signer = XmlSigner.from_files(*files) if files is not None else None
    verifier = None
    if settings.verifies_vtn_signatures:
        pin = settings.vtn_signing_fingerprint
        if settings.vtn_signing_cert_file is not None:
            pin = fingerprint_file(settings.vtn_signing_cert_file)
        ca = settings.vtn_signing_ca_file
        verifier = XmlVerifier(
            fingerprint=pin or None,
            ca_pem_file=str(ca) if ca is not None else None,
            required=settings.vtn_signatures_required,
        )
    return signer, verifier


def _log_end(task: asyncio.Task[None], *, home_id: int) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("home %s: the VEN stopped: %s", home_id, task.exception())
