"""Intelligent Octopus Go's granted smart-charge slots, fetched for the homes on that tariff
whose consumer linked their Octopus account (docs/service.md, "Tariffs"): every 15 minutes
(:class:`IogDispatchesJob`) the account's planned and completed dispatches are read
(:mod:`adapters.tariffs.octopus_dispatches`) and the half-hours they grant become the home's
``smart_charge_slots_utc`` (:class:`hems.domain.tariffs.IntelligentOctopusGo`), which the
planner prices at the off-peak rate; a change re-plans the home.

How a dispatch becomes slots (:func:`granted_slots`), after Octopus's published rules for the
tariff: outside 23:30-05:30 the whole home pays the off-peak rate for each half-hour in which
the car is scheduled to charge, so a dispatch grants every half-hour it touches (10:10-10:40
grants 10:00 and 10:30); a bump charge (the consumer's boost) grants nothing; the car's
allowance is 6 hours of off-peak charging a day, measured midday to midday (UK time), so at
most :data:`ALLOWANCE_HALF_HOURS` half-hours per such day count, completed ones first, each
touched half-hour counted whole (so the count errs on the side of fewer slots). Only the
current and later half-hours outside the 23:30-05:30 window are kept (that window is
off-peak anyway).

A home without a link keeps the slots it was given. A failed fetch (the key refused, Octopus
down, a malformed answer, Octopus unable to give the car's plan) keeps the last known slots
and says so in the log, without the key.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from adapters.errors import AdapterError
from adapters.tariffs.octopus_dispatches import (
    PLAN_UNAVAILABLE,
    AccountDispatches,
    fetch_dispatches,
)
from hems.domain.tariffs import IntelligentOctopusGo
from hems.octopus_jobs import LinkedAccountJob, OctopusLink
from hems.storage.database import NotFoundError

log = logging.getLogger(__name__)
ACTOR = "octopus dispatches"
INTERVAL = timedelta(minutes=15)
HALF_HOUR = timedelta(minutes=30)
ALLOWANCE_HALF_HOURS = 12
"""Six hours of off-peak car charging per day (midday to midday, UK time)."""
UK = ZoneInfo("Europe/London")
OFF_PEAK_START, OFF_PEAK_END = time(23, 30), time(5, 30)
MAX_SLOTS = 96
"""What :class:`~hems.domain.tariffs.IntelligentOctopusGo` holds (two days of half-hours)."""


def _half_hours(start: datetime, end: datetime) -> Iterable[datetime]:
    """The UTC half-hour starts that ``[start, end)`` touches."""
    at = start.astimezone(UTC)
    at = at.replace(minute=at.minute - at.minute % 30, second=0, microsecond=0)
    while at < end:
        yield at
        at += HALF_HOUR


def _in_window(slot: datetime) -> bool:
    local = slot.astimezone(UK).time()
    return local >= OFF_PEAK_START or local < OFF_PEAK_END


def _allowance_day(slot: datetime) -> object:
    return (slot.astimezone(UK) - timedelta(hours=12)).date()


def granted_slots(got: AccountDispatches, now: datetime) -> tuple[datetime, ...]:
    """The half-hours (UTC starts) off-peak because of the dispatches (module docstring),
    from the one holding ``now`` on, at most :data:`MAX_SLOTS`."""
    touched: set[datetime] = set()  # overlapping dispatches grant a half-hour once
    for dispatch in (*got.completed, *got.planned):
        if dispatch.smart_charge:
            touched.update(_half_hours(dispatch.start, dispatch.end))
    used: Counter[object] = Counter()
    granted = []
    for slot in sorted(touched):
        day = _allowance_day(slot)
        used[day] += 1
        if used[day] <= ALLOWANCE_HALF_HOURS and slot + HALF_HOUR > now and not _in_window(slot):
            granted.append(slot)
    return tuple(granted[:MAX_SLOTS])


@dataclass
class DispatchFetch:
    """What one fetch did for a home: the slots it granted, whether they changed, what
    Octopus sent that was left out (where: why), or the error that kept the last slots."""

    home_id: int
    slots: tuple[datetime, ...] = ()
    changed: bool = False
    rejected: dict[str, str] = field(default_factory=dict)
    error: str | None = None


class IogDispatchesJob(LinkedAccountJob[DispatchFetch]):
    """The ``octopus_dispatches`` job (:class:`hems.octopus_jobs.LinkedAccountJob`)."""

    def replan_reason(self, report: DispatchFetch) -> str | None:
        return "Octopus smart-charge slots" if report.changed else None

    def fetch_home(self, home_id: int, link: OctopusLink) -> DispatchFetch | None:
        """Fetch one home's dispatches and store the slots they grant when they changed;
        None when the home is not on Intelligent Octopus Go."""
        store = self.service.store
        try:
            tariff = store.home(home_id).tariff
        except NotFoundError:  # erased since the links were read
            return None
        if not isinstance(tariff, IntelligentOctopusGo):
            return None
        now = self.service.clock.now()
        report = DispatchFetch(home_id)
        kept = tuple(s for s in tariff.smart_charge_slots_utc if s + HALF_HOUR > now)
        try:
            got = fetch_dispatches(self.client(home_id, link), link.account_number)
        except AdapterError as exc:
            report.error = f"{type(exc).__name__}: {exc}"
        else:
            if got.plans_unavailable:  # Octopus's own fault, usually brief: as a failed fetch
                report.error = (
                    f"Octopus could not give the car's planned dispatches ({PLAN_UNAVAILABLE})"
                )
        if report.error is not None:
            report.slots = kept
            log.warning(
                "home %s: Octopus dispatches not fetched (%s); kept the last known %d "
                "smart-charge slots",
                home_id,
                report.error,
                len(kept),
            )
            return report
        report.rejected = {r.where: f"Octopus sent nonsense: {r.reason}" for r in got.rejected}
        if report.rejected:
            log.info("home %s: Octopus dispatches left out: %s", home_id, report.rejected)
        report.slots = granted_slots(got, now)
        if report.slots != kept:
            updated = tariff.model_copy(update={"smart_charge_slots_utc": report.slots})
            try:
                store.set_home_tariff(home_id, updated.model_dump(mode="json"), now, ACTOR)
            except NotFoundError:  # erased during the fetch
                return None
            report.changed = True
            log.info(
                "home %s: Intelligent Octopus Go smart-charge slots now %d (were %d)",
                home_id,
                len(report.slots),
                len(kept),
            )
        return report
