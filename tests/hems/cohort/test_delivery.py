"""Delivered against asked from site-meter readings, per kind of request (docs/cohort.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hems.clock import ManualClock
from hems.cohort.delivery import delivery
from hems.ven_contacts import VenContacts

START = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
END = START + timedelta(hours=1)


def readings(*kw: float) -> list[tuple[datetime, float]]:
    return [(START + timedelta(minutes=5 * (i + 1)), x) for i, x in enumerate(kw)]


def test_a_cap_is_delivered_by_a_mean_import_at_or_below_it() -> None:
    d = delivery("import_cap", 1.0, START, END, readings(0.5, 1.5), END)
    assert (d.readings, d.measured_kw, d.delivered, d.shortfall_kw) == (2, 1.0, True, 0.0)
    d = delivery("import_cap", 1.0, START, END, readings(1.5, 1.5), END)
    assert d.delivered is False
    assert d.shortfall_kw == pytest.approx(0.5)


def test_an_export_floor_needs_the_mean_export() -> None:
    assert delivery("export_floor", 2.0, START, END, readings(-2.5), END).delivered is True
    d = delivery("export_floor", 2.0, START, END, readings(-1.0), END)
    assert d.delivered is False
    assert d.shortfall_kw == pytest.approx(1.0)


def test_a_setpoint_is_held_within_the_tolerance_either_side() -> None:
    assert delivery("setpoint", 3.0, START, END, readings(3.05), END).delivered is True
    assert delivery("setpoint", 3.0, START, END, readings(2.5), END).delivered is False


def test_a_reduction_or_no_readings_is_not_judged() -> None:
    d = delivery("reduction", 1.0, START, END, readings(0.2), END)
    assert d.measured_kw == pytest.approx(0.2)
    assert d.delivered is None
    assert d.shortfall_kw is None
    none = delivery("import_cap", 1.0, START, END, [], END)
    assert (none.readings, none.measured_kw, none.delivered) == (0, None, None)
    assert delivery("unknown-kind", 1.0, START, END, readings(0.2), END).delivered is None


def test_only_readings_within_the_event_and_before_now_count() -> None:
    outside = [(START - timedelta(minutes=1), 9.0), (END, 9.0)]
    d = delivery("import_cap", 1.0, START, END, [*outside, *readings(0.5, 0.7)], END)
    assert d.readings == 2
    now = START + timedelta(minutes=7)  # only the 17:05 reading so far
    assert delivery("import_cap", 1.0, START, END, readings(0.5, 9.0), now).measured_kw == 0.5


def test_a_ven_contact_is_an_answer_read_and_a_failure_keeps_its_reason() -> None:
    clock = ManualClock(START)
    contacts = VenContacts()
    tracer = contacts.tracer(3, clock)
    assert contacts.of(3) is not None
    assert contacts.of(3).last_contact_utc is None  # type: ignore[union-attr]
    tracer.sent("EiRegisterParty", b"<x/>")
    assert contacts.of(3).last_contact_utc is None  # type: ignore[union-attr]
    clock.advance(timedelta(seconds=5))
    tracer.received("EiRegisterParty", 200, b"<y/>")
    tracer.failed("OadrPoll", "ConnectError: refused")
    contact = contacts.of(3)
    assert contact is not None
    assert contact.last_contact_utc == START + timedelta(seconds=5)
    assert contact.last_status == 200
    assert contact.last_failure == "OadrPoll: ConnectError: refused"
    # the VEN made again for the same home records into the same contact
    assert contacts.tracer(3, clock).contact is contact
    assert contacts.of(4) is None
