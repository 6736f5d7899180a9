"""Crash probe: SIGKILL the running service mid-work, again and again, and count what was lost.

Run: ``python -m benchmarks.probe_crashes [--kills 10] [--seed 1]``. Starts the real
``hems run --demo`` (API, scheduler, planner worker, demo DSRSP child, SQLite in a temporary
state directory) on 127.0.0.1, then ``--kills`` times:

1. while a client adds and cancels consumer overrides through the API (each answered write is
   recorded as acknowledged), kills the service with SIGKILL at a random moment 0-3 s after
   the round's third answered write (so every round has writes to lose);
2. checks that none of its child processes (planner worker, demo DSRSP) outlives it;
3. restarts it on the same state directory and checks, through the API, that every
   acknowledged override is there and every acknowledged cancel holds (lost writes), and the
   database's integrity.

At the end it reads the ``setpoints`` table: a device told the same power in the same mode
twice in a row (across kills and restarts) is a duplicated setpoint. Prints the counts and
writes ``benchmarks/results/crash_probe.json``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import closing
from pathlib import Path

import httpx

from benchmarks.bench_service import RESULTS, free_port


def _children(pid: int) -> list[int]:
    """Every descendant of `pid` (read from /proc), so none can be missed after a kill."""
    kids: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            kids.append(int(entry.name))
            kids.extend(_children(int(entry.name)))
    return kids


def _alive(pid: int) -> bool:
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


class Service:
    """One `hems run --demo` process on a state directory that outlives it."""

    def __init__(self, state_dir: Path, port: int, dsrsp_port: int) -> None:
        self.state_dir, self.port, self.dsrsp_port = state_dir, port, dsrsp_port
        self.proc: subprocess.Popen[str] | None = None
        self.tokens: dict[str, str] = {}

    def start(self) -> None:
        env = {**os.environ, "HEMS_STATE_DIR": str(self.state_dir), "COLUMNS": "200"}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hems.cli",
                "run",
                "--demo",
                "--port",
                str(self.port),
                "--dsrsp-port",
                str(self.dsrsp_port),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        assert self.proc.stdout is not None
        threading.Thread(target=self._read_stdout, args=(self.proc,), daemon=True).start()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if "home" in self.tokens:
                try:
                    r = httpx.get(f"{self.base}/homes/1/plan", headers=self.headers, timeout=5)
                    if r.status_code == 200:
                        return
                except httpx.TransportError:
                    pass
            time.sleep(0.2)
        raise RuntimeError("the service did not plan within 120 s")

    def _read_stdout(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if "token (shown once" in line:
                who = "admin" if line.strip().lower().startswith("admin") else "home"
                self.tokens.setdefault(who, line.split()[-1])

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens['home']}"}

    def kill(self) -> list[int]:
        """SIGKILL the service alone (as a crash or the OOM killer would); its orphans."""
        assert self.proc is not None
        kids = _children(self.proc.pid)
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(_alive(k) for k in kids):
            time.sleep(0.2)
        return [k for k in kids if _alive(k)]


def _writer(
    service: Service, stop: threading.Event, acked: dict[int, bool], rng: random.Random
) -> None:
    """Adds pause overrides and cancels some; `acked[id]` is True while the override is in
    force as far as the client was told, False once a cancel was answered 204."""
    with httpx.Client(base_url=service.base, headers=service.headers, timeout=10) as client:
        while not stop.is_set():
            try:
                open_ids = [i for i, live in acked.items() if live]
                if open_ids and rng.random() < 0.4:
                    oid = rng.choice(open_ids)
                    if client.delete(f"/homes/1/overrides/{oid}").status_code == 204:
                        acked[oid] = False
                else:
                    r = client.post(
                        "/homes/1/overrides",
                        json={
                            "kind": "pause_device",
                            "target": "Heat pump",
                            "duration_minutes": 120,
                        },
                    )
                    if r.status_code == 201:
                        acked[r.json()["id"]] = True
            except httpx.TransportError:
                return  # the service was killed mid-request: that write was never answered


def _answered(acked: dict[int, bool]) -> int:
    """Writes answered so far: each override added, and each cancelled."""
    states = list(acked.values())  # a copy: the writer thread adds to the dict meanwhile
    return len(states) + states.count(False)


def _duplicated_setpoints(db: Path) -> int:
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute(
            "SELECT home_id, device_name, power_kw, follow_site, store_surplus FROM setpoints "
            "WHERE applied_at IS NOT NULL ORDER BY home_id, device_name, applied_at, id"
        ).fetchall()
    duplicates = 0
    for _, group in itertools.groupby(rows, key=lambda r: (r[0], r[1])):
        told = [(round(r[2], 3), (bool(r[3]), bool(r[4]))) for r in group]
        duplicates += sum(
            1 for a, b in itertools.pairwise(told) if abs(a[0] - b[0]) < 0.05 and a[1] == b[1]
        )
    return duplicates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    state_dir = Path(tempfile.mkdtemp(prefix="cem-crash-"))
    service = Service(state_dir, free_port(), free_port())
    acked: dict[int, bool] = {}
    lost = orphans = integrity_failures = 0
    started = time.monotonic()
    service.start()
    for kill in range(1, args.kills + 1):
        stop = threading.Event()
        thread = threading.Thread(target=_writer, args=(service, stop, acked, rng), daemon=True)
        thread.start()
        # kill at a random moment once this round has had answered writes of its own
        answered = _answered(acked)
        deadline = time.monotonic() + 60
        while _answered(acked) < answered + 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 3.0))
        left = service.kill()
        stop.set()
        thread.join(timeout=15)
        orphans += len(left)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        with closing(sqlite3.connect(state_dir / "hems.sqlite3")) as conn:
            if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                integrity_failures += 1
        service.start()
        active = {
            o["id"]
            for o in httpx.get(
                f"{service.base}/homes/1/overrides", headers=service.headers, timeout=10
            ).json()
        }
        missing = [i for i, live in list(acked.items()) if live and i not in active]
        revived = [i for i, live in list(acked.items()) if not live and i in active]
        lost += len(missing) + len(revived)
        print(
            f"kill {kill}: {sum(acked.values())} overrides in force, {len(active)} active "
            f"after restart, lost {len(missing) + len(revived)}, orphans {len(left)}",
            flush=True,
        )
    service.kill()
    result = {
        "kills": args.kills,
        "acknowledged_writes": _answered(acked),
        "lost_writes": lost,
        "duplicated_setpoints": _duplicated_setpoints(state_dir / "hems.sqlite3"),
        "orphan_processes": orphans,
        "integrity_failures": integrity_failures,
        "seconds": round(time.monotonic() - started, 1),
        "seed": args.seed,
    }
    print(json.dumps(result))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "crash_probe.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
