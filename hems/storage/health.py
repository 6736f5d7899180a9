"""Whether the database answers (the service's readiness check), and how large it is."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError


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


def table_sizes_bytes(engine: Engine) -> dict[str, int]:
    """Each table's size with its indexes [bytes]: what grows as the fleet runs. SQLite reads
    its ``dbstat`` table (empty when the library was built without it), PostgreSQL
    ``pg_total_relation_size``."""
    if engine.dialect.name == "sqlite":
        query = (
            "SELECT m.tbl_name, SUM(d.pgsize) FROM dbstat AS d "
            "JOIN sqlite_master AS m ON d.name = m.name GROUP BY m.tbl_name"
        )
    elif engine.dialect.name == "postgresql":
        query = (
            "SELECT relname, pg_total_relation_size(relid) FROM pg_catalog.pg_statio_user_tables"
        )
    else:
        raise ValueError(f"no sizes for a {engine.dialect.name} database")
    try:
        with engine.connect() as conn:
            return {str(name): int(size) for name, size in conn.execute(text(query))}
    except OperationalError:  # SQLite without dbstat
        return {}
