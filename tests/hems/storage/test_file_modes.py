"""The service's state is owner-only: the state directory 0700, the SQLite database and its
``-wal``/``-shm`` files 0600, whether created now or left readable by an older version."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hems.runtime import build_runtime
from hems.settings import Settings


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The common umask 022, under which a new file is 0644 unless the code says otherwise."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _start_and_write(state_dir: Path) -> list[Path]:
    runtime = build_runtime(Settings(state_dir=state_dir, planner_processes=0))
    runtime.store.create_token("admin", None, datetime.now(UTC), label="a write")
    database = state_dir / "hems.sqlite3"
    files = [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
    assert all(f.exists() for f in files)  # WAL files exist while the engine is open
    return files


def test_a_new_state_directory_and_database_are_owner_only(tmp_path, usual_umask):
    state_dir = tmp_path / "var"
    files = _start_and_write(state_dir)
    assert _mode(state_dir) == 0o700
    assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}


def test_a_readable_database_left_by_an_older_version_is_tightened_at_start(tmp_path, usual_umask):
    state_dir = tmp_path / "var"
    files = _start_and_write(state_dir)
    state_dir.chmod(0o755)
    for f in files:
        f.chmod(0o644)
    files = _start_and_write(state_dir)
    assert _mode(state_dir) == 0o700
    assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
