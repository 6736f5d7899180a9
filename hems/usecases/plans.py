"""The home's plan as the consumer sees it: the latest plan with its explanation, the plans
and setpoints of a period, savings against the rule-based baseline, flexibility profiles."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hems.flexibility import FlexibilityProfiles
from hems.saving_sessions import earned_rewards_by_day
from hems.service import CemService
from hems.storage.store import PlanDocument, StoredPlan
from hems.usecases.records import (
    History,
    PlanPublic,
    PlanSummary,
    SavingsDay,
    SetpointPublic,
    ViolationPublic,
)

UK = ZoneInfo("Europe/London")


def latest_plan_id(service: CemService, home_id: int) -> int | None:
    """The latest plan's id (None before the first plan): a cheap check whether it changed."""
    return service.store.latest_plan_id(home_id)


def latest_plan(service: CemService, home_id: int) -> PlanPublic | None:
    """The latest plan (None before the first plan)."""
    doc = service.store.latest_plan_document(home_id)
    return None if doc is None else public_plan(doc)


def public_plan(doc: PlanDocument) -> PlanPublic:
    """The plan as the API and the web app show it, built from the stored JSON columns: no
    DataFrame round trip, which held the API interpreter's GIL for ~100 ms per new plan."""
    columns = [str(c) for c in doc.schedule["columns"]]
    slots = [
        {"slot_start": start, **{c: _json_value(v) for c, v in zip(columns, row, strict=True)}}
        for start, row in zip(doc.schedule["index"], doc.schedule["data"], strict=True)
    ]
    return PlanPublic.model_construct(  # our own stored data: already the right types
        id=doc.id,
        created_at=doc.created_at,
        trigger=doc.trigger,
        status=doc.status,
        slots=slots,
        totals=doc.totals.public(),
        violations=[ViolationPublic(**v.as_json()) for v in doc.violations],
        solver=doc.solver.as_json(),
    )


def _json_value(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def plans_between(
    service: CemService, home_id: int, start: datetime, end: datetime
) -> list[StoredPlan]:
    """The plans made in [start, end), oldest first."""
    return service.store.plans_between(home_id, start, end)


def history(service: CemService, home_id: int, hours: int) -> History:
    """Plans made and setpoints sent in the last ``hours``."""
    now = service.clock.now()
    since = now - timedelta(hours=hours)
    plans = service.store.plans_between(home_id, since, now + timedelta(seconds=1))
    return History(
        plans=[
            PlanSummary(
                id=p.id,
                created_at=p.created_at,
                trigger=p.trigger,
                status=p.status,
                planned_cost_gbp=p.totals.net_energy_cost_gbp,
            )
            for p in plans
        ],
        setpoints=[
            SetpointPublic(
                device=s.device_name,
                power_kw=s.power_kw,
                reason=s.reason,
                kind=s.kind,
                follow_site=s.follow_site,
                store_surplus=s.store_surplus,
                status=s.status,
                effective_at=s.effective_at,
                applied_at=s.applied_at,
                attempts=s.attempts,
                last_error=s.last_error,
            )
            for s in service.store.setpoints(home_id, since)
        ],
    )


def savings(service: CemService, home_id: int, days: int) -> list[SavingsDay]:
    """Per local day of the last ``days``: the cost and carbon of the slots each plan ran,
    against the rule-based baseline for the same slots, and the Saving Session rewards earned
    in them (:func:`executed_savings`)."""
    now = service.clock.now()
    since = now - timedelta(days=days)
    plans = service.store.plans_between(home_id, since, now + timedelta(1))
    return executed_savings(plans, now, earned_rewards_by_day(service.store, home_id, since, now))


def executed_savings(
    plans: list[StoredPlan], now: datetime, rewards_gbp: Mapping[date, float] | None = None
) -> list[SavingsDay]:
    """Per local day: what the slots each plan ran (from the plan's start to the next plan)
    cost and emitted, and what the baseline would have for the same slots; a day's Saving
    Session reward (``rewards_gbp``, by day) is a credit on its cost. The plans' slot costs
    hold no reward (the plan's reward term is in its objective only), so it is counted once;
    the baseline is credited none (it does not plan around sessions)."""
    sums: dict[date, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    for i, plan in enumerate(plans):
        until = plans[i + 1].created_at if i + 1 < len(plans) else now
        sched = plan.schedule
        base_cost = plan.totals.baseline_cost_gbp_by_slot
        base_carbon = plan.totals.baseline_carbon_kg_by_slot
        step = sched.index[1] - sched.index[0] if len(sched) > 1 else timedelta(minutes=30)
        for t, start in enumerate(sched.index):
            # The part of this slot that ran under this plan.
            lo = max(start.to_pydatetime(), plan.created_at)
            hi = min((start + step).to_pydatetime(), until)
            if hi <= lo:
                if start.to_pydatetime() >= until:
                    break
                continue
            share = (hi - lo) / step
            acc = sums[start.tz_convert(UK).date()]
            acc[0] += share * float(sched["cost_gbp"].iloc[t])
            acc[1] += share * float(base_cost[t]) if t < len(base_cost) else 0.0
            acc[2] += share * float(sched["carbon_kg"].iloc[t])
            acc[3] += share * float(base_carbon[t]) if t < len(base_carbon) else 0.0
    rewards = dict(rewards_gbp or {})
    for day in rewards:
        sums[day]  # a day with a reward is shown even if no plan ran in it
    return [
        SavingsDay(
            day=day,
            cost_gbp=round(v[0] - rewards.get(day, 0.0), 4),
            baseline_cost_gbp=round(v[1], 4),
            savings_gbp=round(v[1] - v[0] + rewards.get(day, 0.0), 4),
            carbon_kg=round(v[2], 4),
            baseline_carbon_kg=round(v[3], 4),
            saving_session_reward_gbp=round(rewards.get(day, 0.0), 4),
        )
        for day, v in sorted(sums.items())
    ]


async def flexibility_profiles(service: CemService, home_id: int) -> FlexibilityProfiles | None:
    """PAS 1878 power profiles of the current plan (:class:`FlexibilityProfiles`: intended
    operation, least and most delayed; two extra solves, once per plan): what the API serves
    and the VEN reports. None before the first plan."""
    return await service.controller(home_id).flexibility()


async def flexibility(service: CemService, home_id: int) -> dict[str, object] | None:
    """PAS 1878 power profiles of the current plan: intended operation (IO), least delayed
    (LD) and most delayed (MD), per slot: the grid power and each device's power [kW]. None
    before the first plan."""
    profiles = await flexibility_profiles(service, home_id)
    if profiles is None:
        return None
    out: dict[str, object] = {"plan_id": profiles.plan_id}
    for name in ("intended", "least_delayed", "most_delayed"):
        frame = getattr(profiles, name).round(3)
        out[name] = {
            "slot_start": [t.isoformat() for t in frame.index],
            **{c: frame[c].tolist() for c in frame.columns},
        }
    return out


def live_state(service: CemService, home_id: int) -> dict[str, Any]:
    """What a page polls to see a change: the latest plan's id and fingerprints of the events
    (id, modification, answer) and of the overrides in force."""
    evs = service.store.events(home_id)
    overrides = service.store.active_overrides(home_id, service.clock.now())
    return {
        "plan_id": service.store.latest_plan_id(home_id),
        "events": ";".join(f"{e.event_id}:{e.modification_number}:{e.response}" for e in evs),
        "overrides": ",".join(str(o.id) for o in overrides),
    }
