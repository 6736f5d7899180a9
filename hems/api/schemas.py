"""The API's request bodies that are not domain models; what it returns is the operations' read
models (:mod:`hems.usecases.records`), named here too for the API's readers."""

from __future__ import annotations

from pydantic import AwareDatetime, Field, model_validator

from hems.domain.base import DomainModel, PlainText
from hems.storage.enrolments import VenMode
from hems.usecases.records import (
    DeviceStatus,
    DsrEnrolment,
    EventPublic,
    History,
    HomeCreated,
    HomeSummary,
    OverridePublic,
    PlanPublic,
    PlanSummary,
    SavingsDay,
    SetpointPublic,
    TokenCreated,
    VenModePublic,
    ViolationPublic,
)
from kernel.dsr import DsrKind

__all__ = [
    "DeviceStatus",
    "DsrEnrolment",
    "EnrolmentIn",
    "EventIn",
    "EventPublic",
    "History",
    "HomeCreated",
    "HomeSummary",
    "OverridePublic",
    "PlanPublic",
    "PlanSummary",
    "SavingsDay",
    "SetpointPublic",
    "TokenCreated",
    "VenModeIn",
    "VenModePublic",
    "ViolationPublic",
]


class EnrolmentIn(DomainModel):
    """Withdraw the home from the DSRSP's programme (false) or enrol it again (true)."""

    enrolled: bool


class VenModeIn(DomainModel):
    """How the home's VEN talks: ``pull``, ``report_only`` or ``push``."""

    mode: VenMode


class EventIn(DomainModel):
    """A DSR event as the DSRSP sends it (the OpenADR VEN maps oadrDistributeEvent onto this).

    ``kind``: import_cap / export_floor / setpoint / reduction; ``value_kw`` as in the
    optimiser's DSR table."""

    event_id: PlainText = Field(min_length=1, max_length=128)
    modification_number: int = Field(default=0, ge=0)
    kind: DsrKind
    value_kw: float = Field(ge=-100, le=100)
    start: AwareDatetime
    end: AwareDatetime
    status: str = Field(default="far", pattern="^(far|near|active|completed|cancelled)$")

    @model_validator(mode="after")
    def _ordered(self) -> EventIn:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if self.kind is not DsrKind.SETPOINT and self.value_kw < 0:
            raise ValueError(f"value_kw must be >= 0 for {self.kind.value}")
        return self
