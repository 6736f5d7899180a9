"""What the service's operations return: the read models the API serves as JSON and the web app
renders as pages (one shape for both, so a page shows exactly what the API answers)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from hems.device_capabilities import CapabilityMismatch
from hems.storage.enrolments import VenMode
from hems.storage.setpoint_records import SetpointKind, SetpointStatus


class HomeCreated(BaseModel):
    id: int
    token: str = Field(description="The home's API token. Shown once; store it safely.")


class TokenCreated(BaseModel):
    token: str = Field(description="Shown once; only its hash is kept.")


class HomeSummary(BaseModel):
    id: int
    name: str
    cem_manufacturer: str
    cem_serial: str


class DeviceStatus(BaseModel):
    name: str
    kind: str
    online: bool
    last_seen_utc: datetime | None
    last_error: str
    power_kw: float | None
    soc: float | None
    temperature_c: float | None
    plugged_in: bool | None
    mismatches: list[CapabilityMismatch] = []
    """Where the device reports its limits otherwise than its spec says (planned: the lower;
    :mod:`hems.device_capabilities`)."""


class OverridePublic(BaseModel):
    id: int
    kind: str
    target: str
    created_at: datetime
    expires_at: datetime


class ViolationPublic(BaseModel):
    wish: str
    asset: str
    amount: float
    unit: str
    message: str


class PlanPublic(BaseModel):
    """The current plan: per-slot rows (UTC), totals, unmet wishes in words, solver report."""

    id: int
    created_at: datetime
    trigger: str
    status: str
    slots: list[dict[str, Any]]
    totals: dict[str, Any]
    violations: list[ViolationPublic]
    solver: dict[str, Any]


class PlanSummary(BaseModel):
    id: int
    created_at: datetime
    trigger: str
    status: str
    planned_cost_gbp: float | None


class SetpointPublic(BaseModel):
    device: str
    power_kw: float
    reason: str
    kind: SetpointKind
    follow_site: bool
    store_surplus: bool
    status: SetpointStatus
    effective_at: datetime
    applied_at: datetime | None
    attempts: int
    last_error: str


class History(BaseModel):
    plans: list[PlanSummary]
    setpoints: list[SetpointPublic]


class SavingsDay(BaseModel):
    """One local day: cost and carbon of the slots the plans actually ran, against the rule-based
    baseline (EV charges on plug-in, heat pump holds the comfort minimum, battery idle)."""

    day: date
    cost_gbp: float = Field(
        description="the slots' energy cost less the day's Saving Session reward (a credit)"
    )
    baseline_cost_gbp: float
    savings_gbp: float = Field(description="baseline_cost_gbp - cost_gbp, the reward included")
    carbon_kg: float
    baseline_carbon_kg: float
    saving_session_reward_gbp: float = Field(
        default=0.0,
        description="the reward earned from the metered import by the Saving Sessions that "
        "started this day and are over (not cancelled); already taken off cost_gbp",
    )


class EventPublic(BaseModel):
    event_id: str
    modification_number: int
    kind: str
    value_kw: float
    start: datetime
    end: datetime
    status: str
    response: str
    response_reason: str


class DsrEnrolment(BaseModel):
    """The home's part in the DSRSP's programme (its OpenADR VEN's registration)."""

    status: Literal["enrolled", "withdrawn", "cancelled_by_dsrsp"] = Field(
        description="enrolled: the home's VEN is registered with the DSRSP (or registers); "
        "withdrawn: the consumer or operator withdrew it, and it stays deregistered until "
        "enrolled again; cancelled_by_dsrsp: the DSRSP cancelled the registration, and it is "
        "not registered again until enrolled again."
    )
    since: datetime | None = Field(description="When it became so (null: enrolled from the start).")
    message: str = Field(description="The status in words, as the web app shows it.")


class VenModePublic(BaseModel):
    """How the home's OpenADR VEN talks to the DSRSP's VTN."""

    mode: VenMode = Field(
        description="pull: it polls for events and report requests (the default); "
        "report_only: it registers as a report-only VEN (oadrReportOnly) and sends the "
        "telemetry the VTN asks for, taking no events; push: the VTN pushes to the service's "
        "push endpoint (oadrHttpPullModel false)."
    )
