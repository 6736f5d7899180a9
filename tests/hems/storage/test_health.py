"""The database's size and its tables' (hems/storage/health.py): they grow as the store is
written, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from hems.simulation.cohort import draw_cohort
from hems.storage.engine import make_engine, upgrade_schema
from hems.storage.health import database_size_bytes, table_sizes_bytes
from hems.storage.store import Store
from hems.storage.tables import TelemetryRow

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _grows(url: str) -> None:
    engine = make_engine(url)
    upgrade_schema(engine)
    store = Store(engine)
    empty, tables = database_size_bytes(engine), table_sizes_bytes(engine)
    assert empty > 0
    home_id = store.create_home(draw_cohort(1, seed=0)[0].spec, NOW, "test")
    rows = [TelemetryRow(device_name="EV", at=NOW, online=True, power_kw=k) for k in range(5000)]
    store.add_telemetry(home_id, rows)
    assert database_size_bytes(engine) > empty
    assert table_sizes_bytes(engine)["telemetry"] > tables["telemetry"]
    engine.dispose()


def test_the_sqlite_size_grows_with_what_is_stored(tmp_path):
    _grows(f"sqlite:///{tmp_path / 'size.sqlite3'}")


def test_the_postgresql_size_grows_with_what_is_stored(postgres_url):
    _grows(postgres_url)
