"""A throwaway PostgreSQL cluster for the tests: ``initdb`` and ``pg_ctl`` in a temporary
folder, listening on 127.0.0.1 on a free port (and a unix socket in that folder only), trust
authentication (acceptable for this cluster alone: it lives for one test session, listens on
loopback, and holds nothing but test data). ``initdb`` refuses to run as root, so under root
(CI containers) the server runs as an unprivileged user (``postgres`` if it exists, else
``nobody``) through ``runuser``.

The server's time zone is set away from UTC on purpose, so a timestamp that depends on the
session's zone shows up in the tests.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

REQUIRE_ENV = "HEMS_REQUIRE_POSTGRES"
SERVER_TIMEZONE = "America/New_York"


class PostgresUnavailableError(RuntimeError):
    """The PostgreSQL server binaries are not installed (or the cluster could not start)."""


def find_bin_dir() -> Path:
    """The folder with ``initdb`` and ``pg_ctl``: ``$HEMS_PG_BIN`` if set, else the newest
    ``/usr/lib/postgresql/<version>/bin`` (Debian), else ``initdb`` on the PATH."""
    explicit = os.environ.get("HEMS_PG_BIN")
    if explicit:  # authoritative when given
        folder = Path(explicit)
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
        raise PostgresUnavailableError(f"HEMS_PG_BIN={explicit} holds no initdb and pg_ctl")
    candidates = sorted(
        (Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    raise PostgresUnavailableError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found in $HEMS_PG_BIN, "
        "/usr/lib/postgresql/*/bin or on the PATH (apt-get install postgresql)"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _unprivileged_user() -> str:
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise PostgresUnavailableError("running as root and no unprivileged user to run PostgreSQL")


@dataclass
class ThrowawayCluster:
    """One PostgreSQL server in a temporary folder; :meth:`start`, then :meth:`url`."""

    bin_dir: Path
    base: Path
    port: int
    run_as: str | None = None
    superuser: str = "hems"

    @classmethod
    def create(cls, run_as: str | None = None) -> ThrowawayCluster:
        """A cluster in a new temporary folder. ``run_as``: the user to run the server as
        (default: the current user, or an unprivileged one when that is root)."""
        bin_dir = find_bin_dir()
        if run_as is None and os.geteuid() == 0:
            run_as = _unprivileged_user()
        base = Path(tempfile.mkdtemp(prefix="hems-pg-"))
        if run_as is not None and os.geteuid() == 0:
            entry = pwd.getpwnam(run_as)
            os.chown(base, entry.pw_uid, entry.pw_gid)
        return cls(bin_dir=bin_dir, base=base, port=_free_port(), run_as=run_as)

    @property
    def data_dir(self) -> Path:
        return self.base / "data"

    def _run(self, *args: str) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.run_as is not None and os.geteuid() == 0:
            command = ["runuser", "-u", self.run_as, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            log = self.base / "server.log"
            tail = log.read_text()[-2000:] if log.is_file() else ""
            raise PostgresUnavailableError(
                f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()}\n{tail}"
            )

    def start(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            self.superuser,
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        )
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-p {self.port}",
                f"-c unix_socket_directories={self.base}",
                f"-c timezone={SERVER_TIMEZONE}",
                "-c fsync=off",
                "-c full_page_writes=off",
                "-c max_connections=50",
            ]
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-o",
            options,
            "-l",
            str(self.base / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.superuser}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        """Stop the server at once and delete its folder."""
        try:
            if (self.data_dir / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)
