"""Runs the simulated charge point (``ocpp_charge_point.py``) as a child process for a test and
reads its events."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

from adapters.devices.ocpp import ChargerSettings, Csms, CsmsSettings

ROOT = Path(__file__).resolve().parents[3]
Event = dict[str, Any]


class ChargePointProcess:
    """One simulated charge point; its stdout events are collected as they come."""

    def __init__(self, args: list[str], stderr_file: Path) -> None:
        self._stderr = stderr_file.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.adapters.devices.ocpp_charge_point", *args],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.events: list[Event] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

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
        """A control command (see ocpp_charge_point's docstring)."""
        assert self.process.stdin is not None
        self.process.stdin.write(f"{command}\n".encode())
        self.process.stdin.flush()

    def of(self, kind: str) -> list[Event]:
        with self._lock:
            return [e for e in self.events if e["event"] == kind]

    def last(self, kind: str) -> Event | None:
        found = self.of(kind)
        return found[-1] if found else None

    def mark(self) -> int:
        """A point in the events, for :meth:`wait_for`'s ``since``."""
        with self._lock:
            return len(self.events)

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
                tail = self.events[-5:]
                raise AssertionError(f"no {kind!r} event in {timeout_s} s; last events {tail}")
            if self.process.poll() is not None:
                raise AssertionError(f"the charge point exited with {self.process.returncode}")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        """Ask it to quit (it closes its connection cleanly), kill it after 5 s. Waits without
        blocking the loop, which serves the CSMS side of that close."""
        if self.process.poll() is None:
            with suppress(OSError):
                self.send("quit")
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 5.0
            while self.process.poll() is None and loop.time() < deadline:
                await asyncio.sleep(0.02)
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
        self._stderr.close()


@asynccontextmanager
async def charge_point(args: list[str], stderr_file: Path) -> AsyncIterator[ChargePointProcess]:
    """The simulated charge point, stopped on leaving."""
    peer = ChargePointProcess(args, stderr_file)
    try:
        yield peer
    finally:
        await peer.stop()


IDENTITY = "CP-1"
VERSIONS = ("1.6", "2.0.1")


def csms_settings(**overrides: Any) -> CsmsSettings:
    """A CSMS on a free loopback port with one paired charger, CP-1, and short intervals."""
    fields: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": 0,
        "chargers": (ChargerSettings(identity=IDENTITY),),
        "heartbeat_interval_s": 1,
        "stale_after_s": 3.0,
        "response_timeout_s": 5.0,
    }
    return CsmsSettings(**(fields | overrides))


def peer_args(
    csms: Csms, version: str, *extra: str, identity: str = IDENTITY, scheme: str = "ws"
) -> list[str]:
    """The simulated charge point's command line for ``csms``."""
    url = f"{scheme}://127.0.0.1:{csms.port}/{identity}"
    return ["--url", url, "--version", version, *extra]


async def until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Return once ``condition()`` holds; AssertionError after ``timeout_s``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
