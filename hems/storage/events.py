"""DSR events (table ``dsr_events``) and the home's answers to them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hems.storage.database import NotFoundError, StoreBase, audit_row
from hems.storage.tables import DsrEventRow


@dataclass(frozen=True, slots=True)
class StoredEvent:
    event_id: str
    modification_number: int
    kind: str
    value_kw: float
    start: datetime
    end: datetime
    status: str
    response: str
    response_reason: str


class EventRecords(StoreBase):
    """Events by id and modification number, with the answer given."""

    def upsert_event(self, home_id: int, event: StoredEvent, now: datetime) -> bool:
        """Store a DSR event; True when it is new or its modification number went up. Safe
        against a concurrent upsert of the same event (the row is locked on PostgreSQL; a
        second insert of a new event loses the race, and is retried as an update)."""
        try:
            changed = self._upsert_event(home_id, event, now)
        except IntegrityError:
            changed = self._upsert_event(home_id, event, now)
        if changed:
            self.changed("events", home_id)
        return changed

    def _upsert_event(self, home_id: int, event: StoredEvent, now: datetime) -> bool:
        with self.write_transaction() as s:
            row = s.scalars(
                select(DsrEventRow)
                .where(DsrEventRow.home_id == home_id, DsrEventRow.event_id == event.event_id)
                .with_for_update()
            ).first()
            if row is not None and row.modification_number >= event.modification_number:
                return False
            if row is None:
                row = DsrEventRow(home_id=home_id, event_id=event.event_id, received_at=now)
                s.add(row)
            row.modification_number = event.modification_number
            row.kind = event.kind
            row.value_kw = event.value_kw
            row.start = event.start
            row.end = event.end
            row.status = event.status
            row.response = event.response
            row.response_reason = event.response_reason
            s.add(
                audit_row(
                    home_id,
                    now,
                    "dsrsp",
                    "event.receive",
                    {
                        "event_id": event.event_id,
                        "modification": event.modification_number,
                        "response": event.response,
                        "reason": event.response_reason,
                    },
                )
            )
            return True

    def set_event_response(
        self, home_id: int, event_id: str, response: str, reason: str, now: datetime, actor: str
    ) -> None:
        with self.write_transaction() as s:
            row = s.scalars(
                select(DsrEventRow)
                .where(DsrEventRow.home_id == home_id, DsrEventRow.event_id == event_id)
                .with_for_update()
            ).first()
            if row is None:
                raise NotFoundError(f"event {event_id}")
            row.response = response
            row.response_reason = reason
            s.add(
                audit_row(
                    home_id,
                    now,
                    actor,
                    f"event.{response}",
                    {"event_id": event_id, "reason": reason},
                )
            )
        self.changed("events", home_id)

    def events(self, home_id: int) -> list[StoredEvent]:
        with self.session() as s:
            rows = s.scalars(
                select(DsrEventRow)
                .where(DsrEventRow.home_id == home_id)
                .order_by(DsrEventRow.start)
            )
            return [
                StoredEvent(
                    r.event_id,
                    r.modification_number,
                    r.kind,
                    r.value_kw,
                    r.start,
                    r.end,
                    r.status,
                    r.response,
                    r.response_reason,
                )
                for r in rows
            ]
