"""The database engine and schema upgrades.

SQLite gets write-ahead logging (readers never block the writer), foreign keys and a busy
timeout; every commit is durable (``synchronous=FULL``), so a killed process loses nothing
that was committed.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from hems.storage.file_modes import owner_only_sqlite_file


def make_engine(url: str) -> Engine:
    """An engine for ``url``; creates the SQLite file's folder if needed."""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url.removeprefix("sqlite:///")).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        owner_only_sqlite_file(Path(make_url(url).database or ""))  # docs/service.md, Storage
    engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


WRITE_LOCK = {"sqlite_begin": "IMMEDIATE"}
"""Execution options of every writing transaction (``Store.write_transaction``): on SQLite
it takes the write lock when it begins (``BEGIN IMMEDIATE``), so a concurrent writer waits
(up to the busy timeout) instead of both reading the same row; PostgreSQL ignores it and the
store locks rows (``SELECT ... FOR UPDATE``) instead."""


def _sqlite_begin(connection: Any) -> None:
    """Emit SQLite's BEGIN ourselves (the driver's own starts a transaction only at the first
    write, after the reads of a read-modify-write)."""
    mode = connection.get_execution_options().get("sqlite_begin", "")
    connection.exec_driver_sql(f"BEGIN {mode}".strip())


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # no implicit BEGIN: see _sqlite_begin
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def upgrade_schema(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` with the bundled Alembic migrations."""
    with resources.as_file(resources.files("hems.storage") / "migrations") as folder:
        config = Config()
        config.set_main_option("script_location", str(folder))
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
