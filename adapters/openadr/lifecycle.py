"""Event lifecycle on the VEN side: which events are new, modified, cancelled (explicitly or by
leaving oadrDistributeEvent), their status now, the ``startafter`` offset, and the checks an
event must pass before the VEN acts on it (conformance rules 2, 8, 9, 21; 460 for signals the
VEN does not support)."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from adapters.openadr.events import Event
from adapters.openadr.vocab import EventStatus, ResponseCode, SignalName

log = logging.getLogger(__name__)

SIMPLE_LEVELS = frozenset({0.0, 1.0, 2.0, 3.0})
"""Rule 9: a SIMPLE signal's payload is one of the levels 0-3."""


class Change(StrEnum):
    NEW = "new"
    MODIFIED = "modified"
    UNCHANGED = "unchanged"
    STALE = "stale"  # an older modificationNumber than the one held
    CANCELLED = "cancelled"
    IMPLIED_CANCELLED = "implied_cancelled"  # missing from a later oadrDistributeEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackedEvent:
    """An event as the VEN holds it.

    Attributes:
        event: the latest version received.
        start_offset_s: the random delay drawn once from [0, startafter) (0 without startafter).
        cancelled: cancelled by the VTN, explicitly or implied.
        ignored: the last content that came without a new modificationNumber and was not
            taken (warned about once).
    """

    event: Event
    start_offset_s: float = 0.0
    cancelled: bool = False
    ignored: Event | None = None

    @property
    def effective_start_utc(self) -> datetime:
        return self.event.start_utc + timedelta(seconds=self.start_offset_s)

    def status_at(self, now_utc: datetime) -> EventStatus:
        return status_at(self.event, now_utc, self.start_offset_s, cancelled=self.cancelled)


@dataclass(frozen=True, slots=True, kw_only=True)
class EventUpdate:
    change: Change
    tracked: TrackedEvent
    previous: TrackedEvent | None = None


def status_at(
    event: Event, now_utc: datetime, start_offset_s: float = 0.0, *, cancelled: bool = False
) -> EventStatus:
    """far -> near (within the ramp-up, else the notification, period before the start) ->
    active -> completed; cancelled wins. An event of duration 0 stays active once started."""
    if cancelled or event.status is EventStatus.CANCELLED:
        return EventStatus.CANCELLED
    start = event.start_utc + timedelta(seconds=start_offset_s)
    if now_utc < start:
        lead_s = event.ramp_up_s or 0.0
        if lead_s and now_utc >= start - timedelta(seconds=lead_s):
            return EventStatus.NEAR
        return EventStatus.FAR
    if event.duration_s <= 0:
        return EventStatus.ACTIVE
    end = start + timedelta(seconds=event.duration_s)
    return EventStatus.ACTIVE if now_utc < end else EventStatus.COMPLETED


def current_value(tracked: TrackedEvent, signal_index: int, now_utc: datetime) -> float:
    """The value a signal has now (rule 14: 0 while the event is not active)."""
    if tracked.status_at(now_utc) is not EventStatus.ACTIVE:
        return 0.0
    signal = tracked.event.signals[signal_index]
    offset = timedelta(seconds=tracked.start_offset_s)
    interval = signal.interval_at(now_utc - offset)
    return interval.value if interval is not None else 0.0


def check_event(
    event: Event, *, ven_id: str | None, resource_ids: frozenset[str]
) -> tuple[ResponseCode, str] | None:
    """Why the VEN cannot act on an event (the response code and reason), or None."""
    if not event.event_id.strip():
        return ResponseCode.INVALID_ID, "empty eventID"
    target = event.target
    addressed = (
        target.is_empty()
        or bool(target.group_ids or target.party_ids)
        or (ven_id is not None and ven_id in target.ven_ids)
        or bool(resource_ids & set(target.resource_ids))
    )
    if not addressed:
        return ResponseCode.TARGET_MISMATCH, "event is not targeted at this VEN"
    for signal in event.signals:
        uids = [i.uid for i in signal.intervals]
        if uids != list(range(len(uids))):
            return ResponseCode.INVALID_DATA, f"signal {signal.signal_id}: uids {uids} (rule 2)"
        total_s = sum(i.duration_s for i in signal.intervals)
        if event.duration_s > 0 and abs(total_s - event.duration_s) > 1e-6:
            return (
                ResponseCode.INVALID_DATA,
                f"signal {signal.signal_id}: intervals last {total_s:g} s, event"
                f" {event.duration_s:g} s (rule 8)",
            )
        if signal.name.upper() == SignalName.SIMPLE and any(
            i.value not in SIMPLE_LEVELS for i in signal.intervals
        ):
            return ResponseCode.INVALID_DATA, f"signal {signal.signal_id}: SIMPLE is 0-3 (rule 9)"
    unsupported = event.unsupported_signals
    if unsupported:
        names = ", ".join(f"{s.name}/{s.type}" for s in unsupported)
        return ResponseCode.SIGNAL_NOT_SUPPORTED, f"signal not supported: {names}"
    return None


class EventBook:
    """The events the VEN holds, updated from each oadrDistributeEvent.

    ``rng`` draws the ``startafter`` offsets (pass a seeded ``random.Random`` in tests).
    """

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.SystemRandom()
        self._events: dict[str, TrackedEvent] = {}

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._events

    def get(self, event_id: str) -> TrackedEvent | None:
        return self._events.get(event_id)

    def all(self) -> tuple[TrackedEvent, ...]:
        return tuple(self._events.values())

    def _offset(self, event: Event) -> float:
        if not event.start_after_s or event.start_after_s <= 0:
            return 0.0
        return self._rng.uniform(0.0, event.start_after_s)

    def apply(self, events: tuple[Event, ...], now_utc: datetime) -> list[EventUpdate]:
        """Merge a full oadrDistributeEvent event list; returns one update per event, plus one
        IMPLIED_CANCELLED update per held event that is missing and not yet over."""
        updates: list[EventUpdate] = []
        seen: set[str] = set()
        for event in events:
            seen.add(event.event_id)
            held = self._events.get(event.event_id)
            cancelled = event.status is EventStatus.CANCELLED
            if held is None:
                tracked = TrackedEvent(
                    event=event, start_offset_s=self._offset(event), cancelled=cancelled
                )
                change = Change.CANCELLED if cancelled else Change.NEW
            elif event.modification_number < held.event.modification_number:
                updates.append(EventUpdate(change=Change.STALE, tracked=held, previous=held))
                continue
            elif event.modification_number == held.event.modification_number:
                tracked = self._same_version(held, event)
                change = Change.CANCELLED if cancelled and not held.cancelled else Change.UNCHANGED
            else:
                offset = held.start_offset_s
                if event.start_after_s != held.event.start_after_s:
                    offset = self._offset(event)
                tracked = TrackedEvent(event=event, start_offset_s=offset, cancelled=cancelled)
                change = Change.CANCELLED if cancelled else Change.MODIFIED
            self._events[event.event_id] = tracked
            updates.append(EventUpdate(change=change, tracked=tracked, previous=held))
        for event_id, held in list(self._events.items()):
            if event_id in seen:
                continue
            del self._events[event_id]
            if held.cancelled or held.status_at(now_utc) is EventStatus.COMPLETED:
                continue
            gone = replace(held, cancelled=True)
            updates.append(
                EventUpdate(change=Change.IMPLIED_CANCELLED, tracked=gone, previous=held)
            )
        return updates

    @staticmethod
    def _same_version(held: TrackedEvent, event: Event) -> TrackedEvent:
        """The same modificationNumber: only the status (and the signals' currentValue) may
        move. Other changed content is not taken: 2.0b requires a new modificationNumber, and
        the decision hook was told the first content (the VEN's list must agree with it)."""
        cancelled = held.cancelled or event.status is EventStatus.CANCELLED
        if _content(event) == _content(held.event):
            return replace(held, event=event, cancelled=cancelled)
        if held.ignored is None or _content(event) != _content(held.ignored):
            log.warning(
                "openadr: event %s changed without a new modificationNumber (%d); kept the"
                " content first received",
                event.event_id,
                event.modification_number,
            )
        kept = replace(held.event, status=event.status)
        return replace(held, event=kept, cancelled=cancelled, ignored=event)

    def forget_finished(self, now_utc: datetime) -> None:
        for event_id, held in list(self._events.items()):
            if held.status_at(now_utc) in {EventStatus.COMPLETED, EventStatus.CANCELLED}:
                del self._events[event_id]


def _content(event: Event) -> Event:
    """What may not change without a new modificationNumber: all but the eventStatus and the
    signals' currentValue (they move as the event runs)."""
    return replace(
        event,
        status=EventStatus.FAR,
        signals=tuple(replace(signal, current_value=None) for signal in event.signals),
    )
