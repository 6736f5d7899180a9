"""The demo DSRSP's records (hems/dsrsp/ledger.py): kept across a restart, bounded, and an
unreadable file set aside rather than stopping the demo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hems.dsrsp.demo_event import new_event
from hems.dsrsp.ledger import (
    MAX_ANSWERS_PER_EVENT,
    MAX_EVENTS_PER_VEN,
    MAX_OPTS_PER_VEN,
    MAX_VENS,
    Answer,
    Ledger,
    OptRecord,
    new_ven,
)

AT = datetime(2026, 12, 6, 15, tzinfo=UTC)


def test_records_survive_a_restart_and_a_ven_is_found_by_name(tmp_path):
    path = tmp_path / "demo-dsrsp.json"
    ledger = Ledger(path)
    ven = new_ven("Open CEM:DEMO-0001", AT)
    ledger.register(ven)
    event = new_event(ven.ven_id, start_utc=AT, value_kw=1.5, minutes=60, notice_s=60)
    ledger.add_event(event)
    ledger.answer(event.event_id, Answer(at_utc=AT, opt_type="optIn", via="oadrCreatedEvent"))
    ledger.reading(ven.ven_id, "site", AT + timedelta(minutes=1), 1.7)

    again = Ledger(path)
    found = again.ven_by_name("Open CEM:DEMO-0001")
    assert found is not None
    assert (found.ven_id, found.manufacturer, found.serial) == (ven.ven_id, "Open CEM", "DEMO-0001")
    kept = again.data.events[event.event_id]
    assert [a.opt_type for a in kept.answers] == ["optIn"]
    assert kept.delivered.samples == 1
    assert kept.delivered.mean_kw == 1.7
    assert again.readings == {}  # telemetry is not kept, only what it delivered


def test_a_name_without_manufacturer_and_serial_reports_neither():
    ven = new_ven("just-a-name", AT)
    assert (ven.manufacturer, ven.serial) == (None, None)


def test_an_unreadable_file_is_set_aside_and_the_demo_starts_afresh(tmp_path, caplog):
    path = tmp_path / "demo-dsrsp.json"
    path.write_text('{"vens": {"x": {"ven_id": 3}}}')
    ledger = Ledger(path)
    assert ledger.data.vens == {}
    assert (tmp_path / "demo-dsrsp.bad").exists()
    assert "unreadable" in caplog.text


def test_what_a_ven_can_grow_is_bounded():
    ledger = Ledger()
    ven = new_ven("a:b", AT)
    ledger.register(ven)
    for n in range(MAX_EVENTS_PER_VEN + 5):
        start = AT + timedelta(hours=n)
        ledger.add_event(new_event(ven.ven_id, start_utc=start, value_kw=1, minutes=1, notice_s=1))
    assert len(ledger.events_of(ven.ven_id)) == MAX_EVENTS_PER_VEN
    newest = max(ledger.events_of(ven.ven_id), key=lambda e: e.start_utc)
    assert newest.start_utc == AT + timedelta(hours=MAX_EVENTS_PER_VEN + 4)
    for n in range(MAX_ANSWERS_PER_EVENT + 5):
        ledger.answer(newest.event_id, Answer(at_utc=AT, opt_type="optIn", via=f"n{n}"))
    assert len(newest.answers) == MAX_ANSWERS_PER_EVENT
    for n in range(MAX_OPTS_PER_VEN + 5):
        opt = OptRecord(
            opt_id=f"o{n}", ven_id=ven.ven_id, opt_type="optOut", reason="x", received_utc=AT
        )
        ledger.add_opt(opt)
    assert len(ledger.opts_of(ven.ven_id)) == MAX_OPTS_PER_VEN
    for n in range(60):
        ledger.reading(ven.ven_id, f"r{n}", AT, 1.0)
    assert len(ledger.readings) == 50
    ledger.reading("ven-unknown", "site", AT, 1.0)
    assert all(k[0] == ven.ven_id for k in ledger.readings)


def test_past_the_most_vens_a_new_one_is_refused():
    ledger = Ledger()
    for n in range(MAX_VENS):
        ledger.register(new_ven(f"m:{n}", AT))
    with pytest.raises(ValueError, match="more than"):
        ledger.register(new_ven("m:one-more", AT))
