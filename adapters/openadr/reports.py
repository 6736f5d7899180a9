"""Typed OpenADR reports: metadata the VEN offers, requests the VTN makes, data the VEN sends.

Times are UTC datetimes, periods are seconds (``*_s``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from adapters.openadr.events import ItemUnit


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportDescription:
    """One oadrReportDescription: a data point the VEN can report.

    Attributes:
        r_id: the data point's id, unique within its report.
        resource_id: reportDataSource/resourceID (the device, or the site).
        report_type: reportType token (usage, x-resourceStatus, ...).
        reading_type: readingType token (Direct Read, Projected, x-notApplicable, ...).
        unit: the itemBase, or None (status points have none).
        min_period_s, max_period_s, on_change: oadrSamplingRate.
    """

    r_id: str
    report_type: str
    reading_type: str
    resource_id: str | None = None
    unit: ItemUnit | None = None
    market_context: str | None = None
    min_period_s: float | None = None
    max_period_s: float | None = None
    on_change: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportMetadata:
    """A METADATA oadrReport, as carried by oadrRegisterReport."""

    report_specifier_id: str
    report_name: str
    created_utc: datetime
    descriptions: tuple[ReportDescription, ...]
    duration_s: float | None = None
    report_request_id: str = "0"


@dataclass(frozen=True, slots=True, kw_only=True)
class SpecifierPayload:
    r_id: str
    reading_type: str
    unit: ItemUnit | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportRequest:
    """An oadrReportRequest from the VTN.

    Attributes:
        granularity_s: sampling interval (0: one sample per report back).
        report_back_duration_s: how often to send an oadrUpdateReport (0: once, at the end).
        start_utc, duration_s: reportInterval; None start means "now", None or 0 duration
            means "until cancelled".
    """

    report_request_id: str
    report_specifier_id: str
    granularity_s: float
    report_back_duration_s: float
    specifiers: tuple[SpecifierPayload, ...]
    start_utc: datetime | None = None
    duration_s: float | None = None

    @property
    def r_ids(self) -> frozenset[str]:
        return frozenset(s.r_id for s in self.specifiers)


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadControlValue:
    """oadrLoadControlStateTypeType: a current value with optional bounds and normal."""

    current: float
    minimum: float | None = None
    maximum: float | None = None
    normal: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ResourceStatus:
    """oadrPayloadResourceStatus (TELEMETRY_STATUS)."""

    online: bool
    manual_override: bool
    capacity: LoadControlValue | None = None
    level_offset: LoadControlValue | None = None
    percent_offset: LoadControlValue | None = None
    set_point: LoadControlValue | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportPoint:
    """One value in a report interval: a float (payloadFloat) or a resource status."""

    r_id: str
    value: float | ResourceStatus
    confidence: int | None = None
    accuracy: float | None = None
    data_quality: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportInterval:
    start_utc: datetime
    points: tuple[ReportPoint, ...]
    duration_s: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportData:
    """A data oadrReport, as carried by oadrUpdateReport."""

    report_id: str
    report_request_id: str
    report_specifier_id: str
    report_name: str
    created_utc: datetime
    intervals: tuple[ReportInterval, ...]
    start_utc: datetime | None = None
    duration_s: float | None = None

    @property
    def r_ids(self) -> frozenset[str]:
        return frozenset(p.r_id for i in self.intervals for p in i.points)
