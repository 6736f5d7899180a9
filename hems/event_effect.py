"""What a DSR event measurably did, once it is over (issue 28): metered, not planned.

From the home's stored telemetry (:mod:`hems.storage.telemetry`):

* **during the event**: the site meter's average import when the home has one
  (:data:`hems.measured_load.SITE_METER`), else the sum of its devices' average powers (the
  rest of the home is then not measured, and the sentence says so);
* **the baseline**: the same quantity over the same hours the day before (a "day before"
  baseline, the simplest of the usual DSR baselines), when readings cover it;
* **kWh shifted** = (baseline - during) x the event's hours.

A window counts as measured when its readings span at least :data:`MIN_COVERAGE` of it
(readings come about every minute); else the page says "not measured". The DSR provider
states no reward in its events (OpenADR 2.0b carries none here), so none is claimed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

MIN_COVERAGE = 0.8
"""Share of a window its readings must span to count as measured."""
ASKED_WORDS = {
    "import_cap": "import at most",
    "export_floor": "export at least",
    "setpoint": "hold the grid at",
    "reduction": "reduce by",
}

Samples = Sequence[tuple[datetime, float]]
"""(time, power [kW]) readings, oldest first."""


def window_mean_kw(samples: Samples, start: datetime, end: datetime) -> float | None:
    """The mean of the readings in [start, end) [kW], or None when they span less than
    :data:`MIN_COVERAGE` of it."""
    inside = [(t, kw) for t, kw in samples if start <= t < end]
    if len(inside) < 2:
        return None
    spanned = (inside[-1][0] - inside[0][0]).total_seconds()
    if spanned < MIN_COVERAGE * (end - start).total_seconds() - 120:  # a reading's minute
        return None
    return sum(kw for _, kw in inside) / len(inside)


@dataclass(frozen=True, slots=True)
class MeasuredEffect:
    """The event's metered effect: average power during it and the day before over the same
    hours [kW] (None: not measured), whether that is the site's import (else the devices'),
    and the event's length [h]."""

    during_kw: float | None
    day_before_kw: float | None
    site_metered: bool
    hours: float

    @property
    def shifted_kwh(self) -> float | None:
        if self.during_kw is None or self.day_before_kw is None:
            return None
        return (self.day_before_kw - self.during_kw) * self.hours


def measure(
    start: datetime,
    end: datetime,
    site: Samples,
    devices: Mapping[str, Samples],
) -> MeasuredEffect:
    """The effect of an event from ``start`` to ``end`` from the ``site`` meter's readings
    (empty: no meter) or else each device's."""
    day = timedelta(days=1)
    hours = (end - start).total_seconds() / 3600
    if site:
        return MeasuredEffect(
            window_mean_kw(site, start, end),
            window_mean_kw(site, start - day, end - day),
            True,
            hours,
        )

    def total(a: datetime, b: datetime) -> float | None:
        means = [window_mean_kw(s, a, b) for s in devices.values()]
        if not means or any(m is None for m in means):
            return None
        return sum(m for m in means if m is not None)

    return MeasuredEffect(total(start, end), total(start - day, end - day), False, hours)


def effect_sentence(effect: MeasuredEffect, kind: str, value_kw: float) -> str:
    """The measured effect in words for the events page."""
    if effect.during_kw is None:
        return "Measured effect: not measured (no meter readings cover the event)."
    asked = f"{ASKED_WORDS.get(kind, kind)} {value_kw:g} kW"
    kw = effect.during_kw
    if effect.site_metered:
        verb = "imported" if kw >= -0.05 else "exported"
        what = f"the home {verb} {abs(kw):.1f} kW on average (asked: {asked})"
    else:
        verb = "drew" if kw >= -0.05 else "supplied"  # a battery or PV covering the home
        what = (
            f"the home's devices {verb} {abs(kw):.1f} kW on average (asked: {asked}; "
            "no site meter, so the rest of the home is not measured)"
        )
    shifted = effect.shifted_kwh
    if shifted is None or effect.day_before_kw is None:
        base = "no readings the day before to compare with"
    else:
        moved = "moved out of" if shifted >= 0 else "more used in"
        base = (
            f"{effect.day_before_kw:.1f} kW at the same time the day before, so "
            f"{abs(shifted):.1f} kWh {moved} the event"
        )
    return f"Measured: {what}; {base}. Reward: none stated by the DSR provider."
