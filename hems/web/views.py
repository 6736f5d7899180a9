"""What the pages show, shaped from the operations' answers (:mod:`hems.usecases.records`; no
planning logic here): the plan as chart series in UK local time, a sentence per device,
events sorted into upcoming / active / past with what the home planned during each, and
savings summed by month."""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from hems.domain.devices import DeviceKind
from hems.domain.home import HomeSpec
from hems.domain.preferences import Preferences
from hems.storage.store import StoredPlan
from hems.usecases.records import EventPublic, PlanPublic, SavingsDay
from hems.web import plan_card
from kernel.dsr import OptType

UK = ZoneInfo("Europe/London")


def local(t: datetime) -> datetime:
    return t.astimezone(UK)


def fmt_time(t: datetime) -> str:
    """'Mon 30 Nov 17:30' in UK local time."""
    return local(t).strftime("%a %d %b %H:%M")


def _col(slots: list[dict[str, Any]], name: str, scale: float = 1.0) -> list[float | None]:
    out: list[float | None] = []
    for s in slots:
        v = s.get(name)
        out.append(None if v is None else round(float(v) * scale, 3))
    return out


def _devices_of(spec: HomeSpec, kind: DeviceKind) -> list[str]:
    return [d.name for d in spec.devices if d.kind is kind]


def chart_data(
    plan: PlanPublic, spec: HomeSpec, prefs: Preferences, now: datetime
) -> dict[str, Any]:
    """The series the chart draws: prices and carbon, each device's planned power, states of
    charge, indoor temperature and the comfort band. Times are UK local wall-clock strings."""
    slots = plan.slots
    starts = [datetime.fromisoformat(s["slot_start"]) for s in slots]
    x = [local(t).strftime("%Y-%m-%d %H:%M") for t in starts]
    power: dict[str, list[float | None]] = {}
    for name in _devices_of(spec, DeviceKind.EV_CHARGER):
        if f"{name}.power_kw" in slots[0]:
            power[f"{name} charging"] = _col(slots, f"{name}.power_kw")
    for name in _devices_of(spec, DeviceKind.HEAT_PUMP):
        power[name] = _col(slots, f"{name}.power_kw")
    for name in _devices_of(spec, DeviceKind.BATTERY):
        p = _col(slots, f"{name}.power_kw")
        power[f"{name} charge"] = [None if v is None else max(v, 0.0) for v in p]
        power[f"{name} discharge"] = [None if v is None else min(v, 0.0) for v in p]
    for name in _devices_of(spec, DeviceKind.PV):
        power[f"{name} generation"] = _col(slots, f"{name}.power_kw")
    soc: dict[str, list[float | None]] = {}
    for kind in (DeviceKind.EV_CHARGER, DeviceKind.BATTERY):
        for name in _devices_of(spec, kind):
            if f"{name}.soc_pct" in slots[0]:
                soc[name] = _col(slots, f"{name}.soc_pct")
    indoor: dict[str, list[float | None]] = {}
    for name in _devices_of(spec, DeviceKind.HEAT_PUMP):
        if f"{name}.indoor_c" in slots[0]:
            indoor[name] = _col(slots, f"{name}.indoor_c")
    return {
        "plan_id": plan.id,
        "now": local(now).strftime("%Y-%m-%d %H:%M"),
        "x": x,
        "import_price_p": _col(slots, "import_price_gbp_per_kwh", 100.0),
        "export_price_p": _col(slots, "export_price_gbp_per_kwh", 100.0),
        "carbon_g": _col(slots, "carbon_intensity_g_per_kwh"),
        "power": power,
        "grid_import": _col(slots, "grid_import_kw"),
        "grid_export": _col(slots, "grid_export_kw", -1.0),
        "soc": soc,
        "indoor": indoor,
        "comfort_min": [prefs.comfort_min_at(local(t)) for t in starts] if indoor else [],
        "comfort_max": [prefs.comfort_max_c for _ in starts] if indoor else [],
        "headline": plan_card.headline(plan),
        "card": plan_card.device_sentences(plan, spec),
        "violations": [v.message for v in plan.violations],
        "made": f"{fmt_time(plan.created_at)} ({plan.trigger})",
        "status": plan.status,
    }


@dataclass(frozen=True)
class EventView:
    event: EventPublic
    phase: str  # upcoming / active / past
    start: str
    end: str
    can_opt_out: bool
    did: str
    measured: str = ""


def event_views(
    events: Sequence[EventPublic],
    plans_for: Callable[[EventPublic], Sequence[StoredPlan]],
    now: datetime,
    measured_for: Callable[[EventPublic], str] | None = None,
) -> dict[str, list[EventView]]:
    """Events by phase, each with what the home planned while it ran (or will run);
    ``plans_for(event)`` gives the plans that may cover the event; once an event that ran is
    over, ``measured_for(event)`` says what it measurably did (metered, not planned)."""
    out: dict[str, list[EventView]] = {"active": [], "upcoming": [], "past": []}
    for e in events:
        if e.status == "cancelled" or e.end <= now:
            phase = "past"
        elif e.start <= now:
            phase = "active"
        else:
            phase = "upcoming"
        out[phase].append(
            EventView(
                event=e,
                phase=phase,
                start=fmt_time(e.start),
                end=fmt_time(e.end),
                can_opt_out=phase != "past" and e.response == OptType.OPT_IN,
                did=what_the_home_did(e, plans_for(e), started=e.start <= now, over=e.end <= now),
                measured=measured_for(e)
                if measured_for is not None and e.end <= now and e.status != "cancelled"
                else "",
            )
        )
    out["past"].reverse()
    return out


def what_the_home_did(
    e: EventPublic, plans: Sequence[StoredPlan], *, started: bool = True, over: bool = True
) -> str:
    """The grid import of each slot that overlaps the event (an event need not start or end
    on a slot boundary) in the plan in force for that slot: the last plan made before the slot
    ended (for future slots, the latest plan). In the tense of the
    event: "Will take part" before it ``started``, "Taking part" while it runs, "Took part"
    once it is ``over`` (never "Took part" for an event to come, issue 28)."""
    if e.status == "cancelled" and not started:
        return "Cancelled before it started: nothing to do."
    ordered = sorted(plans, key=lambda p: p.created_at)
    created = [p.created_at for p in ordered]
    imports: list[float] = []
    for plan in ordered:
        sched = plan.schedule
        if "grid_import_kw" not in sched.columns or len(sched) < 2:
            continue
        step = (sched.index[1] - sched.index[0]).to_pytimedelta()
        for t, start in enumerate(sched.index):
            s = start.to_pydatetime()
            if not (s < e.end and s + step > e.start):  # the slot overlaps the event
                continue
            i = bisect.bisect_left(created, s + step) - 1
            if ordered[max(i, 0)] is plan:
                imports.append(float(sched["grid_import_kw"].iloc[t]))
    taking_part = e.response == OptType.OPT_IN
    if over:
        verb = "Took part" if taking_part else "Took no part"
    elif started:
        verb = "Taking part" if taking_part else "Not taking part"
    else:
        verb = "Will take part" if taking_part else "Will not take part"
    if not imports:
        return f"{verb}; no plan covers the event yet."
    return (
        f"{verb}: grid import planned at up to {max(imports):.1f} kW "
        f"(average {sum(imports) / len(imports):.1f} kW) during the event."
    )


@dataclass(frozen=True)
class MonthRow:
    month: str
    cost_gbp: float
    baseline_cost_gbp: float
    savings_gbp: float
    carbon_kg: float
    baseline_carbon_kg: float
    saving_session_reward_gbp: float


def by_month(days: Sequence[SavingsDay]) -> list[MonthRow]:
    """The days summed by month; a month's cost has its Saving Session rewards taken off, as
    each day's has."""
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0] * 5)
    for d in days:
        acc = sums[d.day.strftime("%Y-%m")]
        acc[0] += d.cost_gbp
        acc[1] += d.baseline_cost_gbp
        acc[2] += d.carbon_kg
        acc[3] += d.baseline_carbon_kg
        acc[4] += d.saving_session_reward_gbp
    return [
        MonthRow(
            month=datetime.strptime(m, "%Y-%m").strftime("%B %Y"),
            cost_gbp=v[0],
            baseline_cost_gbp=v[1],
            savings_gbp=v[1] - v[0],
            carbon_kg=v[2],
            baseline_carbon_kg=v[3],
            saving_session_reward_gbp=v[4],
        )
        for m, v in sorted(sums.items(), reverse=True)
    ]
