"""The crash probe's count of duplicated setpoints (benchmarks/probe_crashes.py), read from a
migrated SQLite database as the probe reads the service's: a device told the same power in the
same mode twice in a row is one duplicate; the same power in another mode is not."""

from __future__ import annotations

from datetime import timedelta

from benchmarks.probe_crashes import _duplicated_setpoints
from hems.demo import demo_home_spec
from hems.storage.engine import make_engine, upgrade_schema
from hems.storage.store import Store

from ..conftest import MONDAY_5PM as T0


def test_the_probe_counts_a_power_told_twice_in_the_same_mode(tmp_path):
    path = tmp_path / "hems.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade_schema(engine)
    store = Store(engine)
    home = store.create_home(demo_home_spec("PROBE-1"), T0, "test")
    told = [(2.0, False), (2.0, False), (2.0, True), (1.0, True), (1.0, True)]
    for minute, (kw, follow) in enumerate(told):
        at = T0 + timedelta(minutes=minute)
        sid = store.add_setpoint(home, "Battery", kw, "plan", None, at, at, follow_site=follow)
        store.mark_setpoint(sid, applied_at=at)
    engine.dispose()
    assert _duplicated_setpoints(path) == 2
