"""The demo DSRSP as a child process of ``hems run --demo``.

The demo VTN is openleadr's server, whose XML parsing this project does not control; in the
service's own process one hostile request that crashed libxml2 took the API, the planner and
dispatch down with it. As a child (``hems dsrsp-sim --supervised``, same Python) a crash costs
only the VTN: the service logs it and carries on, and its VEN sees a DSRSP that went away, as it
would with any other. The child stops when its stdin closes, so it never outlives the service,
even one killed with SIGKILL (the kernel closes the pipe).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from hems.dsrsp_sim import vtn_url

log = logging.getLogger(__name__)

READY_LINE = b"ready"
"""What the supervised child writes on its stdout once it listens."""


class DsrspStartError(RuntimeError):
    """The demo DSRSP did not come up (port in use, openleadr missing, too slow)."""


@dataclass
class DemoDsrspProcess:
    """Runs, watches and stops ``hems dsrsp-sim`` in a child process.

    Attributes:
        port: the child's port on 127.0.0.1.
        console_port: its console page's port on 127.0.0.1 (None: no console).
        state_dir: where it keeps its registrations and events (None: the child's default).
        event_after_s: delay from a VEN's registration to its event [s].
        start_timeout_s: how long :meth:`start` waits for the child to listen [s].
        stop_timeout_s: how long :meth:`stop` waits for a clean exit before SIGTERM, then
            again before SIGKILL [s].
    """

    port: int = 8081
    event_after_s: float = 180.0
    console_port: int | None = None
    state_dir: Path | None = None
    start_timeout_s: float = 60.0
    stop_timeout_s: float = 5.0
    _proc: asyncio.subprocess.Process | None = None
    _watcher: asyncio.Task[None] | None = None
    _stopping: bool = False
    _exit_code: int | None = None

    @property
    def url(self) -> str:
        return vtn_url(self.port)

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs."""
        return self._proc.pid if self._proc is not None and self._exit_code is None else None

    @property
    def console_url(self) -> str | None:
        return None if self.console_port is None else f"http://127.0.0.1:{self.console_port}/"

    def command(self) -> list[str]:
        command = [sys.executable, "-m", "hems.cli", "dsrsp-sim", "--supervised"]
        command += ["--port", str(self.port), "--event-after-s", str(self.event_after_s)]
        command += ["--console-port", str(self.console_port or 0)]
        if self.state_dir is not None:
            command += ["--state-dir", str(self.state_dir)]
        return command

    async def start(self) -> None:
        """Start the child and wait (bounded) until it listens. A child that does not come up
        is logged and stopped; the service runs on without a DSRSP (its VEN keeps retrying)."""
        try:
            await self._start()
        except DsrspStartError as exc:
            log.error("demo DSRSP not started: %s; the service runs without it", exc)

    async def _start(self) -> None:
        proc = await asyncio.create_subprocess_exec(
            *self.command(),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,  # the ready line; its logs go to our stderr
        )
        try:
            await asyncio.wait_for(_until_ready(proc), self.start_timeout_s)
        except (TimeoutError, DsrspStartError) as exc:
            await _end(proc, self.stop_timeout_s)
            reason = str(exc) or f"not listening after {self.start_timeout_s:.0f} s"
            raise DsrspStartError(reason) from None
        self._proc = proc
        self._watcher = asyncio.create_task(self._watch(proc), name="demo-dsrsp-watch")
        log.info("demo DSRSP (pid %d) listening on %s", proc.pid, self.url)

    async def _watch(self, proc: asyncio.subprocess.Process) -> None:
        """Drain the child's stdout (so it never blocks on a full pipe) and log its death."""
        assert proc.stdout is not None
        while await proc.stdout.readline():
            pass
        code = self._exit_code = await proc.wait()
        if not self._stopping:
            log.error(
                "demo DSRSP (pid %d) %s; the service carries on without it",
                proc.pid,
                _exit_reason(code),
            )

    async def stop(self) -> None:
        """Close the child's stdin (it stops), then SIGTERM, then SIGKILL, each bounded."""
        self._stopping = True
        if self._proc is None:
            return
        await _end(self._proc, self.stop_timeout_s)
        if self._watcher is not None:
            await self._watcher


async def _until_ready(proc: asyncio.subprocess.Process) -> None:
    assert proc.stdout is not None
    while True:
        line = await proc.stdout.readline()
        if not line:
            code = await proc.wait()
            raise DsrspStartError(f"{_exit_reason(code)} before listening (see its log)")
        if line.strip() == READY_LINE:
            return


async def _end(proc: asyncio.subprocess.Process, timeout_s: float) -> None:
    if proc.stdin is not None:
        proc.stdin.close()
    for signal_next in (proc.terminate, proc.kill):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), timeout_s)
            return
        with contextlib.suppress(ProcessLookupError):
            signal_next()
    await proc.wait()


def _exit_reason(code: int) -> str:
    return f"killed by signal {-code}" if code < 0 else f"exited with status {code}"
