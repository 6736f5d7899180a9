"""OpenADR conformance runs started over the API (``POST /admin/conformance/runs``): one at a
time, each a child process running ``hems conformance run`` into
``<state_dir>/conformance/<run id>/``, killed when it outlives its bound.

A child process, not a task in the service's loop: the reference VTN (openleadr) keeps state on
its classes and prints, a run takes seconds of CPU the planning loop should not wait behind, and
a process can be stopped for sure at its deadline or when the service stops.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import hems
from hems.conformance import RunRequest, check_request
from hems.settings import Settings
from hems.storage.database import ConflictError, NotFoundError
from hems.usecases.errors import InvalidInputError

log = logging.getLogger(__name__)

START_MARGIN_S = 60.0
"""Time a child gets beyond the run's own bound (start-up, writing the reports) [s]."""
RUN_ID = re.compile(r"^[0-9a-f]{12}$")
SETTINGS_PASSED = (
    "vtn_url", "ven_cert_file", "ven_key_file", "vtn_ca_file", "vtn_fingerprint",
    "ven_sign_messages", "ven_signing_cert_file", "ven_signing_key_file",
    "vtn_signing_cert_file", "vtn_signing_fingerprint", "vtn_signing_ca_file",
    "vtn_signatures_required",
)  # fmt: skip
"""The settings a ``vtn`` run uses, handed to the child as ``HEMS_*`` variables."""


@dataclass
class ConformanceRun:
    """One run: ``status`` is running, finished (the summary is there) or crashed (why)."""

    run_id: str
    mode: str
    out_dir: Path
    started_utc: datetime
    deadline_s: float
    status: Literal["running", "finished", "crashed"] = "running"
    finished_utc: datetime | None = None
    problem: str | None = None
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def summary(self) -> dict[str, Any] | None:
        """The run's summary.json (None until it is written)."""
        path = self.out_dir / "summary.json"
        if self.status != "finished" or not path.is_file():
            return None
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return loaded


class ConformanceRuns:
    """The runs of this service process (their files outlive it, their records do not)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.base_dir = settings.state_dir / "conformance"
        self._runs: dict[str, ConformanceRun] = {}
        self._lock = threading.Lock()

    def start(self, request: RunRequest) -> ConformanceRun:
        """Start ``request`` in the background.

        Raises InvalidInputError for a request that cannot run, ConflictError while another
        run is under way."""
        problem = check_request(request, self.settings)
        if problem is not None:
            raise InvalidInputError(("body",), problem, None)
        with self._lock:
            running = [r for r in self._runs.values() if r.status == "running"]
            if running:
                raise ConflictError(
                    f"conformance run {running[0].run_id} is still running; one at a time"
                )
            run_id = uuid.uuid4().hex[:12]
            run = ConformanceRun(
                run_id=run_id,
                mode=request.mode,
                out_dir=self.base_dir / run_id,
                started_utc=datetime.now(UTC),
                deadline_s=request.max_duration_s + START_MARGIN_S,
            )
            run.out_dir.mkdir(parents=True, exist_ok=True)
            with (run.out_dir / "runner.log").open("wb") as child_log:  # the child's copy stays
                run._process = subprocess.Popen(
                    _command(request, run.out_dir),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=child_log,
                    env=self._environment(request),
                )
            self._runs[run_id] = run
        threading.Thread(target=self._watch, args=(run,), daemon=True).start()
        log.info("conformance run %s (%s) started", run_id, request.mode)
        return run

    def get(self, run_id: str) -> ConformanceRun:
        """The run ``run_id``: of this process, or finished before the service restarted (read
        back from its summary.json); NotFoundError otherwise."""
        if not RUN_ID.match(run_id):
            raise NotFoundError(f"conformance run {run_id}")
        run = self._runs.get(run_id) or _finished_earlier(self.base_dir / run_id)
        if run is None:
            raise NotFoundError(f"conformance run {run_id}")
        return run

    def recent(self, limit: int = 50) -> list[ConformanceRun]:
        """The runs of this process and those finished before a restart, newest first."""
        runs = dict(self._runs)
        if self.base_dir.is_dir():
            for out_dir in self.base_dir.iterdir():
                if RUN_ID.match(out_dir.name) and out_dir.name not in runs:
                    earlier = _finished_earlier(out_dir)
                    if earlier is not None:
                        runs[out_dir.name] = earlier
        return sorted(runs.values(), key=lambda r: r.started_utc, reverse=True)[:limit]

    def file(self, run_id: str, relative: str) -> Path:
        """A file of a finished run (``junit.xml``, ``summary.html``, ``tracelogs/<case>.log``);
        NotFoundError when the run or the file is not there."""
        run = self.get(run_id)
        path = run.out_dir / relative
        if run.status != "finished" or not path.is_file():
            raise NotFoundError(f"{relative} of conformance run {run_id}")
        return path

    def stop(self) -> None:
        """Kill every run still under way (the service stops)."""
        for run in list(self._runs.values()):
            if run._process is not None and run._process.poll() is None:
                run._process.kill()

    def _watch(self, run: ConformanceRun) -> None:
        process = run._process
        assert process is not None
        try:
            code = process.wait(timeout=run.deadline_s)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
            run.problem = f"killed after {run.deadline_s:.1f} s (its bound)"
        run.finished_utc = datetime.now(UTC)
        if run.problem is None and code in (0, 1) and (run.out_dir / "summary.json").is_file():
            run.status = "finished"
        else:
            run.status = "crashed"
            run.problem = run.problem or _tail(run.out_dir / "runner.log") or f"exit code {code}"
        log.info("conformance run %s %s", run.run_id, run.status)

    def _environment(self, request: RunRequest) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEMS_")}
        env["HEMS_STATE_DIR"] = str(self.settings.state_dir)
        if request.mode == "vtn":
            for name in SETTINGS_PASSED:
                value = getattr(self.settings, name)
                if isinstance(value, bool):
                    env[f"HEMS_{name.upper()}"] = "true" if value else "false"
                elif value not in (None, ""):
                    env[f"HEMS_{name.upper()}"] = str(value)
        # the child imports this very code, wherever it was imported from
        root = str(Path(hems.__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        return env


def _finished_earlier(out_dir: Path) -> ConformanceRun | None:
    """A run a previous service process finished, from the files it left (None: none)."""
    try:
        summary = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
        started = datetime.fromisoformat(summary["started_utc"])
        finished = datetime.fromtimestamp((out_dir / "summary.json").stat().st_mtime, UTC)
        mode = str(summary["mode"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return ConformanceRun(
        run_id=out_dir.name,
        mode=mode,
        out_dir=out_dir,
        started_utc=started,
        deadline_s=0.0,
        status="finished",
        finished_utc=finished,
    )


def _command(request: RunRequest, out_dir: Path) -> list[str]:
    command = [sys.executable, "-m", "hems.cli", "conformance", "run", "--out", str(out_dir)]
    command += ["--self"] if request.mode == "self" else ["--vtn", request.vtn_url or ""]
    command += ["--max-duration-s", str(request.max_duration_s)]
    for case_id in request.cases:
        command += ["--case", case_id]
    if request.mode == "vtn":
        command += ["--manufacturer", request.manufacturer, "--serial", request.serial_number]
    return command


def _tail(path: Path, lines: int = 5) -> str:
    """The last lines of the child's log, as the reason it crashed."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return " | ".join(text.strip().splitlines()[-lines:])
