"""How the CEM service plugs into the VEN (no import of the service: it passes these callables).

- ``decide(notice) -> OptDecision``: called for every new or modified event the VEN can act on
  (not for test events); the :class:`EventNotice` holds the event and its dispatch requests;
  the consumer's consent and overrides answer optIn or optOut.
- ``telemetry() -> Sequence[Reading]``: the readings now, one per resource (``"site"`` for the
  grid connection, one per device).
- ``flexibility() -> Sequence[FlexibilityOffer]``: PAS 1878-style power profiles per device.
- ``cancelled(event)``: optional; an event was cancelled (explicitly or by leaving
  oadrDistributeEvent).
- ``registration_cancelled(at_utc)``: optional; the VTN cancelled the VEN's registration
  (oadrCancelPartyRegistration): the VEN does not register again until enrolled again.

Power is in kW, positive into the home's devices or imported from the grid (the project's sign
convention); state of charge in percent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from adapters.openadr.events import Event
from adapters.openadr.lifecycle import Change
from adapters.openadr.vocab import (
    EventStatus,
    OptReason,
    SignalName,
    SignalType,
    SiScale,
)
from kernel.dsr import DsrKind, OptType


@dataclass(frozen=True, slots=True, kw_only=True)
class OptDecision:
    opt: OptType
    reason: str = OptReason.PARTICIPATING
    """An optReason token (``economic``, ``overrideStatus``, ... or ``x-...``)."""
    explanation: str | None = None
    """Free text for the log and eventResponse description (the consumer-readable reason)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Reading:
    """One resource now. ``power_kw`` signed as in the module docstring."""

    resource_id: str
    power_kw: float
    online: bool = True
    manual_override: bool = False
    soc_pct: float | None = None
    setpoint_kw: float | None = None
    """The load control setpoint now (TELEMETRY_STATUS oadrLoadControlState), if any."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PowerProfile:
    """Power per step from ``start_utc`` [kW]."""

    start_utc: datetime
    step_s: float
    power_kw: tuple[float, ...]

    def at(self, index: int) -> datetime:
        return self.start_utc + timedelta(seconds=self.step_s * index)


@dataclass(frozen=True, slots=True, kw_only=True)
class FlexibilityOffer:
    """PAS 1878 power profiles of one device: intended operation (IO), least delayed (LD) and
    most delayed (MD)."""

    resource_id: str
    intended: PowerProfile
    least_delayed: PowerProfile
    most_delayed: PowerProfile


@dataclass(frozen=True, slots=True, kw_only=True)
class Resource:
    """A device the CEM registers as a report resource.

    Attributes:
        resource_id: stable id the DSRSP sees (reportDataSource/resourceID).
        has_soc: reports state of charge (battery, EV).
        flexible: offers power profiles in the ``x-FLEXIBILITY`` report.
    """

    resource_id: str
    has_soc: bool = False
    flexible: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class EventNotice:
    """What the decision hook receives for a new or modified event.

    Attributes:
        event: the event as the VTN sent it.
        change: new or modified.
        status: the event's status now, VEN side (far, near, active...).
        start_offset_s: the randomised delay drawn from ``startafter`` [s].
        requests: the event in the service's terms (kind, value_kw, start/end UTC).
    """

    event: Event
    change: Change
    status: EventStatus
    start_offset_s: float
    requests: tuple[DispatchRequest, ...]


Decide = Callable[[EventNotice], Awaitable[OptDecision]]
TelemetryProvider = Callable[[], Awaitable[Sequence[Reading]]]
FlexibilityProvider = Callable[[], Awaitable[Sequence[FlexibilityOffer]]]
CancelListener = Callable[[Event], Awaitable[None]]
RegistrationCancelListener = Callable[[datetime], Awaitable[None]]
"""Told when the VTN cancelled the VEN's registration (with when), so the service can record it
and show it to the consumer."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DispatchRequest:
    """What an event asks of the home, in the service's terms (one per power interval)."""

    kind: DsrKind
    value_kw: float
    start_utc: datetime
    end_utc: datetime


def dispatch_requests(event: Event, start_offset_s: float = 0.0) -> tuple[DispatchRequest, ...]:
    """Map the event's LOAD_DISPATCH / LOAD_CONTROL power signals to service requests.

    LOAD_DISPATCH ``setpoint`` -> SETPOINT (site power); ``delta`` -> REDUCTION (a positive
    value reduces consumption); LOAD_CONTROL ``x-loadControlCapacity`` -> IMPORT_CAP.
    Signals without a power unit, and SIMPLE / price signals, give no request.
    """
    kinds: dict[tuple[str, str], DsrKind] = {
        (SignalName.LOAD_DISPATCH, SignalType.SETPOINT): DsrKind.SETPOINT,
        (SignalName.LOAD_DISPATCH, SignalType.DELTA): DsrKind.REDUCTION,
        (SignalName.LOAD_CONTROL, SignalType.LOAD_CONTROL_CAPACITY): DsrKind.IMPORT_CAP,
    }
    offset = timedelta(seconds=start_offset_s)
    out: list[DispatchRequest] = []
    for signal in event.signals:
        kind = kinds.get((signal.name, signal.type))
        if kind is None or signal.unit is None or signal.unit.units != "W":
            continue
        for interval in signal.intervals:
            start = interval.start_utc + offset
            out.append(
                DispatchRequest(
                    kind=kind,
                    value_kw=signal.value_in(interval.value, "W", SiScale.K),
                    start_utc=start,
                    end_utc=start + timedelta(seconds=interval.duration_s),
                )
            )
    return tuple(out)
