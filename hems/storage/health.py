"""Whether the database answers (the service's readiness check)."""

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
