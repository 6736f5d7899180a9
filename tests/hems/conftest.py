"""Service fixtures: a runtime on a temporary SQLite database with a manual clock, the demo
home with simulated devices, and an API client (the scheduler is not started: tests move the
clock and run the cycle themselves)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from hems.api.app import create_app
from hems.clock import ManualClock
from hems.runtime import Runtime, build_runtime
from hems.settings import Settings

# A winter Monday, 17:00 UTC: the demo car is away (home from 18:00), the heat pump is on.
MONDAY_5PM = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)


@dataclass
class Demo:
    runtime: Runtime
    clock: ManualClock
    admin_token: str
    home_token: str
    home_id: int

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.home_token}"}


@pytest.fixture
def demo(tmp_path) -> Demo:
    clock = ManualClock(MONDAY_5PM)
    settings = Settings(
        data_dir=tmp_path,
        demo=True,
        solver_time_limit_s=20.0,
        planner_processes=0,
        replan_delay_s=0.0,
    )
    runtime = build_runtime(settings, clock, seed=7)
    runtime.service.controllers.clear()
    home_id = next(iter(runtime.simulations))
    ctl = runtime.service.controller(home_id)
    ctl.rng = random.Random(7)
    return Demo(
        runtime=runtime,
        clock=clock,
        admin_token=runtime.new_tokens["admin"],
        home_token=runtime.new_tokens["demo home"],
        home_id=home_id,
    )


@pytest.fixture
def client(demo: Demo) -> Iterator[TestClient]:
    app = create_app(demo.runtime.settings, demo.runtime, run_scheduler=False)
    with TestClient(app) as c:
        yield c
