"""Fencing a home's writes by its lease (:mod:`hems.storage.leases`): with several service
replicas on one database, a replica writes a home's plan or setpoints only while it holds the
home's lease at the epoch it claimed. A replica that lost the lease (it expired while the
replica was stalled, or another replica took the home) gets :class:`LeaseLostError` instead of
planning or dispatching the home a second time.

The check reads the lease row ``FOR SHARE`` in the writing transaction itself, so a takeover
(which updates that row) waits for the write to commit, or the write sees the new owner:
either the new owner reads the plan, or the stale plan is never stored."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from hems.storage.tables import HomeLeaseRow


class LeaseLostError(RuntimeError):
    """This replica no longer holds the home's lease: the write was refused."""


@dataclass
class Fencing:
    """The leases this replica holds: home id -> the epoch it claimed. Replaced whole at each
    lease round (:class:`hems.ownership.HomeOwnership`), read by the store's writers."""

    replica_id: str
    epochs: dict[int, int] = field(default_factory=dict)


def check_fence(s: Session, fencing: Fencing | None, home_id: int) -> None:
    """Refuse (:class:`LeaseLostError`) a write for ``home_id`` unless this replica still owns
    its lease at the epoch it claimed; no fencing (SQLite, one process): every write passes."""
    if fencing is None:
        return
    held = fencing.epochs.get(home_id)
    row = s.execute(
        select(HomeLeaseRow.owner, HomeLeaseRow.epoch)
        .where(HomeLeaseRow.home_id == home_id)
        .with_for_update(read=True)
    ).first()
    if held is None or row is None or row.owner != fencing.replica_id or row.epoch != held:
        owner = "nobody" if row is None or row.owner is None else row.owner
        raise LeaseLostError(
            f"home {home_id}: replica {fencing.replica_id} does not hold its lease "
            f"(epoch {held}; owner now {owner}, epoch {None if row is None else row.epoch})"
        )


def held_homes(s: Session, fencing: Fencing | None, home_ids: Sequence[int]) -> set[int]:
    """Which of ``home_ids`` this replica may write for (:func:`check_fence` of each, in one
    query a few hundred homes, lease rows read ``FOR SHARE`` as there): a batch of several
    homes' writes leaves out the homes it lost instead of failing for all."""
    if fencing is None:
        return set(home_ids)
    held = set()
    for start in range(0, len(home_ids), 500):  # SQLite's older builds: <= 999 parameters
        chunk = home_ids[start : start + 500]
        rows = s.execute(
            select(HomeLeaseRow.home_id, HomeLeaseRow.owner, HomeLeaseRow.epoch)
            .where(HomeLeaseRow.home_id.in_(chunk))
            .order_by(HomeLeaseRow.home_id)
            .with_for_update(read=True)
        )
        for home_id, owner, epoch in rows:
            if owner == fencing.replica_id and epoch == fencing.epochs.get(home_id):
                held.add(home_id)
    return held
