"""DSR events: delivering one (through the API, or the parts of one through the home's VEN),
the VTN's cancellation, the home's answers, and the consumer's opt-out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from hems.domain.preferences import OverrideKind, OverrideRequest
from hems.service import CemService
from hems.storage.store import NotFoundError, StoredEvent
from hems.usecases.preferences import add_override
from hems.usecases.records import EventPublic, OverridePublic

OVERRIDE_CAP_MINUTES = 24 * 60
"""The longest an opt-out override lasts (an override's own limit)."""


def public_event(e: StoredEvent) -> EventPublic:
    return EventPublic(
        event_id=e.event_id,
        modification_number=e.modification_number,
        kind=e.kind,
        value_kw=e.value_kw,
        start=e.start,
        end=e.end,
        status=e.status,
        response=e.response,
        response_reason=e.response_reason,
    )


def events(service: CemService, home_id: int) -> list[EventPublic]:
    """The home's DSR events and its answers."""
    return [public_event(e) for e in service.store.events(home_id)]


def event(service: CemService, home_id: int, event_id: str) -> EventPublic:
    """One event of the home (NotFoundError when it never received it)."""
    found = next((e for e in service.store.events(home_id) if e.event_id == event_id), None)
    if found is None:
        raise NotFoundError(f"event {event_id}")
    return public_event(found)


async def deliver_event(service: CemService, home_id: int, event: StoredEvent) -> EventPublic:
    """A DSR event from the DSRSP: stored, answered optIn/optOut, and the home re-planned
    before this returns (:meth:`CemService.receive_event`). NotFoundError for no such home;
    :class:`hems.planner_pool.PlanningUnavailableError` before the event is stored, so a
    retry is not a repeat."""
    service.store.home(home_id)
    service.check_planning()
    (answered,) = await receive_event_parts(service, home_id, [event], event.event_id)
    return public_event(answered)


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
