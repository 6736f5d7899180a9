"""Home leases: which service replica runs which home, when several replicas share one
PostgreSQL database (tables ``replicas`` and ``home_leases``, docs/service.md "Replicas").

Each replica says it is alive at every lease round (``replicas.heartbeat_at``); the replicas
seen within a lease time are the live ones, and each takes at most its fair share of the homes,
``ceil(homes / live replicas)``. A lease is a row per home: its owner, until when
(``expires_at``) and a fencing ``epoch`` that grows at every change of owner
(:mod:`hems.storage.fencing`). A round renews the replica's own leases, gives back the ones
beyond its share (another replica joined) and claims free or expired ones up to its share with
``SELECT ... FOR UPDATE SKIP LOCKED``: two replicas claiming at once never wait for each other
nor take the same home. Every time is the database's clock (``clock_timestamp()`` in UTC), so
the replicas' own clocks need not agree.

Row locks rather than advisory locks: an advisory lock lives as long as its connection, so a
replica whose connection is cut (a failover, a proxy restart) loses every home at once and a
pooled connection may hold locks nobody knows of; a lease row survives a reconnection, expires
on its own when its replica dies, and its epoch fences a late write.

PostgreSQL only: on SQLite the service is one process and runs every home (no leases).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Interval, delete, func, literal, null, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from hems.storage.database import StoreBase
from hems.storage.tables import HomeLeaseRow, HomeRow, ReplicaRow

FORGET_REPLICAS_AFTER = 10
"""A replica silent for this many lease times is deleted from ``replicas``."""


class LeasesUnreachableError(RuntimeError):
    """A lease round or a leave could not reach the database (connection lost, failover)."""


@dataclass(frozen=True, slots=True)
class LeaseRound:
    """What one lease round left: the homes this replica owns (id -> epoch), how many
    replicas are live and the share each may take."""

    owned: dict[int, int]
    live_replicas: int
    share: int
    replans: dict[int, str]
    """Re-plans other replicas asked of this replica's homes: home id -> why."""


def db_now() -> Any:
    """The database's time now, naive UTC as the tables store it."""
    return func.timezone("UTC", func.clock_timestamp())


def _later(lease_s: float) -> Any:
    return db_now() + literal(timedelta(seconds=lease_s), Interval())


class LeaseRecords(StoreBase):
    """The lease operations (PostgreSQL). Each is one short transaction."""

    def replica_heartbeat(self, replica_id: str, lease_s: float) -> int:
        """Say ``replica_id`` is alive; forget replicas silent for
        :data:`FORGET_REPLICAS_AFTER` lease times. Returns how many replicas are live (seen
        within ``lease_s``, this one included)."""
        with self.write_transaction() as s:
            s.execute(
                insert(ReplicaRow)
                .values(replica_id=replica_id, started_at=db_now(), heartbeat_at=db_now())
                .on_conflict_do_update(
                    index_elements=[ReplicaRow.replica_id], set_={"heartbeat_at": db_now()}
                )
            )
            gone = _later(-lease_s * FORGET_REPLICAS_AFTER)
            s.execute(delete(ReplicaRow).where(ReplicaRow.heartbeat_at < gone))
            live = s.scalar(select(func.count()).where(ReplicaRow.heartbeat_at > _later(-lease_s)))
        return int(live or 0)

    def renew_leases(self, replica_id: str, lease_s: float) -> dict[int, int]:
        """Extend every lease ``replica_id`` owns by ``lease_s`` from now (also one that
        expired unclaimed: nobody else ran the home); returns them, home id -> epoch."""
        with self.write_transaction() as s:
            rows = s.execute(
                update(HomeLeaseRow)
                .where(HomeLeaseRow.owner == replica_id)
                .values(expires_at=_later(lease_s))
                .returning(HomeLeaseRow.home_id, HomeLeaseRow.epoch)
            ).all()
        return {r.home_id: r.epoch for r in rows}

    def claim_homes(self, replica_id: str, lease_s: float, limit: int) -> dict[int, int]:
        """Take up to ``limit`` homes whose lease is free or expired (lowest ids first,
        skipping rows another replica is claiming); each new owner bumps the epoch. Homes
        without a lease row get one first. Returns the homes claimed, id -> new epoch."""
        if limit <= 0:
            return {}
        with self.write_transaction() as s:
            _lease_rows_for_new_homes(s)
            free = s.scalars(
                select(HomeLeaseRow.home_id)
                .where(or_(HomeLeaseRow.owner.is_(None), HomeLeaseRow.expires_at < db_now()))
                .order_by(HomeLeaseRow.home_id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            if not free:
                return {}
            rows = s.execute(
                update(HomeLeaseRow)
                .where(HomeLeaseRow.home_id.in_(free))
                .values(owner=replica_id, epoch=HomeLeaseRow.epoch + 1, expires_at=_later(lease_s))
                .returning(HomeLeaseRow.home_id, HomeLeaseRow.epoch)
            ).all()
        return {r.home_id: r.epoch for r in rows}

    def release_homes(self, replica_id: str, home_ids: Iterable[int]) -> None:
        """Give homes back at once (their lease free for another replica to claim)."""
        ids = list(home_ids)
        if not ids:
            return
        with self.write_transaction() as s:
            s.execute(
                update(HomeLeaseRow)
                .where(HomeLeaseRow.owner == replica_id, HomeLeaseRow.home_id.in_(ids))
                .values(owner=null(), expires_at=db_now())
            )

    def leave(self, replica_id: str) -> None:
        """A replica stopping cleanly: its homes are free at once and it is no longer live."""
        try:
            self._leave(replica_id)
        except SQLAlchemyError as exc:
            raise LeasesUnreachableError(str(exc).splitlines()[0]) from exc

    def _leave(self, replica_id: str) -> None:
        with self.write_transaction() as s:
            s.execute(
                update(HomeLeaseRow)
                .where(HomeLeaseRow.owner == replica_id)
                .values(owner=null(), expires_at=db_now())
            )
            s.execute(delete(ReplicaRow).where(ReplicaRow.replica_id == replica_id))

    def lease_round(self, replica_id: str, lease_s: float) -> LeaseRound:
        """One round of a replica's heartbeat: say it is alive, renew its leases, give back
        those beyond its fair share and claim free ones up to it. A database that cannot be
        reached raises :class:`LeasesUnreachableError`."""
        try:
            return self._lease_round(replica_id, lease_s)
        except SQLAlchemyError as exc:
            raise LeasesUnreachableError(str(exc).splitlines()[0]) from exc

    def _lease_round(self, replica_id: str, lease_s: float) -> LeaseRound:
        live = max(1, self.replica_heartbeat(replica_id, lease_s))
        owned = self.renew_leases(replica_id, lease_s)
        with self.session() as s:
            homes = int(s.scalar(select(func.count()).select_from(HomeRow)) or 0)
        share = math.ceil(homes / live)
        if len(owned) > share:  # another replica joined: give it room
            extra = sorted(owned)[share:]
            self.release_homes(replica_id, extra)
            for home_id in extra:
                del owned[home_id]
        owned.update(self.claim_homes(replica_id, lease_s, share - len(owned)))
        replans = self.take_replan_requests(replica_id)
        return LeaseRound(owned=owned, live_replicas=live, share=share, replans=replans)

    def ask_replan(self, home_id: int, reason: str) -> str | None:
        """Ask the home's owner to re-plan it (this replica does not run it): kept on the
        lease, reasons joined, until the owner's next round takes it. Returns the replica that
        holds the home's lease now, or None when none does (never claimed, given back, or run
        out: no owner alive); the replica that claims it next plans it at its first cycle."""
        with self.write_transaction() as s:
            row = s.get(HomeLeaseRow, home_id, with_for_update=True)
            if row is None:
                return None
            joined = f"{row.replan_asked}, {reason}" if row.replan_asked else reason
            row.replan_asked = joined[:400]
            owner = s.scalar(
                select(HomeLeaseRow.owner).where(
                    HomeLeaseRow.home_id == home_id, HomeLeaseRow.expires_at > db_now()
                )
            )
        return None if owner is None else str(owner)

    def take_replan_requests(self, replica_id: str) -> dict[int, str]:
        """The re-plans asked of ``replica_id``'s homes (home id -> why), cleared."""
        with self.write_transaction() as s:
            rows = s.execute(
                select(HomeLeaseRow.home_id, HomeLeaseRow.replan_asked)
                .where(HomeLeaseRow.owner == replica_id, HomeLeaseRow.replan_asked.is_not(None))
                .with_for_update()
            ).all()
            asked = {r.home_id: str(r.replan_asked) for r in rows}
            if asked:
                s.execute(
                    update(HomeLeaseRow)
                    .where(HomeLeaseRow.home_id.in_(list(asked)))
                    .values(replan_asked=null())
                )
        return asked

    def lease_owners(self) -> dict[int, tuple[str | None, int, datetime]]:
        """Every lease: home id -> (owner, epoch, expires_at) (operators, tests)."""
        with self.session() as s:
            rows = s.execute(
                select(
                    HomeLeaseRow.home_id,
                    HomeLeaseRow.owner,
                    HomeLeaseRow.epoch,
                    HomeLeaseRow.expires_at,
                )
            ).all()
        return {r.home_id: (r.owner, r.epoch, r.expires_at) for r in rows}


def _lease_rows_for_new_homes(s: Session) -> None:
    """A free, expired lease for each home that has none yet (registered since)."""
    missing = select(HomeRow.id, null(), db_now(), literal(0)).where(
        ~select(HomeLeaseRow.home_id).where(HomeLeaseRow.home_id == HomeRow.id).exists()
    )
    s.execute(
        insert(HomeLeaseRow)
        .from_select(["home_id", "owner", "expires_at", "epoch"], missing)
        .on_conflict_do_nothing(index_elements=[HomeLeaseRow.home_id])
    )
