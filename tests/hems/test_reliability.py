"""What happens when things go wrong: a device that stops answering, a solver that runs out of
time, and a process killed with SIGKILL in the middle of its work."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest

from hems.clock import ManualClock
from hems.runtime import build_runtime
from hems.settings import Settings
from optimiser import planner
from optimiser.highs_backend import SolveOutcome, SolveStatus

from .conftest import MONDAY_5PM


def test_a_device_that_stops_answering_is_retried_with_backoff_and_reported(client, demo):
    service = demo.runtime.service
    sim = demo.runtime.simulations[demo.home_id]
    battery = sim.devices["Battery"]
    battery.online = False
    asyncio.run(service.cycle_all())  # the plan goes on without it
    assert service.store.latest_plan(demo.home_id) is not None
    pending = [
        s for s in service.store.setpoints(demo.home_id, MONDAY_5PM) if s.device_name == "Battery"
    ]
    assert pending, "the plan still decides the battery's setpoint"
    assert pending[-1].applied_at is None
    assert pending[-1].attempts == 1
    assert pending[-1].effective_at == demo.clock.now() + timedelta(seconds=10)  # backoff
    for _ in range(3):  # retried until the retry limit: then reported offline
        demo.clock.advance(timedelta(minutes=2))
        asyncio.run(service.apply_due_all())
    status = client.get(f"/homes/{demo.home_id}/devices", headers=demo.auth()).json()
    row = next(d for d in status if d["name"] == "Battery")
    assert row["online"] is False
    assert "does not answer" in row["last_error"]
    # it comes back: the waiting setpoint is applied and the device is online again
    battery.online = True
    demo.clock.advance(timedelta(minutes=10))
    asyncio.run(service.read_all())
    for _ in range(10):  # a rise is walked up at the apply job (ramp limit)
        asyncio.run(service.apply_due_all())
        demo.clock.advance(timedelta(seconds=15))
    decided = service.store.last_decided_setpoint(demo.home_id, "Battery")
    last = service.store.last_applied_setpoint(demo.home_id, "Battery")
    assert last.id == decided.id
    assert battery.setpoint_kw == last.power_kw
    assert service.controller(demo.home_id).health["Battery"].online


def _out_of_time(*_args, **_kwargs) -> SolveOutcome:
    """HiGHS stopped at its time limit without a feasible solution."""
    nan = float("nan")
    return SolveOutcome(
        status=SolveStatus.NO_SOLUTION,
        highs_status="Time limit reached",
        objective=nan,
        bound=nan,
        gap=nan,
        translate_s=0.0,
        solve_s=10.0,
        n_columns=0,
        n_rows=0,
        n_integer=0,
    )


def _crashed(*_args, **_kwargs) -> SolveOutcome:
    raise RuntimeError("HiGHS crashed")


@pytest.mark.parametrize("solver", [_out_of_time, _crashed])
def test_a_solver_out_of_time_or_failing_gives_the_flagged_fallback_plan(
    tmp_path, monkeypatch, solver
):
    monkeypatch.setattr(planner, "solve_round", solver)  # plans run in-thread here
    clock = ManualClock(MONDAY_5PM + timedelta(hours=1, minutes=5))  # the car is home
    settings = Settings(state_dir=tmp_path, demo=True, planner_processes=0)
    runtime = build_runtime(settings, clock, seed=1)
    home_id = next(iter(runtime.simulations))
    asyncio.run(runtime.service.cycle_all())
    plan = runtime.store.latest_plan(home_id)
    assert plan.status == "fallback"
    assert "rule-based" in plan.solver.message
    # the safe plan charges the car at once (after the randomised delay)
    ev = runtime.store.last_setpoint(home_id, "EV")
    assert ev.power_kw == 7.4


KILLED_SERVICE = textwrap.dedent(
    """
    import asyncio, sys
    from datetime import datetime, timedelta
    from hems.clock import ManualClock
    from hems.runtime import build_runtime
    from hems.settings import Settings

    async def main():
        # the default settings: plans run in a spawned worker process
        clock = ManualClock(datetime.fromisoformat(sys.argv[2]))
        runtime = build_runtime(Settings(state_dir=sys.argv[1], demo=True), clock, seed=3)
        sim = next(iter(runtime.simulations.values()))
        n = 0
        while True:
            await runtime.service.cycle_all()
            sim.advance(clock.advance(timedelta(minutes=15)))
            n += 1
            if n == 1:
                print("workers", *runtime.service.planner.pids(), flush=True)
            print(f"cycle {n}", flush=True)

    if __name__ == "__main__":
        asyncio.run(main())
    """
)


def test_sigkill_loses_no_committed_data_and_the_loop_resumes_without_duplicates(tmp_path):
    script = tmp_path / "service.py"
    script.write_text(KILLED_SERVICE)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path), MONDAY_5PM.isoformat()],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    assert proc.stdout is not None
    workers: list[int] = []
    try:
        for line in proc.stdout:  # let it run a few cycles, then kill it mid-work
            if line.startswith("workers"):
                workers = [int(pid) for pid in line.split()[1:]]
            if line.startswith("cycle ") and int(line.split()[1]) >= 6:
                break
        time.sleep(0.15)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()

    # the planner's worker process does not outlive the killed service
    assert workers
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in workers)

    db = tmp_path / "hems.sqlite3"
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        plans_before = conn.execute("SELECT COUNT(*) FROM plans").fetchone()[0]
        last_plan_at = conn.execute("SELECT MAX(created_at) FROM plans").fetchone()[0]
    assert plans_before >= 3  # one plan per 30-minute slot

    # Restart on the same database, a little after the last plan.
    from datetime import UTC, datetime

    restart_at = datetime.fromisoformat(last_plan_at).replace(tzinfo=UTC) + timedelta(minutes=16)
    settings = Settings(state_dir=tmp_path, demo=True, planner_processes=0)
    runtime = build_runtime(settings, ManualClock(restart_at), seed=3)
    assert runtime.new_tokens == {}  # the tokens of the first start survive; none shown again
    home_id = runtime.store.home_ids()[0]
    asyncio.run(runtime.service.cycle_all())
    plans = runtime.store.plans_between(home_id, MONDAY_5PM, restart_at + timedelta(hours=1))
    assert len(plans) == plans_before + 1
    # no device was told the same thing twice in a row, across the kill and the restart
    for device in ("EV", "Battery", "Heat pump", "PV"):
        sent = sorted(
            (
                s
                for s in runtime.store.setpoints(home_id, MONDAY_5PM)
                if s.device_name == device and s.applied_at is not None
            ),
            key=lambda s: (s.applied_at, s.id),
        )
        # the same power in another mode (following the site, storing a surplus) is news
        told = [(s.power_kw, (s.follow_site, s.store_surplus)) for s in sent]
        assert all(abs(a[0] - b[0]) >= 0.05 or a[1] != b[1] for a, b in itertools.pairwise(told)), (
            device,
            told,
        )


def _alive(pid: int) -> bool:
    """The process runs (a zombie waiting for its reaper counts as ended)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status
