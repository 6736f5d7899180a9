"""The plan at a glance (issue 28): one sentence per device saying when it runs, at what price
and to what end, and a headline against the rule-based baseline the service plans beside
every plan ("£1.20 and 2.3 kg CO2 less than without the CEM over the next 48 h").

Built from the plan as the API serves it (:class:`hems.usecases.records.PlanPublic`): its
per-slot rows (UTC) and its totals, whose ``baseline_cost_gbp`` and ``baseline_carbon_kg``
are the baseline's over the same slots. Times are UK local; a window on another day than the
plan's first slot carries its weekday.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hems.domain.devices import DeviceKind
from hems.domain.home import HomeSpec
from hems.usecases.records import PlanPublic
from hems.web.words import pounds

UK = ZoneInfo("Europe/London")
ON_KW = 0.05
"""A device runs in a slot when its planned power is above this [kW]."""
WINDOWS_SHOWN = 2


def _value(slot: dict[str, Any], column: str) -> float:
    v = slot.get(column)
    return float(v) if v is not None else 0.0


class _Slots:
    """The plan's rows with their local times and step."""

    def __init__(self, slots: Sequence[dict[str, Any]]) -> None:
        self.rows = list(slots)
        self.starts = [datetime.fromisoformat(s["slot_start"]) for s in self.rows]
        self.step = self.starts[1] - self.starts[0] if len(self.starts) > 1 else timedelta(0)
        self.step_h = self.step.total_seconds() / 3600
        self.first_day = self.starts[0].astimezone(UK).date() if self.starts else None

    def col(self, column: str) -> list[float]:
        return [_value(s, column) for s in self.rows]

    def price(self) -> list[float]:
        return self.col("import_price_gbp_per_kwh")

    def at(self, t: datetime) -> str:
        local = t.astimezone(UK)
        return f"{local:%H:%M}" if local.date() == self.first_day else f"{local:%a %H:%M}"

    def windows(self, on: list[bool]) -> str:
        """The runs of ``on`` as ``01:00-04:30, Tue 13:00-16:00 and 3 more``."""
        spans: list[tuple[int, int]] = []
        for i, flag in enumerate(on):
            if flag and spans and spans[-1][1] == i - 1:
                spans[-1] = (spans[-1][0], i)
            elif flag:
                spans.append((i, i))
        words = [
            f"{self.at(self.starts[a])}-{(self.starts[b] + self.step).astimezone(UK):%H:%M}"
            for a, b in spans[:WINDOWS_SHOWN]
        ]
        more = len(spans) - WINDOWS_SHOWN
        if more > 0:
            return ", ".join(words) + f" and {more} more"
        return " and ".join(words)

    def end_of_last(self, on: list[bool]) -> datetime:
        last = max(i for i, flag in enumerate(on) if flag)
        return self.starts[last] + self.step


def _ev(name: str, s: _Slots) -> str:
    """The car's charge; a car away now that the plan expects home (its SoC is planned from
    a later slot, :mod:`hems.ev_arrivals`) is said to be expected, the charge too."""
    if f"{name}.power_kw" not in s.rows[0]:
        return f"{name}: away and not expected home within the plan, so not in it."
    here = [r.get(f"{name}.soc_pct") is not None for r in s.rows]
    away_now = not here[0] and any(here)
    power, price = s.col(f"{name}.power_kw"), s.price()
    on = [p > ON_KW for p in power]
    if away_now:
        home = f"{name}: expected home by {s.at(s.starts[here.index(True)])}; "
        charges, reaches = "expected to charge", "reaching"
    else:
        home, charges, reaches = f"{name}: ", "charges", "reaches"
    if not any(on):
        return home + ("no charge expected." if away_now else "plugged in; no charge needed.")
    kwh = sum(p for p in power if p > 0) * s.step_h
    cost = sum(p * c for p, c in zip(power, price, strict=True) if p > 0) * s.step_h
    soc = max(s.col(f"{name}.soc_pct"), default=0.0)
    return (
        f"{home}{charges} {s.windows(on)} at {100 * cost / kwh:.1f}p, {reaches} {soc:.0f} % by "
        f"{s.at(s.end_of_last(on))}, {pounds(cost)}."
    )


def _heat_pump(name: str, s: _Slots) -> str:
    power, price = s.col(f"{name}.power_kw"), s.price()
    on = [p > ON_KW for p in power]
    indoor = [v for v in (r.get(f"{name}.indoor_c") for r in s.rows) if v is not None]
    band = f", keeps {min(indoor):.1f}-{max(indoor):.1f} °C" if indoor else ""
    if not any(on):
        return f"{name}: stays off{band}."
    kwh = sum(p for p in power if p > 0) * s.step_h
    cost = sum(p * c for p, c in zip(power, price, strict=True) if p > 0) * s.step_h
    return f"{name}: heats {s.windows(on)}{band}, {kwh:.1f} kWh, {pounds(cost)}."


def _battery(name: str, s: _Slots) -> str:
    power, grid = s.col(f"{name}.power_kw"), s.col("grid_import_kw")
    charging = [p > ON_KW for p in power]
    covering = [p < -ON_KW for p in power]
    parts = []
    if any(charging):
        from_grid = sum(p for p, g in zip(power, grid, strict=True) if p > ON_KW and g > ON_KW)
        share = from_grid / sum(p for p in power if p > ON_KW)
        source = "solar" if share < 0.2 else "the grid" if share > 0.8 else "solar and the grid"
        parts.append(f"fills {s.windows(charging)} from {source}")
    if any(covering):
        parts.append(f"covers the home {s.windows(covering)}")
    soc = [v for v in (r.get(f"{name}.soc_pct") for r in s.rows) if v is not None]
    end = f", ends at {float(soc[-1]):.0f} %" if soc else ""
    return f"{name}: " + (", ".join(parts) if parts else "stays idle") + f"{end}."


def _pv(name: str, s: _Slots) -> str:
    generated = -sum(p for p in s.col(f"{name}.power_kw") if p < 0) * s.step_h
    exported = sum(s.col("grid_export_kw")) * s.step_h
    return f"{name}: generates {generated:.1f} kWh; the home exports {exported:.1f} kWh."


def device_sentences(plan: PlanPublic, spec: HomeSpec) -> list[str]:
    """One sentence per device: cars, heat pumps, batteries, then PV."""
    if not plan.slots:
        return []
    s = _Slots(plan.slots)
    by_kind = {
        DeviceKind.EV_CHARGER: _ev,
        DeviceKind.HEAT_PUMP: _heat_pump,
        DeviceKind.BATTERY: _battery,
        DeviceKind.PV: _pv,
    }  # in this order: the car and the heat pump are what the consumer asked for
    order = list(by_kind)
    devices = sorted(
        (d for d in spec.devices if d.kind in by_kind), key=lambda d: order.index(d.kind)
    )
    return [by_kind[d.kind](d.name, s) for d in devices]


def headline(plan: PlanPublic) -> str:
    """The plan against the baseline over the plan's slots; empty without a baseline."""
    base_cost = plan.totals.get("baseline_cost_gbp")
    base_carbon = plan.totals.get("baseline_carbon_kg")
    if base_cost is None or base_carbon is None or not plan.slots:
        return ""
    s = _Slots(plan.slots)
    money = float(base_cost) - sum(s.col("cost_gbp"))
    carbon = float(base_carbon) - sum(s.col("carbon_kg"))
    hours = len(s.rows) * s.step_h
    money_words = f"{pounds(money)} {'less' if money > -0.005 else 'more'}"
    kg = abs(carbon) if abs(carbon) >= 0.05 else 0.0
    carbon_words = f"{kg:.1f} kg CO2 {'less' if carbon > -0.05 else 'more'}"
    if money_words.endswith(carbon_words[-4:]):  # both less or both more: said once
        money_words = money_words.rsplit(" ", 1)[0]
    return f"{money_words} and {carbon_words} than without the CEM over the next {hours:.0f} h."
