"""What the demo DSRSP saw, kept as a DSRSP would: registered VENs, the events it sent and
their answers, the VENs' opts and their telemetry.

Registrations, events, answers and opts are saved to a JSON file (``path``) on every change
and read back at start, so a restarted demo knows the VENs it registered and the events it
sent; telemetry stays in memory (the last :data:`MAX_READINGS` samples per resource). Every
list a VEN can grow is bounded, so a chatty or hostile VEN cannot fill the memory or the disk.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections import deque
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, Field

from kernel.dsr import SITE

log = logging.getLogger(__name__)

POWER = "RealPower"
SOC = "stateOfCharge"
MAX_READINGS = 720
"""Telemetry samples kept per VEN and resource (2 h at the demo's 10 s)."""
MAX_OPTS_PER_VEN = 50
MAX_ANSWERS_PER_EVENT = 20
MAX_EVENTS_PER_VEN = 20
MAX_VENS = 100


class VenRecord(BaseModel):
    """A registered VEN. ``manufacturer`` and ``serial`` are read from an oadrVenName of the
    form ``<manufacturer>:<serial>`` (what this project's VEN sends); None otherwise."""

    ven_id: str
    ven_name: str
    registration_id: str
    registered_utc: datetime
    manufacturer: str | None = None
    serial: str | None = None
    reports: list[str] = []
    """What the VEN offered to report, as ``resource/measurement``."""
    cancelled_utc: datetime | None = None
    """When it cancelled its registration (None: registered)."""


class Answer(BaseModel):
    """A VEN's answer to an event (oadrCreatedEvent) or an opt on it (oadrCreateOpt)."""

    at_utc: datetime
    opt_type: str
    via: str
    """``oadrCreatedEvent`` or ``oadrCreateOpt``."""


class Delivery(BaseModel):
    """The site's power measured while an event was active (the VEN's telemetry, + import)."""

    samples: int = 0
    sum_kw: float = 0.0
    sum_abs_off_kw: float = 0.0
    """Sum of |site power - the power asked|."""
    first_utc: datetime | None = None
    last_utc: datetime | None = None

    @property
    def mean_kw(self) -> float | None:
        return self.sum_kw / self.samples if self.samples else None

    @property
    def mean_abs_off_kw(self) -> float | None:
        return self.sum_abs_off_kw / self.samples if self.samples else None


class EventRecord(BaseModel):
    """An event the demo sent: what it asks (``signal_name``/``signal_type`` at ``value_kw``
    over the site) and when."""

    event_id: str
    ven_id: str
    signal_name: str
    signal_type: str
    value_kw: float
    description: str
    start_utc: datetime
    duration_s: float
    notice_s: float
    created_utc: datetime
    answers: list[Answer] = []
    delivered: Delivery = Field(default_factory=Delivery)

    @property
    def end_utc(self) -> datetime:
        return self.start_utc + timedelta(seconds=self.duration_s)


class OptRecord(BaseModel):
    """An oadrCreateOpt received (an opt on one event, or an availability schedule)."""

    opt_id: str
    ven_id: str
    opt_type: str
    reason: str
    received_utc: datetime
    event_id: str | None = None
    windows: list[tuple[datetime, float]] = []
    """Availability windows: start (UTC) and duration [s]."""
    cancelled_utc: datetime | None = None


class LedgerFile(BaseModel):
    vens: dict[str, VenRecord] = {}
    events: dict[str, EventRecord] = {}
    opts: list[OptRecord] = []


class Ledger:
    """The demo DSRSP's records; ``path`` None keeps them in memory only."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.data = _load(path)
        self.readings: dict[tuple[str, str, str], deque[tuple[datetime, float]]] = {}
        """(venID, resourceID, measurement) -> the latest (time, value)."""

    # --- registrations ----------------------------------------------------------------------

    def ven_by_name(self, ven_name: str) -> VenRecord | None:
        return next((v for v in self.data.vens.values() if v.ven_name == ven_name), None)

    def register(self, ven: VenRecord) -> None:
        if ven.ven_id not in self.data.vens and len(self.data.vens) >= MAX_VENS:
            raise ValueError(f"more than {MAX_VENS} VENs")
        self.data.vens[ven.ven_id] = ven
        self.save()

    def cancelled(self, ven_id: str, at_utc: datetime) -> None:
        ven = self.data.vens.get(ven_id)
        if ven is not None:
            ven.cancelled_utc = at_utc
            self.save()

    def offered(self, ven_id: str, resource_id: str, measurement: str) -> None:
        ven = self.data.vens.get(ven_id)
        offer = f"{resource_id}/{measurement}"
        if ven is not None and offer not in ven.reports and len(ven.reports) < 100:
            ven.reports.append(offer)
            self.save()

    # --- events and answers -----------------------------------------------------------------

    def add_event(self, event: EventRecord) -> None:
        """Record an event sent; a VEN's oldest events beyond :data:`MAX_EVENTS_PER_VEN` go."""
        self.data.events[event.event_id] = event
        mine = sorted(self.events_of(event.ven_id), key=lambda e: e.start_utc)
        for old in mine[:-MAX_EVENTS_PER_VEN]:
            del self.data.events[old.event_id]
        self.save()

    def events_of(self, ven_id: str) -> list[EventRecord]:
        return [e for e in self.data.events.values() if e.ven_id == ven_id]

    def answer(self, event_id: str, answer: Answer) -> bool:
        """Record an answer to ``event_id``; False when the demo sent no such event."""
        event = self.data.events.get(event_id)
        if event is None:
            return False
        event.answers = [*event.answers, answer][-MAX_ANSWERS_PER_EVENT:]
        self.save()
        return True

    # --- opts -------------------------------------------------------------------------------

    def add_opt(self, opt: OptRecord) -> None:
        mine = [o for o in self.data.opts if o.ven_id == opt.ven_id and o.opt_id != opt.opt_id]
        others = [o for o in self.data.opts if o.ven_id != opt.ven_id]
        self.data.opts = others + [*mine, opt][-MAX_OPTS_PER_VEN:]
        self.save()

    def cancel_opt(self, ven_id: str, opt_id: str, at_utc: datetime) -> bool:
        opt = next((o for o in self.data.opts if (o.ven_id, o.opt_id) == (ven_id, opt_id)), None)
        if opt is None:
            return False
        opt.cancelled_utc = at_utc
        self.save()
        return True

    def opts_of(self, ven_id: str) -> list[OptRecord]:
        return [o for o in self.data.opts if o.ven_id == ven_id]

    # --- telemetry --------------------------------------------------------------------------

    def reading(
        self,
        ven_id: str,
        resource_id: str,
        at_utc: datetime,
        value: float,
        measurement: str = POWER,
    ) -> None:
        """A telemetry value: ``measurement`` RealPower [kW, + import] or stateOfCharge [%]."""
        if ven_id not in self.data.vens:
            return
        if at_utc.tzinfo is None:  # openleadr parses the report's dtstart; UTC on the wire
            at_utc = at_utc.replace(tzinfo=UTC)
        key = (ven_id, resource_id, measurement)
        if key not in self.readings:
            if sum(1 for k in self.readings if k[0] == ven_id) >= 50:
                return
            self.readings[key] = deque(maxlen=MAX_READINGS)
        self.readings[key].append((at_utc, value))
        if resource_id == SITE and measurement == POWER:
            self._delivered(ven_id, at_utc, value)

    def _delivered(self, ven_id: str, at_utc: datetime, site_kw: float) -> None:
        """Count a site reading towards the events of ``ven_id`` active at ``at_utc``."""
        for event in self.events_of(ven_id):
            done = event.delivered
            if not event.start_utc <= at_utc < event.end_utc:
                continue
            if done.last_utc is not None and at_utc <= done.last_utc:
                continue  # a sample already counted (a report sent again)
            done.samples += 1
            done.sum_kw += site_kw
            done.sum_abs_off_kw += abs(site_kw - event.value_kw)
            done.first_utc = done.first_utc or at_utc
            done.last_utc = at_utc
            self.save()

    def readings_of(self, ven_id: str) -> dict[tuple[str, str], list[tuple[datetime, float]]]:
        """(resourceID, measurement) -> the readings kept, oldest first."""
        return {(r, meas): list(v) for (ven, r, meas), v in self.readings.items() if ven == ven_id}

    # --- the file ---------------------------------------------------------------------------

    def save(self) -> None:
        """Write the records (temporary file, then rename: a crash leaves the old file)."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".partial")
        partial.write_text(self.data.model_dump_json(indent=1), encoding="utf-8")
        os.replace(partial, self.path)


def _load(path: Path | None) -> LedgerFile:
    """The saved records; an unreadable file is logged and set aside (``.bad``), and the demo
    starts afresh rather than not at all."""
    if path is None or not path.exists():
        return LedgerFile()
    try:
        return LedgerFile.model_validate_json(path.read_bytes())
    except (OSError, ValueError) as exc:  # pydantic.ValidationError is a ValueError
        log.error("demo DSRSP: %s unreadable (%s); starting with no registrations", path, exc)
        with contextlib.suppress(OSError):
            os.replace(path, path.with_suffix(".bad"))
        return LedgerFile()


def new_ven(ven_name: str, at_utc: datetime) -> VenRecord:
    """A new registration for ``ven_name``, with its identity read from the name when it has
    the form ``<manufacturer>:<serial>``."""
    ven_id = f"ven-{uuid.uuid4().hex[:8]}"
    manufacturer, sep, serial = ven_name.partition(":")
    return VenRecord(
        ven_id=ven_id,
        ven_name=ven_name,
        registration_id=f"reg-{ven_id}",
        registered_utc=at_utc,
        manufacturer=manufacturer if sep and manufacturer else None,
        serial=serial if sep and serial else None,
    )
