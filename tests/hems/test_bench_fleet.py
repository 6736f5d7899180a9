"""The fleet benchmark (benchmarks/bench_fleet.py) runs a small cohort through the service and
reports every figure issue 29 asks for; its fast clock counts a late batch as a missed slot."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest

from benchmarks.bench_fleet import SLOT_S, Job, main, run_clock
from hems.clock import ManualClock

START = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def test_three_homes_for_an_hour_report_every_figure(tmp_path, capsys):
    out = main(
        ["--homes", "3", "--hours", "1", "--planner-processes", "0", "--results", str(tmp_path)]
    )
    assert json.loads((tmp_path / "fleet.json").read_text()) == out
    assert (out["homes"], out["slots"]) == (3, 2)
    assert out["plans_by_the_cycle"] == out["plans"] == 6  # every home, every slot
    assert out["homes_not_replanned_in_a_slot"] == 0
    assert (out["plans_late"], out["plans_failed"], out["late_by_slot"]) == (0, 0, [0, 0])
    by_slot = out["outcomes_by_slot"]  # each slot's plans by how they ended
    assert [sum(c.values()) for c in by_slot] == [3, 3]
    assert all(set(c) == {"optimal", "time_limit", "fallback"} for c in by_slot)
    assert out["plans_by_outcome"] == {k: by_slot[0][k] + by_slot[1][k] for k in by_slot[0]}
    assert out["plans_per_s_per_core"] > 0
    assert 0 < out["plan_latency_p50_s"] <= out["plan_latency_p95_s"]
    assert 0 < out["optimise_p50_s"] <= out["optimise_p95_s"]
    assert 0 < out["batch_median_s"] <= out["batch_max_s"] == max(out["batch_s"])
    assert out["slots_missed"] is None  # not paced
    assert out["batch_max_s"] <= out["slot_work_max_s"] <= out["wall_s"]  # every job's work
    assert out["fastest_speed_kept_up"] == SLOT_S / out["slot_work_max_s"]
    assert out["rss_per_home_kib"] == out["rss_per_home_kib"]  # a number, not NaN
    assert out["database"] == "sqlite"
    assert out["database_bytes_per_home_per_day"] > 0  # plans, setpoints, telemetry
    assert {"plans", "telemetry"} <= set(out["table_bytes_per_home_per_day"])
    assert set(out["job_wall_s"]) == {"cycle", "apply", "telemetry"}
    # the plans, the readings, the decisions and their sends at least: each slot's commits
    assert out["store_commits_per_home_per_slot"] >= 2
    assert out["store_commits_per_home_per_slot"] == out["store_commits"] / 3 / 2
    for key in ("when_utc", "python", "cpus", "seed", "load_average_1min_at_start"):
        assert key in out
    printed = capsys.readouterr().out
    assert "slot 1: 3 plans in" in printed  # as the run goes
    first = by_slot[0]
    assert (
        f"{first['optimal']} optimal, {first['time_limit']} at the time limit, "
        f"{first['fallback']} fallback)" in printed
    )
    assert "slot 2: 3 plans in" in printed
    assert "3 homes x 1 h (2 slots, 6 plans)" in printed
    assert "a home a slot)" in printed


def _clock_run(batch_s: float, speed: float) -> list[int]:
    """Two slots on the fast clock, each batch taking ``batch_s`` of wall time."""
    clock = ManualClock(START)
    seen = []

    async def batch() -> None:
        seen.append(clock.now())
        await asyncio.sleep(batch_s)

    async def physics() -> None:
        return None

    jobs = [Job("cycle", SLOT_S, 0.0, batch)]
    missed = asyncio.run(run_clock(physics, clock, jobs, hours=1, speed=speed))
    assert [(t - START).total_seconds() for t in seen] == [0, SLOT_S]
    return missed


def test_a_batch_longer_than_its_slot_on_the_fast_clock_is_a_missed_slot():
    assert _clock_run(batch_s=0.3, speed=SLOT_S / 0.1) == [0, 1]  # 0.1 s slots


def test_a_batch_within_its_slot_misses_none():
    assert _clock_run(batch_s=0.0, speed=SLOT_S / 1.0) == []  # 1 s slots


def test_bad_arguments_are_refused_with_a_message(capsys):
    for argv in (["--homes", "0"], ["--hours", "-1"], ["--planner-processes", "-1"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
    assert "--homes >= 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--scheduler", "http://nowhere"])
    assert "planner_scheduler" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--postgres", "--database-url", "sqlite:///x.sqlite3"])
    assert "--postgres or --database-url" in capsys.readouterr().err
