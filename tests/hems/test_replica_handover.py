"""A change posted to a replica that does not run the home (docs/service.md, "Replicas"), on a
real PostgreSQL server (skipped without PostgreSQL unless HEMS_REQUIRE_POSTGRES=1): a boost or
an opt-out is stored, the re-plan is asked of the replica holding the home's lease and the
answer is 202 naming that replica and when it re-plans; only when no replica holds the lease
(no owner alive) is it 503. The web app says the change is done, and where."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from hems.app import create_app
from hems.ownership import HomeOwnership
from hems.replica_handover import (
    HandedToOwnerError,
    answered_events,
    answers_reason,
    opt_out_reason,
)
from hems.storage.store import StoredEvent
from tests.hems.web.conftest import csrf_of, sign_in

from .conftest import make_demo


def _not_run_here(demo, owner: str) -> None:
    """This service is a replica that runs no home; ``owner`` holds the demo home's lease."""
    demo.runtime.service.owned = set()
    assert demo.runtime.store.claim_homes(owner, 30.0, limit=1) == {demo.home_id: 1}


def test_a_boost_through_a_replica_that_does_not_run_the_home_is_accepted(tmp_path, postgres_url):
    demo = make_demo(tmp_path, postgres_url)
    store, home = demo.runtime.store, demo.home_id
    demo.clock.advance(timedelta(hours=1, minutes=5))  # the car is home
    demo.runtime.simulations[home].advance(demo.clock.now())
    app = create_app(demo.runtime.settings, demo.runtime, run_scheduler=False)
    with TestClient(app) as client:
        _not_run_here(demo, "replica-b")
        planned = store.latest_plan_id(home)
        r = client.post(f"/homes/{home}/overrides", json={"kind": "ev_boost"}, headers=demo.auth())
        assert r.status_code == 202, r.text
        body = r.json()
        assert body["replica"] == "replica-b"
        assert body["replan_within_s"] == demo.runtime.settings.lease_renew_s
        assert "re-plans there within" in body["detail"]
        assert [o.kind for o in store.active_overrides(home, demo.clock.now())] == ["ev_boost"]
        assert store.latest_plan_id(home) == planned  # not planned here
        assert store.take_replan_requests("replica-b") == {home: "override ev_boost"}

        # the web app says it is done, and where the home re-plans
        sign_in(client, demo.home_token)
        today = client.get(f"/app/homes/{home}").text
        form = {"csrf": csrf_of(today), "action": "boost", "target": "EV", "minutes": "60"}
        page = client.post(f"/app/homes/{home}/overrides", data=form).text
        assert f"Done: home {home} is run by replica replica-b" in page

        # no replica holds the lease any more (its owner died): 503, try again
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE home_leases SET expires_at = expires_at - interval '1 hour'"))
        r = client.post(f"/homes/{home}/overrides", json={"kind": "ev_boost"}, headers=demo.auth())
        assert r.status_code == 503, r.text
        assert "no replica runs home" in r.json()["detail"]
    store.engine.dispose()


def test_an_opt_out_through_a_replica_that_does_not_run_the_home_is_accepted(
    tmp_path, postgres_url
):
    demo = make_demo(tmp_path, postgres_url)
    store, home = demo.runtime.store, demo.home_id
    app = create_app(demo.runtime.settings, demo.runtime, run_scheduler=False)
    with TestClient(app) as client:
        event = {
            "event_id": "cap-1",
            "kind": "import_cap",
            "value_kw": 0.5,
            "start": "2026-11-30T19:00:00Z",
            "end": "2026-11-30T20:00:00Z",
        }
        r = client.post(f"/homes/{home}/events", json=event, headers=demo.auth(demo.admin_token))
        assert r.status_code == 200, r.text
        _not_run_here(demo, "replica-b")
        r = client.post(f"/homes/{home}/events/cap-1/opt-out", headers=demo.auth())
        assert r.status_code == 202, r.text
        assert r.json()["replica"] == "replica-b"
        (stored,) = store.events(home)
        assert stored.response == "optOut"
        assert store.take_replan_requests("replica-b") == {home: "opt-out of cap-1"}

        # an event from the DSRSP through this replica: answered (200), planned by the owner
        later = {**event, "event_id": "cap-2", "start": "2026-11-30T21:00:00Z"}
        later["end"] = "2026-11-30T22:00:00Z"
        r = client.post(f"/homes/{home}/events", json=later, headers=demo.auth(demo.admin_token))
        assert r.status_code == 200, r.text
        assert r.json()["response"] == "optIn"
        assert store.take_replan_requests("replica-b") == {home: "DSR event cap-2"}
    store.engine.dispose()


def test_an_opt_out_and_a_changed_answer_through_another_replica_reach_the_vtn_from_the_owner(
    tmp_path, postgres_url
):
    """The owner's VEN sends what the replica without it took: the consumer's opt-out
    (oadrCreatedEvent + oadrCreateOpt) and an answer re-decided from new preferences. The
    listeners stand in for the VEN, which only the replica running the home has."""
    demo = make_demo(tmp_path, postgres_url)
    store, service, home = demo.runtime.store, demo.runtime.service, demo.home_id
    ownership = HomeOwnership(store, service, demo.runtime.settings, replica_id="a")
    sent: list[tuple[str, ...]] = []

    async def vtn_hears_opt_out(home_id: int, event_id: str) -> None:
        if service.runs(home_id):  # a VEN only where the home runs
            sent.append(("opt-out", event_id))

    async def vtn_hears_answer(home_id: int, event_id: str, response: str, _why: str) -> None:
        if service.runs(home_id):
            sent.append((response, event_id))

    service.opt_out_listeners.append(vtn_hears_opt_out)
    service.answer_listeners.append(vtn_hears_answer)

    async def through_the_other_replica(work) -> None:
        """Run ``work`` as a replica that does not run the home (as replica b would)."""
        mine, service.owned = service.owned, set()
        try:
            with pytest.raises(HandedToOwnerError):
                await work()
        finally:
            service.owned = mine

    def event(event_id: str, start_h: int) -> StoredEvent:
        start = datetime(2026, 11, 30, start_h, tzinfo=UTC)
        end = start + timedelta(hours=1)
        return StoredEvent(event_id, 0, "import_cap", 0.5, start, end, "far", "", "")

    async def scenario() -> None:
        service.owned = set()
        await ownership.lease_round()  # replica a runs the home
        while ownership._tasks:
            await asyncio.gather(*list(ownership._tasks))
        assert service.runs(home)
        await service.receive_event(home, event("cap-1", 19))
        await service.receive_event(home, event("cap-2", 21))
        assert [e.response for e in store.events(home)] == ["optIn", "optIn"]

        await through_the_other_replica(lambda: service.opt_out(home, "cap-1", "consumer"))
        assert sent == []  # the replica that took it has no VEN for the home
        await ownership.lease_round()
        assert sent == [("opt-out", "cap-1")]

        # consent withdrawn through the other replica: cap-2's answer becomes optOut
        prefs = store.preferences(home).model_copy(update={"dsr_consent": False})
        store.set_preferences(home, prefs, demo.clock.now(), "consumer")
        mine, service.owned = service.owned, set()
        changed = await service.reconsider_events(home, "consumer")
        service.owned = mine
        assert [(b, r) for b, r, _ in changed] == [("cap-2", "optOut")]
        assert sent == [("opt-out", "cap-1")]
        await ownership.lease_round()
        assert sent == [("opt-out", "cap-1"), ("optOut", "cap-2")]
        await service.settle()
        await ownership.stop()

    asyncio.run(scenario())
    store.engine.dispose()


def test_the_owner_reads_the_events_back_from_joined_reasons():
    joined = ", ".join(
        [
            answers_reason([("e1", "optOut"), ("e 2", "optIn")]),
            "preferences changed",
            opt_out_reason("cap-1/2"),
            opt_out_reason("e1"),
            "override ev_boost",
        ]
    )
    assert answered_events(joined) == ["e1", "e 2", "cap-1/2"]
    assert answered_events("preferences changed, device removed") == []
