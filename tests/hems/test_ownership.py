"""A replica's lease rounds in the service (``hems/ownership.py``) on a real PostgreSQL server
(a throwaway cluster; skipped when PostgreSQL is not installed unless
HEMS_REQUIRE_POSTGRES=1): a home claimed is cycled and gets its VEN; a home taken by another
replica is dropped at once, its VEN stopped without deregistering (the new owner's VEN carries
the registration on) and its plans refused; a database out of reach for a lease time drops
every home."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import text

from hems.ownership import HomeOwnership
from hems.storage.fencing import LeaseLostError
from hems.storage.leases import LeasesUnreachableError

from .conftest import make_demo


class RecordingFleet:
    """Stands in for :class:`hems.vens.VenFleet`: what the ownership asked of it."""

    push = None  # no push endpoint: the homes poll

    def __init__(self) -> None:
        self.added: list[int] = []
        self.removed: list[tuple[int, bool]] = []

    def add(self, home_id: int) -> None:
        self.added.append(home_id)

    async def remove(self, home_id: int, *, deregister: bool = True) -> None:
        self.removed.append((home_id, deregister))


async def _settled(ownership: HomeOwnership) -> None:
    """Wait for the homes gained to be taken over and cycled."""
    while ownership._tasks:
        await asyncio.gather(*list(ownership._tasks))


def test_a_replica_runs_what_it_holds_and_drops_what_it_loses(tmp_path, postgres_url):
    demo = make_demo(tmp_path, postgres_url)
    store, service, home = demo.runtime.store, demo.runtime.service, demo.home_id
    fleet = RecordingFleet()
    settings = demo.runtime.settings
    ownership = HomeOwnership(store, service, settings, fleet, replica_id="a")  # type: ignore[arg-type]

    async def scenario() -> None:
        ownership.start()
        await asyncio.sleep(0.5)  # the first round
        await _settled(ownership)
        assert ownership.owned == {home: 1}
        assert service.runs(home)
        assert fleet.added == [home]
        assert store.latest_plan(home) is not None  # cycled at once when claimed
        planned = store.latest_plan_id(home)

        # another replica takes the home (a's lease ran out while it stalled)
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE home_leases SET expires_at = expires_at - interval '1 hour'"))
        assert store.claim_homes("b", 30.0, limit=1) == {home: 2}
        with pytest.raises(LeaseLostError):  # a's plan under way is refused
            await service.replan_and_dispatch(home, "stale")
        await ownership.lease_round()
        assert ownership.owned == {}
        assert not service.runs(home)
        assert home not in service.controllers
        assert fleet.removed == [(home, False)]  # stopped, not deregistered
        await service.cycle_all()  # a no longer cycles it
        assert store.latest_plan_id(home) == planned
        await ownership.stop()

    asyncio.run(scenario())
    demo.runtime.store.engine.dispose()


def test_a_database_out_of_reach_for_a_lease_time_drops_every_home(
    tmp_path, postgres_url, monkeypatch
):
    demo = make_demo(tmp_path, postgres_url)
    store, service, home = demo.runtime.store, demo.runtime.service, demo.home_id
    ownership = HomeOwnership(store, service, demo.runtime.settings, replica_id="a")

    def unreachable(*_args: object) -> None:
        raise LeasesUnreachableError("connection refused")

    async def scenario() -> None:
        service.owned = set()
        await ownership.lease_round()
        await _settled(ownership)
        assert service.runs(home)
        monkeypatch.setattr(store, "lease_round", unreachable)
        await ownership.lease_round()  # within the lease time: the home stays
        assert service.runs(home)
        ownership._valid_until = time.monotonic() - 0.1  # the lease time has passed
        await ownership.lease_round()
        assert not service.runs(home)
        assert ownership.owned == {}

    asyncio.run(scenario())
    demo.runtime.store.engine.dispose()
