"""The cohort import limit an operator sets (PUT/GET/DELETE /admin/cohort/limit): admin only,
bad values refused, and while it holds the slot's batch coordinates the homes so the plans
dispatched keep their shares and their sum keeps to the limit (docs/cohort.md)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import numpy as np

import hems.cohort_limit as cohort_limit
from hems.cohort.coordination import SHARE_EVENT_ID
from hems.cohort.measures import import_kw
from hems.demo import demo_home_spec
from hems.plan_causes import COHORT_CAUSE, with_cohort_causes
from optimiser import Violation, Wish

PATH = "/admin/cohort/limit"
TOL_KW = 0.06  # the coordination's tolerance and the soft share's rounding


def _admin(demo) -> dict[str, str]:
    return demo.auth(demo.admin_token)


def _limit(demo, kw: float, hours: float = 6.0) -> dict[str, object]:
    now = demo.clock.now()
    return {
        "limit_kw": kw,
        "from": now.isoformat(),
        "until": (now + timedelta(hours=hours)).isoformat(),
    }


def test_the_cohort_limit_is_for_the_admin_only(client, demo):
    body = _limit(demo, 5.0)
    assert client.put(PATH, json=body).status_code == 401
    assert client.put(PATH, json=body, headers=demo.auth()).status_code == 403
    assert client.get(PATH, headers=demo.auth()).status_code == 403
    assert client.delete(PATH, headers=demo.auth()).status_code == 403
    assert demo.runtime.store.cohort_limit() is None


def test_bad_limits_are_refused_with_422(client, demo):
    good = _limit(demo, 5.0)
    past = demo.clock.now() - timedelta(hours=2)
    bad = [
        {**good, "limit_kw": 0},
        {**good, "limit_kw": -1},
        {**good, "limit_kw": "lots"},
        {k: v for k, v in good.items() if k != "until"},
        {**good, "until": good["from"]},  # not after `from`
        {**good, "from": "2026-11-30T17:00:00"},  # no UTC offset
        {**good, "from": past.isoformat(), "until": (past + timedelta(hours=1)).isoformat()},
        {**good, "extra": 1},
    ]
    for body in bad:
        r = client.put(PATH, json=body, headers=_admin(demo))
        assert r.status_code == 422, (body, r.text)
    endless = json.dumps({**good, "limit_kw": 1}).replace('"limit_kw": 1', '"limit_kw": 1e999')
    headers = {**_admin(demo), "Content-Type": "application/json"}
    assert client.put(PATH, content=endless, headers=headers).status_code == 422
    assert demo.runtime.store.cohort_limit() is None


def test_a_limit_is_set_read_replaced_and_cleared(client, demo):
    assert client.get(PATH, headers=_admin(demo)).status_code == 404
    r = client.put(PATH, json=_limit(demo, 5.0), headers=_admin(demo))
    assert r.status_code == 200, r.text
    assert r.json()["limit_kw"] == 5.0
    assert r.json()["in_force"] is True
    assert r.json()["set_by"] == "admin"
    assert client.put(PATH, json=_limit(demo, 7.5), headers=_admin(demo)).status_code == 200
    got = client.get(PATH, headers=_admin(demo)).json()
    assert got["limit_kw"] == 7.5
    assert set(got) >= {"from", "until", "in_force"}
    assert client.delete(PATH, headers=_admin(demo)).status_code == 204
    assert client.get(PATH, headers=_admin(demo)).status_code == 404
    assert client.delete(PATH, headers=_admin(demo)).status_code == 404


def _dispatched_import_kw(demo, homes: list[int]) -> np.ndarray:
    """The summed import per slot of the plans the homes run (their controllers' last)."""
    service = demo.runtime.service
    plans = [service.controllers[h].made for h in homes]
    assert all(p is not None for p in plans)
    return np.sum([import_kw(p.plan.schedule) for p in plans if p is not None], axis=0)


def _homes(client, demo, n_more: int) -> list[int]:
    homes = [demo.home_id]
    for i in range(n_more):
        spec = demo_home_spec(f"LIMIT-{i}").model_dump(mode="json")
        r = client.post("/homes", json=spec, headers=_admin(demo))
        assert r.status_code == 201, r.text
        homes.append(r.json()["id"])
    return homes


def test_the_dispatched_plans_keep_to_the_limit_while_it_holds(client, demo):
    homes = _homes(client, demo, 2)
    service = demo.runtime.service
    client.portal.call(service.cycle_all)
    alone = _dispatched_import_kw(demo, homes)
    limit_kw = round(0.75 * float(alone.max()), 2)
    assert alone.max() > limit_kw + 1.0  # without the limit the cohort goes over it

    demo.clock.advance(timedelta(minutes=30))
    assert client.put(PATH, json=_limit(demo, limit_kw), headers=_admin(demo)).status_code == 200
    client.portal.call(service.cycle_all)
    limited = _dispatched_import_kw(demo, homes)
    grid = service.controllers[demo.home_id].made
    assert grid is not None
    n_limited = 12  # 6 h of half-hour slots from now
    assert limited[:n_limited].max() <= limit_kw + TOL_KW
    for h in homes:  # each home planned with its share, under the operator's limit
        ctl = service.controllers[h]
        assert ctl.cohort_share
        assert all(r.event_id == SHARE_EVENT_ID for r in ctl.cohort_share)
        stored = demo.runtime.store.latest_plan(h)
        assert stored is not None
        assert "cohort import limit from the operator" in stored.trigger
    assert not service.plan_flags.homes()  # converged: nobody flagged

    # cleared: the next batch plans without the shares and the cohort is over again
    assert client.delete(PATH, headers=_admin(demo)).status_code == 204
    client.portal.call(service.cycle_all)
    assert all(not service.controllers[h].cohort_share for h in homes)
    assert _dispatched_import_kw(demo, homes).max() > limit_kw + 1.0


def test_unconverged_by_the_deadline_the_homes_keep_the_last_shares_flagged(
    client, demo, monkeypatch
):
    homes = _homes(client, demo, 1)
    service = demo.runtime.service
    client.portal.call(service.cycle_all)
    # over the limit from 18:00 on, where the batch below runs out of time
    limit_kw = round(0.75 * float(_dispatched_import_kw(demo, homes)[2:12].max()), 2)
    assert client.put(PATH, json=_limit(demo, limit_kw), headers=_admin(demo)).status_code == 200
    demo.clock.advance(timedelta(minutes=30))
    client.portal.call(service.cycle_all)
    kept = {h: list(service.controllers[h].cohort_share) for h in homes}
    assert all(kept.values())

    monkeypatch.setattr(cohort_limit, "COORDINATION_SHARE_OF_BUDGET", -1.0)  # out of time
    demo.clock.advance(timedelta(minutes=30))
    client.portal.call(service.cycle_all)
    flags = service.plan_flags.homes()
    for h in homes:
        assert "did not converge" in (flags[h].last_reason or "")
        assert service.controllers[h].cohort_share == kept[h]
    assert _dispatched_import_kw(demo, homes)[:10].max() <= limit_kw + TOL_KW


def test_a_cause_names_the_operators_limit_not_a_dsr_request(client, demo):
    client.portal.call(demo.runtime.service.cycle_all)
    made = demo.runtime.service.controllers[demo.home_id].made
    assert made is not None
    now = demo.clock.now()
    missed = Violation(
        wish=Wish.EV_TARGET,
        asset="EV",
        amount=1.0,
        unit="kWh",
        message=f"EV short, 18:00: DSR request {SHARE_EVENT_ID} limits the home's power then.",
        start_utc=now,
        end_utc=now,
    )
    out = with_cohort_causes(replace(made.plan, violations=(missed,)))
    assert COHORT_CAUSE in out.violations[0].message
    assert "DSR request" not in out.violations[0].message


def test_a_limit_beyond_the_horizon_changes_no_plan_yet(client, demo):
    homes = _homes(client, demo, 1)
    service = demo.runtime.service
    start = demo.clock.now() + timedelta(hours=service.settings.horizon_hours + 1)
    body = {
        "limit_kw": 0.5,
        "from": start.isoformat(),
        "until": (start + timedelta(hours=2)).isoformat(),
    }
    r = client.put(PATH, json=body, headers=_admin(demo))
    assert r.status_code == 200, r.text
    assert r.json()["in_force"] is False
    client.portal.call(service.cycle_all)
    for h in homes:
        assert not service.controllers[h].cohort_share
        stored = demo.runtime.store.latest_plan(h)
        assert stored is not None
        assert "from the operator" not in stored.trigger  # not coordinated


def test_the_consumers_plan_names_the_operators_limit_for_a_wish_it_misses(client, demo):
    homes = _homes(client, demo, 1)
    body = _limit(demo, 1.0, hours=14)  # too tight for the cars' evening charge
    assert client.put(PATH, json=body, headers=_admin(demo)).status_code == 200
    client.portal.call(demo.runtime.service.cycle_all)
    plan = client.get(f"/homes/{homes[0]}/plan", headers=demo.auth()).json()
    text = json.dumps(plan)
    assert COHORT_CAUSE in text
    assert f"DSR request {SHARE_EVENT_ID}" not in text
