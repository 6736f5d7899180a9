"""The service on a real PostgreSQL server (a throwaway cluster, see ``pg_cluster``; skipped
when PostgreSQL is not installed unless HEMS_REQUIRE_POSTGRES=1): Alembic upgrade to head,
then one API flow touching every table: tokens, preferences, an override, the cycle (plans,
setpoints, telemetry), a DSR event and the consumer's opt-out, history, export and erase."""

from __future__ import annotations

import os
import pwd
from datetime import timedelta
from importlib import resources

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import text

from hems.app import create_app
from hems.storage.engine import make_engine, upgrade_schema
from hems.storage.tables import Base

from .conftest import make_demo


def _head_revision() -> str | None:
    """The newest of the bundled migrations' revisions."""
    return ScriptDirectory(str(resources.files("hems.storage") / "migrations")).get_current_head()


def test_alembic_upgrades_an_empty_postgres_database_to_the_declared_tables(postgres_url):
    engine = make_engine(postgres_url)
    try:
        upgrade_schema(engine)
        upgrade_schema(engine)  # a second upgrade is a no-op
        with engine.connect() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            assert version == _head_revision()  # the newest migration, whichever it is
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
            kinds = dict(
                conn.execute(
                    text(
                        "SELECT column_name, data_type FROM information_schema.columns "
                        "WHERE table_name = 'telemetry'"
                    )
                ).all()
            )
        assert kinds["online"] == "boolean"
        assert kinds["at"] == "timestamp without time zone"  # UTC by contract (UtcDateTime)
    finally:
        engine.dispose()


def test_an_api_flow_on_postgres(tmp_path, postgres_url):
    demo = make_demo(tmp_path, postgres_url)
    assert demo.runtime.store.engine.dialect.name == "postgresql"
    app = create_app(demo.runtime.settings, demo.runtime, run_scheduler=False)
    home = f"/homes/{demo.home_id}"
    with TestClient(app) as client:
        me, admin = demo.auth(), demo.auth(demo.admin_token)
        assert client.get(f"{home}/preferences").status_code == 401
        prefs = client.get(f"{home}/preferences", headers=me).json()
        r = client.put(f"{home}/preferences", json={**prefs, "dsr_consent": True}, headers=me)
        assert r.status_code == 200, r.text
        client.portal.call(demo.runtime.service.settle)
        demo.clock.advance(timedelta(minutes=1))
        client.portal.call(demo.runtime.service.cycle_all)
        plan = client.get(f"{home}/plan", headers=me).json()
        assert len(plan["slots"]) == demo.runtime.settings.horizon_steps
        r = client.post(
            f"{home}/events",
            json={
                "event_id": "pg-1",
                "kind": "import_cap",
                "value_kw": 0.5,
                "start": "2026-11-30T17:00:00Z",
                "end": "2026-11-30T18:00:00Z",
            },
            headers=admin,
        )
        assert r.status_code == 200, r.text
        assert r.json()["response"] == "optIn"
        assert r.json()["start"].startswith("2026-11-30T17:00:00")
        r = client.post(
            f"{home}/overrides",
            json={"kind": "pause_device", "target": "Heat pump", "duration_minutes": 30},
            headers=me,
        )
        assert r.status_code == 201, r.text
        assert client.post(f"{home}/events/pg-1/opt-out", headers=me).json()["response"] == (
            "optOut"
        )
        events = client.get(f"{home}/events", headers=me).json()
        assert [(e["event_id"], e["response"]) for e in events] == [("pg-1", "optOut")]
        history = client.get(f"{home}/history?hours=2", headers=me).json()
        assert history["setpoints"]
        heat = [s for s in history["setpoints"] if s["device"] == "Heat pump"]
        assert heat[-1]["power_kw"] == 0.0
        assert heat[-1]["reason"] == "override:pause"
        exported = client.get(f"{home}/export", headers=me).json()
        assert exported["telemetry"]
        assert exported["preferences"]["dsr_consent"] is True
        actions = {a["action"] for a in exported["audit"]}
        assert {"preferences.update", "event.receive", "event.optOut", "override.create"} <= (
            actions
        )
        assert client.delete(home, headers=me).status_code in (200, 204)
        assert client.get(f"{home}/preferences", headers=me).status_code == 401
    with demo.runtime.store.engine.connect() as conn:
        for table in ("plans", "setpoints", "telemetry", "dsr_events", "api_tokens"):
            n = conn.execute(
                text(f"SELECT COUNT(*) FROM {table} WHERE home_id = :h"), {"h": demo.home_id}
            )
            assert n.scalar() == 0, table
    demo.runtime.store.engine.dispose()


@pytest.mark.skipif(
    os.geteuid() != 0, reason="checks the root path (the server run as another user)"
)
def test_under_root_the_server_runs_as_an_unprivileged_user(postgres_cluster):
    owner = postgres_cluster.data_dir.stat().st_uid
    assert owner != 0
    assert postgres_cluster.run_as == pwd.getpwuid(owner).pw_name
    pid = int((postgres_cluster.data_dir / "postmaster.pid").read_text().split()[0])
    assert os.stat(f"/proc/{pid}").st_uid == owner
