"""A DSR event's measured effect, once it is over (issue 28): metered from the stored
telemetry against the same hours the day before, "not measured" without readings."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from hems.event_effect import effect_sentence, measure, window_mean_kw
from tests.hems.web.conftest import sign_in

START = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
END = START + timedelta(hours=1)


def _every_minute(start: datetime, kw: float, minutes: int = 60) -> list[tuple[datetime, float]]:
    return [(start + timedelta(minutes=m), kw) for m in range(minutes)]


def test_the_site_meter_against_the_day_before():
    site = _every_minute(START - timedelta(days=1), 3.0) + _every_minute(START, 1.2)
    effect = measure(START, END, site, {"EV": _every_minute(START, 9.9)})
    assert effect.site_metered  # the meter, not the devices
    assert (round(effect.during_kw or 0, 6), effect.day_before_kw) == (1.2, 3.0)
    assert round(effect.shifted_kwh or 0, 6) == 1.8
    assert effect_sentence(effect, "import_cap", 1.5) == (
        "Measured: the home imported 1.2 kW on average (asked: import at most 1.5 kW); "
        "3.0 kW at the same time the day before, so 1.8 kWh moved out of the event. "
        "Reward: none stated by the DSR provider."
    )


def test_without_a_meter_the_devices_are_summed_and_said_to_be_only_the_devices():
    devices = {"EV": _every_minute(START, 0.0), "Heat pump": _every_minute(START, 0.5)}
    effect = measure(START, END, [], devices)
    assert not effect.site_metered
    assert effect.during_kw == 0.5
    assert effect.day_before_kw is None
    words = effect_sentence(effect, "import_cap", 1.5)
    assert words.startswith("Measured: the home's devices drew 0.5 kW on average")
    assert "no site meter" in words
    devices["Battery"] = _every_minute(START, -2.0)
    words = effect_sentence(measure(START, END, [], devices), "import_cap", 1.5)
    assert words.startswith("Measured: the home's devices supplied 1.5 kW on average")
    assert "no readings the day before" in words


def test_readings_that_do_not_cover_the_event_are_not_a_measurement():
    half = _every_minute(START, 1.0, minutes=30)
    assert window_mean_kw(half, START, END) is None
    assert window_mean_kw([], START, END) is None
    effect = measure(START, END, half, {})
    assert effect_sentence(effect, "import_cap", 1.5) == (
        "Measured effect: not measured (no meter readings cover the event)."
    )


def test_the_events_page_shows_the_measured_effect_once_the_event_is_over(client, demo):
    prefs = client.get(f"/homes/{demo.home_id}/preferences", headers=demo.auth()).json()
    r = client.put(
        f"/homes/{demo.home_id}/preferences",
        json={**prefs, "dsr_consent": True},
        headers=demo.auth(),
    )
    assert r.status_code == 200, r.text
    admin = demo.auth(demo.admin_token)
    for event_id, start in (("metered", "17:10"), ("unmetered", "18:30")):
        event = {"event_id": event_id, "kind": "import_cap", "value_kw": 1.5,
                 "start": f"2026-11-30T{start}:00Z",
                 "end": f"2026-11-30T{start[:3]}50:00Z"}  # fmt: skip
        assert client.post(f"/homes/{demo.home_id}/events", json=event, headers=admin).is_success
    ctl = demo.runtime.service.controllers[demo.home_id]
    sim = demo.runtime.simulations[demo.home_id]
    sign_in(client, demo.home_token)
    page = client.get(f"/app/homes/{demo.home_id}/events").text
    assert "Measured" not in page  # nothing before an event is over
    for _ in range(12):  # readings every 5 minutes, 17:05-18:00
        demo.clock.advance(timedelta(minutes=5))
        sim.advance(demo.clock.now())
        client.portal.call(ctl.read_states)
    demo.clock.set(datetime(2026, 11, 30, 19, 0, tzinfo=UTC))  # no readings 18:30-18:50
    sign_in(client, demo.home_token)  # the session ended after 30 idle minutes
    page = client.get(f"/app/homes/{demo.home_id}/events").text

    def article(event_id: str) -> str:
        part = page[page.index(f'id="event-{event_id}"') :]
        return part[: part.index("</article>")]

    assert re.search(
        r"Measured: the home&#39;s devices (drew|supplied) [\d.]+ kW on average \(asked: "
        r"import at most 1.5 kW; no site meter, so the rest of the home is not measured\); no "
        r"readings the day before to compare with. Reward: none stated by the DSR provider.",
        article("metered"),
    ), article("metered")
    assert "Measured effect: not measured (no meter readings cover the event)." in article(
        "unmetered"
    )
