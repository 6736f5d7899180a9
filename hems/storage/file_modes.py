"""Owner-only permissions for the service's state: the SQLite database (and its ``-wal``,
``-shm`` and ``-journal`` companions) and the state directory.

The database holds token hashes, web session hashes, the homes' plans and audit log: nothing
another local account should read. SQLite creates a new file with the process's umask (often
0644), so the file is created here first, owner-only, before SQLite opens it; SQLite gives its
``-wal`` and ``-shm`` files the database file's mode, so they follow. A file or directory left
readable by an older version is tightened at start-up.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

OWNER_ONLY_FILE = 0o600
OWNER_ONLY_DIR = 0o700
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def owner_only_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) as 0700, or take group and other access away
    from an existing one. Only for the service's own state directory: never a shared one."""
    path.mkdir(mode=OWNER_ONLY_DIR, parents=True, exist_ok=True)
    _drop_group_and_other(path)


def owner_only_sqlite_file(database: Path) -> None:
    """Create the SQLite file 0600 if missing (an empty file is a new, empty database), and
    tighten an existing one and its companions."""
    fd = os.open(database, os.O_RDWR | os.O_CREAT, OWNER_ONLY_FILE)
    os.close(fd)
    for path in (database, *(Path(f"{database}{suffix}") for suffix in SQLITE_COMPANIONS)):
        if path.exists():
            _drop_group_and_other(path)


def _drop_group_and_other(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        path.chmod(mode & 0o700)
