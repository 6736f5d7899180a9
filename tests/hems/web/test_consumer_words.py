"""What the consumer reads (issue 28): a boost of an unplugged car refused with the reason,
savings never "£-0.00", events titled by what they ask and when (not by their ids), "Took
part" only once an event is over, and a pause selector that pauses nothing by default."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from types import SimpleNamespace

import pandas as pd

from hems.usecases.records import EventPublic
from hems.web import views, words
from tests.hems.web.conftest import csrf_of, sign_in


def _flash(html: str) -> str:
    found = re.search(r'<p class="flash (?:error|ok)" role="\w+">([^<]*)</p>', html)
    assert found, html
    return found.group(1)


def _post_override(client, demo, **data) -> str:
    today = client.get(f"/app/homes/{demo.home_id}").text
    r = client.post(f"/app/homes/{demo.home_id}/overrides", data={"csrf": csrf_of(today), **data})
    assert r.status_code == 200  # the page it went back to
    return _flash(r.text)


def test_a_boost_of_an_unplugged_car_is_refused_on_the_page(client, demo):
    sign_in(client, demo.home_token)  # Monday 17:00: the car is out
    message = _post_override(client, demo, action="boost", target="EV", minutes="60")
    assert message == (
        "Not done: the car is not plugged in (EV reports no car): plug it in, then boost"
    )
    assert client.get(f"/homes/{demo.home_id}/overrides", headers=demo.auth()).json() == []


def test_the_pause_selector_has_no_device_chosen_by_default(client, demo):
    sign_in(client, demo.home_token)
    today = client.get(f"/app/homes/{demo.home_id}").text
    select = re.search(r'<select id="pause-target"[^>]*>(.*?)</select>', today, re.S)
    assert select, today
    assert "required" in select.group(0)
    first = re.search(r"<option([^>]*)>([^<]*)</option>", select.group(1))
    assert first
    assert first.group(2) == "Choose a device"
    assert 'value=""' in first.group(1)
    assert "selected" in first.group(1)
    # a form sent without a choice pauses nothing and says why
    message = _post_override(client, demo, action="pause", target="", minutes="60")
    assert message.startswith("Not done: ")
    assert client.get(f"/homes/{demo.home_id}/overrides", headers=demo.auth()).json() == []


def test_savings_are_never_minus_zero():
    assert words.saving(-0.001) == "£0.00"
    assert words.saving(0.0) == "£0.00"
    assert words.saving(1.234) == "£1.23"
    assert words.saving(-0.4) == "cost £0.40 more"
    assert words.savings_sentence(-0.001, -0.01, "the last three months") == (
        "Saved £0.00 and 0.0 kg CO2 over the last three months."
    )
    assert words.savings_sentence(-0.4, 2.04, "a week") == (
        "Cost £0.40 more and saved 2.0 kg CO2 over a week."
    )
    assert words.savings_sentence(1.2, -0.5, "a week") == (
        "Saved £1.20 and emitted 0.5 kg CO2 more over a week."
    )


def test_the_history_page_shows_no_negative_zero(client, demo):
    sign_in(client, demo.home_token)
    page = client.get(f"/app/homes/{demo.home_id}/history").text
    assert "£-" not in page
    totals = re.search(r'<p class="big" id="totals">([^<]*)</p>', page)
    assert totals, page
    assert totals.group(1).endswith("over the last three months.")


def _event(event_id: str, start: str, end: str) -> dict:
    return {"event_id": event_id, "kind": "import_cap", "value_kw": 1.5, "start": start,
            "end": end}  # fmt: skip


def test_events_are_titled_in_words_and_took_part_only_once_over(client, demo):
    prefs = client.get(f"/homes/{demo.home_id}/preferences", headers=demo.auth()).json()
    client.put(
        f"/homes/{demo.home_id}/preferences",
        json={**prefs, "dsr_consent": True},
        headers=demo.auth(),
    )
    admin = demo.auth(demo.admin_token)
    for event in (
        _event("a1b2-c3d4", "2026-11-30T18:00:00Z", "2026-11-30T19:00:00Z"),  # to come
        _event("now-1", "2026-11-30T16:30:00Z", "2026-11-30T17:30:00Z"),  # under way
    ):
        r = client.post(f"/homes/{demo.home_id}/events", json=event, headers=admin)
        assert r.json()["response"] == "optIn", r.text
    sign_in(client, demo.home_token)
    page = client.get(f"/app/homes/{demo.home_id}/events").text
    titles = re.findall(r"<h3>([^<]*)</h3>", page)
    assert "Import limit 1.5 kW, Mon 30 Nov 18:00-19:00" in titles
    assert "Import limit 1.5 kW, Mon 30 Nov 16:30-17:30" in titles
    assert not any("a1b2" in t for t in titles)
    upcoming = page[page.index('id="event-a1b2-c3d4"') :]
    upcoming = upcoming[: upcoming.index("</article>")]
    assert "Will take part" in upcoming
    assert "Took part" not in upcoming
    running = page[page.index('id="event-now-1"') :]
    running = running[: running.index("</article>")]
    assert "Taking part: grid import planned" in running
    assert "Took part" not in running
    # the banner on the Today page and the opt-out's message name the event the same way
    today = client.get(f"/app/homes/{demo.home_id}").text
    assert "DSR event: Import limit 1.5 kW, Mon 30 Nov 18:00-19:00</a>" in today
    assert "DSR event a1b2" not in today
    r = client.post(
        f"/app/homes/{demo.home_id}/events/a1b2-c3d4/opt-out", data={"csrf": csrf_of(page)}
    )
    assert _flash(r.text) == (
        "You have opted out of Import limit 1.5 kW, Mon 30 Nov 18:00-19:00. "
        "The home has re-planned without it."
    )


def test_an_event_title_names_the_end_day_when_it_is_another():
    e = EventPublic(
        event_id="x",
        modification_number=0,
        kind="reduction",
        value_kw=2.0,
        start=datetime(2026, 11, 30, 23, 0, tzinfo=UTC),
        end=datetime(2026, 12, 1, 1, 0, tzinfo=UTC),
        status="far",
        response="optIn",
        response_reason="",
    )
    assert words.event_title(e) == "Reduction 2 kW, Mon 30 Nov 23:00-Tue 01 Dec 01:00"


def _plan_of(created_at: datetime, start: datetime, imports_kw: list[float]) -> SimpleNamespace:
    """What :func:`views.what_the_home_did` reads of a stored plan: when it was made and its
    30-minute schedule's grid import."""
    index = pd.date_range(start, periods=len(imports_kw), freq="30min")
    return SimpleNamespace(
        created_at=created_at, schedule=pd.DataFrame({"grid_import_kw": imports_kw}, index=index)
    )


def _accepted(event: dict) -> EventPublic:
    return EventPublic(
        **event, modification_number=0, status="far", response="optIn", response_reason=""
    )


def test_an_event_off_the_slot_boundaries_reads_the_slots_it_overlaps():
    """An event of 17:10-17:25 lies inside one slot and starts on no slot boundary: it read
    "no plan covers the event yet" although the plan covered it (issue 28's rough edge)."""
    plan = _plan_of(
        datetime(2026, 11, 30, 16, 0, tzinfo=UTC),
        datetime(2026, 11, 30, 16, 0, tzinfo=UTC),
        [3.0, 3.0, 1.2, 2.0],  # 16:00, 16:30, 17:00, 17:30
    )
    short = _event("e1", "2026-11-30T17:10:00Z", "2026-11-30T17:25:00Z")
    said = views.what_the_home_did(_accepted(short), [plan], started=False, over=False)
    assert said == (
        "Will take part: grid import planned at up to 1.2 kW (average 1.2 kW) during the event."
    )
    # 16:45-17:45 overlaps the slots of 16:30, 17:00 and 17:30
    longer = _event("e2", "2026-11-30T16:45:00Z", "2026-11-30T17:45:00Z")
    said = views.what_the_home_did(_accepted(longer), [plan], started=False, over=False)
    assert said.endswith("up to 3.0 kW (average 2.1 kW) during the event.")
