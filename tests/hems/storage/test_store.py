"""Storage: the migration builds exactly the tables the code uses; times stay UTC; SQLite runs
in WAL mode; tokens are stored hashed."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from hems.demo import demo_home_spec
from hems.domain.preferences import OverrideKind
from hems.storage.engine import make_engine, upgrade_schema
from hems.storage.store import ConflictError, Store, hash_token
from hems.storage.tables import Base

from ..conftest import MONDAY_5PM


@pytest.fixture
def store(tmp_path) -> Store:
    engine = make_engine(f"sqlite:///{tmp_path / 'db' / 'hems.sqlite3'}")
    upgrade_schema(engine)
    return Store(engine)


def test_the_migrations_match_the_tables(store):
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_sqlite_runs_in_wal_mode_with_foreign_keys(store):
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_tokens_are_stored_only_as_hashes(store):
    home = store.create_home(demo_home_spec(), MONDAY_5PM, "test")
    token = store.create_token("home", home, MONDAY_5PM)
    with store.engine.connect() as conn:
        stored = conn.execute(text("SELECT token_hash FROM api_tokens")).scalars().all()
    assert token not in stored
    assert hash_token(token) in stored
    assert store.principal(token).home_id == home


def test_times_come_back_utc_and_naive_times_are_refused(store):
    home = store.create_home(demo_home_spec(), MONDAY_5PM, "test")
    store.add_override(
        home, OverrideKind.EV_BOOST, "", MONDAY_5PM, MONDAY_5PM + timedelta(hours=1), "test"
    )
    (o,) = store.active_overrides(home, MONDAY_5PM + timedelta(minutes=1))
    assert o.expires_at == MONDAY_5PM + timedelta(hours=1)
    assert o.expires_at.utcoffset() == timedelta(0)
    assert store.active_overrides(home, MONDAY_5PM + timedelta(hours=2)) == []
    with pytest.raises(Exception, match="timezone-aware"):
        store.add_override(
            home, OverrideKind.EV_BOOST, "", datetime(2026, 1, 1), datetime(2026, 1, 2), "test"
        )


def test_a_cem_serial_registers_once(store):
    store.create_home(demo_home_spec("A-1"), MONDAY_5PM, "test")
    with pytest.raises(ConflictError, match="A-1"):
        store.create_home(demo_home_spec("A-1"), MONDAY_5PM, "test")
    assert len(store.home_ids()) == 1  # nothing half-written


def test_telemetry_past_its_retention_is_pruned_and_the_rest_kept(store):
    from hems.storage.tables import TelemetryRow

    home = store.create_home(demo_home_spec(), MONDAY_5PM, "test")
    rows = [
        TelemetryRow(device_name="EV", at=MONDAY_5PM - timedelta(days=d), online=True, power_kw=1.0)
        for d in (0, 10, 100)
    ]
    store.add_telemetry(home, rows)
    assert store.prune_telemetry(MONDAY_5PM - timedelta(days=90)) == 1
    assert len(store.export_home(home)["telemetry"]) == 2
