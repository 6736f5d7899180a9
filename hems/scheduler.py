"""The service's timetable (APScheduler 3, in the service's asyncio loop).

* ``cycle`` at every slot boundary (and once at start-up): read devices, re-plan, dispatch;
* ``apply`` every ``apply_interval_s`` (15 s): setpoints whose randomised delay has passed,
  the next step of each ramp, and retries;
* ``telemetry`` every 60 s: read devices; re-plan a home whose EV was plugged in or out or
  whose device drifted off its setpoint;
* ``market`` every 30 min (and at start-up) with ``live_market``: prices, carbon and weather
  into the cache (Agile's day-ahead prices appear around 16:00 UK time, so the next day is in
  the plan within half an hour of their release);
* ``prune`` daily at 03:17 UTC: telemetry past its retention period;
* ``octopus_accounts`` daily at 06:41 UTC: each linked Octopus account's tariff and yesterday's
  consumption (:mod:`hems.account_refresh`; Octopus has a day's smart-meter data by morning);
* ``octopus_sessions`` every 30 min, the first :data:`OCTOPUS_START_DELAY` after start-up: the
  Saving Sessions of the linked accounts (:mod:`hems.octopus_sessions`);
* ``octopus_dispatches`` every 15 min, the first :data:`OCTOPUS_START_DELAY` after start-up:
  the smart-charge slots Octopus grants the linked homes on Intelligent Octopus Go
  (:mod:`hems.iog_dispatches`);
* ``simulate`` every 5 s in demo mode: the simulated home's physics;
* ``planner`` every 5 s: a planner worker process that died is replaced, and the homes whose
  plans it lost are re-planned (:meth:`hems.service.CemService.heal_planner`).

Every job coalesces missed runs into one (a late job runs once), never overlaps itself
(``max_instances=1``), and the controller's per-home lock keeps two plans of one home apart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from hems.account_refresh import dispatches_job, refresh_all, saving_sessions_job
from hems.iog_dispatches import INTERVAL as DISPATCHES_INTERVAL
from hems.service import CemService

OCTOPUS_START_DELAY = timedelta(minutes=1)
"""The Octopus jobs' first run after start-up: soon, so a session announced or a slot granted
while the service was down is planned for at once rather than up to a period later (a restart
an hour before a session would have planned it 30 min late), and after the start-up cycle
and market fetch, so they do not compete with the first plans, which a session's ``plan``
baseline needs."""


def build_scheduler(
    service: CemService, simulate: Callable[[], Awaitable[None]] | None = None
) -> AsyncIOScheduler:
    minutes = service.settings.slot_minutes
    scheduler = AsyncIOScheduler(
        timezone=UTC,
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": minutes * 30,  # half a slot [s]
        },
    )
    scheduler.add_job(
        service.cycle_all,
        CronTrigger(minute=f"*/{minutes}" if minutes < 60 else "0", timezone=UTC),
        id="cycle",
        next_run_time=datetime.now(UTC),
    )
    scheduler.add_job(
        service.apply_due_all,
        IntervalTrigger(seconds=service.settings.apply_interval_s),
        id="apply",
    )
    scheduler.add_job(service.read_all, IntervalTrigger(seconds=60), id="telemetry")
    scheduler.add_job(
        service.refresh_market,
        IntervalTrigger(minutes=30),
        id="market",
        next_run_time=datetime.now(UTC),
    )
    scheduler.add_job(service.prune, CronTrigger(hour=3, minute=17, timezone=UTC), id="prune")
    scheduler.add_job(
        refresh_all,
        CronTrigger(hour=6, minute=41, timezone=UTC),
        args=[service],
        id="octopus_accounts",
    )
    scheduler.add_job(
        saving_sessions_job(service).run,
        IntervalTrigger(minutes=30),
        id="octopus_sessions",
        next_run_time=datetime.now(UTC) + OCTOPUS_START_DELAY,
    )
    scheduler.add_job(
        dispatches_job(service).run,
        IntervalTrigger(seconds=DISPATCHES_INTERVAL.total_seconds()),
        id="octopus_dispatches",
        next_run_time=datetime.now(UTC) + OCTOPUS_START_DELAY,
    )
    scheduler.add_job(service.heal_planner, IntervalTrigger(seconds=5), id="planner")
    if simulate is not None:
        scheduler.add_job(simulate, IntervalTrigger(seconds=5), id="simulate")
    return scheduler
