"""A miss the consumer's own pause causes is explained by the pause (issue 28: after pausing
the heat pump the app blamed the prices, the import limit or a DSR request for the cold)."""

from __future__ import annotations


def test_a_paused_heat_pumps_cold_house_is_blamed_on_the_pause(client, demo):
    pause = {"kind": "pause_device", "target": "Heat pump", "duration_minutes": 180}
    r = client.post(f"/homes/{demo.home_id}/overrides", json=pause, headers=demo.auth())
    assert r.status_code == 201, r.text
    plan = client.get(f"/homes/{demo.home_id}/plan", headers=demo.auth()).json()
    cold = [v for v in plan["violations"] if v["asset"] == "Heat pump"]
    assert cold, plan["violations"]
    # Monday 17:00 + 3 h: the pause ends at 20:00 UK time
    assert cold[0]["message"].endswith(": you paused Heat pump until 20:00.")
    assert cold[0]["message"].startswith("Indoor temperature falls to ")
    assert "import limit" not in cold[0]["message"]
    assert "DSR" not in cold[0]["message"]
