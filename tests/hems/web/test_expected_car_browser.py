"""Issue 28 in headless Chromium, on the demo home at 13:00 on a winter Monday (its car away
until 18:00): the plan card says when the car is expected home and when it is expected to
charge, at desktop and phone widths; a DSR event's measured effect is shown once it is over."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from tests.hems.conftest import MONDAY_5PM
from tests.hems.web.conftest import LiveService, serve_demo
from tests.hems.web.test_e2e import sign_in

pytestmark = pytest.mark.e2e

EXPECTED_CAR = re.compile(
    r"EV: expected home by 18:00; expected to charge \S+-\S+ at [\d.]+p, "
    r"reaching 80 % by Tue 0[67]:\d\d, £[\d.]+\."
)


@pytest.fixture(scope="module")
def live_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    with serve_demo(tmp_path_factory, MONDAY_5PM - timedelta(hours=4)) as live:  # 13:00
        yield live


def test_the_plan_card_says_when_the_away_car_is_expected_home_and_to_charge(page, live_service):
    sign_in(page, live_service)
    for width, height in ((1280, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"/app/homes/{live_service.home_id}")
        page.wait_for_selector("#plan-chart[data-drawn] .main-svg")
        first = page.locator("#plan-card li").first
        assert first.is_visible()
        assert EXPECTED_CAR.fullmatch(first.inner_text()), first.inner_text()
        scroll, client = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert scroll <= client, f"{width}: the page scrolls sideways ({scroll} > {client} px)"
        page.shot(f"20-expected-car-{width}")


def test_an_events_measured_effect_is_shown_once_it_is_over(page, live_service):
    live = live_service
    with live.admin() as admin, httpx_home(live) as home:
        prefs = home.get(f"/homes/{live.home_id}/preferences").json()
        r = home.put(f"/homes/{live.home_id}/preferences", json={**prefs, "dsr_consent": True})
        assert r.status_code == 200, r.text
        event = {"event_id": "lunch-cap", "kind": "import_cap", "value_kw": 1.5,
                 "start": "2026-11-30T13:10:00Z", "end": "2026-11-30T13:50:00Z"}  # fmt: skip
        r = admin.post(f"/homes/{live.home_id}/events", json=event)
        assert r.json()["response"] == "optIn", r.text
    live.settle()
    ctl = live.runtime.service.controllers[live.home_id]
    sim = live.runtime.simulations[live.home_id]
    sign_in(page, live)
    page.goto(f"/app/homes/{live.home_id}/events")
    assert "Measured" not in page.locator("#event-lunch-cap").inner_text()  # not over yet
    for _ in range(12):  # the home's readings every 5 minutes, 13:05-14:00
        live.clock.advance(timedelta(minutes=5))
        sim.advance(live.clock.now())
        live.call(ctl.read_states())
    page.context.clear_cookies()  # the clock moved past the session's idle limit
    sign_in(page, live)
    for width, height in ((1280, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"/app/homes/{live.home_id}/events")
        text = page.locator("#event-lunch-cap .measured").inner_text()
        assert re.fullmatch(
            r"Measured: the home's devices (drew|supplied) [\d.]+ kW on average \(asked: import "
            r"at most 1.5 kW; no site meter, so the rest of the home is not measured\); no "
            r"readings the day before to compare with. Reward: none stated by the DSR provider.",
            text,
        ), text
        assert "Took part" in page.locator("#event-lunch-cap").inner_text()
        scroll, client = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert scroll <= client, f"{width}: the page scrolls sideways ({scroll} > {client} px)"
        page.shot(f"21-event-measured-{width}")


def httpx_home(live: LiveService) -> httpx.Client:
    return httpx.Client(
        base_url=live.url, headers={"Authorization": f"Bearer {live.home_token}"}, timeout=60
    )
