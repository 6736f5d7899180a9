"""Runs :mod:`hems.simulation.protocols.sunspec_server` as a separate process on a free
127.0.0.1 port and talks to its stdin/stdout (commands, physics state). Used by the
``test_sunspec_*`` modules."""

from __future__ import annotations

import json
import queue
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

SERVER = "hems.simulation.protocols.sunspec_server"
START_TIMEOUT_S = 20.0


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class SunSpecPeer:
    """One server process; ``args`` are its command-line options (``--pv``...)."""

    def __init__(self, *args: str, port: int | None = None):
        self.args = args
        self.port = port if port is not None else free_port()
        self._proc: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str] = queue.Queue()
        self._pump_thread = threading.Thread()

    def start(self) -> SunSpecPeer:
        self._lines = queue.Queue()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", SERVER, "--port", str(self.port), *self.args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._pump_thread = threading.Thread(target=self._pump, args=(self._proc,), daemon=True)
        self._pump_thread.start()
        line = self._line()
        if line != "ready":
            self.stop()
            raise RuntimeError(f"the SunSpec server did not start: {line!r}")
        return self

    def _pump(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self._lines.put(line.strip())
        self._lines.put("")  # EOF

    def _line(self) -> str:
        try:
            return self._lines.get(timeout=START_TIMEOUT_S)
        except queue.Empty:
            return "<no answer>"

    def send(self, command: str) -> None:
        """A command on the server's stdin (see the server's docstring)."""
        assert self._proc is not None
        assert self._proc.stdin is not None
        self._proc.stdin.write(command + "\n")
        self._proc.stdin.flush()

    def state(self) -> dict[str, Any]:
        """The server's physics now."""
        self.send("state")
        state: dict[str, Any] = json.loads(self._line())
        return state

    def stop(self) -> None:
        """Kill the process (a device that goes away)."""
        if self._proc is None:
            return
        self._proc.kill()
        self._proc.wait(timeout=10)
        self._pump_thread.join(timeout=10)  # it ends at the pipe's EOF
        for stream in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
            if stream is not None:
                stream.close()
        self._proc = None


@contextmanager
def running_peer(*args: str) -> Iterator[SunSpecPeer]:
    """A started server, stopped afterwards."""
    peer = SunSpecPeer(*args).start()
    try:
        yield peer
    finally:
        peer.stop()
