"""The saving sessions page: a session entered through the form in UK local time (the same
operation as the API, so re-planned and audited), shown with its baseline, refused with the
reason for a bad time, and cancelled."""

from __future__ import annotations

from tests.hems.web.conftest import csrf_of, sign_in


def test_a_session_is_entered_shown_refused_when_bad_and_cancelled(client, demo):
    sign_in(client, demo.home_token)
    url = f"/app/homes/{demo.home_id}/saving-sessions"
    form = {"csrf": csrf_of(client.get(url).text), "reward_p_per_kwh": "250"}
    window = {"start": "2026-12-01T04:00", "end": "2026-12-01T05:00"}
    r = client.post(url, data={**form, **window})  # no plan yet: no baseline to be had
    assert "Not entered: no baseline" in r.text
    client.portal.call(demo.runtime.service.replan_and_dispatch, demo.home_id, "test")
    url = f"/app/homes/{demo.home_id}/saving-sessions"
    page = client.get(url)
    assert page.status_code == 200
    assert "None yet." in page.text
    form = {"csrf": csrf_of(page.text), "reward_p_per_kwh": "250"}
    # UK local time (GMT in winter): 04:00-05:00 tomorrow, when the plan charges
    r = client.post(url, data={**form, **window})
    assert r.status_code == 200  # redirected back to the page
    assert "Session entered (plan baseline)" in r.text
    assert 'data-status="upcoming"' in r.text
    assert "Tue 01 Dec 04:00 to 05:00 · 250 p/kWh" in r.text
    [session] = demo.runtime.service.store.saving_sessions(demo.home_id)
    assert session.start.isoformat() == "2026-12-01T04:00:00+00:00"

    r = client.post(url, data={**form, "start": "2026-12-01T04:10", "end": "2026-12-01T05:00"})
    assert "Not entered:" in r.text
    assert "half hour" in r.text
    r = client.post(url, data={**form, "start": "2026-12-01T04:30", "end": "2026-12-01T06:00"})
    assert f"overlaps session {session.id}" in r.text

    r = client.post(f"{url}/{session.id}/cancel", data={"csrf": csrf_of(r.text)})
    assert "Session cancelled" in r.text
    assert 'data-status="cancelled"' in r.text
