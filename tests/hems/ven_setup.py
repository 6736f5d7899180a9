"""Set-up shared by the tests that run the service's VENs against openleadr's VTN on 127.0.0.1
(test_ven_bridge, test_ven_enrolment, test_ven_modes): their markers, the wait for the VTN and
the demo home's runtime pointed at a VTN port (built again on the same database for a restart)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hems.clock import ManualClock
from hems.runtime import Runtime, build_runtime
from hems.settings import Settings
from tests.adapters.openadr import waiting

# openleadr warns about its own dependencies; its logs are quieted (fixture in conftest.py).
VEN_INTEROP_MARKS = [
    pytest.mark.interop,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:.*NotAppKeyWarning.*"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.usefixtures("quiet_openleadr"),
]

VTN_TIMEOUT_S = 15.0  # a registration takes a few of the VEN's polls


async def until(condition: Callable[[], bool]) -> None:
    """Return once ``condition()`` holds; AssertionError after ``VTN_TIMEOUT_S``."""
    await waiting.until(condition, timeout_s=VTN_TIMEOUT_S)


def demo_runtime(tmp_path: Path, port: int, now: datetime | None = None) -> Runtime:
    """The demo home's runtime on the database under ``tmp_path``, its VENs (not started)
    pointed at the VTN on ``port``; the clock is manual, at ``now`` (default: the wall clock)."""
    settings = Settings(
        state_dir=tmp_path,
        demo=True,
        planner_processes=0,
        vtn_url=f"http://127.0.0.1:{port}/OpenADR2/Simple/2.0b",
    )
    return build_runtime(settings, ManualClock(now or datetime.now(UTC)), seed=2)


def started_demo_runtime(tmp_path: Path, port: int, tick_s: float) -> tuple[Runtime, int]:
    """``demo_runtime`` with its VENs started (a tick every ``tick_s``), and the home's id."""
    runtime = demo_runtime(tmp_path, port)
    assert runtime.vens is not None
    runtime.vens.start(tick_s=tick_s)
    return runtime, next(iter(runtime.simulations))
