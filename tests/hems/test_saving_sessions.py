"""Consumer DSR sessions (Octopus Saving Sessions style) through the API on the demo home: bad
input refused with a clear 422, the plan moves import out of an entered session, the baseline
from the home's metered history (10 weekdays' same half-hours), the reward earned from the
metered import once the session has run, and that reward as a credit on its day's bill."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hems.measured_load import SITE_METER
from hems.storage.tables import TelemetryRow
from hems.usecases.plans import executed_savings

from .conftest import MONDAY_5PM
from .web.conftest import sign_in

SESSION = {"start": "2026-11-30T18:00:00Z", "end": "2026-11-30T19:00:00Z"}


def _url(demo) -> str:
    return f"/homes/{demo.home_id}/saving-sessions"


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({**SESSION, "reward_p_per_kwh": -5}, "reward_p_per_kwh", "greater than 0"),
        ({**SESSION, "reward_p_per_kwh": 0}, "reward_p_per_kwh", "greater than 0"),
        ({**SESSION, "start": "2026-11-30T18:00:00", "reward_p_per_kwh": 100}, "start", "timezone"),
        ({**SESSION, "start": "2026-11-30T18:10:00Z", "reward_p_per_kwh": 100}, None, "half hour"),
        ({**SESSION, "end": "2026-11-30T17:30:00Z", "reward_p_per_kwh": 100}, None, "after start"),
        ({**SESSION, "end": "2026-12-02T18:00:00Z", "reward_p_per_kwh": 100}, None, "24 hours"),
        (
            {
                "start": "2026-11-30T15:00:00Z",
                "end": "2026-11-30T16:00:00Z",
                "reward_p_per_kwh": 100,
            },
            "end",
            "already ended",
        ),
    ],
)
def test_bad_sessions_are_refused_with_a_clear_422(client, demo, body, field, says):
    r = client.post(_url(demo), json=body, headers=demo.auth())
    assert r.status_code == 422, r.text
    detail = r.json()["detail"][0]
    if field is not None:
        assert detail["loc"][-1] == field
    assert says in detail["msg"]
    assert client.get(_url(demo), headers=demo.auth()).json() == []


def test_the_plan_moves_import_out_of_the_session_and_an_overlap_is_refused(client, demo):
    store = demo.runtime.service.store
    client.portal.call(demo.runtime.service.replan_and_dispatch, demo.home_id, "test")
    before = store.latest_plan(demo.home_id).schedule["grid_import_kw"]
    # the session: the hour the plan imports most in (the car and the battery charging)
    hourly = before.iloc[2:48].rolling(2).sum().shift(-1)
    start = hourly.idxmax()
    in_session = (before.index >= start) & (before.index < start + timedelta(hours=1))
    assert before[in_session].mean() > 2.0
    window = {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()}

    r = client.post(_url(demo), json={**window, "reward_p_per_kwh": 300}, headers=demo.auth())
    assert r.status_code == 201, r.text
    session = r.json()
    assert session["baseline_method"] == "plan"  # no metered history: the plan's import
    assert session["baseline_kw"] == pytest.approx(list(before[in_session]), abs=1e-3)
    after = store.latest_plan(demo.home_id).schedule["grid_import_kw"]
    assert after[in_session].sum() < 0.5 * before[in_session].sum()
    assert session["planned_reward_gbp"] > 0
    assert session["status"] == "upcoming"

    half = start + timedelta(minutes=30)
    overlap = {"start": half.isoformat(), "end": (half + timedelta(hours=1)).isoformat()}
    r = client.post(_url(demo), json={**overlap, "reward_p_per_kwh": 100}, headers=demo.auth())
    assert r.status_code == 422
    assert f"overlaps session {session['id']}" in r.json()["detail"][0]["msg"]

    r = client.delete(f"{_url(demo)}/{session['id']}", headers=demo.auth())
    assert r.status_code == 204
    [cancelled] = client.get(_url(demo), headers=demo.auth()).json()
    assert cancelled["status"] == "cancelled"
    assert client.delete(f"{_url(demo)}/999", headers=demo.auth()).status_code == 404


def _readings(at, minutes, kw):
    return [
        TelemetryRow(device_name=SITE_METER, at=at + timedelta(minutes=m), online=True, power_kw=kw)
        for m in minutes
    ]


def _run_a_metered_session(client, demo) -> dict:
    """A 250 p/kWh session at 18:00-19:00 UTC on a 2 kW metered baseline, run with 0.5 kW then
    2.5 kW imported, the clock past its end: it earns 0.75 kWh x 2.50 GBP."""
    store = demo.runtime.service.store
    rows = []
    for days_back in range(1, 22):
        day = MONDAY_5PM.replace(hour=18) - timedelta(days=days_back)
        weekend = day.weekday() >= 5
        # 2 kW in the session's half-hours on weekdays (4 kW on weekends: not counted)
        rows += _readings(day, range(0, 60, 10), 4.0 if weekend else 2.0)
    store.add_telemetry(demo.home_id, rows)

    r = client.post(_url(demo), json={**SESSION, "reward_p_per_kwh": 250}, headers=demo.auth())
    assert r.status_code == 201, r.text
    session = r.json()
    assert session["baseline_method"] == "metered"
    assert session["baseline_kw"] == [2.0, 2.0]
    assert session["earned_reward_gbp"] is None  # not run yet

    start = MONDAY_5PM.replace(hour=18)
    # the home imports 0.5 kW in the first half-hour and 2.5 kW (above its baseline: no
    # reward, no penalty) in the second
    store.add_telemetry(demo.home_id, _readings(start, range(0, 30, 5), 0.5))
    store.add_telemetry(demo.home_id, _readings(start, range(30, 60, 5), 2.5))
    demo.clock.advance(timedelta(hours=2, minutes=5))
    [ended] = client.get(_url(demo), headers=demo.auth()).json()
    return ended


def test_the_baseline_is_metered_and_the_reward_comes_from_the_metered_import(client, demo):
    ended = _run_a_metered_session(client, demo)
    assert ended["status"] == "ended"
    assert ended["measured_half_hours"] == 2
    assert ended["reduced_kwh"] == pytest.approx(1.5 * 0.5)
    assert ended["earned_reward_gbp"] == pytest.approx(0.75 * 2.50)


def test_the_earned_reward_is_a_credit_on_its_days_bill_counted_once(client, demo):
    ended = _run_a_metered_session(client, demo)
    reward = 0.75 * 2.50
    assert ended["earned_reward_gbp"] == pytest.approx(reward)
    service = demo.runtime.service
    now = service.clock.now()
    plans = service.store.plans_between(demo.home_id, now - timedelta(days=7), now)
    [energy] = executed_savings(plans, now)  # the slots' cost alone, no reward

    r = client.get(f"/homes/{demo.home_id}/savings?days=7", headers=demo.auth())
    assert r.status_code == 200, r.text
    [day] = r.json()
    assert day["day"] == "2026-11-30"
    assert day["saving_session_reward_gbp"] == pytest.approx(reward)
    assert day["cost_gbp"] == pytest.approx(energy.cost_gbp - reward, abs=1e-4)
    assert day["baseline_cost_gbp"] == pytest.approx(energy.baseline_cost_gbp, abs=1e-4)
    assert day["savings_gbp"] == pytest.approx(energy.savings_gbp + reward, abs=1e-4)

    # asked again later the same day, it is still counted once
    demo.clock.advance(timedelta(minutes=30))
    [again] = client.get(f"/homes/{demo.home_id}/savings?days=7", headers=demo.auth()).json()
    assert again["saving_session_reward_gbp"] == pytest.approx(reward)

    sign_in(client, demo.home_token)
    page = client.get(f"/app/homes/{demo.home_id}/history").text
    assert "Saving Session reward" in page
    assert page.count("£1.88") == 2  # its day and its month


def test_a_session_across_midnight_credits_each_day_what_was_saved_in_it(client, demo):
    store = demo.runtime.service.store
    start = MONDAY_5PM.replace(hour=23, minute=30)  # 23:30-00:30 UK time (GMT in November)
    for days_back in range(1, 22):  # a 2 kW metered baseline in both half-hours
        store.add_telemetry(demo.home_id, _readings(start - timedelta(days=days_back), [0, 30], 2))
    window = {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()}
    r = client.post(_url(demo), json={**window, "reward_p_per_kwh": 200}, headers=demo.auth())
    assert r.status_code == 201, r.text
    assert r.json()["baseline_kw"] == [2.0, 2.0]
    # Monday's half-hour saves 1.5 kW x 0.5 h, Tuesday's 1.0 kW x 0.5 h, at 2 GBP/kWh
    store.add_telemetry(demo.home_id, _readings(start, range(0, 30, 5), 0.5))
    store.add_telemetry(demo.home_id, _readings(start, range(30, 60, 5), 1.0))
    demo.clock.advance(timedelta(hours=8, minutes=5))
    [ended] = client.get(_url(demo), headers=demo.auth()).json()
    assert ended["earned_reward_gbp"] == pytest.approx(1.25 * 2.0)

    r = client.get(f"/homes/{demo.home_id}/savings?days=7", headers=demo.auth())
    assert r.status_code == 200, r.text
    rewards = {d["day"]: d["saving_session_reward_gbp"] for d in r.json()}
    assert rewards == {"2026-11-30": pytest.approx(1.5), "2026-12-01": pytest.approx(1.0)}


def test_a_cancelled_or_running_session_adds_nothing_to_the_bill(client, demo):
    store = demo.runtime.service.store
    client.portal.call(demo.runtime.service.replan_and_dispatch, demo.home_id, "test")
    base = {"end": "2026-11-30T19:00:00Z", "reward_p_per_kwh": 300}
    running = client.post(
        _url(demo), json={**base, "start": "2026-11-30T17:30:00Z"}, headers=demo.auth()
    ).json()
    # a running session: nothing yet, though a half-hour of it has ended below its baseline
    store.add_telemetry(demo.home_id, _readings(MONDAY_5PM.replace(minute=30), range(0, 30, 5), 0))
    demo.clock.advance(timedelta(minutes=65))
    assert client.get(_url(demo), headers=demo.auth()).json()[0]["earned_reward_gbp"] > 0
    [day] = client.get(f"/homes/{demo.home_id}/savings?days=7", headers=demo.auth()).json()
    assert day["saving_session_reward_gbp"] == 0
    # cancelled, then over: still nothing
    client.delete(f"{_url(demo)}/{running['id']}", headers=demo.auth())
    demo.clock.advance(timedelta(hours=2))
    [day] = client.get(f"/homes/{demo.home_id}/savings?days=7", headers=demo.auth()).json()
    assert day["saving_session_reward_gbp"] == 0
