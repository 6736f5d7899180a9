"""Serving the VTN's report requests: sample every granularity, send every reportBackDuration.

Each active request keeps the samples taken since its last report; a report holds exactly the
rIDs the request named (the harness checks that the rID sets match). Sampling calls the
service's ``telemetry()`` / ``flexibility()`` hooks once per tick for all requests due.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from adapters.openadr.messages import UpdateReport
from adapters.openadr.reporting import (
    FLEXIBILITY,
    STATUS,
    USAGE,
    Catalogue,
    Outbox,
    flexibility_intervals,
    status_points,
    usage_points,
)
from adapters.openadr.reports import ReportData, ReportInterval, ReportRequest

if TYPE_CHECKING:
    from adapters.openadr.hooks import FlexibilityOffer, Reading
    from adapters.openadr.ven import Hooks

log = logging.getLogger(__name__)
_ids = itertools.count(1)


@dataclass(slots=True)
class ActiveReport:
    """One oadrReportRequest being served."""

    request: ReportRequest
    report_name: str
    next_sample_utc: datetime
    next_send_utc: datetime
    samples: list[ReportInterval] = field(default_factory=list)

    @property
    def end_utc(self) -> datetime | None:
        r = self.request
        if r.start_utc is None or not r.duration_s:
            return None
        return r.start_utc + timedelta(seconds=r.duration_s)

    @property
    def sample_period_s(self) -> float:
        """granularity [s]; 0 means one sample per report."""
        r = self.request
        return r.granularity_s if r.granularity_s > 0 else self.send_period_s

    @property
    def send_period_s(self) -> float:
        """reportBackDuration [s]; 0 means as often as the granularity (at least 2 s)."""
        r = self.request
        return (
            r.report_back_duration_s if r.report_back_duration_s > 0 else max(r.granularity_s, 2.0)
        )


class ReportSchedule:
    def __init__(self, outbox: Outbox, ven_id: str | None = None) -> None:
        self.outbox = outbox
        self.active: dict[str, ActiveReport] = {}
        self.ven_id = ven_id

    def pending(self) -> tuple[str, ...]:
        return tuple(self.active)

    def add(self, request: ReportRequest, report_name: str, now: datetime) -> None:
        start = max(request.start_utc or now, now)
        active = ActiveReport(
            request=request, report_name=report_name, next_sample_utc=start, next_send_utc=start
        )
        active.next_send_utc = start + timedelta(seconds=active.send_period_s)
        self.active[request.report_request_id] = active

    def cancel(
        self, request_ids: Sequence[str], now: datetime, report_to_follow: bool
    ) -> tuple[str, ...]:
        for request_id in request_ids:
            active = self.active.pop(request_id, None)
            if active is not None and report_to_follow and active.samples:
                self._emit(active, now)
        return self.pending()

    def cancel_all(self) -> None:
        self.active.clear()

    async def tick(self, now: datetime, hooks: Hooks, catalogue: Catalogue) -> None:
        due = [a for a in self.active.values() if now >= a.next_sample_utc]
        if not due:
            return
        readings: Sequence[Reading] = ()
        offers: Sequence[FlexibilityOffer] = ()
        if any(a.request.report_specifier_id in {USAGE, STATUS} for a in due):
            readings = await hooks.telemetry()
        if hooks.flexibility is not None and any(
            a.request.report_specifier_id == FLEXIBILITY for a in due
        ):
            offers = await hooks.flexibility()
        for active in due:
            self._sample(active, now, readings, offers)
            while active.next_sample_utc <= now:
                active.next_sample_utc += timedelta(seconds=active.sample_period_s)
            if now >= active.next_send_utc:
                self._emit(active, now)
                while active.next_send_utc <= now:
                    active.next_send_utc += timedelta(seconds=active.send_period_s)
            end = active.end_utc
            if end is not None and now >= end:
                if active.samples:
                    self._emit(active, now)
                self.active.pop(active.request.report_request_id, None)

    def _sample(
        self,
        active: ActiveReport,
        now: datetime,
        readings: Sequence[Reading],
        offers: Sequence[FlexibilityOffer],
    ) -> None:
        r_ids = active.request.r_ids
        spec = active.request.report_specifier_id
        if spec == FLEXIBILITY:
            active.samples = list(flexibility_intervals(offers, r_ids))  # latest profiles only
            return
        points = usage_points(readings, r_ids) if spec == USAGE else status_points(readings, r_ids)
        # One payload per interval (intervals may share a start): the schema allows several per
        # interval, but some VTNs (openleadr 0.5) only read one.
        active.samples.extend(
            ReportInterval(start_utc=now, duration_s=active.sample_period_s, points=(point,))
            for point in points
        )

    def _emit(self, active: ActiveReport, now: datetime) -> None:
        if not active.samples:
            return
        start = active.samples[0].start_utc
        data = ReportData(
            report_id=f"report-{next(_ids)}",
            report_request_id=active.request.report_request_id,
            report_specifier_id=active.request.report_specifier_id,
            report_name=active.report_name,
            created_utc=now,
            start_utc=start,
            duration_s=max((now - start).total_seconds(), active.sample_period_s),
            intervals=tuple(active.samples),
        )
        active.samples = []
        self.outbox.put(
            UpdateReport(request_id=f"update-{next(_ids)}", reports=(data,), ven_id=self.ven_id)
        )
