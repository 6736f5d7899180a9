"""Setpoints (table ``setpoints``): each decision of the dispatch and each ramp step towards one
(the steps and the record of an apply pass's sends: :mod:`hems.storage.setpoint_sends`),
written before it is sent, with its mode and its status (:class:`SetpointStatus`); read back as
frozen :class:`~hems.storage.setpoint_records.StoredSetpoint` records, not the ORM's rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from hems.storage.database import StoreBase
from hems.storage.fencing import check_fence
from hems.storage.setpoint_records import (
    NewDecision,
    SetpointKind,
    SetpointStatus,
    StoredSetpoint,
)
from hems.storage.tables import SetpointRow

UNSENT = (SetpointStatus.PENDING, SetpointStatus.FAILED)
"""The states of a setpoint still to be sent (a failed one at its retry time)."""


class SetpointRecords(StoreBase):
    """Decisions, one setpoint's send or drop, what is due and what is in force (a pass's ramp
    steps and sends in batches: :class:`~hems.storage.setpoint_sends.SetpointSends`)."""

    def last_setpoint(self, home_id: int, device: str) -> StoredSetpoint | None:
        """The device's latest stored row, decision or ramp step, applied or not."""
        return self._last_setpoint(home_id, device)

    def last_decided_setpoint(self, home_id: int, device: str) -> StoredSetpoint | None:
        """The device's latest decision (ramp steps towards it left out), applied or not."""
        return self._last_setpoint(home_id, device, SetpointRow.kind == SetpointKind.DECISION)

    def last_applied_setpoint(self, home_id: int, device: str) -> StoredSetpoint | None:
        """The setpoint the device was last sent and accepted (the one in force)."""
        return self._last_setpoint(
            home_id,
            device,
            SetpointRow.applied_at.is_not(None),
            latest_first=(SetpointRow.applied_at.desc(),),
        )

    def last_applied_setpoints(
        self, home_ids: Sequence[int]
    ) -> dict[int, dict[str, StoredSetpoint]]:
        """Each of these homes' devices' setpoint in force (:meth:`last_applied_setpoint` of
        every device) in one query: the telemetry job's drift check of every home each minute
        asked once a device, most of the job's time in the fleet benchmark. A home or device
        never sent a setpoint is left out."""
        newest = (
            func.row_number()
            .over(
                partition_by=(SetpointRow.home_id, SetpointRow.device_name),
                order_by=(SetpointRow.applied_at.desc(), SetpointRow.id.desc()),
            )
            .label("newest")
        )
        ranked = (
            select(SetpointRow.id, newest)
            .where(SetpointRow.home_id.in_(home_ids), SetpointRow.applied_at.is_not(None))
            .subquery()
        )
        query = select(SetpointRow).join(ranked, ranked.c.id == SetpointRow.id)
        out: dict[int, dict[str, StoredSetpoint]] = {}
        with self.session() as s:
            for row in s.scalars(query.where(ranked.c.newest == 1)):
                out.setdefault(row.home_id, {})[row.device_name] = _record(row)
        return out

    def _last_setpoint(
        self, home_id: int, device: str, *where: Any, latest_first: tuple[Any, ...] = ()
    ) -> StoredSetpoint | None:
        """The device's newest row meeting ``where``, newest by ``latest_first`` then id."""
        with self.session() as s:
            row = s.scalars(
                select(SetpointRow)
                .where(SetpointRow.home_id == home_id, SetpointRow.device_name == device, *where)
                .order_by(*latest_first, SetpointRow.id.desc())
                .limit(1)
            ).first()
            return None if row is None else _record(row)

    def add_setpoint(
        self,
        home_id: int,
        device: str,
        power_kw: float,
        reason: str,
        plan_id: int | None,
        now: datetime,
        effective_at: datetime,
        *,
        follow_site: bool = False,
        store_surplus: bool = False,
    ) -> int:
        """Store a decision (``reason``: why, e.g. ``plan``, ``override:boost``) to send to
        ``device`` from ``effective_at``, in the mode ``follow_site`` / ``store_surplus``
        (:class:`adapters.devices.driver.Setpoint`); it supersedes the device's decision still
        waiting, if any."""
        decision = NewDecision(device, power_kw, reason, effective_at, follow_site, store_surplus)
        return self.add_setpoints(home_id, plan_id, now, [decision])[0]

    def add_setpoints(
        self, home_id: int, plan_id: int | None, now: datetime, decisions: Sequence[NewDecision]
    ) -> list[int]:
        """Store several decisions of one home (:meth:`add_setpoint` each) in one transaction:
        the slot's dispatch of a home is one commit, not one a device (a fleet's writes queue
        for SQLite's one writer). Their ids, in order."""
        with self.write_transaction(lock_home=home_id) as s:
            check_fence(s, self.fencing, home_id)  # only the home's lease holder dispatches
            rows = []
            for d in decisions:
                # A newer decision replaces one still waiting for its randomised delay.
                supersede_unsent(s, home_id, d.device)
                row = SetpointRow(
                    home_id=home_id,
                    device_name=d.device,
                    power_kw=d.power_kw,
                    reason=d.reason,
                    kind=SetpointKind.DECISION,
                    follow_site=d.follow_site,
                    store_surplus=d.store_surplus,
                    status=SetpointStatus.PENDING,
                    plan_id=plan_id,
                    created_at=now,
                    effective_at=d.effective_at,
                )
                s.add(row)
                s.flush()
                rows.append(row)
            return [r.id for r in rows]

    def due_setpoints(self, home_id: int, now: datetime) -> list[StoredSetpoint]:
        """Decisions whose time has come and that were not yet applied (oldest first)."""
        with self.session() as s:
            return [
                _record(row)
                for row in s.scalars(
                    select(SetpointRow)
                    .where(SetpointRow.home_id == home_id, *_due_at(now))
                    .order_by(SetpointRow.id)
                )
            ]

    def homes_with_due_setpoints(self, now: datetime) -> set[int]:
        """The homes with a decision due at ``now`` (:meth:`due_setpoints` not empty): one
        query for the apply job of every home, which skips the others."""
        query = select(SetpointRow.home_id).distinct()
        with self.session() as s:
            return set(s.scalars(query.where(*_due_at(now))))

    def mark_setpoint(
        self,
        setpoint_id: int,
        *,
        applied_at: datetime | None,
        error: str = "",
        retry_at: datetime | None = None,
    ) -> bool:
        """Record an attempt to send a setpoint: sent (``applied_at``) or failed (``error``,
        tried again at ``retry_at``). A setpoint already marked sent stays as it is, and False
        says so (another apply loop sent it: the device was told twice); a failure reported
        late can then not make a sent setpoint due again, nor a superseded one. True when this
        call changed it."""
        with self.write_transaction() as s:
            row = s.get(SetpointRow, setpoint_id, with_for_update=True)
            if row is None or row.status is SetpointStatus.SENT:
                return False
            mark_attempt(row, applied_at, error, retry_at)
            return True

    def supersede_setpoint(self, setpoint_id: int) -> bool:
        """Drop a setpoint not yet sent (a ramp step whose send failed, a device gone): it is
        never sent. False when it was already sent (it stays so) or does not exist."""
        with self.write_transaction() as s:
            row = s.get(SetpointRow, setpoint_id, with_for_update=True)
            if row is None or row.status is SetpointStatus.SENT:
                return False
            row.status = SetpointStatus.SUPERSEDED
            return True

    def setpoints(self, home_id: int, since: datetime) -> list[StoredSetpoint]:
        """The home's setpoints created since ``since``, decisions and ramp steps (oldest
        first)."""
        with self.session() as s:
            return [
                _record(row)
                for row in s.scalars(
                    select(SetpointRow)
                    .where(SetpointRow.home_id == home_id, SetpointRow.created_at >= since)
                    .order_by(SetpointRow.id)
                )
            ]


def _record(row: SetpointRow) -> StoredSetpoint:
    """The typed record of a row (read inside its session)."""
    return StoredSetpoint(
        id=row.id,
        home_id=row.home_id,
        device_name=row.device_name,
        power_kw=row.power_kw,
        reason=row.reason,
        kind=row.kind,
        follow_site=row.follow_site,
        store_surplus=row.store_surplus,
        status=row.status,
        plan_id=row.plan_id,
        created_at=row.created_at,
        effective_at=row.effective_at,
        applied_at=row.applied_at,
        attempts=row.attempts,
        last_error=row.last_error,
    )


def supersede_unsent(s: Session, home_id: int, device: str, *where: Any) -> None:
    """Mark the device's setpoints not yet sent (meeting ``where``) superseded, in one UPDATE
    whose condition is checked again on a row another writer holds: on PostgreSQL a row marked
    sent meanwhile (``mark_setpoint`` holds it ``FOR UPDATE``) is then left sent. Reading the
    rows first and writing them back overwrote that mark (a setpoint then sent twice)."""
    s.execute(
        update(SetpointRow)
        .where(
            SetpointRow.home_id == home_id,
            SetpointRow.device_name == device,
            SetpointRow.status.in_(UNSENT),
            *where,
        )
        .values(status=SetpointStatus.SUPERSEDED)
        .execution_options(synchronize_session=False)
    )


def mark_attempt(
    row: SetpointRow, applied_at: datetime | None, error: str, retry_at: datetime | None
) -> None:
    """Record one attempt to send ``row`` (not already sent): sent at ``applied_at``, or failed
    (``error``) and due again at ``retry_at``; a late failure revives no superseded row."""
    row.attempts += 1
    row.applied_at = applied_at
    if applied_at is not None:
        row.status = SetpointStatus.SENT
    elif row.status is not SetpointStatus.SUPERSEDED:
        row.status = SetpointStatus.FAILED
    row.last_error = error[:200]
    if retry_at is not None:
        row.effective_at = retry_at


def _due_at(now: datetime) -> tuple[Any, ...]:
    """What makes a stored row a decision due at ``now``."""
    return (
        SetpointRow.status.in_(UNSENT),
        SetpointRow.effective_at <= now,
        SetpointRow.kind == SetpointKind.DECISION,
    )
