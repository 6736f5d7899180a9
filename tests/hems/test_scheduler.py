"""The timetable: a cycle at every slot boundary, and no job that overlaps itself or runs a
backlog of missed runs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from hems.scheduler import OCTOPUS_START_DELAY, build_scheduler


def _started_jobs(demo) -> dict:
    async def started_jobs() -> dict:
        scheduler = build_scheduler(demo.runtime.service, demo.runtime.simulate)
        scheduler.start(paused=True)  # job defaults apply once the scheduler starts
        try:
            return {job.id: job for job in scheduler.get_jobs()}
        finally:
            scheduler.shutdown(wait=False)

    return asyncio.run(started_jobs())


def test_the_cycle_runs_at_slot_boundaries_and_late_jobs_run_once(demo):
    jobs = _started_jobs(demo)
    assert set(jobs) == {
        "cycle",
        "apply",
        "telemetry",
        "market",
        "prune",
        "simulate",
        "planner",
        "octopus_accounts",
        "octopus_sessions",
        "octopus_dispatches",
    }
    assert jobs["octopus_dispatches"].trigger.interval == timedelta(minutes=15)
    at = datetime(2026, 11, 30, 17, 7, tzinfo=UTC)
    assert jobs["cycle"].trigger.get_next_fire_time(None, at) == datetime(
        2026, 11, 30, 17, 30, tzinfo=UTC
    )
    for job in jobs.values():
        assert job.coalesce is True  # a late job runs once, not once per missed run
        assert job.max_instances == 1  # never two of the same job at once
        assert job.misfire_grace_time == 15 * 60  # half a slot


def test_the_octopus_jobs_first_run_soon_after_start_up(demo):
    """Not a whole period later: a restart would leave a new Saving Session or granted
    smart-charge slots unplanned for up to 30 (15) minutes."""
    started = datetime.now(UTC)
    jobs = _started_jobs(demo)
    for name in ("octopus_sessions", "octopus_dispatches"):
        first = jobs[name].next_run_time
        assert started + OCTOPUS_START_DELAY <= first <= datetime.now(UTC) + OCTOPUS_START_DELAY
        assert first - started < timedelta(minutes=2)
    # after the start-up cycle and market fetch
    assert jobs["cycle"].next_run_time < jobs["octopus_sessions"].next_run_time
    assert jobs["market"].next_run_time < jobs["octopus_sessions"].next_run_time
