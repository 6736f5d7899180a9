"""The consumer's preferences and overrides.

Times of day are UK local wall-clock times (Europe/London); the service converts them to UTC
on the planning grid, so "leave at 07:30" stays 07:30 across a clock change.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from enum import StrEnum

from pydantic import AwareDatetime, Field, model_validator

from hems.domain.base import DomainModel, LocalTime, PlainText


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


WEEKDAYS: tuple[Weekday, ...] = tuple(Weekday)

MAX_OPT_OUT_WINDOWS = 48
"""At most this many daily opt-out windows (one per half-hour slot, as the web form's rows);
each event is checked against every window, so the count is bounded."""
MAX_COMFORT_PERIODS = 48
"""At most this many comfort periods (one per half-hour slot)."""
NEXT_TRIP_MAX_AHEAD = timedelta(days=366)
"""A next trip is accepted up to a year ahead."""


class Departure(DomainModel):
    """When the car leaves (local time) and the SoC wanted by then [0-1]."""

    leave_at: LocalTime
    target_soc: float = Field(ge=0.1, le=1.0)


class NextTrip(DomainModel):
    """A one-off departure that replaces the weekly one for the next trip."""

    leave_at: AwareDatetime
    target_soc: float = Field(ge=0.1, le=1.0)


class ComfortPeriod(DomainModel):
    """From ``start`` (local time) until the next period starts, keep at least ``min_c``."""

    start: LocalTime
    min_c: float = Field(ge=5.0, le=26.0)


class OptOutWindow(DomainModel):
    """A daily window (local time) in which the home takes part in no DSR event."""

    start: LocalTime
    end: LocalTime


def _default_departures() -> dict[Weekday, Departure]:
    return {d: Departure(leave_at=time(7, 30), target_soc=0.8) for d in WEEKDAYS}


def _default_comfort() -> list[ComfortPeriod]:
    return [
        ComfortPeriod(start=time(6, 30), min_c=20.0),
        ComfortPeriod(start=time(22, 30), min_c=17.0),
    ]


class Preferences(DomainModel):
    """Everything the consumer chooses.

    Attributes:
        ev_departures: per weekday, when the car leaves and the SoC wanted; a missing day means
            the car is not expected to leave that day.
        ev_next_trip: a one-off for the next trip (ignored once it has passed); a new one must
            leave in the future and within a year (:meth:`next_trip_refusal`).
        ev_allow_peak_charging: False keeps the Smart Charge Points default hours (no EV charging
            on weekdays 08:00-11:00 and 16:00-22:00 unless the target needs it).
        comfort: the minimum indoor temperature through the day [°C], at most
            :data:`MAX_COMFORT_PERIODS` periods; ``comfort_max_c`` above.
        battery_reserve_soc: SoC the battery keeps for outages [0-0.9].
        carbon_preference: 0 = cheapest, 1 = greenest (mapped to a carbon price; docs).
        dsr_consent: the consumer agrees to take part in DSR events.
        dsr_opt_out_windows: daily windows with no DSR participation (at most
            :data:`MAX_OPT_OUT_WINDOWS`).
        octopus_join_saving_sessions: join the Octopus Saving Sessions announced for the
            consumer's linked Octopus account on their behalf (:mod:`hems.octopus_sessions`);
            without it only the sessions they joined themselves are planned for.
    """

    ev_departures: dict[Weekday, Departure] = Field(default_factory=_default_departures)
    ev_next_trip: NextTrip | None = None
    ev_allow_peak_charging: bool = False
    comfort: list[ComfortPeriod] = Field(
        default_factory=_default_comfort, min_length=1, max_length=MAX_COMFORT_PERIODS
    )
    comfort_max_c: float = Field(default=23.0, ge=10.0, le=30.0)
    battery_reserve_soc: float = Field(default=0.1, ge=0.0, le=0.9)
    carbon_preference: float = Field(default=0.2, ge=0.0, le=1.0)
    dsr_consent: bool = False
    dsr_opt_out_windows: list[OptOutWindow] = Field(
        default_factory=list, max_length=MAX_OPT_OUT_WINDOWS
    )
    octopus_join_saving_sessions: bool = False

    @model_validator(mode="after")
    def _comfort_consistent(self) -> Preferences:
        starts = [p.start for p in self.comfort]
        if len(set(starts)) != len(starts):
            raise ValueError("comfort periods must start at different times")
        if max(p.min_c for p in self.comfort) > self.comfort_max_c:
            raise ValueError("a comfort minimum is above comfort_max_c")
        return self

    def next_trip_refusal(self, now: datetime) -> str | None:
        """Why ``ev_next_trip`` cannot be accepted at ``now`` (in the past, or over
        :data:`NEXT_TRIP_MAX_AHEAD` ahead), or None. Checked where new preferences come in,
        not by the model: stored preferences keep a trip that has since passed (the planner
        ignores it)."""
        trip = self.ev_next_trip
        if trip is None:
            return None
        if trip.leave_at <= now:
            return f"the next trip must leave in the future (it is now {now:%Y-%m-%d %H:%M} UTC)"
        if trip.leave_at > now + NEXT_TRIP_MAX_AHEAD:
            return f"the next trip must leave within {NEXT_TRIP_MAX_AHEAD.days} days"
        return None

    def comfort_min_at(self, local: datetime) -> float:
        """The comfort minimum [°C] in force at a local wall-clock time."""
        ordered = sorted(self.comfort, key=lambda p: p.start)
        current = ordered[-1].min_c  # the last period runs past midnight
        for period in ordered:
            if period.start <= local.time():
                current = period.min_c
        return current


class OverrideKind(StrEnum):
    EV_BOOST = "ev_boost"  # charge the EV at full power now, until the target or expiry
    PAUSE_DEVICE = "pause_device"  # hold a device off until expiry
    OPT_OUT_EVENT = "opt_out_event"  # take no part in one DSR event


class OverrideRequest(DomainModel):
    """A consumer override; it always wins over the plan and the DSRSP until it expires."""

    kind: OverrideKind
    target: PlainText = Field(default="", max_length=128, description="device name or DSR event id")
    duration_minutes: int = Field(default=120, ge=1, le=24 * 60)

    @model_validator(mode="after")
    def _target_needed(self) -> OverrideRequest:
        if self.kind is not OverrideKind.EV_BOOST and not self.target:
            raise ValueError(f"{self.kind.value} needs a target (device name or event id)")
        return self
