"""Octopus Saving Sessions fetched for the demo home from a fake of Octopus's GraphQL API on
127.0.0.1: a joined session is stored as the home's (source octopus) and planned around, a
re-fetch adds nothing twice (nor revives a cancelled one), an announced session is joined
only when the consumer chose it, the page and the API say where a session came from, and a
refused key or a broken answer leaves the home's sessions as they were."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hems.octopus_jobs import OctopusLink
from hems.octopus_sessions import OctopusSessionsJob
from tests.adapters.conftest import FAST
from tests.adapters.tariffs.fake_octopus_graphql import ACCOUNT, API_KEY, FakeOctopus, fake_octopus
from tests.hems.web.conftest import sign_in

LINK = OctopusLink(ACCOUNT, API_KEY)


def _job(demo, fake: FakeOctopus, link: OctopusLink = LINK) -> OctopusSessionsJob:
    return OctopusSessionsJob(
        demo.runtime.service,
        lambda: [(demo.home_id, link)],
        url=fake.url,
        backend_url=fake.backend_url,
        policy=FAST,
    )


def _planned(client, demo):
    """The demo home's first plan, and its busiest import hour (when the plan charges)."""
    client.portal.call(demo.runtime.service.replan_and_dispatch, demo.home_id, "test")
    imports = demo.runtime.service.store.latest_plan(demo.home_id).schedule["grid_import_kw"]
    start = imports.iloc[2:48].rolling(2).sum().shift(-1).idxmax()
    return imports, start


def _announce(
    fake, event_id: int, start, hours: float = 1.0, points: float = 1800, regions=()
) -> None:
    """Make the fake announce ``event_id`` at ``start`` in ``regions`` (none: everywhere),
    replacing the recorded events."""
    events = fake.sessions["data"]["savingSessions"]["events"]
    events[:] = [e for e in events if e["id"] != event_id] + [
        {
            "id": event_id,
            "code": f"EVENT_{event_id}",
            "startAt": start.isoformat(),
            "endAt": (start + timedelta(hours=hours)).isoformat(),
            "rewardPerKwhInOctoPoints": points,
            "devEvent": False,
            "targetRegion": [{"regionId": r} for r in regions],
        }
    ]


def test_a_joined_session_is_stored_once_and_planned_around(client, demo):
    store = demo.runtime.service.store
    before, start = _planned(client, demo)
    in_session = (before.index >= start) & (before.index < start + timedelta(hours=1))
    assert before[in_session].mean() > 2.0
    with fake_octopus() as fake:
        fake.sessions["data"]["savingSessions"]["events"].clear()
        _announce(fake, 101, start)  # joined in the recorded payload
        job = _job(demo, fake)
        [report] = client.portal.call(job.run)
        assert report.error is None
        assert len(report.added) == 1
        assert report.joined == []
        [session] = store.saving_sessions(demo.home_id)
        assert (session.source, session.octopus_event_id) == ("octopus", "101")
        assert session.reward_p_per_kwh == pytest.approx(225.0)  # 1,800 points
        assert session.baseline_method == "plan"
        after = store.latest_plan(demo.home_id).schedule["grid_import_kw"]
        assert after[in_session].sum() < 0.5 * before[in_session].sum()

        [again] = client.portal.call(job.run)  # a re-fetch: nothing new, one token
        assert again.added == []
        assert again.skipped == {}
        assert len(store.saving_sessions(demo.home_id)) == 1
        assert fake.tokens == ["tok-1"]
        assert fake.cookies == []  # the shared connection pool keeps no cookie

        r = client.delete(
            f"/homes/{demo.home_id}/saving-sessions/{session.id}", headers=demo.auth()
        )
        assert r.status_code == 204
        client.portal.call(job.run)  # cancelled here: stays cancelled
        [cancelled] = store.saving_sessions(demo.home_id)
        assert cancelled.cancelled_at is not None


def test_an_announced_session_is_joined_only_when_the_consumer_chose_it(client, demo):
    store = demo.runtime.service.store
    _, start = _planned(client, demo)
    with fake_octopus() as fake:
        fake.sessions["data"]["savingSessions"]["events"].clear()
        _announce(fake, 102, start, points=2400)  # announced, not joined
        job = _job(demo, fake)
        [report] = client.portal.call(job.run)
        assert report.added == []
        assert fake.joins == []
        assert report.skipped == {"102": "not joined (joining for the consumer is off)"}
        assert store.saving_sessions(demo.home_id) == []

        prefs = store.preferences(demo.home_id)
        chosen = prefs.model_copy(update={"octopus_join_saving_sessions": True})
        store.set_preferences(demo.home_id, chosen, demo.clock.now(), "consumer")
        [report] = client.portal.call(job.run)
        assert fake.joins == ["EVENT_102"]
        assert report.joined == ["102"]
        assert len(report.added) == 1
        [session] = store.saving_sessions(demo.home_id)
        assert session.reward_p_per_kwh == pytest.approx(300.0)

        fake.join_event(102)  # Octopus lists it as joined now: not joined twice
        client.portal.call(job.run)
        assert fake.joins == ["EVENT_102"]

        # an account not signed up to Saving Sessions: Octopus would refuse, not tried
        fake.sessions["data"]["savingSessions"]["account"]["hasJoinedCampaign"] = False
        _announce(fake, 104, start + timedelta(hours=3))
        [report] = client.portal.call(job.run)
        assert fake.joins == ["EVENT_102"]
        assert report.skipped == {
            "104": "not joined: the account has not signed up to Saving Sessions"
        }


def test_a_session_offered_in_other_regions_is_not_joined(client, demo):
    store = demo.runtime.service.store
    _, start = _planned(client, demo)
    prefs = store.preferences(demo.home_id)
    chosen = prefs.model_copy(update={"octopus_join_saving_sessions": True})
    store.set_preferences(demo.home_id, chosen, demo.clock.now(), "consumer")
    with fake_octopus() as fake:  # the account is in region 12
        fake.sessions["data"]["savingSessions"]["events"].clear()
        _announce(fake, 105, start, regions=(11, 13))
        _announce(fake, 106, start + timedelta(hours=2), regions=(12,))
        [report] = client.portal.call(_job(demo, fake).run)
        assert fake.joins == ["EVENT_106"]  # Octopus would refuse 105 (OE-1308)
        assert report.skipped == {"105": "not offered in the account's region (12)"}
        assert [s.octopus_event_id for s in store.saving_sessions(demo.home_id)] == ["106"]
        assert {r["host"] for r in fake.requests if "Session" in r["query"]} == {"backend"}


def test_the_api_and_the_page_say_which_sessions_came_from_octopus(client, demo):
    _, start = _planned(client, demo)
    url = f"/homes/{demo.home_id}/saving-sessions"
    later = start + timedelta(hours=2)
    window = {"start": later.isoformat(), "end": (later + timedelta(hours=1)).isoformat()}
    r = client.post(url, json={**window, "reward_p_per_kwh": 100}, headers=demo.auth())
    assert r.status_code == 201, r.text
    with fake_octopus() as fake:
        fake.sessions["data"]["savingSessions"]["events"].clear()
        _announce(fake, 101, start)
        client.portal.call(_job(demo, fake).run)
    listed = client.get(url, headers=demo.auth()).json()
    assert [(s["source"], s["octopus_event_id"]) for s in listed] == [
        ("octopus", "101"),
        ("consumer", None),
    ]
    sign_in(client, demo.home_token)
    page = client.get(f"/app{url}").text
    assert page.count('data-source="octopus"') == 1
    assert "From your Octopus account (event 101)." in page
    assert "Entered by you." in page


@pytest.mark.parametrize(
    ("script", "key", "says"),
    [
        ([], "sk_live_wrong", "OctopusAuthError"),
        ([(200, b"{not json")], API_KEY, "ParseError"),
        ([(503, b"")] * 3, API_KEY, "FetchError"),
    ],
)
def test_a_failed_fetch_is_reported_and_changes_nothing(client, demo, script, key, says):
    _, start = _planned(client, demo)
    store = demo.runtime.service.store
    with fake_octopus() as fake:
        _announce(fake, 101, start)
        link = OctopusLink(ACCOUNT, key)
        job = _job(demo, fake, link)
        if script:
            job.fetch_home(demo.home_id, link)  # a token, and the session stored
            fake.script += script
        sessions = store.saving_sessions(demo.home_id)
        [report] = client.portal.call(job.run)
    assert report.error is not None
    assert report.error.startswith(says)
    assert key not in report.error
    assert store.saving_sessions(demo.home_id) == sessions


def test_hostile_events_are_left_out_saying_why(client, demo):
    _, start = _planned(client, demo)
    with fake_octopus() as fake:
        fake.sessions["data"]["savingSessions"]["events"].clear()
        _announce(fake, 101, start + timedelta(minutes=10))  # joined, not on half hours
        backwards = {"startAt": "2026-11-30T20:00:00Z", "endAt": "2026-11-30T19:00:00Z"}
        fake.sessions["data"]["savingSessions"]["events"].append(
            {"id": 103, "code": "E", "rewardPerKwhInOctoPoints": 800, **backwards}
        )
        [report] = client.portal.call(_job(demo, fake).run)
    assert report.skipped == {
        "101": "not on half hours",
        "103": "Octopus sent nonsense: ends before it starts",
    }
    assert demo.runtime.service.store.saving_sessions(demo.home_id) == []


PAST_EVENT = {
    "id": 80,
    "code": "EVENT_80",
    "startAt": "2026-11-20T17:00:00+00:00",
    "endAt": "2026-11-20T18:00:00+00:00",
    "rewardPerKwhInOctoPoints": 1600,
    "devEvent": False,
}
"""A session of the season that has run: ``events`` keeps listing those."""


def test_an_upcoming_session_octopus_withdraws_is_cancelled_and_the_home_replans(client, demo):
    store = demo.runtime.service.store
    before, start = _planned(client, demo)
    in_session = (before.index >= start) & (before.index < start + timedelta(hours=1))
    with fake_octopus() as fake:
        events = fake.sessions["data"]["savingSessions"]["events"]
        events.clear()
        _announce(fake, 101, start)  # joined in the recorded payload
        events.append(dict(PAST_EVENT))
        job = _job(demo, fake)
        [report] = client.portal.call(job.run)
        [session] = store.saving_sessions(demo.home_id)
        planned = store.latest_plan(demo.home_id).schedule["grid_import_kw"]
        assert planned[in_session].sum() < 0.5 * before[in_session].sum()

        events.clear()  # a list of nothing: not trusted to withdraw anything
        [report] = client.portal.call(job.run)
        assert report.cancelled == []
        assert store.saving_sessions(demo.home_id)[0].cancelled_at is None

        events.append(dict(PAST_EVENT))  # the season's list without 101: withdrawn
        plans_before = store.latest_plan_id(demo.home_id)
        [report] = client.portal.call(job.run)
        assert report.cancelled == [session.id]
        [cancelled] = store.saving_sessions(demo.home_id)
        assert cancelled.cancelled_at == demo.clock.now()
        assert store.latest_plan_id(demo.home_id) != plans_before  # re-planned without it
        after = store.latest_plan(demo.home_id).schedule["grid_import_kw"]
        assert after[in_session].sum() > 2 * planned[in_session].sum()

        [again] = client.portal.call(job.run)  # said once
        assert again.cancelled == []


def test_a_running_session_octopus_stops_listing_is_left_as_it_was(client, demo):
    store = demo.runtime.service.store
    _planned(client, demo)
    with fake_octopus() as fake:
        events = fake.sessions["data"]["savingSessions"]["events"]
        events.clear()
        _announce(fake, 101, demo.clock.now())  # joined, running from now
        job = _job(demo, fake)
        client.portal.call(job.run)
        demo.clock.advance(timedelta(minutes=10))
        events[:] = [dict(PAST_EVENT)]
        [report] = client.portal.call(job.run)
    assert report.cancelled == []
    [session] = store.saving_sessions(demo.home_id)
    assert session.cancelled_at is None


def test_a_session_octopus_moves_is_moved_and_the_home_replans(client, demo):
    store = demo.runtime.service.store
    before, start = _planned(client, demo)
    later = start + timedelta(hours=2)

    def window(at):
        return (before.index >= at) & (before.index < at + timedelta(hours=1))

    with fake_octopus() as fake:
        fake.sessions["data"]["savingSessions"]["events"].clear()
        _announce(fake, 101, start)  # joined in the recorded payload
        job = _job(demo, fake)
        client.portal.call(job.run)
        [session] = store.saving_sessions(demo.home_id)

        _announce(fake, 101, later)  # Octopus moved it two hours on
        [report] = client.portal.call(job.run)
        assert report.moved == [session.id]
        assert report.cancelled == []
        [moved] = store.saving_sessions(demo.home_id)
        assert (moved.id, moved.start, moved.end) == (
            session.id,
            later.to_pydatetime(),
            (later + timedelta(hours=1)).to_pydatetime(),
        )
        assert moved.cancelled_at is None
        assert len(moved.baseline_kw) == 2
        after = store.latest_plan(demo.home_id).schedule["grid_import_kw"]
        assert after[window(start)].sum() > 0.5 * before[window(start)].sum()  # free again

        [again] = client.portal.call(job.run)  # nothing more to do
        assert again.moved == again.cancelled == []

        # moved to times it cannot take: cancelled, saying why
        _announce(fake, 101, later + timedelta(minutes=10))
        [report] = client.portal.call(job.run)
        assert report.cancelled == [session.id]
        assert report.skipped == {"101": "cancelled: moved to times not on half hours"}
        [cancelled] = store.saving_sessions(demo.home_id)
        assert cancelled.cancelled_at is not None


def test_a_session_octopus_moves_onto_one_the_consumer_entered_is_cancelled(client, demo):
    store = demo.runtime.service.store
    _, start = _planned(client, demo)
    later = start + timedelta(hours=2)
    entered = {"start": later.isoformat(), "end": (later + timedelta(hours=1)).isoformat()}
    with fake_octopus() as fake:
        fake.sessions["data"]["savingSessions"]["events"].clear()
        _announce(fake, 101, start)
        job = _job(demo, fake)
        client.portal.call(job.run)
        r = client.post(
            f"/homes/{demo.home_id}/saving-sessions",
            json={**entered, "reward_p_per_kwh": 100},
            headers=demo.auth(),
        )
        assert r.status_code == 201, r.text
        _announce(fake, 101, later + timedelta(minutes=30))
        [report] = client.portal.call(job.run)
    assert report.moved == []
    assert report.skipped["101"].startswith(
        f"cancelled: moved onto another session: overlaps session {r.json()['id']}"
    )
    octopus, consumer = store.saving_sessions(demo.home_id)
    assert octopus.cancelled_at is not None
    assert octopus.start == start  # left at its old times, cancelled
    assert consumer.cancelled_at is None
