"""The operator's view of the cohort (GET /admin/cohort...): admin only, an empty cohort answers,
plans, events and what a home delivered against what was asked (docs/cohort.md)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from hems.app import create_app
from hems.demo import demo_home_spec
from hems.measured_load import SITE_METER
from hems.runtime import build_runtime
from hems.settings import Settings
from hems.storage.tables import TelemetryRow

PATHS = ("/admin/cohort", "/admin/cohort/homes", "/admin/cohort/flexibility")


def test_the_cohort_is_for_the_admin_only(client, demo):
    for path in PATHS:
        assert client.get(path).status_code == 401
        assert client.get(path, headers=demo.auth()).status_code == 403


def test_an_empty_cohort_answers_with_nothing_in_it(tmp_path):
    settings = Settings(state_dir=tmp_path, planner_processes=0)
    runtime = build_runtime(settings)
    admin = {"Authorization": f"Bearer {runtime.new_tokens['admin']}"}
    with TestClient(create_app(settings, runtime, run_scheduler=False)) as c:
        view = c.get("/admin/cohort", headers=admin)
        assert view.status_code == 200, view.text
        body = view.json()
        assert body["homes"] == 0
        assert body["planned"] is None
        assert body["baseline"] is None
        assert body["events"] == []
        assert c.get("/admin/cohort/homes", headers=admin).json() == []
        flex = c.get("/admin/cohort/flexibility", headers=admin).json()
        assert flex == {"homes": 0, "homes_without": [], "profiles": None}
    runtime.service.close()


def _admin(demo) -> dict[str, str]:
    return demo.auth(demo.admin_token)


def test_the_cohort_shows_plans_events_and_delivery_against_asked(client, demo):
    other = client.post(
        "/homes", json=demo_home_spec("OTHER-7").model_dump(mode="json"), headers=_admin(demo)
    )
    assert other.status_code == 201
    other_id = other.json()["id"]
    # a cap of 1 kW from 17:00 to 18:00: the demo home re-plans and opts in
    event = {
        "event_id": "cap-1",
        "kind": "import_cap",
        "value_kw": 1.0,
        "start": "2026-11-30T17:00:00Z",
        "end": "2026-11-30T18:00:00Z",
    }
    r = client.post(f"/homes/{demo.home_id}/events", json=event, headers=_admin(demo))
    assert r.status_code in (200, 201), r.text
    start = demo.clock.now()
    meter = [(5, 0.8), (10, 0.9), (70, 5.0)]  # the last after the event: not counted
    demo.runtime.store.add_telemetry(
        demo.home_id,
        [
            TelemetryRow(
                device_name=SITE_METER, at=start + timedelta(minutes=m), online=True, power_kw=kw
            )
            for m, kw in meter
        ],
    )
    demo.clock.advance(timedelta(minutes=20))

    homes = {h["id"]: h for h in client.get("/admin/cohort/homes", headers=_admin(demo)).json()}
    mine, theirs = homes[demo.home_id], homes[other_id]
    assert mine["plan"]["plan_id"] is not None
    assert mine["plan"]["failed"] is False
    assert mine["plan"]["late"] is False
    assert mine["ven"]["running"] is False  # no vtn_url in the tests
    assert mine["ven"]["enrolment"] == "enrolled"
    (delivered,) = mine["events"]
    assert delivered["response"] == "optIn"
    assert delivered["readings"] == 2
    assert delivered["measured_kw"] == pytest.approx(0.85)
    assert delivered["delivered"] is True
    assert delivered["shortfall_kw"] == 0.0
    assert theirs["plan"]["plan_id"] is None
    assert theirs["plan"]["failed"] is True
    assert theirs["events"] == []

    view = client.get("/admin/cohort", headers=_admin(demo)).json()
    assert view["homes"] == 2
    assert view["plans_failed"] == 1  # the new home has no plan yet
    planned, baseline = view["planned"], view["baseline"]
    assert planned["homes"] == 1
    assert planned["peak_import_kw"] == pytest.approx(max(planned["import_kw"]))
    assert len(planned["slot_start"]) == len(planned["import_kw"]) > 0
    assert planned["slot_start"][0] == "2026-11-30T17:00:00Z"  # from the current slot on
    assert baseline is not None
    assert baseline["slot_start"] == planned["slot_start"]
    (cohort_event,) = view["events"]
    assert cohort_event["event_id"] == "cap-1"
    assert cohort_event["opted_in"] == 1
    assert cohort_event["asked_kw"] == 1.0
    assert cohort_event["measured_kw"] == pytest.approx(0.85)
    assert cohort_event["homes_delivered"] == 1


def test_a_site_over_its_cap_did_not_deliver(client, demo):
    event = {
        "event_id": "cap-2",
        "kind": "import_cap",
        "value_kw": 0.5,
        "start": "2026-11-30T17:00:00Z",
        "end": "2026-11-30T18:00:00Z",
    }
    client.post(f"/homes/{demo.home_id}/events", json=event, headers=_admin(demo))
    demo.runtime.store.add_telemetry(
        demo.home_id,
        [
            TelemetryRow(
                device_name=SITE_METER,
                at=demo.clock.now() + timedelta(minutes=1),
                online=True,
                power_kw=2.0,
            )
        ],
    )
    demo.clock.advance(timedelta(minutes=5))
    (home,) = client.get("/admin/cohort/homes", headers=_admin(demo)).json()
    assert home["events"][0]["delivered"] is False
    assert home["events"][0]["shortfall_kw"] == pytest.approx(1.5)


def test_the_cohort_flexibility_sums_the_homes_profiles(client, demo):
    client.portal.call(demo.runtime.service.settle)
    r = client.post(
        f"/homes/{demo.home_id}/events",
        headers=_admin(demo),
        json={
            "event_id": "x",
            "kind": "import_cap",
            "value_kw": 3.0,
            "start": "2026-11-30T20:00:00Z",
            "end": "2026-11-30T21:00:00Z",
        },
    )
    assert r.status_code in (200, 201)
    flex = client.get("/admin/cohort/flexibility", headers=_admin(demo)).json()
    assert flex["homes"] == 1
    profiles = flex["profiles"]
    n = len(profiles["slot_start"])
    assert n > 0
    assert len(profiles["intended_kw"]) == len(profiles["least_delayed_kw"]) == n
    assert len(profiles["most_delayed_kw"]) == n


def test_a_cohort_limit_is_tried_on_the_current_plans_without_changing_them(client, demo):
    other = client.post(
        "/homes", json=demo_home_spec("OTHER-8").model_dump(mode="json"), headers=_admin(demo)
    ).json()["id"]
    client.portal.call(demo.runtime.service.cycle_all)
    plan_before = client.get(f"/homes/{demo.home_id}/plan", headers=demo.auth()).json()["id"]
    path = "/admin/cohort/coordination"
    assert client.post(path, json={"limit_kw": 5.0}, headers=demo.auth()).status_code == 403
    for bad in ({"limit_kw": -1}, {"limit_kw": 0}, {}, {"limit_kw": "lots"}):
        assert client.post(path, json=bad, headers=_admin(demo)).status_code == 422
    r = client.post(path, json={"limit_kw": 6.0}, headers=_admin(demo))
    assert r.status_code == 200, r.text
    body = r.json()
    assert sorted(body["homes"]) == sorted([demo.home_id, other])
    assert body["left_out"] == []
    assert body["converged"] is True
    assert body["before"]["peak_import_kw"] > 6.0
    assert body["after"]["peak_import_kw"] <= 6.0 + 0.05
    assert body["over_limit_kw"] <= 0.05
    assert body["cost_of_limit_gbp"] == pytest.approx(
        body["bill_after_gbp"] - body["bill_before_gbp"], abs=1e-3
    )
    # a what-if: the plan in force is the same
    assert client.get(f"/homes/{demo.home_id}/plan", headers=demo.auth()).json()["id"] == (
        plan_before
    )


def test_a_cohort_limit_on_an_empty_cohort_is_no_error(tmp_path):
    settings = Settings(state_dir=tmp_path, planner_processes=0)
    runtime = build_runtime(settings)
    admin = {"Authorization": f"Bearer {runtime.new_tokens['admin']}"}
    with TestClient(create_app(settings, runtime, run_scheduler=False)) as c:
        r = c.post("/admin/cohort/coordination", json={"limit_kw": 5.0}, headers=admin)
        assert r.status_code == 200, r.text
        assert r.json()["homes"] == []
        assert r.json()["before"] is None
    runtime.service.close()


def test_devices_of_a_home_run_elsewhere_are_read_from_their_last_stored_reading(client, demo):
    """Another replica runs the home (no controller here): its devices' last readings say which
    answer; a device never read counts as offline."""
    spec = demo.runtime.store.home(demo.home_id)
    names = [d.name for d in spec.devices]
    assert len(names) >= 3
    demo.runtime.service.controllers.pop(demo.home_id, None)
    now = demo.clock.now()
    demo.runtime.store.add_telemetry(
        demo.home_id,
        [
            TelemetryRow(device_name=names[0], at=now - timedelta(minutes=2), online=False),
            TelemetryRow(device_name=names[0], at=now, online=True, power_kw=1.0),
            TelemetryRow(device_name=names[1], at=now - timedelta(minutes=2), online=True),
            TelemetryRow(device_name=names[1], at=now, online=False),
        ],
    )
    (home,) = client.get("/admin/cohort/homes", headers=_admin(demo)).json()
    assert home["devices"] == len(names)
    assert home["devices_offline"] == names[1:]  # names[1] went offline; the rest never read


def test_a_plan_flagged_late_by_the_batch_shows_until_the_home_plans_again(client, demo):
    client.portal.call(demo.runtime.service.cycle_all)
    flags = demo.runtime.service.plan_flags
    demo.clock.advance(timedelta(minutes=30))
    flags.flag(demo.home_id, "late", "not planned by the deadline", demo.clock.now())
    view = client.get("/admin/cohort", headers=_admin(demo)).json()
    assert view["plans_late"] == 1
    (home,) = client.get("/admin/cohort/homes", headers=_admin(demo)).json()
    assert home["plan"]["late"] is True
    assert home["plan"]["late_count"] == 1
    assert home["plan"]["last_flag_reason"] == "not planned by the deadline"
    demo.clock.advance(timedelta(minutes=1))
    client.portal.call(demo.runtime.service.cycle_all)  # planned again after the flag
    (home,) = client.get("/admin/cohort/homes", headers=_admin(demo)).json()
    assert home["plan"]["late"] is False
    assert home["plan"]["late_count"] == 1
