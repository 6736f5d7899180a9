"""Read-modify-write transactions under load, on SQLite and on a real PostgreSQL: eight
threads and a second process over the same database add and cancel overrides, add setpoints,
mark them sent or failed, save plans and replace preferences at once. Before every writing
method took the write lock first, SQLite failed such calls within milliseconds ("database is
locked": a deferred transaction whose snapshot another writer moved on cannot become a write
transaction, and the busy timeout does not apply), and two apply loops could both mark one
setpoint sent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from hems.demo import demo_home_spec
from hems.storage.engine import make_engine, upgrade_schema
from hems.storage.store import Store
from hems.storage.tables import OverrideRow, PlanRow, PreferencesRow, SetpointRow

from .write_hammer import AT, hammer

THREADS, OPS = 8, 200


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hems.sqlite3'}"
    else:
        yield request.getfixturevalue("postgres_url")


def test_concurrent_read_modify_writes_from_threads_and_a_process(url):
    engine = make_engine(url)
    upgrade_schema(engine)
    store = Store(engine)
    home = store.create_home(demo_home_spec(), AT, "test")
    other = subprocess.Popen(  # the same load from a second process, at the same time
        [sys.executable, "-m", "tests.hems.storage.write_hammer", url, str(home), "4", "150", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    here = hammer(store, home, THREADS, OPS, seed=1).as_json()
    out, err = other.communicate(timeout=600)
    assert other.returncode == 0, err[-2000:]
    there = json.loads(out.strip().splitlines()[-1])

    assert here["errors"] == []  # no "database is locked"
    assert there["errors"] == []
    marks = Counter({int(k): v for k, v in here["marks"].items()})
    marks.update({int(k): v for k, v in there["marks"].items()})
    sent = Counter({int(k): v for k, v in here["sent"].items()})
    sent.update({int(k): v for k, v in there["sent"].items()})
    assert sent
    assert max(sent.values()) == 1  # no setpoint marked sent twice
    with store.session() as s:
        rows = {r.id: r for r in s.scalars(select(SetpointRow))}
        # every mark that said it changed a setpoint is counted in it: none lost
        assert {i: r.attempts for i, r in rows.items() if r.attempts} == dict(marks)
        assert {i for i, r in rows.items() if r.applied_at is not None} == set(sent)
        cancelled = s.scalar(select(func.count()).where(OverrideRow.cancelled_at.is_not(None)))
        assert cancelled == here["overrides_cancelled"] + there["overrides_cancelled"]
        plans = s.scalar(select(func.count()).select_from(PlanRow))
        assert plans == here["plans_saved"] + there["plans_saved"]
        version = s.scalar(select(PreferencesRow.version).where(PreferencesRow.home_id == home))
        assert version == 1 + here["preferences_set"] + there["preferences_set"]
    engine.dispose()
