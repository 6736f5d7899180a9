"""Whether the database answers (the service's readiness check), and how large it is."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine


def database_answers(engine: Engine) -> bool:
    """True when a trivial query succeeds; never raises (an unreachable or broken database
    is False)."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


def database_size_bytes(engine: Engine) -> int:
    """The database's size [bytes]: SQLite's pages in use (the WAL's committed pages
    included), PostgreSQL's ``pg_database_size`` of the current database (tables, indexes,
    TOAST). What a fleet's storage costs per home and day (``benchmarks/bench_fleet.py``)."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
            page_bytes = conn.exec_driver_sql("PRAGMA page_size").scalar_one()
            return int(pages) * int(page_bytes)
        if engine.dialect.name == "postgresql":
            return int(
                conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
            )
    raise ValueError(f"no size for a {engine.dialect.name} database")
