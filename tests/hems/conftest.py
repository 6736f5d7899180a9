"""Service fixtures: a runtime on a temporary SQLite database with a manual clock, the demo
home with simulated devices, and an API client (the scheduler is not started: tests move the
clock and run the cycle themselves); a throwaway PostgreSQL cluster and a fresh database on it
per test (skipped when PostgreSQL is not installed, unless ``HEMS_REQUIRE_POSTGRES=1``)."""

from __future__ import annotations

import logging
import os
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from hems.app import create_app
from hems.clock import ManualClock
from hems.runtime import Runtime, build_runtime
from hems.settings import Settings

from .pg_cluster import REQUIRE_ENV, PostgresUnavailableError, ThrowawayCluster

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


def make_demo(tmp_path, database_url: str = "") -> Demo:
    """The demo home on a manual clock at :data:`MONDAY_5PM` (plans in-thread, no re-plan
    delay), on SQLite under ``tmp_path`` or on ``database_url``."""
    clock = ManualClock(MONDAY_5PM)
    settings = Settings(
        state_dir=tmp_path,
        database_url=database_url,
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
def demo(tmp_path) -> Demo:
    return make_demo(tmp_path)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[ThrowawayCluster]:
    """A PostgreSQL server for the session (see :mod:`tests.hems.pg_cluster`)."""
    cluster: ThrowawayCluster | None = None
    try:
        cluster = ThrowawayCluster.create()
        cluster.start()
    except PostgresUnavailableError as exc:
        if cluster is not None:
            cluster.stop()
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 but PostgreSQL cannot run here: {exc}")
        pytest.skip(f"PostgreSQL not available ({exc}); set {REQUIRE_ENV}=1 to make this fail")
    yield cluster
    cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster: ThrowawayCluster) -> Iterator[str]:
    """A new, empty database on the session's cluster; dropped after the test."""
    import psycopg

    name = f"hems_{uuid.uuid4().hex[:12]}"
    admin = f"host=127.0.0.1 port={postgres_cluster.port} user={postgres_cluster.superuser}"
    with psycopg.connect(f"{admin} dbname=postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield postgres_cluster.url(name)
    with psycopg.connect(f"{admin} dbname=postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def client(demo: Demo) -> Iterator[TestClient]:
    app = create_app(demo.runtime.settings, demo.runtime, run_scheduler=False)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def quiet_openleadr(caplog: pytest.LogCaptureFixture) -> None:
    """openleadr's own logs (connection retries, its warnings) kept out of a VEN test's output."""
    caplog.set_level(logging.CRITICAL, logger="openleadr")
