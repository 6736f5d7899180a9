"""The plan chart shades each DSR event and each override in force (issue 28): a span per
event and override in plan.json, which the script draws as rectangles across both panels,
and an item in words per span in the page's markup beside the chart."""

from __future__ import annotations

import re

from tests.hems.web.conftest import csrf_of, sign_in


def test_the_chart_shades_each_event_and_override_of_a_seeded_home(client, demo):
    prefs = client.get(f"/homes/{demo.home_id}/preferences", headers=demo.auth()).json()
    client.put(
        f"/homes/{demo.home_id}/preferences",
        json={**prefs, "dsr_consent": True},
        headers=demo.auth(),
    )
    admin = demo.auth(demo.admin_token)
    for event_id, start, end in (
        ("cap-1", "2026-11-30T18:00:00Z", "2026-11-30T19:00:00Z"),
        ("cap-2", "2026-12-01T17:00:00Z", "2026-12-01T18:30:00Z"),
        ("old", "2026-11-29T17:00:00Z", "2026-11-29T18:00:00Z"),  # before the plan: not shaded
    ):
        event = {"event_id": event_id, "kind": "import_cap", "value_kw": 1.5}
        r = client.post(
            f"/homes/{demo.home_id}/events",
            json={**event, "start": start, "end": end},
            headers=admin,
        )
        assert r.status_code in (200, 201), r.text
    sign_in(client, demo.home_token)
    today = client.get(f"/app/homes/{demo.home_id}").text
    r = client.post(
        f"/app/homes/{demo.home_id}/overrides",
        data={"csrf": csrf_of(today), "action": "pause", "target": "Heat pump", "minutes": "60"},
    )
    assert "paused until" in r.text
    client.portal.call(demo.runtime.service.replan_and_dispatch, demo.home_id, "test")

    page = client.get(f"/app/homes/{demo.home_id}").text
    key = re.search(r'<ul id="chart-shading" class="chart-key">(.*?)</ul>', page, re.S)
    assert key, page
    items = re.findall(r'<li class="shade (\w+)">([^<]*)</li>', key.group(1))
    assert items == [
        ("event", "DSR event: Import limit 1.5 kW, Mon 30 Nov 18:00-19:00"),
        ("event", "DSR event: Import limit 1.5 kW, Tue 01 Dec 17:00-18:30"),
        ("override", "Pause Heat pump until Mon 30 Nov 18:00"),
    ]
    chart = client.get(f"/app/homes/{demo.home_id}/plan.json").json()
    spans = [(s["kind"], s["x0"], s["x1"]) for s in chart["shading"]]
    assert spans == [
        ("event", "2026-11-30 18:00", "2026-11-30 19:00"),
        ("event", "2026-12-01 17:00", "2026-12-01 18:30"),
        ("override", "2026-11-30 17:00", "2026-11-30 18:00"),
    ]


def test_a_home_without_events_or_overrides_says_so_beside_the_chart(client, demo):
    client.portal.call(demo.runtime.service.replan_and_dispatch, demo.home_id, "test")
    sign_in(client, demo.home_token)
    page = client.get(f"/app/homes/{demo.home_id}").text
    assert "no DSR event or override in these 48 hours." in page
    assert client.get(f"/app/homes/{demo.home_id}/plan.json").json()["shading"] == []
