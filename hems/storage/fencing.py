"""Fencing a home's writes by its lease (:mod:`hems.storage.leases`): with several service
replicas on one database, a replica writes a home's plan or setpoints only while it holds the
home's lease at the epoch it claimed. A replica that lost the lease (it expired while the
replica was stalled, or another replica took the home) gets :class:`LeaseLostError` instead of
planning or dispatching the home a second time.

The check reads the lease row ``FOR SHARE`` in the writing transaction itself, so a takeover
(which updates that row) waits for the write to commit, or the write sees the new owner:
either the new owner reads the plan, or the stale plan is never stored."""

from __future__ import annotations

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
