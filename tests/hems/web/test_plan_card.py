"""The plan card (issue 28): a sentence per device, first on the plan page, and a headline
against the baseline the service plans beside every plan."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from hems.demo import demo_home_spec
from hems.usecases.records import PlanPublic
from hems.web import plan_card
from tests.hems.web.conftest import sign_in


def _plan(rows: list[dict], **totals) -> PlanPublic:
    start = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # 01:00 UK time (GMT)
    slots = [
        {"slot_start": (start + timedelta(minutes=30 * i)).isoformat(), **row}
        for i, row in enumerate(rows)
    ]
    return PlanPublic(
        id=1,
        created_at=start,
        trigger="test",
        status="optimal",
        slots=slots,
        totals=totals,
        violations=[],
        solver={},
    )


def test_each_device_in_words_by_hand():
    def row(ev, hp, bat, pv, imp, soc, indoor, cost=0.0, carbon=0.0):
        return {
            "import_price_gbp_per_kwh": 0.10,
            "EV.power_kw": ev,
            "EV.soc_pct": soc,
            "Heat pump.power_kw": hp,
            "Heat pump.indoor_c": indoor,
            "Battery.power_kw": bat,
            "Battery.soc_pct": 50.0,
            "PV.power_kw": pv,
            "grid_import_kw": imp,
            "grid_export_kw": 0.0,
            "cost_gbp": cost,
            "carbon_kg": carbon,
        }

    plan = _plan(
        [
            row(7.4, 0.0, 2.0, 0.0, 9.4, 65.0, 20.0, cost=0.5, carbon=1.0),
            row(7.4, 1.0, 0.0, 0.0, 8.4, 80.0, 20.5, cost=0.5, carbon=1.0),
            row(0.0, 0.0, -1.0, -2.0, 0.0, 80.0, 20.4),
            row(0.0, 1.0, 0.0, 0.0, 1.0, 80.0, 21.0),
        ],
        baseline_cost_gbp=1.5,
        baseline_carbon_kg=1.9,
    )
    assert plan_card.device_sentences(plan, demo_home_spec()) == [
        "EV: charges 01:00-02:00 at 10.0p, reaches 80 % by 02:00, £0.74.",
        "Heat pump: heats 01:30-02:00 and 02:30-03:00, keeps 20.0-21.0 °C, 1.0 kWh, £0.10.",
        "Battery: fills 01:00-01:30 from the grid, covers the home 02:00-02:30, ends at 50 %.",
        "PV: generates 1.0 kWh; the home exports 0.0 kWh.",
    ]
    assert plan_card.headline(plan) == (
        "£0.50 less and 0.1 kg CO2 more than without the CEM over the next 2 h."
    )
    assert plan_card.headline(_plan([row(0, 0, 0, 0, 0, 80, 20)])) == ""  # no baseline


def test_the_card_comes_first_on_the_page_for_the_seeded_demo_home(client, demo):
    # Monday 18:05: the commuter's car is home and plugged in; the home plans
    demo.clock.advance(timedelta(hours=1, minutes=5))
    demo.runtime.simulations[demo.home_id].advance(demo.clock.now())
    client.portal.call(demo.runtime.service.replan_and_dispatch, demo.home_id, "test")
    plan = client.get(f"/homes/{demo.home_id}/plan", headers=demo.auth()).json()
    saved = plan["totals"]["baseline_cost_gbp"] - sum(s["cost_gbp"] for s in plan["slots"])
    assert saved > 0  # the planner beats the rule-based baseline on the demo home
    sign_in(client, demo.home_token)
    page = client.get(f"/app/homes/{demo.home_id}").text
    headline = re.search(r'<p class="big" id="plan-headline">([^<]*)</p>', page)
    assert headline, page
    assert headline.group(1) == (
        f"£{saved:.2f} "
        + re.search(r"and \d+\.\d kg CO2 (less|more) ", headline.group(1)).group(0)
        + "than without the CEM over the next 48 h."
    )
    card = re.search(r'<ul id="plan-card"[^>]*>(.*?)</ul>', page, re.S)
    assert card
    sentences = re.findall(r"<li>([^<]*)</li>", card.group(1))
    assert [s.split(":")[0] for s in sentences] == ["EV", "Heat pump", "Battery", "PV"]
    assert re.fullmatch(
        r"EV: charges .+ at \d+\.\dp, reaches 80 % by (\w{3} )?\d\d:\d\d, £\d+\.\d\d\.",
        sentences[0],
    ), sentences[0]
    assert re.fullmatch(r"Heat pump: heats .+, keeps [\d.]+-[\d.]+ °C, [\d.]+ kWh, £[\d.]+\.",
                        sentences[1]), sentences[1]  # fmt: skip
    # first on the plan page: before the unmet wishes and the chart
    assert page.index('id="plan-card"') < page.index('id="plan-violations"')
    assert page.index('id="plan-headline"') < page.index('id="plan-chart"')
    chart = client.get(f"/app/homes/{demo.home_id}/plan.json").json()  # for the live update
    assert chart["card"] == sentences
    assert chart["headline"] == headline.group(1)


@pytest.mark.parametrize("key", ["baseline_cost_gbp", "baseline_carbon_kg"])
def test_the_api_gives_the_baselines_totals(client, demo, key):
    client.portal.call(demo.runtime.service.replan_and_dispatch, demo.home_id, "test")
    totals = client.get(f"/homes/{demo.home_id}/plan", headers=demo.auth()).json()["totals"]
    assert totals[key] > 0
