"""Two service replicas (``hems run`` processes) on one PostgreSQL database (a throwaway
cluster; skipped when PostgreSQL is not installed unless HEMS_REQUIRE_POSTGRES=1): each home
is run by exactly one; a replica killed with SIGKILL loses its homes to the other within the
lease time, and no home is planned twice in one slot; a change made through the replica
that does not run the home is planned by the one that does; the database's connections cut
(``pg_terminate_backend``) lose nothing committed and the replica goes on."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import text

from hems.demo import demo_home_spec
from hems.storage.engine import make_engine, upgrade_schema
from hems.storage.store import Store

from .conftest import MONDAY_5PM

LEASE_TIME_S = 3.0
LEASE_RENEW_S = 1.0
HOMES = 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _until(check: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout_s} s: {what}")


class Replica:
    """One ``hems run`` process on the shared database; its output in a file."""

    def __init__(self, name: str, url: str, folder: Path) -> None:
        self.name, self.port = name, _free_port()
        folder.mkdir()
        self.log = folder / "out.log"
        env = {
            **os.environ,
            "PYTHONPATH": os.getcwd(),
            "HEMS_DATABASE_URL": url,
            "HEMS_STATE_DIR": str(folder),
            "HEMS_REPLICA_ID": name,
            "HEMS_LEASE_TIME_S": str(LEASE_TIME_S),
            "HEMS_LEASE_RENEW_S": str(LEASE_RENEW_S),
            "HEMS_PLANNER_PROCESSES": "0",
            "HEMS_REPLAN_DELAY_S": "0",
        }
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "from hems.cli import app; app()",
                    "run",
                    "--port",
                    str(self.port),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def shared(postgres_url) -> Iterator[tuple[str, Store, str]]:
    """The database with :data:`HOMES` homes and an admin token."""
    engine = make_engine(postgres_url)
    upgrade_schema(engine)
    store = Store(engine)
    for i in range(HOMES):
        store.create_home(demo_home_spec(f"REPLICA-{i}"), MONDAY_5PM, "test")
    token = store.create_token("admin", None, MONDAY_5PM)
    yield postgres_url, store, token
    engine.dispose()


def _owners(store: Store) -> dict[int, str | None]:
    return {h: owner for h, (owner, _, _) in store.lease_owners().items()}


def _plans(store: Store) -> list[tuple[int, int, Any, str]]:
    """Every stored plan: (id, home, first slot, trigger)."""
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, home_id, grid_start, trigger FROM plans"))
        return [(r.id, r.home_id, r.grid_start, r.trigger) for r in rows]


def _replan_through(replica: Replica, home: int, token: str, store: Store) -> None:
    """Change the home's preferences through ``replica``'s API and wait for the home's new
    plan (made by the replica that runs it)."""
    auth = {"Authorization": f"Bearer {token}"}
    base = f"http://127.0.0.1:{replica.port}/homes/{home}/preferences"
    prefs = httpx.get(base, headers=auth, timeout=10).json()
    prefs["carbon_preference"] = 0.7 if prefs["carbon_preference"] != 0.7 else 0.3
    before = {p[0] for p in _plans(store)}
    r = httpx.put(base, json=prefs, headers=auth, timeout=30)
    assert r.status_code == 200, r.text
    _until(
        lambda: [p for p in _plans(store) if p[0] not in before and p[1] == home],
        30,
        f"home {home} planned again by {replica.name}",
    )


def test_a_killed_replica_s_homes_are_taken_over_in_time_and_never_planned_twice(shared, tmp_path):
    url, store, token = shared
    homes = set(store.home_ids())
    a = Replica("r1", url, tmp_path / "r1")
    b = Replica("r2", url, tmp_path / "r2")
    try:
        owners = _until(
            lambda: (
                o
                if set(o := _owners(store)) == homes
                and Counter(o.values()) == {"r1": HOMES // 2, "r2": HOMES // 2}
                else None
            ),
            90,
            "every home owned by one replica, half each",
        )
        _until(lambda: {p[1] for p in _plans(store)} == homes, 60, "every home planned")
        of_a = {h for h, owner in owners.items() if owner == "r1"}
        epochs = {h: e for h, (_, e, _) in store.lease_owners().items()}
        # a change made through the replica that does not run the home: its owner re-plans it
        _replan_through(a, min(homes - of_a), token, store)

        killed = time.monotonic()
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait(timeout=10)
        _until(lambda: set(_owners(store).values()) == {"r2"}, 3 * LEASE_TIME_S, "takeover")
        takeover_s = time.monotonic() - killed
        print(f"takeover {takeover_s:.2f} s (lease {LEASE_TIME_S} s, renew {LEASE_RENEW_S} s)")
        assert takeover_s <= LEASE_TIME_S + 2 * LEASE_RENEW_S + 1.0
        after = store.lease_owners()
        assert all(after[h][1] == epochs[h] + 1 for h in of_a)  # a new epoch each
        assert all(after[h][1] == epochs[h] for h in homes - of_a)

        time.sleep(2 * LEASE_RENEW_S)  # r2 has cycled the homes it took
        for home in sorted(of_a):  # r2 runs them: its API re-plans them
            _replan_through(b, home, token, store)
        per_slot = Counter(
            (home, slot) for _, home, slot, trigger in _plans(store) if "new slot" in trigger
        )
        assert max(per_slot.values()) == 1, per_slot

        # the database's connections cut: nothing committed is lost, r2 goes on
        committed = {p[0] for p in _plans(store)}
        with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as c:
            cut = c.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchone()
        assert cut is not None
        assert cut[0] >= 1  # at least r2's pooled connection
        time.sleep(LEASE_TIME_S + LEASE_RENEW_S)  # longer than a lease: r2 renewed anyway
        assert set(_owners(store).values()) == {"r2"}
        assert {h: e for h, (_, e, _) in store.lease_owners().items()} == {
            h: after[h][1] for h in homes
        }
        _replan_through(b, min(homes), token, store)
        assert committed <= {p[0] for p in _plans(store)}
        assert b.proc.poll() is None
    finally:
        a.stop()
        b.stop()
        for r in (a, b):
            print(f"--- {r.name}\n" + r.log.read_text()[-3000:])
