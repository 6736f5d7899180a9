"""The peers of the ``test_mqtt_*`` modules, each a separate process on 127.0.0.1: a real
Mosquitto broker (Debian's ``mosquitto``) with a generated configuration (a TLS listener with a
run-time CA and server certificate, a password file made with ``mosquitto_passwd -b``, the ACL
``adapters.devices.mqtt.mosquitto_acl`` writes), and the simulated heat pump
(:mod:`hems.simulation.protocols.mqtt_heat_pump`)."""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import queue
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from adapters.devices.driver import DeviceState, DeviceUnavailableError
from adapters.devices.mqtt import (
    BrokerSettings,
    DeviceCredentials,
    MqttDeviceDriver,
    mosquitto_acl,
)
from tests.adapters.devices.certs import make_pki
from tests.adapters.devices.sunspec_peer import free_port

MOSQUITTO = Path("/usr/sbin/mosquitto")
HEAT_PUMP = "hems.simulation.protocols.mqtt_heat_pump"
HOME = "home1"
CEM_USER, CEM_PASSWORD = "cem-home1", "cem-secret-0123456789"
# device id -> (user, password): each device has credentials of its own
DEVICES = {
    "hp1": ("hp1-user", "hp1-secret-0123456789"),
    "hp2": ("hp2-user", "hp2-secret-0123456789"),
}
START_TIMEOUT_S = 20.0


def need_mosquitto() -> None:
    if not MOSQUITTO.exists():
        if os.environ.get("HEMS_REQUIRE_MOSQUITTO") == "1":
            pytest.fail(f"{MOSQUITTO} is missing and HEMS_REQUIRE_MOSQUITTO=1")
        pytest.skip("Debian's mosquitto is not installed (.ci/run installs it)")


@dataclass
class Broker:
    """A Mosquitto process; ``stop()`` and ``start()`` again on the same port."""

    directory: Path
    port: int = field(default_factory=free_port)
    cert_port: int = field(default_factory=free_port)  # a listener that wants client certs
    proc: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.pki = make_pki(self.directory, (CEM_USER,))
        passwd = self.directory / "passwd"
        passwd.touch(mode=0o600)
        users = [(CEM_USER, CEM_PASSWORD), *DEVICES.values()]
        for user, password in users:
            subprocess.run(
                [
                    shutil.which("mosquitto_passwd") or "mosquitto_passwd",
                    "-b",
                    str(passwd),
                    user,
                    password,
                ],
                check=True,
                capture_output=True,
            )
        acl = mosquitto_acl(
            HOME, CEM_USER, [DeviceCredentials(user, dev) for dev, (user, _) in DEVICES.items()]
        )
        (self.directory / "acl").write_text(acl)
        self.log = self.directory / "mosquitto.log"
        (self.directory / "mosquitto.conf").write_text(
            "\n".join(
                [
                    "per_listener_settings false",
                    "allow_anonymous false",
                    f"password_file {passwd}",
                    f"acl_file {self.directory / 'acl'}",
                    "persistence false",
                    "set_tcp_nodelay true",
                    f"user {pwd.getpwuid(os.getuid()).pw_name}",
                    f"log_dest file {self.log}",
                    "log_type error",
                    "log_type warning",
                    "log_type notice",
                    "log_type information",
                    f"listener {self.port} 127.0.0.1",
                    f"cafile {self.pki.ca_file}",
                    f"certfile {self.pki.server_cert}",
                    f"keyfile {self.pki.server_key}",
                    f"listener {self.cert_port} 127.0.0.1",
                    f"cafile {self.pki.ca_file}",
                    f"certfile {self.pki.server_cert}",
                    f"keyfile {self.pki.server_key}",
                    "require_certificate true",
                    "",
                ]
            )
        )

    def settings(self, **changes: Any) -> BrokerSettings:
        base: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.port,
            "home": HOME,
            "username": CEM_USER,
            "password": CEM_PASSWORD,
            "ca_file": self.pki.ca_file,
            "reconnect_min_s": 0.1,
            "reconnect_max_s": 0.5,
            "connect_timeout_s": 5.0,
        }
        return BrokerSettings(**(base | changes))

    def start(self) -> Broker:
        self.proc = subprocess.Popen(
            [str(MOSQUITTO), "-c", str(self.directory / "mosquitto.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                log = self.log.read_text() if self.log.exists() else ""
                raise RuntimeError(f"mosquitto exited: {err}{log}")
            try:
                for port in (self.port, self.cert_port):
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        pass
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("mosquitto did not open its port")

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        self.proc = None


class HeatPumpProcess:
    """The simulated heat pump as a separate process, talked to over stdin/stdout."""

    def __init__(self, broker: Broker, device: str = "hp1", *args: str) -> None:
        user, password = DEVICES[device]
        self.command = [
            sys.executable, "-m", HEAT_PUMP, "--port", str(broker.port),
            "--ca", str(broker.pki.ca_file), "--username", user, "--password", password,
            "--home", HOME, "--device", device, *args,
        ]  # fmt: skip
        self._proc: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str] = queue.Queue()

    def start(self) -> HeatPumpProcess:
        self._lines = queue.Queue()
        self._proc = subprocess.Popen(
            self.command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        threading.Thread(target=self._pump, args=(self._proc,), daemon=True).start()
        line = self._line()
        if line != "ready":
            self.kill()
            raise RuntimeError(f"the heat pump did not start: {line!r}")
        return self

    def _pump(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self._lines.put(line.strip())
        self._lines.put("")

    def _line(self) -> str:
        try:
            return self._lines.get(timeout=START_TIMEOUT_S)
        except queue.Empty:
            return "<no answer>"

    def state(self) -> dict[str, Any]:
        """The heat pump's physics and mode now."""
        assert self._proc is not None
        assert self._proc.stdin is not None
        self._proc.stdin.write("state\n")
        self._proc.stdin.flush()
        state: dict[str, Any] = json.loads(self._line())
        return state

    def wait_for(self, check: Any, timeout_s: float = 10.0) -> dict[str, Any]:
        """Poll ``state()`` until ``check(state)``; the last state for the assertion message."""
        deadline = time.monotonic() + timeout_s
        while True:
            state = self.state()
            if check(state) or time.monotonic() > deadline:
                return state
            time.sleep(0.05)

    def kill(self) -> None:
        """Kill the process: its connection drops and the broker publishes its last will."""
        if self._proc is None:
            return
        self._proc.kill()
        self._proc.wait(timeout=10)
        for stream in (self._proc.stdin, self._proc.stdout):
            if stream is not None:
                stream.close()
        self._proc = None


def running_broker(directory: Path) -> Iterator[Broker]:
    """A started broker (for a fixture), stopped afterwards."""
    need_mosquitto()
    broker = Broker(directory).start()
    try:
        yield broker
    finally:
        broker.stop()


@contextmanager
def running_heat_pump(broker: Broker, device: str = "hp1", *args: str) -> Iterator[HeatPumpProcess]:
    """A started heat pump process, killed afterwards."""
    pump = HeatPumpProcess(broker, device, *args).start()
    try:
        yield pump
    finally:
        pump.kill()


async def fresh_state(driver: MqttDeviceDriver, timeout_s: float = 10.0) -> DeviceState:
    """The driver's state once the device has published one (it may not have yet)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return await driver.read_state()
        except DeviceUnavailableError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)
