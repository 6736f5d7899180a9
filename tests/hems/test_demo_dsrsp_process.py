"""``hems run --demo`` for real, in a subprocess on free ports with a temporary state directory:
the demo DSRSP is a child process behind the XML guard, so hostile XML posted to it, or its
death, leaves the API answering; and it does not outlive a service killed with SIGKILL."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from adapters.openadr import codec
from adapters.openadr import messages as m
from adapters.openadr.xml_guard import MAX_MESSAGE_BYTES
from tests.adapters.openadr.hostile_xml import HOSTILE_NAMES, hostile_bodies
from tests.adapters.openadr.vtn_peer import free_port

pytestmark = pytest.mark.interop
START_TIMEOUT_S = 120.0
XML = {"Content-Type": "application/xml"}


@dataclass
class RunningDemo:
    proc: subprocess.Popen[bytes]
    api: str
    vtn: str
    log: Path

    def dsrsp_pid(self) -> int | None:
        """The demo DSRSP's process id, as the service logged it (None: not a child)."""
        found = re.search(r"demo DSRSP \(pid (\d+)\) listening", self.log.read_text())
        return int(found.group(1)) if found else None

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.api}/health", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def vtn_answers(self) -> bool:
        """A legitimate oadrQueryRegistration is answered with oadrCreatedPartyRegistration."""
        body = codec.render(m.QueryRegistration(request_id="q"))
        reply = httpx.post(f"{self.vtn}/EiRegisterParty", content=body, headers=XML, timeout=10)
        return reply.status_code == 200 and isinstance(
            codec.parse(reply.content), m.CreatedPartyRegistration
        )


@contextmanager
def demo_service(tmp_path: Path) -> Iterator[RunningDemo]:
    """``hems run --demo`` in ``tmp_path`` (its default state directory ``var`` lands there),
    until /health answers; stopped (and its DSRSP child with it) afterwards."""
    api_port, vtn_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEMS_")}
    env["HEMS_PLANNER_PROCESSES"] = "0"
    log = tmp_path / "service.log"
    command = [sys.executable, "-m", "hems.cli", "run", "--demo", "--port", str(api_port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*command, "--dsrsp-port", str(vtn_port)],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    running = RunningDemo(
        proc,
        f"http://127.0.0.1:{api_port}",
        f"http://127.0.0.1:{vtn_port}/OpenADR2/Simple/2.0b",
        log,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not running.healthy():
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.3)
        yield running
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        child = running.dsrsp_pid()
        if child is not None and _alive(child):
            os.kill(child, signal.SIGKILL)


def _alive(pid: int) -> bool:
    """The process exists and has not exited (a zombie waiting to be reaped has)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _wait_until(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def test_hostile_xml_to_the_demo_dsrsp_or_its_death_leaves_the_service_running(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("TOPSECRET")
    bodies = hostile_bodies(secret, MAX_MESSAGE_BYTES)
    with demo_service(tmp_path) as demo:
        assert demo.vtn_answers()
        for name in HOSTILE_NAMES:
            reply = httpx.post(
                f"{demo.vtn}/EiRegisterParty", content=bodies[name], headers=XML, timeout=30
            )
            assert reply.status_code in (400, 413), name
            assert "TOPSECRET" not in reply.text
            assert demo.healthy(), name
            assert demo.vtn_answers(), name
        assert "refused /OpenADR2/Simple/2.0b/EiRegisterParty" in demo.log.read_text()

        # Whatever kills the DSRSP, the service carries on (its VEN sees a VTN gone away).
        child = demo.dsrsp_pid()
        assert child is not None, "the demo DSRSP runs in its own process"
        os.kill(child, signal.SIGKILL)
        assert _wait_until(lambda: "killed by signal 9" in demo.log.read_text(), 10)
        assert demo.healthy()
        assert demo.proc.poll() is None


def test_the_demo_dsrsp_does_not_outlive_a_killed_service(tmp_path):
    with demo_service(tmp_path) as demo:
        child = demo.dsrsp_pid()
        assert child is not None, "the demo DSRSP runs in its own process"
        assert _alive(child)
        demo.proc.kill()
        demo.proc.wait()
        assert _wait_until(lambda: not _alive(child), 30)
