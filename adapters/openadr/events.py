"""Typed OpenADR events: what the codec returns for an ``oadr:oadrEvent``.

Times are timezone-aware UTC datetimes; durations are seconds (``*_s``). Values keep the unit the
VTN sent (see :class:`ItemUnit`); :meth:`EventSignal.value_in` converts power to kW or W.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from adapters.openadr.vocab import (
    SCALE_FACTOR,
    SUPPORTED_SIGNALS,
    EventStatus,
    ItemKind,
    ResponseRequired,
    SiScale,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """An eiTarget: who an event, opt or report is about. Empty means "everyone"."""

    ven_ids: tuple[str, ...] = ()
    resource_ids: tuple[str, ...] = ()
    group_ids: tuple[str, ...] = ()
    party_ids: tuple[str, ...] = ()
    end_device_assets: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        return not (
            self.ven_ids
            or self.resource_ids
            or self.group_ids
            or self.party_ids
            or self.end_device_assets
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemUnit:
    """An emix:itemBase: the unit of a signal or report value.

    Attributes:
        kind: the element (powerReal, energyReal, ...).
        units: itemUnits (``W``, ``Wh``, ``GBP``, ``%``...).
        scale: siScaleCode; the value times ``SCALE_FACTOR[scale]`` is in ``units``.
        description: itemDescription (fixed by the schema for most kinds).
        hertz, voltage_v, ac: powerAttributes (power kinds only).
    """

    kind: ItemKind
    units: str
    scale: SiScale = SiScale.NONE
    description: str = ""
    hertz: float = 50.0
    voltage_v: float = 230.0
    ac: bool = True


REAL_POWER_KW = ItemUnit(
    kind=ItemKind.POWER_REAL, units="W", scale=SiScale.K, description="RealPower"
)
REAL_POWER_W = ItemUnit(
    kind=ItemKind.POWER_REAL, units="W", scale=SiScale.NONE, description="RealPower"
)
REAL_ENERGY_WH = ItemUnit(
    kind=ItemKind.ENERGY_REAL, units="Wh", scale=SiScale.NONE, description="RealEnergy"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Interval:
    """One interval of an event signal.

    Attributes:
        uid: position in the signal (rule 2: 0, 1, 2, ...).
        duration_s: length [s].
        value: payloadFloat value in the signal's unit.
        start_utc: the interval's start, computed from the event start and the durations before
            it (the schema lets a VTN leave it out).
    """

    uid: int
    duration_s: float
    value: float
    start_utc: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class EventSignal:
    """An eiEventSignal. ``name`` and ``type`` are schema tokens (see vocab)."""

    signal_id: str
    name: str
    type: str
    intervals: tuple[Interval, ...]
    unit: ItemUnit | None = None
    current_value: float | None = None
    target: Target | None = None

    @property
    def supported(self) -> bool:
        """Whether the VEN acts on this signal (otherwise it answers 460)."""
        return (self.name, self.type) in SUPPORTED_SIGNALS

    def value_in(self, value: float, units: str, scale: SiScale) -> float:
        """Convert a value of this signal to ``units`` at ``scale`` (e.g. W, k -> kW).

        Raises ValueError when the signal carries no unit or another unit.
        """
        if self.unit is None or self.unit.units != units:
            raise ValueError(f"signal {self.signal_id} is not in {units}")
        return value * SCALE_FACTOR[self.unit.scale] / SCALE_FACTOR[scale]

    def interval_at(self, at_utc: datetime) -> Interval | None:
        for interval in self.intervals:
            end = interval.start_utc + timedelta(seconds=interval.duration_s)
            if interval.start_utc <= at_utc < end:
                return interval
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """An OpenADR event as the VTN sent it (one ``oadrEvent``).

    Attributes:
        event_id, modification_number: identity and version (a higher number replaces a lower).
        status: the VTN's eventStatus when it sent the event (see ``lifecycle`` for the VEN's).
        start_utc, duration_s: the active period (dtstart, duration; 0 s means "until further
            notice" in the 2.0b profile).
        start_after_s: tolerance/tolerate/startafter: the VEN starts at a random offset in
            [0, start_after_s) (grid stability).
        notification_s, ramp_up_s, recovery_s: x-eiNotification, x-eiRampUp, x-eiRecovery.
        test_event: rule 6: any testEvent value other than "false" marks a test event.
        response_required: oadrResponseRequired (always or never).
    """

    event_id: str
    modification_number: int
    status: EventStatus
    market_context: str
    created_utc: datetime
    start_utc: datetime
    duration_s: float
    signals: tuple[EventSignal, ...]
    target: Target = field(default_factory=Target)
    priority: int | None = None
    modification_utc: datetime | None = None
    modification_reason: str | None = None
    test_event: bool = False
    test_event_raw: str | None = None
    vtn_comment: str | None = None
    start_after_s: float | None = None
    notification_s: float | None = None
    ramp_up_s: float | None = None
    recovery_s: float | None = None
    response_required: ResponseRequired = ResponseRequired.ALWAYS

    @property
    def end_utc(self) -> datetime | None:
        """End of the active period, or None for an open-ended event (duration 0)."""
        if self.duration_s <= 0:
            return None
        return self.start_utc + timedelta(seconds=self.duration_s)

    @property
    def unsupported_signals(self) -> tuple[EventSignal, ...]:
        return tuple(s for s in self.signals if not s.supported)
