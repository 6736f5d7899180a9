"""The car planned before it plugs in (issue 28): at 17:00 the demo commuter's car is away;
the plan holds tonight's charge from its expected arrival, marked as expected; the charger is
sent nothing while the car is away, even in a slot the plan expected to charge; at plug-in
the re-plan starts from the car's measured SoC and the plug-in is learnt from."""

from __future__ import annotations

import re
from datetime import timedelta

import pandas as pd

from hems.ev_arrivals import PLUG_IN_ACTION
from hems.web import plan_card


def _plan(client, demo) -> dict:
    return client.get(f"/homes/{demo.home_id}/plan", headers=demo.auth()).json()


def test_the_away_car_is_planned_as_expected_and_never_sent_a_setpoint(client, demo):
    service = demo.runtime.service
    client.portal.call(service.replan_and_dispatch, demo.home_id, "test")
    plan = _plan(client, demo)
    soc = [s.get("EV.soc_pct") for s in plan["slots"]]
    assert soc[0] is None  # away now
    home = next(i for i, v in enumerate(soc) if v is not None)
    assert plan["slots"][home]["slot_start"].startswith("2026-11-30T18:00")  # the default 18:00
    assert soc[home] == 40.0  # the default SoC at arrival
    charging = [i for i, s in enumerate(plan["slots"]) if s["EV.power_kw"] > 0.05]
    assert charging
    assert min(charging) > home
    sentence = plan_card.device_sentences(
        _public(client, demo), demo.runtime.service.store.home(demo.home_id)
    )[0]
    assert re.fullmatch(
        r"EV: expected home by 18:00; expected to charge \S+-\S+ at [\d.]+p, "
        r"reaching 80 % by Tue 0[67]:\d\d, £[\d.]+\.",
        sentence,
    ), sentence

    # the car does not come: in a slot the plan expected to charge, the charger is sent nothing
    sim = demo.runtime.simulations[demo.home_id]
    sim.devices["EV"].stays = []
    ctl = service.controllers[demo.home_id]
    first_charge = pd.Timestamp(plan["slots"][min(charging)]["slot_start"]).to_pydatetime()
    demo.clock.set(first_charge + timedelta(minutes=1))
    sim.advance(demo.clock.now())
    client.portal.call(ctl.read_states)
    client.portal.call(ctl.dispatch)  # the 17:00 plan, which expected the car now
    assert service.store.last_decided_setpoint(demo.home_id, "EV") is None
    assert sim.devices["EV"].setpoint_kw == 0.0


def test_at_plug_in_the_plan_starts_from_the_measured_soc_and_the_arrival_is_learnt(client, demo):
    service = demo.runtime.service
    ctl = service.controllers.get(demo.home_id) or service.controller(demo.home_id)
    client.portal.call(service.cycle_all)  # 17:00: the car is away
    demo.clock.advance(timedelta(hours=1, minutes=5))
    sim = demo.runtime.simulations[demo.home_id]
    sim.advance(demo.clock.now())
    measured = sim.devices["EV"].soc
    client.portal.call(service.cycle_all)  # the car is home: plugged in, re-planned
    plan = _plan(client, demo)
    assert "EV plugged in" in plan["trigger"]
    assert plan["slots"][0]["EV.soc_pct"] == round(100 * measured, 6)
    recorded = service.store.audit_entries(
        demo.home_id, PLUG_IN_ACTION, demo.clock.now() - timedelta(days=1)
    )
    assert [d for _, d in recorded] == [{"device": "EV", "soc": measured}]
    assert ctl is service.controllers[demo.home_id]


def _public(client, demo):
    from hems.usecases.records import PlanPublic

    return PlanPublic.model_validate(_plan(client, demo))
