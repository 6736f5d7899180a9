"""A car that is not plugged in (issue 28): a boost of it is refused with the reason, and its
charger, unable to follow a setpoint, is never "drift" that re-plans the home every minute."""

from __future__ import annotations

from datetime import timedelta


def _overrides(demo) -> str:
    return f"/homes/{demo.home_id}/overrides"


def test_a_boost_of_an_unplugged_car_is_refused_saying_why(client, demo):
    # Monday 17:00: the demo commuter's car is out (home at 18:00)
    r = client.post(_overrides(demo), json={"kind": "ev_boost"}, headers=demo.auth())
    assert r.status_code == 409, r.text
    assert r.json()["detail"] == (
        "the car is not plugged in (EV reports no car): plug it in, then boost"
    )
    assert client.get(_overrides(demo), headers=demo.auth()).json() == []  # nothing stored
    # a target that is not an EV charger is named
    battery = {"kind": "ev_boost", "target": "Battery"}
    r = client.post(_overrides(demo), json=battery, headers=demo.auth())
    assert r.status_code == 422
    assert "'Battery' is not an EV charger" in r.text
    # read fresh, not from the last telemetry: the car plugged in a minute ago is boosted
    demo.clock.advance(timedelta(hours=1, minutes=5))
    demo.runtime.simulations[demo.home_id].advance(demo.clock.now())
    r = client.post(_overrides(demo), json={"kind": "ev_boost"}, headers=demo.auth())
    assert r.status_code == 201, r.text


def test_an_unplugged_charger_is_not_drift(client, demo):
    sim = demo.runtime.simulations[demo.home_id]
    demo.clock.advance(timedelta(hours=1, minutes=5))
    sim.advance(demo.clock.now())
    r = client.post(_overrides(demo), json={"kind": "ev_boost"}, headers=demo.auth())
    assert r.status_code == 201, r.text  # the charger's last setpoint is 1.4 kW and up
    ctl = demo.runtime.service.controllers[demo.home_id]
    ev = sim.devices["EV"]
    ev.stays = []  # the car leaves
    ctl.replan_reasons.clear()
    client.portal.call(ctl.read_states)
    assert ctl.replan_reasons == ["EV unplugged"]  # once, for the unplugging; no "drifted"
    ctl.replan_reasons.clear()
    client.portal.call(ctl.read_states)
    assert ctl.replan_reasons == []
