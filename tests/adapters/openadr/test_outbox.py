"""The report outbox: bounded (oldest dropped, counted and logged), a refused report retried on
its own backoff without holding back the others, dropped after its last refusal."""

from __future__ import annotations

import logging
from datetime import timedelta

from adapters.openadr.messages import UpdateReport
from adapters.openadr.reporting import Outbox
from adapters.openadr.reports import ReportData
from tests.adapters.openadr.samples import T0


def _update(n: int, request_id: str = "rr-1") -> UpdateReport:
    data = ReportData(
        report_id=f"r-{n}",
        report_request_id=request_id,
        report_specifier_id="TELEMETRY_USAGE",
        report_name="TELEMETRY_USAGE",
        created_utc=T0,
        intervals=(),
    )
    return UpdateReport(request_id=f"u-{n}", reports=(data,))


def test_a_full_outbox_drops_the_oldest_with_a_logged_count(caplog):
    outbox = Outbox(capacity=3)
    with caplog.at_level(logging.WARNING, logger="adapters.openadr"):
        for n in range(5):
            outbox.put(_update(n))
    assert [u.request_id for u in outbox.due(T0)] == ["u-2", "u-3", "u-4"]
    assert outbox.dropped == 2
    assert "dropped the oldest (2 so far)" in caplog.records[-1].getMessage()


def test_a_refused_report_waits_on_its_own_and_is_dropped_after_its_last_refusal(caplog):
    outbox = Outbox(max_attempts=3, retry_initial_s=1.0, retry_max_s=1.5)
    first, second = _update(1), _update(2)
    outbox.put(first)
    outbox.put(second)
    outbox.refused(first, T0)
    assert outbox.due(T0) == [second]  # the others are not held back
    assert outbox.due(T0 + timedelta(seconds=1)) == [first, second]
    outbox.refused(first, T0 + timedelta(seconds=1))
    assert outbox.due(T0 + timedelta(seconds=2.4)) == [second]  # 1 s doubled, capped at 1.5 s
    assert outbox.due(T0 + timedelta(seconds=2.5)) == [first, second]
    with caplog.at_level(logging.WARNING, logger="adapters.openadr"):
        outbox.refused(first, T0 + timedelta(seconds=2.5))
    assert outbox.due(T0 + timedelta(hours=1)) == [second]
    assert outbox.dropped == 1
    assert "dropped report u-1 the VTN refused 3 times" in caplog.records[-1].getMessage()


def test_reports_of_requests_a_new_registration_did_not_make_are_dropped():
    outbox = Outbox()
    outbox.put(_update(1, "old"))
    outbox.put(_update(2, "new"))
    assert outbox.drop_requests(frozenset({"new"})) == 1
    assert [u.request_id for u in outbox.due(T0)] == ["u-2"]
