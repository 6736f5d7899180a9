"""The demo DSRSP's console as data: per VEN its identity, the reports it offered and its latest
telemetry; per event what it asked, its status now, every answer and opt, and what the site
delivered against it. The page (:mod:`hems.dsrsp.console`) renders this, read-only; no token,
key or certificate is in the ledger, so none can be shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hems.dsrsp.demo_event import status_at
from hems.dsrsp.ledger import POWER, SOC, Answer, EventRecord, Ledger, OptRecord, VenRecord

CLOSE_KW = 0.25
"""A site within this of the power asked, on average, delivered the event [kW]."""


@dataclass(frozen=True)
class Telemetry:
    resource_id: str
    what: str
    """What was measured, with its unit."""
    value: float
    at_utc: datetime
    samples: int


MEASURED = {POWER: "power, kW (+ import)", SOC: "state of charge, %"}


@dataclass(frozen=True)
class EventRow:
    record: EventRecord
    status: str
    answers: list[Answer]
    opts: list[OptRecord]
    delivered: str
    """Delivered against asked, in words."""


@dataclass(frozen=True)
class VenRow:
    ven: VenRecord
    telemetry: list[Telemetry]
    events: list[EventRow]
    schedules: list[OptRecord]
    """Opt schedules (availability windows) not tied to one event."""


def console_rows(ledger: Ledger, now_utc: datetime) -> list[VenRow]:
    """Every registered VEN, its newest event first."""
    rows = []
    for ven in sorted(ledger.data.vens.values(), key=lambda v: v.registered_utc):
        opts = ledger.opts_of(ven.ven_id)
        events = sorted(ledger.events_of(ven.ven_id), key=lambda e: e.start_utc, reverse=True)
        rows.append(
            VenRow(
                ven=ven,
                telemetry=[
                    Telemetry(res, MEASURED.get(meas, meas), vals[-1][1], vals[-1][0], len(vals))
                    for (res, meas), vals in sorted(ledger.readings_of(ven.ven_id).items())
                    if vals
                ],
                events=[_event_row(e, opts, now_utc) for e in events],
                schedules=[o for o in opts if o.event_id is None],
            )
        )
    return rows


def _event_row(event: EventRecord, opts: list[OptRecord], now_utc: datetime) -> EventRow:
    status = status_at(event, now_utc)
    return EventRow(
        record=event,
        status=status,
        answers=list(event.answers),
        opts=[o for o in opts if o.event_id == event.event_id],
        delivered=delivered_words(event, status),
    )


def delivered_words(event: EventRecord, status: str) -> str:
    """Delivered against asked: the site's mean power while the event was active, against
    the setpoint, from the VEN's telemetry (+ import)."""
    done = event.delivered
    mean_kw, off_kw = done.mean_kw, done.mean_abs_off_kw
    if status in ("far", "near"):
        return "not started"
    if mean_kw is None or off_kw is None:
        return "no telemetry from the site during the event"
    verdict = "held" if off_kw <= CLOSE_KW else "not held"
    so_far = " so far" if status == "active" else ""
    opted_out = event.answers and event.answers[-1].opt_type == "optOut"
    return (
        f"asked {event.value_kw:.2f} kW, site averaged {mean_kw:.2f} kW{so_far} "
        f"(mean miss {off_kw:.2f} kW over {done.samples} readings): {verdict}"
        + ("; the VEN opted out, so it owed nothing" if opted_out else "")
    )
