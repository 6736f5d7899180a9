"""A simulated device run as a child process for a test (``python -m <module> <args>``): it
reads commands on stdin, writes one JSON event a line on stdout, which a thread collects as
they come; stderr goes to a file kept for the failure report. The OCPP charge point and the S2
resource manager are both driven through this."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

from tests.adapters.openadr import waiting

ROOT = Path(__file__).resolve().parents[3]
STOP_GRACE_S = 5.0  # a peer asked to quit is killed after this
Event = dict[str, Any]


class PeerProcess:
    """One simulated device (``module``, e.g. ``hems.simulation.protocols.ocpp_charge_point``);
    ``name`` says which in failure messages."""

    def __init__(self, module: str, name: str, args: list[str], stderr_file: Path) -> None:
        self.name = name
        self._stderr = stderr_file.open("ab")  # a restarted peer adds to its predecessor's
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.events: list[Event] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            with self._lock:
                self.events.append(event)

    def send(self, command: str) -> None:
        """A command (see the simulated device's docstring)."""
        assert self.process.stdin is not None
        self.process.stdin.write(f"{command}\n".encode())
        self.process.stdin.flush()

    def mark(self) -> int:
        """A point in the events, for :meth:`wait_for`'s ``since``."""
        with self._lock:
            return len(self.events)

    def of(self, kind: str, since: int = 0) -> list[Event]:
        with self._lock:
            return [e for e in self.events[since:] if e["event"] == kind]

    def last(self, kind: str) -> Event | None:
        found = self.of(kind)
        return found[-1] if found else None

    async def wait_for(
        self,
        kind: str,
        condition: Callable[[Event], bool] = lambda e: True,
        timeout_s: float = 10,
        since: int | None = None,
    ) -> Event:
        """The first event of ``kind`` that meets ``condition``, from ``since`` (a
        :meth:`mark`) or from now."""
        start = self.mark() if since is None else since
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            with self._lock:
                fresh = self.events[start:]
            for event in fresh:
                if event["event"] == kind and condition(event):
                    return event
            if loop.time() > deadline:
                raise AssertionError(f"no {kind!r} event in {timeout_s} s; last {fresh[-5:]}")
            if self.process.poll() is not None:
                raise AssertionError(f"the {self.name} exited with {self.process.returncode}")
            await asyncio.sleep(0.02)

    def kill(self) -> None:
        """Gone without a word (a power cut)."""
        self.process.kill()
        self.process.wait()

    async def stop(self) -> None:
        """Ask it to quit (it closes its connection cleanly), kill it after ``STOP_GRACE_S``.
        Waits without blocking the loop, which serves our side of that close."""
        if self.process.poll() is None:
            with suppress(OSError):
                self.send("quit")
            loop = asyncio.get_running_loop()
            deadline = loop.time() + STOP_GRACE_S
            while self.process.poll() is None and loop.time() < deadline:
                await asyncio.sleep(0.02)
            if self.process.poll() is None:
                self.kill()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
        self._stderr.close()


async def until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Return once ``condition()`` holds, checked every 20 ms (the device tests time their
    peers' answers); AssertionError after ``timeout_s``."""
    await waiting.until(condition, timeout_s, poll_s=0.02)
