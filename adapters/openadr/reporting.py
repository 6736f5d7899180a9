"""The VEN's reports: what it offers (METADATA), what the VTN asked for, sampling and sending.

Offered reports (rIDs are ``<resource>.<quantity>``):

- ``TELEMETRY_USAGE``: real power of the site and of each device [kW], state of charge [%] of
  devices that have one;
- ``TELEMETRY_STATUS``: per device online, manual override, load control setpoint;
- ``FLEXIBILITY`` (``x-METADATA_FLEXIBILITY``): per flexible device the intended operation,
  least delayed and most delayed power profiles [kW] (PAS 1878; 2.0b has no standard report).

:class:`ReportSchedule` samples each active request every ``granularity`` and emits an
oadrReport every ``reportBackDuration``; :class:`Outbox` keeps reports the VTN could not take
(bounded, oldest dropped first with a count) so that nothing is lost silently.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from adapters.openadr.events import REAL_POWER_KW, ItemUnit
from adapters.openadr.hooks import FlexibilityOffer, Reading, Resource
from adapters.openadr.messages import UpdateReport
from adapters.openadr.reports import (
    LoadControlValue,
    ReportDescription,
    ReportInterval,
    ReportMetadata,
    ReportPoint,
    ResourceStatus,
)
from adapters.openadr.vocab import ItemKind, ReadingType, ReportName, ReportType
from kernel.dsr import SITE

log = logging.getLogger(__name__)

USAGE, STATUS, FLEXIBILITY = "TELEMETRY_USAGE", "TELEMETRY_STATUS", "FLEXIBILITY"
PERCENT = ItemUnit(kind=ItemKind.CUSTOM, units="%", description="stateOfCharge")
_PROFILES = (
    ("io", ReportType.INTENDED_OPERATION),
    ("ld", ReportType.LEAST_DELAYED),
    ("md", ReportType.MOST_DELAYED),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Catalogue:
    """The reports a VEN offers for its resources, and the rID -> meaning map."""

    reports: tuple[ReportMetadata, ...]

    @classmethod
    def build(
        cls,
        resources: Sequence[Resource],
        created_utc: datetime,
        *,
        min_period_s: float = 2.0,
        max_period_s: float = 3600.0,
        market_context: str | None = None,
    ) -> Catalogue:
        def point(
            r_id: str, resource: str, rtype: str, reading: str, unit: ItemUnit | None
        ) -> ReportDescription:
            return ReportDescription(
                r_id=r_id,
                resource_id=resource,
                report_type=rtype,
                reading_type=reading,
                unit=unit,
                market_context=market_context,
                min_period_s=min_period_s,
                max_period_s=max_period_s,
            )

        usage = [
            point(f"{SITE}.power", SITE, ReportType.USAGE, ReadingType.DIRECT_READ, REAL_POWER_KW)
        ]
        status: list[ReportDescription] = []
        flex: list[ReportDescription] = []
        for r in resources:
            rid = r.resource_id
            usage.append(
                point(f"{rid}.power", rid, ReportType.USAGE, ReadingType.DIRECT_READ, REAL_POWER_KW)
            )
            if r.has_soc:
                usage.append(
                    point(
                        f"{rid}.soc",
                        rid,
                        ReportType.STATE_OF_CHARGE,
                        ReadingType.DIRECT_READ,
                        PERCENT,
                    )
                )
            status.append(
                point(
                    f"{rid}.status",
                    rid,
                    ReportType.RESOURCE_STATUS,
                    ReadingType.NOT_APPLICABLE,
                    None,
                )
            )
            if r.flexible:
                flex.extend(
                    point(f"{rid}.{suffix}", rid, rtype, ReadingType.PROJECTED, REAL_POWER_KW)
                    for suffix, rtype in _PROFILES
                )
        reports = [
            ReportMetadata(
                report_specifier_id=USAGE,
                report_name=ReportName.METADATA_TELEMETRY_USAGE,
                created_utc=created_utc,
                descriptions=tuple(usage),
            ),
            ReportMetadata(
                report_specifier_id=STATUS,
                report_name=ReportName.METADATA_TELEMETRY_STATUS,
                created_utc=created_utc,
                descriptions=tuple(status),
            ),
        ]
        if flex:
            reports.append(
                ReportMetadata(
                    report_specifier_id=FLEXIBILITY,
                    report_name=ReportName.METADATA_FLEXIBILITY,
                    created_utc=created_utc,
                    descriptions=tuple(flex),
                )
            )
        return cls(reports=tuple(reports))

    def r_ids(self, report_specifier_id: str) -> frozenset[str]:
        for report in self.reports:
            if report.report_specifier_id == report_specifier_id:
                return frozenset(d.r_id for d in report.descriptions)
        return frozenset()

    def name_of(self, report_specifier_id: str) -> str:
        for report in self.reports:
            if report.report_specifier_id == report_specifier_id:
                return report.report_name.removeprefix("METADATA_").replace("x-METADATA_", "x-")
        return report_specifier_id


def usage_points(readings: Sequence[Reading], r_ids: frozenset[str]) -> list[ReportPoint]:
    """TELEMETRY_USAGE values for the requested rIDs."""
    out = []
    for reading in readings:
        power_id, soc_id = f"{reading.resource_id}.power", f"{reading.resource_id}.soc"
        if power_id in r_ids:
            out.append(ReportPoint(r_id=power_id, value=reading.power_kw))
        if soc_id in r_ids and reading.soc_pct is not None:
            out.append(ReportPoint(r_id=soc_id, value=reading.soc_pct))
    return out


def status_points(readings: Sequence[Reading], r_ids: frozenset[str]) -> list[ReportPoint]:
    out = []
    for reading in readings:
        r_id = f"{reading.resource_id}.status"
        if r_id not in r_ids:
            continue
        setpoint = (
            LoadControlValue(current=reading.setpoint_kw)
            if reading.setpoint_kw is not None
            else None
        )
        status = ResourceStatus(
            online=reading.online, manual_override=reading.manual_override, set_point=setpoint
        )
        out.append(ReportPoint(r_id=r_id, value=status))
    return out


def flexibility_intervals(
    offers: Sequence[FlexibilityOffer], r_ids: frozenset[str]
) -> tuple[ReportInterval, ...]:
    """One interval per profile step and rID (one payload per interval, see scheduling)."""
    by_time: dict[datetime, list[ReportPoint]] = {}
    step_by_time: dict[datetime, float] = {}
    for offer in offers:
        for suffix, profile in (
            ("io", offer.intended),
            ("ld", offer.least_delayed),
            ("md", offer.most_delayed),
        ):
            r_id = f"{offer.resource_id}.{suffix}"
            if r_id not in r_ids:
                continue
            for index, value in enumerate(profile.power_kw):
                at = profile.at(index)
                by_time.setdefault(at, []).append(ReportPoint(r_id=r_id, value=value))
                step_by_time[at] = profile.step_s
    return tuple(
        ReportInterval(start_utc=at, duration_s=step_by_time[at], points=(point,))
        for at, points in sorted(by_time.items(), key=lambda item: item[0])
        for point in points
    )


@dataclass(slots=True)
class _Queued:
    message: UpdateReport
    refusals: int = 0
    retry_utc: datetime | None = None


class Outbox:
    """Reports waiting for the VTN: at most ``capacity`` (oldest dropped first, counted);
    reports older than ``max_age_s`` (a window the VTN no longer wants) dropped with a count.

    A report the VTN refuses (an HTTP error, not an outage) waits ``retry_initial_s`` doubling
    up to ``retry_max_s`` before its next try, on its own: the reports behind it and polling go
    on. It is dropped (counted, logged) after ``max_attempts`` refusals. An outage refuses
    nothing: the reports wait for the VTN's return, however many tries that takes.
    """

    def __init__(
        self,
        capacity: int = 1000,
        max_age_s: float = 3600.0,
        max_attempts: int = 5,
        retry_initial_s: float = 1.0,
        retry_max_s: float = 60.0,
    ) -> None:
        self._queue: deque[_Queued] = deque()
        self.capacity = capacity
        self.max_age_s = max_age_s
        self.max_attempts = max_attempts
        self.retry_initial_s = retry_initial_s
        self.retry_max_s = retry_max_s
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._queue)

    def put(self, message: UpdateReport) -> None:
        if len(self._queue) >= self.capacity:
            self._queue.popleft()
            self.dropped += 1
            log.warning("openadr: report outbox full; dropped the oldest (%d so far)", self.dropped)
        self._queue.append(_Queued(message))

    def due(self, now: datetime) -> list[UpdateReport]:
        """The reports to send now, oldest first (those waiting after a refusal left out)."""
        return [q.message for q in self._queue if q.retry_utc is None or q.retry_utc <= now]

    def sent(self, message: UpdateReport) -> None:
        self._queue = deque(q for q in self._queue if q.message is not message)

    def refused(self, message: UpdateReport, now: datetime) -> None:
        """The VTN refused ``message``: retry it later, or drop it after ``max_attempts``."""
        for queued in self._queue:
            if queued.message is message:
                break
        else:
            return
        queued.refusals += 1
        if queued.refusals >= self.max_attempts:
            self.sent(message)
            self.dropped += 1
            log.warning(
                "openadr: dropped report %s the VTN refused %d times (%d dropped so far)",
                message.request_id,
                queued.refusals,
                self.dropped,
            )
            return
        delay_s = min(self.retry_initial_s * 2 ** (queued.refusals - 1), self.retry_max_s)
        queued.retry_utc = now + timedelta(seconds=delay_s)

    def drop_requests(self, keep: frozenset[str]) -> int:
        """Drop reports answering requests not in ``keep`` (a new registration's VTN never
        issued them); returns how many were dropped."""
        before = len(self._queue)
        self._queue = deque(
            q for q in self._queue if all(r.report_request_id in keep for r in q.message.reports)
        )
        gone = before - len(self._queue)
        if gone:
            log.info("openadr: dropped %d queued reports of the previous registration", gone)
        return gone

    def expire(self, now: datetime) -> int:
        """Drop reports older than ``max_age_s``; returns how many were dropped."""
        keep = deque(
            q
            for q in self._queue
            if all(
                (now - r.created_utc).total_seconds() <= self.max_age_s for r in q.message.reports
            )
        )
        gone = len(self._queue) - len(keep)
        if gone:
            self.dropped += gone
            log.warning("openadr: dropped %d reports whose window has passed", gone)
        self._queue = keep
        return gone
