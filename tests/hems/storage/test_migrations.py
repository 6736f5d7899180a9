"""A database made by an earlier release is brought to the current schema with its data."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from importlib import resources

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text

from adapters.devices.credentials import verify_secret
from hems.demo import demo_home_spec
from hems.storage.engine import make_engine, upgrade_schema
from hems.storage.saving_sessions import AlreadyStoredError
from hems.storage.store import Store

from ..conftest import MONDAY_5PM


def test_a_0001_database_gets_the_web_sessions_table_and_keeps_its_tokens(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'hems.sqlite3'}")
    upgrade_schema(engine, "0001")
    token = Store(engine).create_token("admin", None, datetime.now(UTC), label="old release")
    assert "web_sessions" not in inspect(engine).get_table_names()
    upgrade_schema(engine)
    assert "web_sessions" in inspect(engine).get_table_names()
    assert Store(engine).principal(token) is not None


def _old_setpoint(conn, **values):
    row = {
        "home_id": 1,
        "device_name": "Battery",
        "power_kw": 3.0,
        "plan_id": None,
        "created_at": datetime(2026, 12, 1, 17),
        "effective_at": datetime(2026, 12, 1, 17),
        "applied_at": None,
        "attempts": 0,
        "last_error": "",
        **values,
    }
    conn.execute(
        text(
            "INSERT INTO setpoints (id, home_id, device_name, power_kw, reason, plan_id, "
            "created_at, effective_at, applied_at, attempts, last_error) VALUES (:id, :home_id, "
            ":device_name, :power_kw, :reason, :plan_id, :created_at, :effective_at, "
            ":applied_at, :attempts, :last_error)"
        ),
        row,
    )


def test_0003_moves_a_setpoints_encoded_kind_mode_and_status_into_columns(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'hems.sqlite3'}")
    upgrade_schema(engine, "0002")
    home = Store(engine).create_home(demo_home_spec(), MONDAY_5PM, "old release")
    sent = datetime(2026, 12, 1, 17, 1)
    with engine.begin() as conn:
        _old_setpoint(conn, id=1, home_id=home, reason="plan+follow+store", applied_at=sent)
        _old_setpoint(conn, id=2, home_id=home, reason="ramp:plan+follow", applied_at=sent)
        _old_setpoint(conn, id=3, home_id=home, reason="ramp:plan+follow", last_error="superseded")
        _old_setpoint(conn, id=4, home_id=home, reason="plan+follow", last_error="superseded")
        _old_setpoint(conn, id=5, home_id=home, reason="plan", last_error="timeout", attempts=2)
        _old_setpoint(conn, id=6, home_id=home, device_name="EV", reason="plan+delay 42s")
        _old_setpoint(conn, id=7, home_id=home, device_name="EV", reason="ramp:override:boost")
    upgrade_schema(engine)
    rows = {s.id: s for s in Store(engine).setpoints(home, datetime(2026, 12, 1, tzinfo=UTC))}
    got = {
        i: (r.kind.value, r.reason, r.follow_site, r.store_surplus, r.status.value, r.last_error)
        for i, r in rows.items()
    }
    assert got == {
        1: ("decision", "plan", True, True, "sent", ""),
        2: ("ramp_step", "plan", True, False, "sent", ""),
        3: ("ramp_step", "plan", True, False, "superseded", ""),
        4: ("decision", "plan", True, False, "superseded", ""),
        5: ("decision", "plan", False, False, "failed", "timeout"),
        6: ("decision", "plan+delay 42s", False, False, "pending", ""),
        7: ("ramp_step", "override:boost", False, False, "pending", ""),
    }
    assert rows[1].applied_at == sent.replace(tzinfo=UTC)
    # and back: the old encoding restored, the columns gone
    _downgrade(engine, "0002")
    assert "status" not in {c["name"] for c in inspect(engine).get_columns("setpoints")}
    with engine.connect() as conn:
        old = dict(conn.execute(text("SELECT id, reason FROM setpoints")).all())
        errors = dict(conn.execute(text("SELECT id, last_error FROM setpoints")).all())
    assert old == {
        1: "plan+follow+store",
        2: "ramp:plan+follow",
        3: "ramp:plan+follow",
        4: "plan+follow",
        5: "plan",
        6: "plan+delay 42s",
        7: "ramp:override:boost",
    }
    assert (errors[3], errors[4], errors[5]) == ("superseded", "superseded", "timeout")


def _downgrade(engine, revision: str) -> None:
    with resources.as_file(resources.files("hems.storage") / "migrations") as folder:
        config = Config()
        config.set_main_option("script_location", str(folder))
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, revision)


def test_a_0003_database_gets_the_enrolment_table_and_its_homes_are_enrolled(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'hems.sqlite3'}")
    upgrade_schema(engine, "0003")
    home_id = Store(engine).create_home(demo_home_spec("OLD-1"), datetime.now(UTC), "test")
    assert "ven_enrolments" not in inspect(engine).get_table_names()
    upgrade_schema(engine)
    assert Store(engine).enrolment(home_id).status == "enrolled"


def test_a_0004_database_keeps_its_withdrawals_and_their_vens_pull(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'hems.sqlite3'}")
    upgrade_schema(engine, "0004")
    home_id = Store(engine).create_home(demo_home_spec("OLD-2"), datetime.now(UTC), "test")
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO ven_enrolments VALUES (:h, :at, 'admin', NULL)"),
            {"h": home_id, "at": datetime(2026, 12, 6, 9)},
        )
    upgrade_schema(engine)
    store = Store(engine)
    assert store.enrolment(home_id).status == "withdrawn"
    assert store.ven_mode(home_id) == "pull"


def test_0006_gives_a_0005_home_s_devices_no_connection_and_keeps_them(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'hems.sqlite3'}")
    upgrade_schema(engine, "0005")
    home = Store(engine).create_home(demo_home_spec(), MONDAY_5PM, "old release")
    assert "connection" not in {c["name"] for c in inspect(engine).get_columns("devices")}
    upgrade_schema(engine)
    devices = Store(engine).registered_devices(home)
    assert [d.name for d in devices] == [d.name for d in demo_home_spec().devices]
    assert all(d.connection is None and d.identity is None for d in devices)


def test_0007_hashes_a_registered_charger_s_password_and_downgrade_drops_it(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'hems.sqlite3'}")
    upgrade_schema(engine, "0006")
    home = Store(engine).create_home(demo_home_spec(), MONDAY_5PM, "old release")
    clear = {"protocol": "ocpp", "identity": "CP-1", "password": "a-long-charger-secret-01"}
    mqtt = {"protocol": "mqtt", "broker": "home", "device_id": "hp1"}
    with engine.begin() as conn:
        for name, connection in (("EV", clear), ("Heat pump", mqtt)):
            conn.execute(
                text("UPDATE devices SET connection = :c WHERE home_id = :h AND name = :n"),
                {"c": json.dumps(connection), "h": home, "n": name},
            )
    upgrade_schema(engine)
    with engine.connect() as conn:
        table = " ".join(str(r) for r in conn.execute(text("SELECT * FROM devices")).all())
    assert "a-long-charger-secret-01" not in table
    stored = {d.name: d.connection for d in Store(engine).registered_devices(home)}
    assert stored["Heat pump"] == mqtt
    ev = stored["EV"]
    assert ev is not None
    assert "password" not in ev
    assert verify_secret("a-long-charger-secret-01", ev["password_hash"])
    assert {k: v for k, v in ev.items() if k != "password_hash"} == {
        "protocol": "ocpp",
        "identity": "CP-1",
    }
    # back: no password to restore, so no connection (registered again), never one without
    _downgrade(engine, "0006")
    with engine.connect() as conn:  # raw: the models are the head's (0009's capabilities)
        rows = conn.execute(
            text("SELECT name, connection FROM devices WHERE home_id = :h"), {"h": home}
        )
        stored = {name: None if c is None else json.loads(c) for name, c in rows}
    assert stored["EV"] is None
    assert stored["Heat pump"] == mqtt


def test_0009_gives_devices_no_capabilities_and_downgrade_drops_them(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'hems.sqlite3'}")
    upgrade_schema(engine, "0008")
    home = Store(engine).create_home(demo_home_spec(), MONDAY_5PM, "old release")
    upgrade_schema(engine)
    store = Store(engine)
    assert store.device_capabilities(home) == {}
    store.set_device_capabilities(home, "Battery", {"max_charge_kw": 3.0})
    assert store.device_capabilities(home) == {"Battery": {"max_charge_kw": 3.0}}
    _downgrade(engine, "0008")
    assert "capabilities" not in {c["name"] for c in inspect(engine).get_columns("devices")}


def test_0013_makes_earlier_sessions_the_consumers_and_stores_an_octopus_event_once(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'hems.sqlite3'}")
    upgrade_schema(engine, "0012")
    home = Store(engine).create_home(demo_home_spec(), MONDAY_5PM, "old release")
    with engine.begin() as conn:
        conn.execute(
            text(
                'INSERT INTO saving_sessions (home_id, start, "end", reward_p_per_kwh, '
                "baseline_kw, baseline_method, created_at) VALUES (:h, :s, :e, 250, '[1.0]', "
                "'plan', :s)"
            ),
            {"h": home, "s": datetime(2026, 12, 1, 17), "e": datetime(2026, 12, 1, 17, 30)},
        )
    upgrade_schema(engine)
    store = Store(engine)
    [old] = store.saving_sessions(home)
    assert (old.source, old.octopus_event_id) == ("consumer", None)
    fetched = replace(
        old,
        start=old.start + timedelta(days=1),
        end=old.end + timedelta(days=1),
        source="octopus",
        octopus_event_id="101",
    )
    store.add_saving_session(home, fetched, "octopus")
    with pytest.raises(AlreadyStoredError, match="Octopus event 101 is stored already"):
        store.add_saving_session(home, fetched, "octopus")
    assert store.octopus_event_ids(home) == {"101"}
    _downgrade(engine, "0012")
    assert "source" not in {c["name"] for c in inspect(engine).get_columns("saving_sessions")}
