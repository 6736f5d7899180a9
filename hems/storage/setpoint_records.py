"""What a stored setpoint is, as a typed record the store gives back (:class:`StoredSetpoint`),
and the enums of its kind and status; no SQLAlchemy here, so the controller, the use cases and
the tests read setpoints without the ORM's rows (the table is
:class:`hems.storage.tables.SetpointRow`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from kernel.devices import Setpoint


class SetpointKind(StrEnum):
    """What a stored setpoint is: a decision of the dispatch, or one step of a ramp towards a
    decision (:mod:`hems.dispatch`; a step is sent, never due of its own)."""

    DECISION = "decision"
    RAMP_STEP = "ramp_step"


class SetpointStatus(StrEnum):
    """Where a stored setpoint is on its way to the device."""

    PENDING = "pending"
    """Written, not tried yet (due at ``effective_at``)."""
    SENT = "sent"
    """The device accepted it (``applied_at``)."""
    FAILED = "failed"
    """The last try failed (``last_error``); due again at ``effective_at`` (the backoff)."""
    SUPERSEDED = "superseded"
    """Replaced before it was sent (a newer decision, a newer ramp step, a device gone): never
    sent."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredSetpoint:
    """A setpoint as stored: a decision of the dispatch or a ramp step towards one (``kind``),
    its power [kW] and mode (``follow_site``, ``store_surplus``), why (``reason``), when it
    is due (``effective_at``, UTC) and where it is on its way (``status``; ``applied_at`` once
    the device accepted it, ``attempts`` and ``last_error`` of the tries)."""

    id: int
    home_id: int
    device_name: str
    power_kw: float
    reason: str
    kind: SetpointKind
    follow_site: bool
    store_surplus: bool
    status: SetpointStatus
    plan_id: int | None
    created_at: datetime
    effective_at: datetime
    applied_at: datetime | None
    attempts: int
    last_error: str

    @property
    def setpoint(self) -> Setpoint:
        """What the device is (or was) sent: the power in its mode."""
        return Setpoint(
            power_kw=self.power_kw, follow_site=self.follow_site, store_surplus=self.store_surplus
        )


@dataclass(frozen=True, slots=True)
class NewDecision:
    """A decision to store (:meth:`SetpointRecords.add_setpoints`): its device, power [kW],
    why (``reason``), when it is due (``effective_at``) and its mode."""

    device: str
    power_kw: float
    reason: str
    effective_at: datetime
    follow_site: bool = False
    store_surplus: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class SendOutcome:
    """What became of one stored setpoint an apply pass tried to send
    (:meth:`SetpointSends.record_sends`): sent (``applied_at``), failed (``error``, due again at
    ``retry_at``), or, a ramp step whose send failed, ``dropped`` (superseded, never sent)."""

    home_id: int
    setpoint_id: int
    applied_at: datetime | None
    error: str = ""
    retry_at: datetime | None = None
    dropped: bool = False


@dataclass(frozen=True, slots=True)
class SendsRecorded:
    """What :meth:`SetpointSends.record_sends` left as it was: setpoints already marked sent
    (another apply loop sent them: the device was told twice), and homes whose lease this
    replica lost (their outcomes are not written: the home's new owner sends them again)."""

    already_sent: tuple[int, ...] = ()
    lost_homes: tuple[int, ...] = ()
