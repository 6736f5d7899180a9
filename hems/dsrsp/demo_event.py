"""The demo DSRSP's event: what it asks, in words, and its openleadr form.

The demo sends one LOAD_DISPATCH *setpoint* over the site: "hold the home's grid import at
``value_kw``" for the event's duration. That is a dispatch, not a limit: a home importing less
than the setpoint (solar, an idle evening) is asked to import *more*, which is why the demo
home charges its battery from the grid to hold it. The description says so.

Its status is what openleadr computes from the clock each time it sends the event: ``far``
until ``notice_s`` before the start, ``near`` then, ``active`` from the start, ``completed``
at the end. openleadr only re-sends an event when told it changed, so
:func:`status_changes_utc` gives the moments the demo tells it (see ``DemoDsrsp``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from hems.dsrsp.ledger import EventRecord

SIGNAL_NAME = "LOAD_DISPATCH"
SIGNAL_TYPE = "setpoint"
MARKET_CONTEXT = "http://demo-dsrsp.local/flex"


def describe(value_kw: float, minutes: float) -> str:
    """What the event asks, in words (sent as its vtnComment and shown on the console)."""
    return (
        f"Hold the home's grid import at {value_kw:.1f} kW for {minutes:.0f} min "
        f"(LOAD_DISPATCH setpoint: import more or less to meet it)"
    )


def new_event(
    ven_id: str, *, start_utc: datetime, value_kw: float, minutes: float, notice_s: float
) -> EventRecord:
    return EventRecord(
        event_id=f"demo-{uuid.uuid4().hex[:6]}",
        ven_id=ven_id,
        signal_name=SIGNAL_NAME,
        signal_type=SIGNAL_TYPE,
        value_kw=value_kw,
        description=describe(value_kw, minutes),
        start_utc=start_utc,
        duration_s=minutes * 60.0,
        notice_s=notice_s,
        created_utc=datetime.now(UTC),
    )


def status_at(event: EventRecord, now_utc: datetime) -> str:
    """The event's status at ``now_utc`` (far, near, active, completed), as openleadr
    computes it from the active period and its ramp-up period."""
    end = event.start_utc + timedelta(seconds=event.duration_s)
    if now_utc >= end:
        return "completed"
    if now_utc >= event.start_utc:
        return "active"
    if now_utc >= event.start_utc - timedelta(seconds=event.notice_s):
        return "near"
    return "far"


def status_changes_utc(event: EventRecord) -> list[datetime]:
    """When the status changes: near, active, completed."""
    start = event.start_utc
    return [
        start - timedelta(seconds=event.notice_s),
        start,
        start + timedelta(seconds=event.duration_s),
    ]


def to_openleadr(event: EventRecord) -> Any:
    """The event as openleadr sends it (one signal, one interval, the site's power in kW)."""
    from openleadr import objects as ol

    duration = timedelta(seconds=event.duration_s)
    return ol.Event(
        event_descriptor=ol.EventDescriptor(
            event_id=event.event_id,
            modification_number=0,
            market_context=MARKET_CONTEXT,
            event_status=status_at(event, datetime.now(UTC)),
            created_date_time=event.created_utc,
            vtn_comment=event.description,
        ),
        active_period=ol.ActivePeriod(
            dtstart=event.start_utc,
            duration=duration,
            ramp_up_period=timedelta(seconds=event.notice_s),
        ),
        event_signals=[
            ol.EventSignal(
                intervals=[
                    ol.Interval(
                        dtstart=event.start_utc,
                        duration=duration,
                        signal_payload=event.value_kw,
                        uid=0,
                    )
                ],
                signal_name=event.signal_name,
                signal_type=event.signal_type,
                signal_id=f"{event.event_id}-sig",
                measurement=ol.Measurement(
                    name="powerReal",
                    description="RealPower",
                    unit="W",
                    scale="k",
                    power_attributes=ol.PowerAttributes(),
                ),
            )
        ],
        targets=[ol.Target(ven_id=event.ven_id)],
        response_required="always",
    )
