"""DSR events: delivering one (through the API, or the parts of one through the home's VEN),
the VTN's cancellation, the home's answers, and the consumer's opt-out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from hems.domain.preferences import OverrideKind, OverrideRequest
from hems.event_effect import effect_sentence, measure
from hems.measured_load import SITE_METER
from hems.service import CemService
from hems.storage.store import NotFoundError, StoredEvent
from hems.usecases.preferences import add_override
from hems.usecases.records import EventPublic, OverridePublic

OVERRIDE_CAP_MINUTES = 24 * 60
"""The longest an opt-out override lasts (an override's own limit)."""


def status_at(e: StoredEvent, now_utc: datetime) -> str:
    """The event's status at ``now_utc``: as the DSRSP last sent it (far or near) until the
    event starts, then active, then completed; a cancelled event stays cancelled. The VTN
    need not send the event again when its status moves (OpenADR 2.0b: the status is the
    VEN's to follow by time), so the stored one is not the status after the start."""
    if e.status == "cancelled":
        return e.status
    if now_utc >= e.end:
        return "completed"
    if now_utc >= e.start:
        return "active"
    return e.status


def next_status_change(stored: Sequence[StoredEvent], now_utc: datetime) -> datetime | None:
    """When the next of these events starts or ends after ``now_utc`` (its status moves then),
    or None."""
    times = [t for e in stored if e.status != "cancelled" for t in (e.start, e.end) if t > now_utc]
    return min(times, default=None)


def public_event(e: StoredEvent, now_utc: datetime) -> EventPublic:
    return EventPublic(
        event_id=e.event_id,
        modification_number=e.modification_number,
        kind=e.kind,
        value_kw=e.value_kw,
        start=e.start,
        end=e.end,
        status=status_at(e, now_utc),
        response=e.response,
        response_reason=e.response_reason,
    )


def events(service: CemService, home_id: int) -> list[EventPublic]:
    """The home's DSR events and its answers, each with its status now."""
    now = service.clock.now()
    return [public_event(e, now) for e in service.store.events(home_id)]


def events_until(service: CemService, home_id: int) -> tuple[list[EventPublic], datetime | None]:
    """:func:`events`, and until when their statuses hold (the next start or end)."""
    now = service.clock.now()
    stored = service.store.events(home_id)
    return [public_event(e, now) for e in stored], next_status_change(stored, now)


def event(service: CemService, home_id: int, event_id: str) -> EventPublic:
    """One event of the home (NotFoundError when it never received it)."""
    found = next((e for e in service.store.events(home_id) if e.event_id == event_id), None)
    if found is None:
        raise NotFoundError(f"event {event_id}")
    return public_event(found, service.clock.now())


async def deliver_event(service: CemService, home_id: int, event: StoredEvent) -> EventPublic:
    """A DSR event from the DSRSP: stored, answered optIn/optOut, and the home re-planned
    before this returns (:meth:`CemService.receive_event`). NotFoundError for no such home;
    :class:`hems.planner_pool.PlanningUnavailableError` before the event is stored, so a
    retry is not a repeat."""
    service.store.home(home_id)
    service.check_planning()
    (answered,) = await receive_event_parts(service, home_id, [event], event.event_id)
    return public_event(answered, service.clock.now())


async def receive_event_parts(
    service: CemService, home_id: int, parts: Sequence[StoredEvent], event_id: str
) -> list[StoredEvent]:
    """The parts of one DSR event (one per interval, or the event itself): stored, answered
    together and the home re-planned once before this returns
    (:meth:`CemService.receive_event_parts`); while planning is unavailable the answers
    stand and the home plans when it is back. The parts as stored, with their answers."""
    return await service.receive_event_parts(home_id, parts, event_id)


async def cancel_event(service: CemService, home_id: int, event_id: str) -> list[StoredEvent]:
    """The DSRSP cancelled ``event_id``: each of its stored parts (``<event>/<n>`` or the event
    itself) is marked cancelled (its modification number raised) and the home re-plans
    without them (later, while planning is unavailable). The parts cancelled; none when the
    home never received the event."""
    now = service.clock.now()
    parts = [
        e
        for e in service.store.events(home_id)
        if e.event_id == event_id or e.event_id.startswith(f"{event_id}/")
    ]
    for part in parts:
        cancelled = replace(
            part, status="cancelled", modification_number=part.modification_number + 1
        )
        service.store.upsert_event(home_id, cancelled, now)
    if parts:
        await service.replan_or_defer(home_id, f"DSR event {event_id} cancelled")
    return parts


async def opt_out(service: CemService, home_id: int, event_id: str, actor: str) -> EventPublic:
    """The consumer's right to opt out of an event: the answer is optOut, the DSRSP is told
    and the home re-plans without it."""
    service.check_planning()
    await service.opt_out(home_id, event_id, actor)
    return event(service, home_id, event_id)


async def opt_out_until_event_ends(
    service: CemService, home_id: int, event_id: str, actor: str
) -> OverridePublic:
    """Opt out through an override kept until the event ends, so a modified event delivered
    later is refused too (:func:`hems.usecases.preferences.add_override`)."""
    now = service.clock.now()
    end = event(service, home_id, event_id).end
    request = OverrideRequest(
        kind=OverrideKind.OPT_OUT_EVENT,
        target=event_id,
        duration_minutes=minutes_until(end, now),
    )
    return await add_override(service, home_id, request, actor)


def minutes_until(until: datetime, now: datetime, cap_minutes: int = OVERRIDE_CAP_MINUTES) -> int:
    """Minutes from now until ``until`` (at least 1, at most the override's cap)."""
    minutes = int((until - now) / timedelta(minutes=1)) + 1
    return max(1, min(cap_minutes, minutes))


def measured_effect(service: CemService, home_id: int, e: EventPublic) -> str:
    """What the event measurably did, in words (:mod:`hems.event_effect`): metered from the
    stored telemetry of the site meter, or else of the home's devices, against the same hours
    the day before; "not measured" when the readings do not cover it."""
    store = service.store
    since = e.start - timedelta(days=1)

    def readings(name: str) -> list[tuple[datetime, float]]:
        return [(t, kw) for t, kw in store.telemetry_powers(home_id, name, since) if t < e.end]

    devices = {d.name: readings(d.name) for d in store.home(home_id).devices}
    effect = measure(e.start, e.end, readings(SITE_METER), devices)
    return effect_sentence(effect, e.kind, e.value_kw)
