"""The operator's view of the cohort for the DSRSP / fleet manager (admin only; docs/cohort.md):
every home with its VEN's registration and last contact, its latest plan (failed, stale),
its devices offline and its events with what it delivered against what was asked; the
cohort's planned import, peak and herding from the homes' latest plans and from their
rule-based baselines; each event's delivery in total. Reads what the store records and what
the VEN fleet knows; changes nothing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from hems.cohort.delivery import delivery
from hems.cohort.measures import CohortMeasures, aligned, cohort_measures, device_draws_kw
from hems.measured_load import SITE_METER
from hems.planner_backend import HomeFlag
from hems.service import CemService
from hems.storage.plan_records import StoredPlan
from hems.storage.store import StoredEvent
from hems.usecases.homes import device_statuses
from hems.usecases.plans import flexibility_profiles
from hems.ven_contacts import VenContact
from kernel.dsr import OptType
from optimiser import PlanStatus

if TYPE_CHECKING:
    from hems.vens import VenFleet

STALE_SLOTS = 2
"""A latest plan older than this many slots is stale: the home was not re-planned on time."""


@dataclass(frozen=True, slots=True)
class VenView:
    """What the VEN fleet knows of one home's VEN."""

    registered: bool
    ven_id: str | None
    contact: VenContact | None


VenLookup = Callable[[int], VenView | None]


def ven_lookup(fleet: VenFleet | None) -> VenLookup:
    """The VEN of a home as the running fleet knows it (None without VENs: no ``vtn_url``)."""

    def look(home_id: int) -> VenView | None:
        if fleet is None:
            return None
        ven = fleet.vens.get(home_id)
        contact = fleet.contacts.of(home_id)
        if ven is None:
            return VenView(registered=False, ven_id=None, contact=contact)
        reg = ven.registration
        return VenView(
            registered=reg.registration_id is not None, ven_id=reg.ven_id, contact=contact
        )

    return look


class VenLink(BaseModel):
    enrolment: str = Field(description="enrolled, withdrawn or cancelled_by_dsrsp")
    mode: str = Field(description="pull, report_only or push")
    running: bool = Field(description="The service runs a VEN for the home (a vtn_url is set).")
    registered: bool
    ven_id: str | None
    last_contact_utc: datetime | None = Field(description="The VTN's last answer read.")
    last_failure_utc: datetime | None
    last_failure: str


class PlanHealth(BaseModel):
    plan_id: int | None
    created_at: datetime | None
    age_s: float | None
    status: str | None = Field(description="optimal, time_limit or fallback (no solution)")
    failed: bool = Field(description="No plan, or the rule-based fallback.")
    stale: bool = Field(description=f"Older than {STALE_SLOTS} slots, or none.")
    late: bool = Field(
        description="The slot's batch flagged its last re-plan late (after this plan was made): "
        "the home runs on this older plan."
    )
    flagged_failed: bool = Field(
        description="The slot's batch flagged its last pass failed (after this plan was made)."
    )
    late_count: int = Field(description="Re-plans flagged late since this process started.")
    failed_count: int = Field(description="Passes flagged failed since this process started.")
    last_flag_reason: str


class EventDeliveryPublic(BaseModel):
    event_id: str
    kind: str
    asked_kw: float
    start: datetime
    end: datetime
    status: str
    response: str
    readings: int
    measured_kw: float | None = Field(description="Mean site power over the event so far.")
    delivered: bool | None
    shortfall_kw: float | None


class CohortHome(BaseModel):
    id: int
    name: str
    cem_serial: str
    ven: VenLink
    plan: PlanHealth
    devices: int
    devices_offline: list[str]
    events: list[EventDeliveryPublic]


class MeasuresPublic(BaseModel):
    homes: int
    slot_start: list[datetime]
    import_kw: list[float]
    flexible_kw: list[float]
    peak_import_kw: float
    peak_slot_start: datetime | None
    herding_index: float | None
    busiest_slot_share: float | None
    coincidence_factor: float | None


class CohortEvent(BaseModel):
    event_id: str
    kind: str
    start: datetime
    end: datetime
    homes: int
    opted_in: int
    opted_out: int
    asked_kw: float = Field(description="Summed over the homes that opted in.")
    measured_kw: float | None = Field(description="Summed over the homes measured.")
    homes_measured: int
    homes_delivered: int


class CohortView(BaseModel):
    at: datetime
    homes: int
    plans_failed: int
    plans_stale: int
    plans_late: int
    vens_registered: int
    homes_with_devices_offline: int
    planned: MeasuresPublic | None = Field(description="From the homes' latest plans.")
    baseline: MeasuresPublic | None = Field(
        description="From the rule-based baselines stored with those plans (None when a plan "
        "predates them)."
    )
    events: list[CohortEvent]


def cohort_homes(service: CemService, vens: VenLookup) -> list[CohortHome]:
    """Every home as the operator sees it (see the module)."""
    return [home for home, _plan in _homes_and_plans(service, vens)]


def _homes_and_plans(
    service: CemService, vens: VenLookup
) -> list[tuple[CohortHome, StoredPlan | None]]:
    """Every home with its latest plan (read once for both)."""
    now = service.clock.now()
    out = []
    for home_id in service.store.home_ids():
        plan = service.store.latest_plan(home_id)
        out.append((_home(service, vens, home_id, plan, now), plan))
    return out


def _home(
    service: CemService, vens: VenLookup, home_id: int, plan: StoredPlan | None, now: datetime
) -> CohortHome:
    store = service.store
    spec = store.home(home_id)
    offline, devices = _devices_offline(service, home_id, [d.name for d in spec.devices])
    return CohortHome(
        id=home_id,
        name=spec.name,
        cem_serial=spec.cem_serial,
        ven=_ven_link(service, vens, home_id),
        plan=_plan_health(service, plan, now, service.plan_flags.homes().get(home_id)),
        devices=devices,
        devices_offline=offline,
        events=[_event_delivery(service, home_id, e, now) for e in store.events(home_id)],
    )


def _devices_offline(service: CemService, home_id: int, names: list[str]) -> tuple[list[str], int]:
    """The home's devices that do not answer, and how many it has: as its controller knows them
    when this process runs the home, else from each device's last stored reading (a device
    never read counts as offline)."""
    if home_id in service.controllers:
        statuses = device_statuses(service, home_id)
        return [d.name for d in statuses if not d.online], len(statuses)
    last = service.store.last_online(home_id)
    return [n for n in names if not last.get(n, (None, False))[1]], len(names)


def _ven_link(service: CemService, vens: VenLookup, home_id: int) -> VenLink:
    ven = vens(home_id)
    contact = ven.contact if ven is not None else None
    return VenLink(
        enrolment=service.store.enrolment(home_id).status.value,
        mode=service.store.ven_mode(home_id).value,
        running=ven is not None,
        registered=ven.registered if ven is not None else False,
        ven_id=ven.ven_id if ven is not None else None,
        last_contact_utc=contact.last_contact_utc if contact else None,
        last_failure_utc=contact.last_failure_utc if contact else None,
        last_failure=contact.last_failure if contact else "",
    )


def _plan_health(
    service: CemService, plan: StoredPlan | None, now: datetime, flag: HomeFlag | None
) -> PlanHealth:
    """The latest plan and the planner's flags (:class:`hems.planner_backend.PlanFlags`, kept
    by the process that runs the home's batches): a flag after the plan is in force."""
    made = plan.created_at if plan is not None else None
    last = flag.last_at_utc if flag is not None else None
    current = flag is not None and (made is None or last is None or last >= made)
    kind = flag.last_kind if flag is not None and current else None
    age = None if made is None else now - made
    slots = timedelta(minutes=STALE_SLOTS * service.settings.slot_minutes)
    return PlanHealth(
        plan_id=None if plan is None else plan.id,
        created_at=made,
        age_s=None if age is None else round(age.total_seconds(), 1),
        status=None if plan is None else plan.status,
        failed=plan is None or plan.status == PlanStatus.FALLBACK.value or kind == "failed",
        stale=age is None or age > slots,
        late=kind == "late",
        flagged_failed=kind == "failed",
        late_count=flag.late if flag is not None else 0,
        failed_count=flag.failed if flag is not None else 0,
        last_flag_reason=flag.last_reason if flag is not None else "",
    )


def _event_delivery(
    service: CemService, home_id: int, event: StoredEvent, now: datetime
) -> EventDeliveryPublic:
    readings = service.store.telemetry_powers(home_id, SITE_METER, event.start)
    d = delivery(event.kind, event.value_kw, event.start, event.end, readings, now)
    return EventDeliveryPublic(
        event_id=event.event_id,
        kind=event.kind,
        asked_kw=event.value_kw,
        start=event.start,
        end=event.end,
        status=event.status,
        response=event.response,
        readings=d.readings,
        measured_kw=None if d.measured_kw is None else round(d.measured_kw, 3),
        delivered=d.delivered,
        shortfall_kw=None if d.shortfall_kw is None else round(d.shortfall_kw, 3),
    )


def cohort_view(service: CemService, vens: VenLookup) -> CohortView:
    """The cohort in one answer: counts, planned and baseline measures, events in total."""
    both = _homes_and_plans(service, vens)
    homes = [home for home, _plan in both]
    plans = [plan for _home, plan in both if plan is not None]
    slot = pd.Timestamp(service.clock.now()).floor(f"{service.settings.slot_minutes}min")
    return CohortView(
        at=service.clock.now(),
        homes=len(homes),
        plans_failed=sum(h.plan.failed for h in homes),
        plans_late=sum(h.plan.late for h in homes),
        plans_stale=sum(h.plan.stale for h in homes),
        vens_registered=sum(h.ven.registered for h in homes),
        homes_with_devices_offline=sum(bool(h.devices_offline) for h in homes),
        planned=planned_measures(plans, slot),
        baseline=baseline_measures(plans, slot),
        events=cohort_events(homes),
    )


def planned_measures(plans: Sequence[StoredPlan], from_slot: pd.Timestamp) -> MeasuresPublic | None:
    """The cohort measures of the plans' import and device draws on their common slots from
    ``from_slot`` on (None without plans)."""
    if not plans:
        return None
    imports = [p.schedule["grid_import_kw"] for p in plans]
    draws = [pd.Series(device_draws_kw(p.schedule), index=p.schedule.index) for p in plans]
    return _public(imports, draws, from_slot)


def baseline_measures(
    plans: Sequence[StoredPlan], from_slot: pd.Timestamp
) -> MeasuresPublic | None:
    """The same for the rule-based baselines stored with the plans (None when any plan has
    none: stored before they were kept)."""
    if not plans or any(not p.totals.baseline_import_kw_by_slot for p in plans):
        return None
    imports, draws = [], []
    for p in plans:
        index = p.schedule.index
        imports.append(pd.Series(p.totals.baseline_import_kw_by_slot, index=index))
        draws.append(pd.Series(p.totals.baseline_flexible_kw_by_slot, index=index))
    return _public(imports, draws, from_slot)


def _public(
    imports: list[pd.Series], draws: list[pd.Series], from_slot: pd.Timestamp
) -> MeasuresPublic:
    imports = [s[s.index >= from_slot] for s in imports]
    draws = [s[s.index >= from_slot] for s in draws]
    index = imports[0].index
    for s in imports[1:]:
        index = index.intersection(s.index)
    m: CohortMeasures = cohort_measures(aligned(imports), aligned(draws))
    return MeasuresPublic(
        homes=m.homes,
        slot_start=[t.to_pydatetime() for t in index],
        import_kw=[round(float(x), 3) for x in m.import_kw],
        flexible_kw=[round(float(x), 3) for x in m.flexible_kw],
        peak_import_kw=round(m.peak_import_kw, 3),
        peak_slot_start=None if m.peak_slot is None else index[m.peak_slot].to_pydatetime(),
        herding_index=None if m.herding_index is None else round(m.herding_index, 4),
        busiest_slot_share=None if m.busiest_slot_share is None else round(m.busiest_slot_share, 4),
        coincidence_factor=None if m.coincidence_factor is None else round(m.coincidence_factor, 4),
    )


def cohort_events(homes: Sequence[CohortHome]) -> list[CohortEvent]:
    """Each event (by id) over the homes it reached: answers, asked and measured in total."""
    by_id: dict[str, list[EventDeliveryPublic]] = {}
    for h in homes:
        for e in h.events:
            by_id.setdefault(e.event_id, []).append(e)
    out = []
    for event_id, rows in sorted(by_id.items(), key=lambda kv: kv[1][0].start):
        opted_in = [r for r in rows if r.response == OptType.OPT_IN]
        measured = [r.measured_kw for r in opted_in if r.measured_kw is not None]
        out.append(
            CohortEvent(
                event_id=event_id,
                kind=rows[0].kind,
                start=rows[0].start,
                end=rows[0].end,
                homes=len(rows),
                opted_in=len(opted_in),
                opted_out=sum(r.response == OptType.OPT_OUT for r in rows),
                asked_kw=round(sum(r.asked_kw for r in opted_in), 3),
                measured_kw=round(sum(measured), 3) if measured else None,
                homes_measured=len(measured),
                homes_delivered=sum(r.delivered is True for r in opted_in),
            )
        )
    return out


class ProfileSums(BaseModel):
    slot_start: list[datetime]
    intended_kw: list[float] = Field(description="IO: the plans, summed grid power.")
    least_delayed_kw: list[float] = Field(description="LD: every flexible load earliest.")
    most_delayed_kw: list[float] = Field(description="MD: every flexible load latest.")


class CohortFlexibility(BaseModel):
    homes: int = Field(description="Homes with profiles (planned at least once).")
    homes_without: list[int]
    profiles: ProfileSums | None


async def cohort_flexibility(service: CemService) -> CohortFlexibility:
    """The sum of the homes' PAS 1878 profiles (IO, LD, MD grid power) on their common slots
    (:func:`hems.usecases.plans.flexibility_profiles`: two extra solves a home, once per
    plan)."""
    frames: dict[str, list[pd.Series]] = {"intended": [], "least_delayed": [], "most_delayed": []}
    without = []
    for home_id in service.store.home_ids():
        profiles = await flexibility_profiles(service, home_id)
        if profiles is None:
            without.append(home_id)
            continue
        for name, series in frames.items():
            series.append(getattr(profiles, name)["grid_kw"])
    if not frames["intended"]:
        return CohortFlexibility(homes=0, homes_without=without, profiles=None)
    every = [s for series in frames.values() for s in series]
    index = every[0].index
    for s in every[1:]:
        index = index.intersection(s.index)
    sums = {
        name: [round(float(x), 3) for x in np.sum([s.reindex(index) for s in series], axis=0)]
        for name, series in frames.items()
    }
    return CohortFlexibility(
        homes=len(frames["intended"]),
        homes_without=without,
        profiles=ProfileSums(
            slot_start=[t.to_pydatetime() for t in index],
            intended_kw=sums["intended"],
            least_delayed_kw=sums["least_delayed"],
            most_delayed_kw=sums["most_delayed"],
        ),
    )
