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
import ssl
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from adapters.openadr.pacing import PollPacer
from adapters.openadr.signatures import XmlSigner, XmlVerifier
from adapters.openadr.tls import TlsSettings, client_context, fingerprint_file
from adapters.openadr.transport import HttpTransport
from adapters.openadr.ven import Ven, VenSettings
from hems.dsr_events import base_event_id
from hems.service import CemService
from hems.settings import Settings
from hems.storage.enrolments import EnrolmentStatus, VenMode
from hems.usecases import enrolment, homes
from hems.ven_bridge import VenBridge, resources, send_new_answer
from hems.ven_contacts import VenContacts
from hems.ven_push import PushListener

log = logging.getLogger(__name__)


@dataclass
class VenFleet:
    """The VENs of all homes and their tasks. A VEN's life follows its home's: a home
    registered while the service runs gets its VEN, which registers with the VTN; a home
    deleted has its VEN deregister (oadrCancelPartyRegistration) and stop; a home withdrawn
    from the DSRSP's programme has its VEN deregister and stay so (also after a restart: the
    store keeps it, :mod:`hems.usecases.enrolment`) until enrolled again, as does a home
    whose registration the VTN cancelled."""

    service: CemService
    settings: Settings
    vens: dict[int, Ven] = field(default_factory=dict)
    bridges: dict[int, VenBridge] = field(default_factory=dict)
    _tasks: dict[int, asyncio.Task[None]] = field(default_factory=dict)
    _stop: asyncio.Event | None = None
    _transports: dict[int, HttpTransport] = field(default_factory=dict)
    _loop: asyncio.AbstractEventLoop | None = None
    _tick_s: float = 1.0
    _ssl_context: ssl.SSLContext | None = None
    _signer: XmlSigner | None = None
    _verifier: XmlVerifier | None = None
    _removals: set[asyncio.Task[None]] = field(default_factory=set)
    contacts: VenContacts = field(default_factory=VenContacts)
    """When each VEN last heard from the VTN (the operator's view, :mod:`hems.ven_contacts`)."""
    push: PushListener | None = None
    """The push endpoint of the homes in push mode (setting ``ven_push_port``), else None."""
    follow_leases: bool = False
    """Replicas on PostgreSQL: a VEN runs only for a home this replica holds the lease of,
    started and stopped by :class:`hems.ownership.HomeOwnership` (:meth:`add`,
    :meth:`remove` without deregistering); none is made at :meth:`build` or when a home is
    registered (the replica that claims it starts it)."""
    site_power: dict[int, Callable[[], float | None]] = field(default_factory=dict)
    """A home's site meter reading for its VEN's telemetry (homes with a meter)."""
    pacer: PollPacer | None = None
    """The VENs' shared cap on polls per second (setting ``ven_max_polls_per_s``)."""

    def build(self) -> None:
        """One VEN per home (call before :meth:`start`)."""
        s = self.settings
        if s.vtn_url.startswith("https"):
            assert s.ven_cert_file is not None
            assert s.ven_key_file is not None
            self._ssl_context = client_context(
                TlsSettings(
                    cert_file=s.ven_cert_file,
                    key_file=s.ven_key_file,
                    ca_file=s.vtn_ca_file,
                    vtn_fingerprint=s.vtn_fingerprint or None,
                )
            )
        self._signer, self._verifier = signatures(s)
        self.pacer = PollPacer(s.ven_max_polls_per_s)
        if s.ven_push_port:
            self.push = PushListener(s, self._verifier)
        for home_id in [] if self.follow_leases else homes.home_ids(self.service):
            self._make_ven(home_id)
        self.service.opt_out_listeners.append(self._opt_out)
        self.service.answer_listeners.append(self._new_answer)
        self.service.added_listeners.append(self._home_added)
        self.service.forget_listeners.append(self._home_forgotten)
        self.service.enrolment_listeners.append(self._enrolment_changed)
        self.service.ven_mode_listeners.append(self._ven_mode_changed)

    def _make_ven(self, home_id: int) -> Ven:
        home = homes.home(self.service, home_id)
        bridge = VenBridge(self.service, home_id)
        if home_id in self.site_power:
            bridge.site_power_kw = self.site_power[home_id]
        transport = HttpTransport(
            self.settings.vtn_url,
            ssl_context=self._ssl_context,
            signer=self._signer,
            verifier=self._verifier,
            tracer=self.contacts.tracer(home_id, self.service.clock),
        )
        self._transports[home_id] = transport
        self.bridges[home_id] = bridge
        mode = enrolment.ven_mode(self.service, home_id).mode
        if mode is VenMode.PUSH and self.push is None:
            log.error("home %s: push mode but no push listener (ven_push_port); pulling", home_id)
        push_url = self.push.url_for(home_id) if self.push and mode is VenMode.PUSH else None
        ven = Ven(
            VenSettings(
                manufacturer=home.cem_manufacturer,
                serial_number=home.cem_serial,
                resources=resources(home),
                report_only=mode is VenMode.REPORT_ONLY,
                pull=push_url is None,
                push_url=push_url,
                jitter_first_poll=bool(self.vens),  # the first polls at once, the rest spread
            ),
            transport,
            decide=bridge.decide,
            telemetry=bridge.telemetry,
            flexibility=bridge.flexibility,
            cancelled=bridge.cancelled,
            registration_cancelled=bridge.registration_cancelled,
            pacer=self.pacer,
        )
        enrolled = enrolment.enrolment_record(self.service, home_id)
        if enrolled.status is not EnrolmentStatus.ENROLLED:
            ven.enrolled = False  # withdrawn or cancelled by the VTN: it does not register
            if enrolled.status is EnrolmentStatus.CANCELLED_BY_DSRSP:
                ven.cancelled_by_vtn_utc = enrolled.since
        self.vens[home_id] = ven
        if self.push is not None and push_url is not None:
            self.push.dispatcher.mount(home_id, ven)
        return ven

    def _registered(self, home_id: int) -> Ven | None:
        """The home's VEN if it is registered (a withdrawn home's has nobody to tell)."""
        ven = self.vens.get(home_id)
        return ven if ven is not None and ven.enrolled else None

    async def _opt_out(self, home_id: int, event_id: str) -> None:
        ven = self._registered(home_id)
        if ven is not None:
            await ven.opt_out(base_event_id(event_id))

    async def _new_answer(self, home_id: int, event_id: str, response: str, reason: str) -> None:
        ven = self._registered(home_id)
        if ven is not None:
            await send_new_answer(ven, event_id, response, reason)

    def start(self, tick_s: float = 1.0) -> None:
        """Run every VEN as a task of the running loop."""
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._tick_s = tick_s
        if self.push is not None:
            self.push.start()
        for home_id in list(self.vens):
            self._start_ven(home_id)

    def _start_ven(self, home_id: int) -> None:
        assert self._loop is not None
        assert self._stop is not None
        task = self._loop.create_task(self.vens[home_id].run(self._stop, tick_s=self._tick_s))
        task.add_done_callback(partial(_log_end, home_id=home_id))
        self._tasks[home_id] = task

    def _home_added(self, home_id: int) -> None:
        """A listener of the service (the API may call it from a worker thread)."""
        if self._loop is not None and not self._loop.is_closed() and not self.follow_leases:
            self._loop.call_soon_threadsafe(self.add, home_id)

    def add(self, home_id: int) -> None:
        """Make and start the home's VEN (in the fleet's loop, once started); it registers."""
        if home_id in self.vens or self._stop is None or self._stop.is_set():
            return
        self._make_ven(home_id)
        self._start_ven(home_id)
        log.info("home %s: VEN started; it registers with the VTN", home_id)

    def _enrolment_changed(self, home_id: int, enrolled: bool) -> None:
        """A listener of the service: the home was withdrawn or enrolled again (possibly from
        a worker thread)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._schedule_enrolment, home_id, enrolled)

    def _schedule_enrolment(self, home_id: int, enrolled: bool) -> None:
        self._background(self.set_enrolled(home_id, enrolled))

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` as a task of the fleet's loop (awaited by :meth:`stop`)."""
        assert self._loop is not None
        task = self._loop.create_task(work)
        self._removals.add(task)
        task.add_done_callback(self._removals.discard)

    def _ven_mode_changed(self, home_id: int) -> None:
        """A listener of the service: the home's VEN mode changed (possibly from a worker
        thread)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._background, self.remake(home_id))

    async def remake(self, home_id: int) -> None:
        """Make the home's VEN again (its mode changed): the old one deregisters and stops,
        the new one registers in the new mode (unless the home is withdrawn)."""
        await self.remove(home_id)
        if self._stop is None or self._stop.is_set() or home_id in self.vens:
            return
        self._make_ven(home_id)
        self._start_ven(home_id)
        log.info("home %s: VEN made again in its new mode", home_id)

    async def resync(self, home_id: int, services: list[str]) -> None:
        """Fetch what the VTN pushed to another replica for this home (:mod:`hems.ven_push`):
        the events for ``EiEvent`` (oadrRequestEvent, answered as a poll's), anything else by
        registering again (the VTN then has this replica's push address and asks for its
        reports anew). Nothing for a VEN not registered yet: its registration does both."""
        ven = self._registered(home_id)
        if ven is None or ven.ven_id is None:
            return
        try:
            if any(service != "EiEvent" for service in services):
                await ven.register()
            else:
                await ven.request_events()
        except Exception as exc:  # the VTN is away: the VEN resyncs when it is back
            log.warning("home %s: could not fetch what the VTN pushed elsewhere: %s", home_id, exc)

    async def set_enrolled(self, home_id: int, enrolled: bool) -> None:
        """Enrolled: the VEN registers at its next turn. Withdrawn: it deregisters from the
        VTN (oadrCancelPartyRegistration) and does not register again (its task keeps
        running, idle, so enrolling again needs no new VEN)."""
        ven = self.vens.get(home_id)
        if ven is None:
            return
        if enrolled:
            ven.enrol()
            log.info("home %s: enrolled again; its VEN registers with the VTN", home_id)
            return
        try:
            await ven.deregister()
        except Exception as exc:  # the VTN is away: the VEN stays deregistered all the same
            log.warning("home %s: could not deregister from the VTN: %s", home_id, exc)
        log.info("home %s: withdrawn; its VEN deregistered", home_id)

    def _home_forgotten(self, home_id: int) -> None:
        """A listener of the service: the home was deleted (possibly from a worker thread)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._schedule_removal, home_id)

    def _schedule_removal(self, home_id: int) -> None:
        self._background(self.remove(home_id))

    async def remove(self, home_id: int, *, deregister: bool = True) -> None:
        """Deregister the home's VEN from the VTN (it then stays deregistered) and stop it.
        ``deregister=False``: stop it at once and leave its registration to the replica that
        holds the home now (a lost lease)."""
        ven = self.vens.pop(home_id, None)
        if ven is None:
            return
        self.bridges.pop(home_id, None)
        if self.push is not None:
            self.push.dispatcher.unmount(home_id)
        try:
            if deregister:
                await ven.deregister()
        except Exception as exc:  # the VTN is away: it stops hearing from the VEN all the same
            log.warning("home %s: could not deregister from the VTN: %s", home_id, exc)
        task = self._tasks.pop(home_id, None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        transport = self._transports.pop(home_id, None)
        if transport is not None:
            await transport.aclose()
        log.info(
            "home %s: VEN %s", home_id, "deregistered and stopped" if deregister else "stopped"
        )

    async def stop(self) -> None:
        if self._removals:
            await asyncio.gather(*self._removals, return_exceptions=True)
        if self._stop is not None:
            self._stop.set()
        if self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        for transport in self._transports.values():
            await transport.aclose()
        if self.push is not None:
            await self.push.stop()


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
