"""A planner process's start-up: warm, frozen, and planning as before."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap


def test_prepare_planner_process_freezes_the_start_up_heap_and_plans_still_work() -> None:
    # In a fresh interpreter: the freeze is process-wide and must not leak into this test run.
    code = textwrap.dedent(
        """
        import gc
        from datetime import UTC, datetime
        from optimiser import Battery, Problem, TimeGrid, optimise, prepare_planner_process
        assert gc.get_freeze_count() == 0
        prepare_planner_process()
        assert gc.get_freeze_count() > 10_000, gc.get_freeze_count()
        grid = TimeGrid(start_utc=datetime(2026, 1, 15, tzinfo=UTC), step_minutes=60, n_steps=3)
        plan = optimise(Problem(grid=grid, import_price_gbp_per_kwh=(0.1, 0.5, 0.1),
            batteries=(Battery(capacity_kwh=2.0, initial_soc=0.0, max_charge_kw=2.0,
                               max_discharge_kw=2.0),)))
        assert plan.solver.status.value == "optimal", plan.solver
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("ok")
    assert gc.get_freeze_count() == 0  # this process untouched


def test_collection_deferred_pauses_the_collector_and_restores_its_state() -> None:
    from optimiser import collection_deferred

    assert gc.isenabled()
    try:
        with collection_deferred():
            assert not gc.isenabled()
            raise RuntimeError("a failing plan")
    except RuntimeError:
        pass
    assert gc.isenabled()  # resumed, even after an error
    gc.disable()  # an owner that runs without the collector keeps it off
    try:
        with collection_deferred():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
