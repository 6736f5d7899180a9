"""A home's consumer DSR sessions (table ``saving_sessions``): what the consumer entered of an
Octopus Saving Session or a Demand Flexibility Service event, or what the service fetched from
the consumer's Octopus account (``source`` ``octopus``, with Octopus's event id), with the
baseline fixed when it was entered (:mod:`hems.saving_sessions` computes it), each entry and
cancellation audited. Two sessions of a home never overlap, and an Octopus event is stored
once per home, cancelled or not (both checked in the write transaction that adds one)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from hems.storage.database import NotFoundError, StoreBase, audit_row
from hems.storage.tables import HomeRow, SavingSessionRow


class OverlapError(ValueError):
    """A session overlapping one the home has already (``other``: its id)."""

    def __init__(self, other: int, start: datetime, end: datetime) -> None:
        super().__init__(f"overlaps session {other} ({start.isoformat()} to {end.isoformat()})")
        self.other = other


class AlreadyStoredError(ValueError):
    """An Octopus event the home has stored already (``other``: its session's id)."""

    def __init__(self, other: int, event_id: str) -> None:
        super().__init__(f"Octopus event {event_id} is stored already (session {other})")
        self.other = other


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredSavingSession:
    """A session as stored: ``baseline_kw`` per half-hour of ``[start, end)`` (UTC);
    ``source`` ``consumer`` (entered) or ``octopus`` (fetched, ``octopus_event_id`` set)."""

    id: int
    home_id: int
    start: datetime
    end: datetime
    reward_p_per_kwh: float
    baseline_kw: tuple[float, ...]
    baseline_method: str
    created_at: datetime
    cancelled_at: datetime | None
    source: str = "consumer"
    octopus_event_id: str | None = None


def _stored(row: SavingSessionRow) -> StoredSavingSession:
    return StoredSavingSession(
        id=row.id,
        home_id=row.home_id,
        start=row.start,
        end=row.end,
        reward_p_per_kwh=row.reward_p_per_kwh,
        baseline_kw=tuple(float(x) for x in row.baseline_kw),
        baseline_method=row.baseline_method,
        created_at=row.created_at,
        cancelled_at=row.cancelled_at,
        source=row.source,
        octopus_event_id=row.octopus_event_id,
    )


class SavingSessionRecords(StoreBase):
    """Enter, list, move and cancel a home's sessions."""

    def add_saving_session(
        self,
        home_id: int,
        session: StoredSavingSession,
        actor: str,
    ) -> StoredSavingSession:
        """Store ``session`` (its ``id`` ignored) and audit it; :class:`OverlapError` when it
        overlaps one of the home's sessions not cancelled, :class:`AlreadyStoredError` for an
        Octopus event the home has already (cancelled or not)."""
        with self.write_transaction(lock_home=home_id) as s:
            if s.get(HomeRow, home_id) is None:
                raise NotFoundError(f"home {home_id}")
            if session.octopus_event_id is not None:
                same = s.scalars(
                    select(SavingSessionRow).where(
                        SavingSessionRow.home_id == home_id,
                        SavingSessionRow.octopus_event_id == session.octopus_event_id,
                    )
                ).first()
                if same is not None:
                    raise AlreadyStoredError(same.id, session.octopus_event_id)
            clash = s.scalars(
                select(SavingSessionRow).where(
                    SavingSessionRow.home_id == home_id,
                    SavingSessionRow.cancelled_at.is_(None),
                    SavingSessionRow.start < session.end,
                    SavingSessionRow.end > session.start,
                )
            ).first()
            if clash is not None:
                raise OverlapError(clash.id, clash.start, clash.end)
            row = SavingSessionRow(
                home_id=home_id,
                start=session.start,
                end=session.end,
                reward_p_per_kwh=session.reward_p_per_kwh,
                baseline_kw=list(session.baseline_kw),
                baseline_method=session.baseline_method,
                created_at=session.created_at,
                source=session.source,
                octopus_event_id=session.octopus_event_id,
            )
            s.add(row)
            s.flush()
            detail = {
                "id": row.id,
                "start": session.start.isoformat(),
                "end": session.end.isoformat(),
                "reward_p_per_kwh": session.reward_p_per_kwh,
                "baseline_method": session.baseline_method,
                "source": session.source,
            }
            if session.octopus_event_id is not None:
                detail["octopus_event_id"] = session.octopus_event_id
            s.add(audit_row(home_id, session.created_at, actor, "saving_session.add", detail))
            stored = _stored(row)
        self.changed("saving_sessions", home_id)
        return stored

    def saving_sessions(self, home_id: int) -> list[StoredSavingSession]:
        """The home's sessions, cancelled ones included, by start."""
        with self.session() as s:
            rows = s.scalars(
                select(SavingSessionRow)
                .where(SavingSessionRow.home_id == home_id)
                .order_by(SavingSessionRow.start)
            )
            return [_stored(r) for r in rows]

    def move_saving_session(
        self,
        home_id: int,
        session_id: int,
        moved: StoredSavingSession,
        now: datetime,
        actor: str,
    ) -> None:
        """Give a session the times and baseline of ``moved`` (the scheme moved it) and audit
        it; :class:`OverlapError` when the new times overlap another of the home's sessions
        not cancelled, NotFoundError when the home has no such session."""
        with self.write_transaction(lock_home=home_id) as s:
            row = s.get(SavingSessionRow, session_id, with_for_update=True)
            if row is None or row.home_id != home_id:
                raise NotFoundError(f"saving session {session_id}")
            clash = s.scalars(
                select(SavingSessionRow).where(
                    SavingSessionRow.home_id == home_id,
                    SavingSessionRow.id != session_id,
                    SavingSessionRow.cancelled_at.is_(None),
                    SavingSessionRow.start < moved.end,
                    SavingSessionRow.end > moved.start,
                )
            ).first()
            if clash is not None:
                raise OverlapError(clash.id, clash.start, clash.end)
            detail = {
                "id": session_id,
                "from": [row.start.isoformat(), row.end.isoformat()],
                "to": [moved.start.isoformat(), moved.end.isoformat()],
                "baseline_method": moved.baseline_method,
            }
            row.start, row.end = moved.start, moved.end
            row.baseline_kw = list(moved.baseline_kw)
            row.baseline_method = moved.baseline_method
            s.add(audit_row(home_id, now, actor, "saving_session.move", detail))
        self.changed("saving_sessions", home_id)

    def octopus_event_ids(self, home_id: int) -> set[str]:
        """The Octopus events the home has stored, cancelled ones included."""
        with self.session() as s:
            ids = s.scalars(
                select(SavingSessionRow.octopus_event_id).where(
                    SavingSessionRow.home_id == home_id,
                    SavingSessionRow.octopus_event_id.is_not(None),
                )
            )
            return {i for i in ids if i is not None}

    def cancel_saving_session(
        self, home_id: int, session_id: int, now: datetime, actor: str
    ) -> None:
        """Cancel a session (NotFoundError when the home has no such session)."""
        with self.write_transaction(lock_home=home_id) as s:
            row = s.get(SavingSessionRow, session_id, with_for_update=True)
            if row is None or row.home_id != home_id:
                raise NotFoundError(f"saving session {session_id}")
            if row.cancelled_at is None:
                row.cancelled_at = now
                detail = {"id": session_id}
                s.add(audit_row(home_id, now, actor, "saving_session.cancel", detail))
        self.changed("saving_sessions", home_id)
