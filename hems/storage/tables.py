"""The database tables. Times are stored as UTC and read back timezone-aware."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Integer,
    String,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hems.storage.setpoint_records import SetpointKind, SetpointStatus


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored as naive UTC and returned timezone-aware; naive input is refused."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


def _fk_home() -> Any:
    return ForeignKey("homes.id", ondelete="CASCADE")


class HomeRow(Base):
    __tablename__ = "homes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    cem_manufacturer: Mapped[str] = mapped_column(String(64))
    cem_serial: Mapped[str] = mapped_column(String(64), unique=True)
    spec: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class DeviceRow(Base):
    """A device of a home: its spec, and for a device registered through the API its
    ``connection`` (a :data:`hems.domain.connections.DeviceConnection` as JSON, credentials
    included: deleted with the row), the ``identity`` it gave once connected and the
    ``capabilities`` it reported (:class:`kernel.devices.DeviceCapabilities`' fields it gave)."""

    __tablename__ = "devices"
    __table_args__ = (UniqueConstraint("home_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    home_id: Mapped[int] = mapped_column(_fk_home(), index=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    spec: Mapped[dict[str, Any]]
    connection: Mapped[dict[str, Any] | None]
    identity: Mapped[dict[str, Any] | None]
    capabilities: Mapped[dict[str, Any] | None]


class PreferencesRow(Base):
    __tablename__ = "preferences"

    home_id: Mapped[int] = mapped_column(_fk_home(), primary_key=True)
    data: Mapped[dict[str, Any]]
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime]


class OverrideRow(Base):
    __tablename__ = "overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    home_id: Mapped[int] = mapped_column(_fk_home(), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]


class ApiTokenRow(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    home_id: Mapped[int | None] = mapped_column(_fk_home(), index=True)
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class PlanRow(Base):
    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    home_id: Mapped[int] = mapped_column(_fk_home(), index=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    trigger: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    grid_start: Mapped[datetime]
    step_minutes: Mapped[int]
    objective_gbp: Mapped[float] = mapped_column(Float)
    schedule: Mapped[dict[str, Any]]
    totals: Mapped[dict[str, Any]]
    violations: Mapped[list[Any]]
    solver: Mapped[dict[str, Any]]


def _string_enum(enum: type[StrEnum]) -> Enum:
    """An enum stored as its values in a VARCHAR (no database enum type, no CHECK), so adding
    a member needs no migration of the column."""
    return Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=16,
        values_callable=lambda members: [m.value for m in members],
    )


class SetpointRow(Base):
    """A setpoint decided for a device, or a ramp step towards one (``kind``); ``status`` says
    whether it was sent (``applied_at`` is set once the device accepted it). ``follow_site``
    and ``store_surplus`` are the mode it is sent in (:class:`adapters.devices.driver.Setpoint`),
    stored so a restarted service knows the mode a battery was last told."""

    __tablename__ = "setpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    home_id: Mapped[int] = mapped_column(_fk_home(), index=True)
    device_name: Mapped[str] = mapped_column(String(64))
    power_kw: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(64))
    kind: Mapped[SetpointKind] = mapped_column(
        _string_enum(SetpointKind), server_default=SetpointKind.DECISION.value
    )
    follow_site: Mapped[bool] = mapped_column(Boolean, server_default=false())
    store_surplus: Mapped[bool] = mapped_column(Boolean, server_default=false())
    status: Mapped[SetpointStatus] = mapped_column(
        _string_enum(SetpointStatus), server_default=SetpointStatus.PENDING.value
    )
    plan_id: Mapped[int | None]
    created_at: Mapped[datetime]
    effective_at: Mapped[datetime]
    applied_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(200), default="")


class TelemetryRow(Base):
    __tablename__ = "telemetry"

    id: Mapped[int] = mapped_column(primary_key=True)
    home_id: Mapped[int] = mapped_column(_fk_home(), index=True)
    device_name: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(index=True)
    online: Mapped[bool]
    power_kw: Mapped[float | None]
    soc: Mapped[float | None]
    temperature_c: Mapped[float | None]


class DsrEventRow(Base):
    __tablename__ = "dsr_events"
    __table_args__ = (UniqueConstraint("home_id", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    home_id: Mapped[int] = mapped_column(_fk_home(), index=True)
    event_id: Mapped[str] = mapped_column(String(128))
    modification_number: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(32))
    value_kw: Mapped[float] = mapped_column(Float)
    start: Mapped[datetime]
    end: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    response: Mapped[str] = mapped_column(String(16), default="")
    response_reason: Mapped[str] = mapped_column(String(200), default="")
    received_at: Mapped[datetime]


class VenEnrolmentRow(Base):
    """A home's VEN when it is not the default (no row: enrolled, pull mode): its part in the
    DSRSP's programme and how it talks. ``withdrawn_at``: the consumer or operator withdrew the
    home (its VEN stays deregistered, across restarts, until re-enrolled);
    ``cancelled_by_vtn_at``: the DSRSP's VTN cancelled the registration (not retried until
    re-enrolled); ``mode``: :class:`hems.storage.enrolments.VenMode`."""

    __tablename__ = "ven_enrolments"

    home_id: Mapped[int] = mapped_column(_fk_home(), primary_key=True)
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by: Mapped[str] = mapped_column(String(64), default="")
    cancelled_by_vtn_at: Mapped[datetime | None]
    mode: Mapped[str] = mapped_column(String(16), server_default="pull")


class ReportRow(Base):
    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    home_id: Mapped[int] = mapped_column(_fk_home(), index=True)
    name: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    payload: Mapped[dict[str, Any]]
    sent_at: Mapped[datetime | None]


class AuditRow(Base):
    """Consents, overrides, preference changes and data actions: who, what, when."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    home_id: Mapped[int | None] = mapped_column(_fk_home(), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]]


class WebSessionRow(Base):
    """A signed-in browser of the consumer web app (hems/web/sessions.py). Only the SHA-256 of
    its session id is stored, as for API tokens: a copy of the database opens no session."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    home_id: Mapped[int] = mapped_column(_fk_home(), index=True)
    token_id: Mapped[int] = mapped_column(
        ForeignKey("api_tokens.id", ondelete="CASCADE"), index=True
    )
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen: Mapped[datetime] = mapped_column(index=True)
    flash: Mapped[list[Any]]


class ReplicaRow(Base):
    """A service replica on a shared PostgreSQL database, and when it last said it was alive
    (:mod:`hems.storage.leases`): the live ones share the homes."""

    __tablename__ = "replicas"

    replica_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime] = mapped_column(index=True)


class HomeLeaseRow(Base):
    """Which replica runs a home until when (:mod:`hems.storage.leases`). ``epoch`` grows at
    every change of owner: a write carries the epoch its replica claimed, so one from a
    replica that lost the home fails (fencing)."""

    __tablename__ = "home_leases"

    home_id: Mapped[int] = mapped_column(_fk_home(), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(200), index=True)
    expires_at: Mapped[datetime]
    epoch: Mapped[int] = mapped_column(Integer, default=0)
    replan_asked: Mapped[str | None] = mapped_column(String(400))
    """Why another replica asked the owner to re-plan the home (taken at the owner's next
    lease round), or None."""


class SavingSessionRow(Base):
    """A consumer DSR session the consumer entered or the service fetched from Octopus
    (Octopus Saving Sessions, the ESO's Demand Flexibility Service:
    :mod:`hems.storage.saving_sessions`): its half-hours, the reward per
    kWh of import below the baseline, and the baseline itself [kW per half-hour], fixed when
    the session was entered (``baseline_method`` says from what)."""

    __tablename__ = "saving_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    home_id: Mapped[int] = mapped_column(_fk_home(), index=True)
    start: Mapped[datetime]
    end: Mapped[datetime]
    reward_p_per_kwh: Mapped[float] = mapped_column(Float)
    baseline_kw: Mapped[list[Any]]
    baseline_method: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]
    source: Mapped[str] = mapped_column(String(16), default="consumer", server_default="consumer")
    """``consumer`` (entered) or ``octopus`` (fetched: :mod:`hems.octopus_sessions`)."""
    octopus_event_id: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint(
            "home_id", "octopus_event_id", name="uq_saving_sessions_home_octopus_event"
        ),
    )


class CohortLimitRow(Base):
    """A cohort import limit the operator set (:mod:`hems.storage.cohort_limits`): ``limit_kw``
    for the whole cohort from ``start`` to ``end``; the one not cleared is in force."""

    __tablename__ = "cohort_limits"

    id: Mapped[int] = mapped_column(primary_key=True)
    limit_kw: Mapped[float] = mapped_column(Float)
    start: Mapped[datetime]
    end: Mapped[datetime]
    set_by: Mapped[str] = mapped_column(String(200))
    set_at: Mapped[datetime]
    cleared_at: Mapped[datetime | None] = mapped_column(index=True)


class OctopusAccountRow(Base):
    """A home's link to the consumer's own Octopus account (:mod:`hems.storage.octopus_accounts`):
    the account number, the API key encrypted (:mod:`hems.account_secrets`; only its last 4
    characters in clear, to show which key it is), whether the home's tariff follows the
    account, and what the last refresh found."""

    __tablename__ = "octopus_accounts"

    home_id: Mapped[int] = mapped_column(_fk_home(), primary_key=True)
    account_number: Mapped[str] = mapped_column(String(16))
    api_key_encrypted: Mapped[str] = mapped_column(String(1000))
    api_key_last4: Mapped[str] = mapped_column(String(4))
    follow_tariff: Mapped[bool] = mapped_column(Boolean)
    linked_at: Mapped[datetime]
    refreshed_at: Mapped[datetime | None]
    refresh_status: Mapped[str | None] = mapped_column(String(500))
    import_tariff_code: Mapped[str | None] = mapped_column(String(64))
    export_tariff_code: Mapped[str | None] = mapped_column(String(64))
