"""The home leases of service replicas on one PostgreSQL database (``hems/storage/leases.py``,
``fencing.py``), on a real server (a throwaway cluster; skipped when PostgreSQL is not
installed unless HEMS_REQUIRE_POSTGRES=1): claim, renew, expiry and takeover, the fair share,
``SKIP LOCKED`` claims from two threads at once, and fencing: a replica that lost a home's
lease cannot store a plan or a setpoint for it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import text

from hems.demo import demo_home_spec
from hems.market import ReplayedMarket
from hems.problem_builder import PlanInputs, build_problem
from hems.storage.engine import make_engine, upgrade_schema
from hems.storage.fencing import Fencing, LeaseLostError
from hems.storage.setpoint_records import SendOutcome
from hems.storage.store import Store
from optimiser import Plan, TimeGrid, rule_based_plan

from ..conftest import MONDAY_5PM

LEASE_S = 30.0


@pytest.fixture
def store(postgres_url) -> Iterator[Store]:
    engine = make_engine(postgres_url)
    upgrade_schema(engine)
    yield Store(engine)
    engine.dispose()


def _homes(store: Store, n: int) -> list[int]:
    """``n`` more homes (serials numbered after those stored)."""
    first = len(store.home_ids())
    return [
        store.create_home(demo_home_spec(f"LEASE-{i}"), MONDAY_5PM, "test")
        for i in range(first, first + n)
    ]


def _expire(store: Store, replica: str) -> None:
    """Make ``replica``'s leases (and heartbeat) a minute old, as if it stopped renewing."""
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE home_leases SET expires_at = expires_at - interval '1 minute' "
                "WHERE owner = :r"
            ),
            {"r": replica},
        )
        conn.execute(
            text(
                "UPDATE replicas SET heartbeat_at = heartbeat_at - interval '1 minute' "
                "WHERE replica_id = :r"
            ),
            {"r": replica},
        )


def _a_plan(store: Store, home: int) -> Plan:
    """The home's rule-based plan for the next hours (a plan to store)."""
    grid = TimeGrid.starting_at(MONDAY_5PM, step_minutes=30, horizon_hours=3)
    spec = store.home(home)
    inputs = PlanInputs(
        home=spec,
        preferences=store.preferences(home),
        states={},
        market=ReplayedMarket().series(grid, spec),
        grid=grid,
        now_utc=MONDAY_5PM,
    )
    return rule_based_plan(build_problem(inputs)[0])


def test_a_replica_claims_free_homes_and_renews_them(store):
    homes = _homes(store, 3)
    claimed = store.claim_homes("a", LEASE_S, limit=10)
    assert claimed == dict.fromkeys(homes, 1)  # the first owner: epoch 1
    before = {h: exp for h, (_, _, exp) in store.lease_owners().items()}
    time.sleep(0.05)
    assert store.renew_leases("a", LEASE_S) == claimed  # same epochs
    after = store.lease_owners()
    assert all(after[h][2] > before[h] for h in homes)
    assert {owner for owner, _, _ in after.values()} == {"a"}
    assert store.claim_homes("b", LEASE_S, limit=10) == {}  # nothing free while a renews


def test_an_expired_lease_is_taken_over_with_a_new_epoch(store):
    homes = _homes(store, 2)
    store.claim_homes("a", LEASE_S, limit=10)
    _expire(store, "a")
    taken = store.claim_homes("b", LEASE_S, limit=10)
    assert taken == dict.fromkeys(homes, 2)
    assert store.renew_leases("a", LEASE_S) == {}  # a's renewal finds nothing of its own
    assert {owner for owner, _, _ in store.lease_owners().values()} == {"b"}


def test_replicas_share_the_homes_fairly_and_rebalance_when_one_joins_or_dies(store):
    homes = _homes(store, 5)
    alone = store.lease_round("a", LEASE_S)
    assert (alone.live_replicas, alone.share, set(alone.owned)) == (1, 5, set(homes))
    joined = store.lease_round("b", LEASE_S)  # a holds every lease: b waits
    assert (joined.live_replicas, joined.share, joined.owned) == (2, 3, {})
    a = store.lease_round("a", LEASE_S)  # a gives back what is beyond its share
    b = store.lease_round("b", LEASE_S)
    assert (len(a.owned), len(b.owned)) == (3, 2)
    assert set(a.owned) | set(b.owned) == set(homes)
    assert not set(a.owned) & set(b.owned)
    _expire(store, "a")  # a dies
    b = store.lease_round("b", LEASE_S)
    assert (b.live_replicas, b.share, set(b.owned)) == (1, 5, set(homes))
    owners = store.lease_owners()
    assert all(owners[h][1] == 2 for h in a.owned)  # a's homes changed owner once more


def test_a_home_registered_later_is_claimed_at_the_next_round(store):
    _homes(store, 1)
    store.lease_round("a", LEASE_S)
    (late,) = _homes(store, 1)
    assert late in store.lease_round("a", LEASE_S).owned


def test_two_replicas_claiming_at_once_never_take_the_same_home(store):
    homes = _homes(store, 40)
    got: dict[str, dict[int, int]] = {}
    start = threading.Barrier(2)

    def claim(replica: str) -> None:
        start.wait()
        got[replica] = {}
        for _ in range(20):  # a few homes at a time, interleaved with the other
            got[replica].update(store.claim_homes(replica, LEASE_S, limit=3))

    threads = [threading.Thread(target=claim, args=(r,)) for r in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not set(got["a"]) & set(got["b"])
    assert set(got["a"]) | set(got["b"]) == set(homes)
    owners = store.lease_owners()
    assert all(owners[h][0] == r for r in got for h in got[r])


def test_a_replica_that_lost_the_lease_cannot_dispatch_or_plan_the_home(store):
    (home,) = _homes(store, 1)
    epochs = store.claim_homes("a", LEASE_S, limit=1)
    store.fencing = Fencing("a", epochs)
    first = store.add_setpoint(home, "EV", 1.0, "plan", None, MONDAY_5PM, MONDAY_5PM)
    store.add_ramp_step(first, 0.5, MONDAY_5PM)  # the holder writes
    _expire(store, "a")
    taken = store.claim_homes("b", LEASE_S, limit=1)
    with pytest.raises(LeaseLostError, match="owner now b"):
        store.add_setpoint(home, "EV", 2.0, "plan", None, MONDAY_5PM, MONDAY_5PM)
    with pytest.raises(LeaseLostError):
        store.add_ramp_step(first, 0.7, MONDAY_5PM)
    plan = _a_plan(store, home)
    with pytest.raises(LeaseLostError):
        store.save_plan(home, plan, plan, "new slot", MONDAY_5PM)
    assert store.latest_plan(home) is None
    store.fencing = Fencing("b", taken)  # the new holder writes
    store.add_setpoint(home, "EV", 2.0, "plan", None, MONDAY_5PM, MONDAY_5PM)
    assert store.last_decided_setpoint(home, "EV").power_kw == 2.0


def test_an_apply_pass_records_the_sends_of_the_homes_it_holds_and_none_of_a_lost_one(store):
    """The apply job's one transaction for every home's sends (hems/storage/setpoint_sends.py)
    leaves out a home whose lease was taken meanwhile, and still records the others'."""
    homes = _homes(store, 2)
    store.fencing = Fencing("a", store.claim_homes("a", LEASE_S, limit=2))
    decided = {
        h: store.add_setpoint(h, "EV", 1.0, "plan", None, MONDAY_5PM, MONDAY_5PM) for h in homes
    }
    _expire(store, "a")
    lost = next(iter(store.claim_homes("b", LEASE_S, limit=1)))
    kept = next(h for h in homes if h != lost)
    store.fencing = Fencing("a", store.claim_homes("a", LEASE_S, limit=2))  # what is left
    assert set(store.fencing.epochs) == {kept}
    sent_at = MONDAY_5PM + timedelta(seconds=15)
    done = store.record_sends(
        [SendOutcome(home_id=h, setpoint_id=decided[h], applied_at=sent_at) for h in homes]
    )
    assert done.lost_homes == (lost,)
    assert store.last_applied_setpoint(kept, "EV").applied_at == sent_at
    assert store.last_applied_setpoint(lost, "EV") is None  # its new owner sends it
    with pytest.raises(LeaseLostError):
        store.add_ramp_steps(lost, [(decided[lost], 0.5)], sent_at)
    assert store.add_ramp_steps(kept, [(decided[kept], 0.5)], sent_at)


def test_a_clean_stop_frees_the_homes_at_once(store):
    homes = _homes(store, 2)
    store.lease_round("a", LEASE_S)
    store.leave("a")
    b = store.lease_round("b", LEASE_S)
    assert (b.live_replicas, set(b.owned)) == (1, set(homes))


def test_a_replan_asked_through_another_replica_reaches_the_owner_once(store):
    home, other = _homes(store, 2)
    # no lease yet: no owner alive; its first owner plans it anyway
    assert store.ask_replan(home, "not claimed yet") is None
    store.claim_homes("a", LEASE_S, limit=1)
    store.claim_homes("b", LEASE_S, limit=1)
    assert store.ask_replan(home, "preferences changed") == "a"  # the owner alive, named
    store.ask_replan(home, "override cancelled")
    assert store.take_replan_requests("b") == {}
    assert store.take_replan_requests("a") == {home: "preferences changed, override cancelled"}
    assert store.take_replan_requests("a") == {}  # taken once
    store.ask_replan(other, "device removed")
    assert store.lease_round("b", LEASE_S).replans == {other: "device removed"}
