"""Fixtures shared by the storage tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hems.storage.engine import make_engine, upgrade_schema
from hems.storage.store import Store


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path) -> Iterator[Store]:
    """A migrated store on SQLite, then on a throwaway PostgreSQL server (``postgres_url``)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'db' / 'hems.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    upgrade_schema(engine)
    yield Store(engine)
    engine.dispose()
