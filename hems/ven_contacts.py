"""When each home's VEN last heard from the DSRSP's VTN, for the operator's view
(:mod:`hems.usecases.cohort`). Recorded by a transport tracer (``HttpTransport(tracer=...)``,
which only records): an answer read is a contact, a failed exchange is kept with its reason.
In memory: a restarted service knows no contact until its VENs next talk to the VTN."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from hems.clock import Clock


@dataclass(slots=True)
class VenContact:
    """The last exchanges of one VEN with its VTN."""

    last_contact_utc: datetime | None = None
    """The last answer read from the VTN (any HTTP status)."""
    last_status: int | None = None
    last_failure_utc: datetime | None = None
    last_failure: str = ""


@dataclass(slots=True)
class ContactTracer:
    """A :class:`adapters.openadr.transport.TransportTracer` that keeps one :class:`VenContact`."""

    contact: VenContact
    clock: Clock

    def sent(self, service: str, body: bytes) -> None:
        """Nothing: a request sent is no contact."""

    def received(self, service: str, status: int, body: bytes) -> None:
        self.contact.last_contact_utc = self.clock.now()
        self.contact.last_status = status

    def failed(self, service: str, reason: str) -> None:
        self.contact.last_failure_utc = self.clock.now()
        self.contact.last_failure = f"{service}: {reason}"[:200]


@dataclass(slots=True)
class VenContacts:
    """Every home's :class:`VenContact`, by home id."""

    by_home: dict[int, VenContact] = field(default_factory=dict)

    def tracer(self, home_id: int, clock: Clock) -> ContactTracer:
        """A tracer recording into the home's contact (kept across its VEN being remade)."""
        return ContactTracer(self.by_home.setdefault(home_id, VenContact()), clock)

    def of(self, home_id: int) -> VenContact | None:
        return self.by_home.get(home_id)
