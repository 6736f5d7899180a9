"""An apply pass's writes, batched (issue 29): a home's ramp steps in one transaction before
they are sent, and what became of every send of the pass, all homes together, in one
transaction after. One commit a send, one writer at a time on SQLite, was most of a fleet's
store time per home per slot (docs/performance.md, "Fleet").

A crash between the sends and their record loses nothing committed: a setpoint whose send was
not recorded is still due (a decision) or superseded by the next step (a ramp step), and is
sent again at the next pass after the restart; the device is told the same thing twice, never
a setpoint skipped."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy import select

from hems.storage.database import NotFoundError, StoreBase
from hems.storage.fencing import check_fence, held_homes
from hems.storage.setpoint_records import (
    SendOutcome,
    SendsRecorded,
    SetpointKind,
    SetpointStatus,
)
from hems.storage.setpoints import mark_attempt, supersede_unsent
from hems.storage.tables import SetpointRow

IDS_A_QUERY = 500
"""Ids in one ``IN (...)``: SQLite's older builds bind at most 999 parameters a statement."""


class SetpointSends(StoreBase):
    """Ramp steps and the record of sends, one transaction each per home or pass."""

    def add_ramp_step(self, target_id: int, power_kw: float, now: datetime) -> int:
        """Store one step of a ramp towards the decided setpoint ``target_id`` [kW], due now
        (:meth:`add_ramp_steps` of one step)."""
        with self.session() as s:
            target = s.get(SetpointRow, target_id)
            if target is None:
                raise NotFoundError(f"setpoint {target_id}")
            home_id = target.home_id
        return self.add_ramp_steps(home_id, [(target_id, power_kw)], now)[0]

    def add_ramp_steps(
        self, home_id: int, steps: Sequence[tuple[int, float]], now: datetime
    ) -> list[int]:
        """Store one home's ramp steps (each: the decided setpoint it goes towards and its power
        [kW]), due now, in one transaction, written before they are sent like every setpoint.
        A step of the same device left unsent (by a crash) is superseded; each decision stays
        due until its ramp reaches it. Their ids, in order. A home this replica no longer holds
        is refused (:class:`~hems.storage.fencing.LeaseLostError`): nothing is written."""
        with self.write_transaction(lock_home=home_id) as s:
            check_fence(s, self.fencing, home_id)  # only the home's lease holder sends
            rows = []
            for target_id, power_kw in steps:
                target = s.get(SetpointRow, target_id)  # its device, reason, mode never change
                if target is None or target.home_id != home_id:
                    raise NotFoundError(f"setpoint {target_id} of home {home_id}")
                supersede_unsent(
                    s, home_id, target.device_name, SetpointRow.kind == SetpointKind.RAMP_STEP
                )
                row = SetpointRow(
                    home_id=home_id,
                    device_name=target.device_name,
                    power_kw=power_kw,
                    reason=target.reason,
                    kind=SetpointKind.RAMP_STEP,
                    follow_site=target.follow_site,
                    store_surplus=target.store_surplus,
                    status=SetpointStatus.PENDING,
                    plan_id=target.plan_id,
                    created_at=now,
                    effective_at=now,
                )
                s.add(row)
                s.flush()
                rows.append(row)
            return [r.id for r in rows]

    def record_sends(self, outcomes: Sequence[SendOutcome]) -> SendsRecorded:
        """Record what became of an apply pass's sends, of any homes, in one transaction, each
        as :meth:`~hems.storage.setpoints.SetpointRecords.mark_setpoint` (or
        :meth:`~hems.storage.setpoints.SetpointRecords.supersede_setpoint` for a dropped step)
        would: a setpoint already sent stays so, a late failure revives nothing. The outcomes of
        a home whose lease this replica lost are not written, the others' are. What was left
        as it was is returned."""
        if not outcomes:
            return SendsRecorded()
        with self.write_transaction() as s:
            homes = sorted({o.home_id for o in outcomes})
            held = held_homes(s, self.fencing, homes)  # lease rows first, as every writer
            kept = [o for o in outcomes if o.home_id in held]
            rows: dict[int, SetpointRow] = {}
            for chunk in _chunks(sorted({o.setpoint_id for o in kept})):
                query = select(SetpointRow).where(SetpointRow.id.in_(chunk)).with_for_update()
                rows.update((r.id, r) for r in s.scalars(query))
            already_sent = []
            for o in kept:
                row = rows.get(o.setpoint_id)
                if row is None or row.home_id != o.home_id:
                    continue  # deleted with its home meanwhile
                if row.status is SetpointStatus.SENT:
                    already_sent.append(o.setpoint_id)
                elif o.dropped:
                    row.status = SetpointStatus.SUPERSEDED
                else:
                    mark_attempt(row, o.applied_at, o.error, o.retry_at)
            lost = tuple(h for h in homes if h not in held)
            return SendsRecorded(already_sent=tuple(already_sent), lost_homes=lost)


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), IDS_A_QUERY):
        yield ids[start : start + IDS_A_QUERY]
