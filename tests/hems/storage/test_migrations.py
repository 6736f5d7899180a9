"""A database made by an earlier release is brought to the current schema with its data."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import inspect

from hems.storage.engine import make_engine, upgrade_schema
from hems.storage.store import Store


def test_a_0001_database_gets_the_web_sessions_table_and_keeps_its_tokens(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'hems.sqlite3'}")
    upgrade_schema(engine, "0001")
    token = Store(engine).create_token("admin", None, datetime.now(UTC), label="old release")
    assert "web_sessions" not in inspect(engine).get_table_names()
    upgrade_schema(engine)
    assert "web_sessions" in inspect(engine).get_table_names()
    assert Store(engine).principal(token) is not None
