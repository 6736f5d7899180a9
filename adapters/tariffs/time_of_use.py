"""Static time-of-use tariffs from configuration: Economy 7, Octopus Go, Intelligent Octopus Go,
Cosy Octopus, Flux and a flat rate.

A tariff is a default rate plus windows of the day with other rates. Windows are wall-clock times
in UK local time (``clock="local"``), so on a clock-change day the grid's UTC slots fall in the
right window: Octopus Go's 00:30-05:30 is four real hours in spring and six in autumn. Some
Economy 7 meters keep GMT all year; ``clock="utc"`` models those.

The rates in the preset functions are illustrative (late 2024 levels, inc. VAT) and change every
quarter and by region: pass the customer's own rates. The window times follow Octopus's public
descriptions; Intelligent Octopus Go's extra smart-charging slots are dispatched by Octopus and are
not modelled here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import time
from typing import Any, Literal

import numpy as np
import pandas as pd

from kernel.timegrid import UK_TIMEZONE, TimeGrid, grid_index

Clock = Literal["local", "utc"]


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


@dataclass(frozen=True, slots=True, kw_only=True)
class RateWindow:
    """A rate between two times of day, ``[start, end)``; ``end <= start`` wraps past midnight
    (22:00-00:00 is the last two hours of the day).

    Attributes:
        start: first minute of the window (wall clock).
        end: first minute after it.
        rate_gbp_per_kwh: the rate in the window [GBP/kWh].
    """

    start: time
    end: time
    rate_gbp_per_kwh: float

    def __post_init__(self) -> None:
        if self.start == self.end and self.start != time(0):
            raise ValueError(f"window {self.start}-{self.end} is empty")

    def contains(self, minute_of_day: np.ndarray) -> np.ndarray:
        """Which minutes of the day [min] fall inside the window."""
        lo, hi = _minutes(self.start), _minutes(self.end)
        if lo < hi:
            return (minute_of_day >= lo) & (minute_of_day < hi)
        return (minute_of_day >= lo) | (minute_of_day < hi)


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeOfUseTariff:
    """A static tariff: ``default_rate_gbp_per_kwh`` outside the windows; the first window that
    holds a slot's start sets its rate.

    Attributes:
        name: e.g. "Octopus Go".
        default_rate_gbp_per_kwh: rate outside every window [GBP/kWh].
        windows: rate windows, checked in order.
        clock: "local" (UK wall clock, changes with BST) or "utc" (GMT all year).
        standing_charge_gbp_per_day: standing charge [GBP/day].
    """

    name: str
    default_rate_gbp_per_kwh: float
    windows: tuple[RateWindow, ...] = ()
    clock: Clock = "local"
    standing_charge_gbp_per_day: float = 0.0

    def rates_on_grid(self, grid: TimeGrid, *, name: str = "import_price_gbp_per_kwh") -> pd.Series:
        """The rate of every slot of ``grid`` [GBP/kWh], by the slot's start."""
        index = grid_index(grid)
        wall = index if self.clock == "utc" else index.tz_convert(UK_TIMEZONE)
        minute = np.asarray(wall.hour * 60 + wall.minute)
        rates = np.full(len(index), self.default_rate_gbp_per_kwh)
        decided = np.zeros(len(index), dtype=bool)
        for window in self.windows:
            hit = window.contains(minute) & ~decided
            rates[hit] = window.rate_gbp_per_kwh
            decided |= hit
        return pd.Series(rates, index=index, name=name)


def _window(start: str, end: str, rate: float) -> RateWindow:
    return RateWindow(
        start=time.fromisoformat(start), end=time.fromisoformat(end), rate_gbp_per_kwh=rate
    )


def flat(
    rate_gbp_per_kwh: float = 0.245, *, standing_charge_gbp_per_day: float = 0.60
) -> TimeOfUseTariff:
    """One rate all day [GBP/kWh]."""
    return TimeOfUseTariff(
        name="Flat",
        default_rate_gbp_per_kwh=rate_gbp_per_kwh,
        standing_charge_gbp_per_day=standing_charge_gbp_per_day,
    )


def economy_7(
    day_gbp_per_kwh: float = 0.30,
    night_gbp_per_kwh: float = 0.13,
    *,
    night_start: str = "00:30",
    night_end: str = "07:30",
    clock: Clock = "utc",
) -> TimeOfUseTariff:
    """Economy 7: seven night hours. The hours differ by region and meter (many meters keep GMT
    all year, hence ``clock="utc"`` by default); take them from the customer's meter."""
    return TimeOfUseTariff(
        name="Economy 7",
        default_rate_gbp_per_kwh=day_gbp_per_kwh,
        windows=(_window(night_start, night_end, night_gbp_per_kwh),),
        clock=clock,
    )


def octopus_go(
    peak_gbp_per_kwh: float = 0.245, off_peak_gbp_per_kwh: float = 0.085
) -> TimeOfUseTariff:
    """Octopus Go: cheap 00:30-05:30 UK local time."""
    return TimeOfUseTariff(
        name="Octopus Go",
        default_rate_gbp_per_kwh=peak_gbp_per_kwh,
        windows=(_window("00:30", "05:30", off_peak_gbp_per_kwh),),
    )


def intelligent_octopus_go(
    peak_gbp_per_kwh: float = 0.245, off_peak_gbp_per_kwh: float = 0.07
) -> TimeOfUseTariff:
    """Intelligent Octopus Go: cheap 23:30-05:30 UK local time (dispatched extra slots not
    modelled)."""
    return TimeOfUseTariff(
        name="Intelligent Octopus Go",
        default_rate_gbp_per_kwh=peak_gbp_per_kwh,
        windows=(_window("23:30", "05:30", off_peak_gbp_per_kwh),),
    )


def cosy_octopus(
    standard_gbp_per_kwh: float = 0.25,
    cosy_gbp_per_kwh: float = 0.13,
    peak_gbp_per_kwh: float = 0.37,
) -> TimeOfUseTariff:
    """Cosy Octopus: cheap 04:00-07:00, 13:00-16:00 and 22:00-00:00, peak 16:00-19:00 (local)."""
    return TimeOfUseTariff(
        name="Cosy Octopus",
        default_rate_gbp_per_kwh=standard_gbp_per_kwh,
        windows=(
            _window("04:00", "07:00", cosy_gbp_per_kwh),
            _window("13:00", "16:00", cosy_gbp_per_kwh),
            _window("22:00", "00:00", cosy_gbp_per_kwh),
            _window("16:00", "19:00", peak_gbp_per_kwh),
        ),
    )


def flux(
    day_gbp_per_kwh: float = 0.26,
    night_gbp_per_kwh: float = 0.16,
    peak_gbp_per_kwh: float = 0.36,
) -> TimeOfUseTariff:
    """Octopus Flux (import or export side: pass that side's rates): night 02:00-05:00, peak
    16:00-19:00 (local), day otherwise."""
    return TimeOfUseTariff(
        name="Flux",
        default_rate_gbp_per_kwh=day_gbp_per_kwh,
        windows=(
            _window("02:00", "05:00", night_gbp_per_kwh),
            _window("16:00", "19:00", peak_gbp_per_kwh),
        ),
    )


PRESETS: dict[str, Callable[..., TimeOfUseTariff]] = {
    "flat": flat,
    "economy_7": economy_7,
    "octopus_go": octopus_go,
    "intelligent_octopus_go": intelligent_octopus_go,
    "cosy_octopus": cosy_octopus,
    "flux": flux,
}


def tariff_from_config(config: Mapping[str, Any]) -> TimeOfUseTariff:
    """A tariff from configuration (a parsed TOML/JSON table).

    Either a preset with optional rates::

        {"preset": "octopus_go", "off_peak_gbp_per_kwh": 0.075}

    or explicit windows (times are wall-clock ``HH:MM``)::

        {"name": "My E7", "default_rate_gbp_per_kwh": 0.3, "clock": "utc",
         "windows": [{"start": "00:30", "end": "07:30", "rate_gbp_per_kwh": 0.12}]}

    Raises:
        ValueError: unknown preset, or a window lacks a field.
    """
    options = dict(config)
    preset = options.pop("preset", None)
    if preset is not None:
        if preset not in PRESETS:
            raise ValueError(f"unknown tariff preset {preset!r}; known: {sorted(PRESETS)}")
        return PRESETS[preset](**options)
    try:
        windows = tuple(
            _window(str(w["start"]), str(w["end"]), float(w["rate_gbp_per_kwh"]))
            for w in options.get("windows", ())
        )
        return TimeOfUseTariff(
            name=str(options["name"]),
            default_rate_gbp_per_kwh=float(options["default_rate_gbp_per_kwh"]),
            windows=windows,
            clock=options.get("clock", "local"),
            standing_charge_gbp_per_day=float(options.get("standing_charge_gbp_per_day", 0.0)),
        )
    except KeyError as exc:
        raise ValueError(f"tariff configuration lacks {exc}") from exc
