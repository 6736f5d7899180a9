"""Runs the simulated S2 battery (``s2_resource_manager.py``) as a child process for a test
and collects its events; the CEM's settings the S2 tests share."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

from adapters.devices.s2 import CemSettings, ResourceManagerSettings, S2Cem, hash_token

ROOT = Path(__file__).resolve().parents[3]
RM_ID = "battery-1"
TOKEN = "s2-test-token-0123456789"
RESOURCE_ID = "00000000-0000-4000-8000-000000000b01"
Event = dict[str, Any]


class ResourceManagerProcess:
    """One simulated battery RM; its stdout events are collected as they come."""

    def __init__(self, args: list[str], stderr_file: Path) -> None:
        self._stderr = stderr_file.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.adapters.devices.s2_resource_manager", *args],
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
        """A command (see s2_resource_manager's docstring)."""
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

    async def wait_for(
        self,
        kind: str,
        condition: Callable[[Event], bool] = lambda e: True,
        timeout_s: float = 10,
        since: int | None = None,
    ) -> Event:
        """The first event of ``kind`` meeting ``condition``, from ``since`` or from now."""
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
                raise AssertionError(f"no {kind!r} event in {timeout_s} s; last {fresh[-3:]}")
            if self.process.poll() is not None:
                raise AssertionError(f"the RM exited with {self.process.returncode}")
            await asyncio.sleep(0.02)

    def kill(self) -> None:
        """Gone without a word (a power cut)."""
        self.process.kill()
        self.process.wait()

    async def stop(self) -> None:
        """Ask it to quit, kill it after 5 s; waits without blocking the CEM's loop."""
        if self.process.poll() is None:
            with suppress(OSError):
                self.send("quit")
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 5.0
            while self.process.poll() is None and loop.time() < deadline:
                await asyncio.sleep(0.02)
            if self.process.poll() is None:
                self.kill()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
        self._stderr.close()


@asynccontextmanager
async def resource_manager(
    args: list[str], stderr_file: Path
) -> AsyncIterator[ResourceManagerProcess]:
    """The simulated battery RM, stopped on leaving."""
    peer = ResourceManagerProcess(args, stderr_file)
    try:
        yield peer
    finally:
        await peer.stop()


def cem_settings(**overrides: Any) -> CemSettings:
    """A CEM on a free loopback port with one paired RM (token, resource id) and short
    timeouts."""
    fields: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": 0,
        "resource_managers": (
            ResourceManagerSettings(
                rm_id=RM_ID, token_hash=hash_token(TOKEN), resource_id=uuid.UUID(RESOURCE_ID)
            ),
        ),
        "response_timeout_s": 2.0,
        "stale_after_s": 3.0,
    }
    return CemSettings(**(fields | overrides))


def rm_args(cem: S2Cem, *extra: str, rm_id: str = RM_ID, scheme: str = "ws") -> list[str]:
    """The simulated RM's command line for ``cem`` (with the paired token unless
    ``extra`` gives another)."""
    url = f"{scheme}://127.0.0.1:{cem.port}/{rm_id}"
    token = [] if "--token" in extra else ["--token", TOKEN]
    return ["--url", url, *token, *extra]


async def until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Return once ``condition()`` holds; AssertionError after ``timeout_s``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
