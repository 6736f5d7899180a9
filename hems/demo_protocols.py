"""``hems run --demo --devices protocols``: the demo home's EV, battery and PV behind their real
protocols, so a newcomer sees the whole path from plan to device.

The service starts three simulators as child processes on free 127.0.0.1 ports, and drives
them through the same drivers and settings a real home uses (:mod:`hems.device_runtime`):

* a charge point with a car (OCPP 2.0.1 to the service's CSMS, basic auth with a password made
  at this start), plugged in, charging to the profiles the plan sends;
* a SunSpec battery inverter (Modbus TCP, models 1, 103, 121, 124) with battery physics;
* a SunSpec PV inverter (models 1, 103, 121, 123) generating a fixed 1.5 kW unless capped.

* with Debian's ``mosquitto`` installed, a Mosquitto broker (loopback only, no TLS, a user and
  password each for the CEM and the heat pump, the ACL of
  :func:`adapters.devices.mqtt.mosquitto_acl`) and a heat pump on it; without it the heat
  pump stays simulated in the service's process.

The simulators are :mod:`hems.simulation.protocols` (the device tests run the same ones as the
drivers' peers), run with ``python -m``: nothing of the test suite is needed. Their output goes
to ``<state_dir>/demo-devices/``. They stop with the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import secrets
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from adapters.devices.mqtt import DeviceCredentials, mosquitto_acl
from hems.domain.connections import (
    DeviceSettings,
    HomeDevices,
    ModbusConnection,
    MqttBroker,
    MqttConnection,
    OcppConnection,
)
from hems.settings import Settings

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
SIMULATORS = "hems.simulation.protocols"
"""The simulators' package; each runs as ``python -m SIMULATORS.<module>``."""
CHARGER = "DEMO-CP-1"
MOSQUITTO = Path("/usr/sbin/mosquitto")
MQTT_HOME, HEAT_PUMP = "demo", "hp1"
CEM_USER, HEAT_PUMP_USER = "cem-demo", "hp1-demo"
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 5.0


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class DemoProtocols:
    """The demo's device simulators: their ports, the charger's password, their processes."""

    log_dir: Path
    csms_port: int = field(default_factory=free_port)
    battery_port: int = field(default_factory=free_port)
    pv_port: int = field(default_factory=free_port)
    password: str = field(default_factory=lambda: secrets.token_urlsafe(24)[:32], repr=False)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    mqtt: bool = field(default_factory=MOSQUITTO.exists)
    """Whether the heat pump runs over MQTT (Mosquitto is installed)."""
    broker_port: int = field(default_factory=free_port)
    mqtt_passwords: dict[str, str] = field(
        default_factory=lambda: {u: secrets.token_urlsafe(18) for u in (CEM_USER, HEAT_PUMP_USER)},
        repr=False,
    )

    @classmethod
    def prepare(cls, settings: Settings) -> DemoProtocols:
        """Ports and a password for this start."""
        return cls(log_dir=settings.state_dir / "demo-devices")

    def home_devices(self) -> HomeDevices:
        """The demo home's EV, battery and PV, each at its simulator."""
        return HomeDevices(
            devices={
                "EV": OcppConnection(identity=CHARGER, password=SecretStr(self.password)),
                "Battery": ModbusConnection(
                    role="battery", host="127.0.0.1", port=self.battery_port
                ),
                "PV": ModbusConnection(role="pv", host="127.0.0.1", port=self.pv_port),
                **self._mqtt_devices(),
            }
        )

    def _mqtt_devices(self) -> dict[str, MqttConnection]:
        return (
            {"Heat pump": MqttConnection(broker=MQTT_HOME, device_id=HEAT_PUMP)}
            if self.mqtt
            else {}
        )

    def brokers(self) -> dict[str, MqttBroker]:
        """The demo's broker, when it runs one."""
        if not self.mqtt:
            return {}
        broker = MqttBroker(
            host="127.0.0.1",
            port=self.broker_port,
            home=MQTT_HOME,
            username=CEM_USER,
            password=SecretStr(self.mqtt_passwords[CEM_USER]),
            tls=False,  # loopback only
        )
        return {MQTT_HOME: broker}

    def with_devices(self, settings: Settings, serial: str) -> Settings:
        """``settings`` with the demo home's devices at the simulators and the CSMS on its
        port (the rest of ``[devices]`` kept)."""
        base = settings.devices
        devices = DeviceSettings(
            ocpp=base.ocpp.model_copy(update={"host": "127.0.0.1", "port": self.csms_port}),
            brokers={**base.brokers, **self.brokers()},
            homes={**base.homes, serial: self.home_devices()},
        )
        return settings.model_copy(update={"devices": devices})

    async def start(self) -> None:
        """Start the simulators (the inverters answer before this returns; the charge point
        connects to the CSMS by itself, retrying until it listens)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if self.mqtt:
            await self._start_mqtt()
        for name, args in (
            ("battery", ["--port", str(self.battery_port), "--soc", "0.5", "--load-w", "400"]),
            ("pv", ["--port", str(self.pv_port), "--pv", "--pv-w", "1500", "--load-w", "0"]),
        ):
            process = self._spawn(name, ["-m", f"{SIMULATORS}.sunspec_server", *args])
            await self._ready(name, process)
        url = f"ws://127.0.0.1:{self.csms_port}/{CHARGER}"
        self._spawn(
            "charge-point",
            ["-m", f"{SIMULATORS}.ocpp_charge_point", "--url", url, "--version",
             "2.0.1", "--password", self.password, "--plugged", "--soc", "0.4",
             "--meter-interval-s", "5", "--retry-s", "2"],
            stdout_to_log=True,
        )  # fmt: skip
        log.info("demo devices: charge point, battery and PV simulators started (%s)", self.log_dir)

    async def _start_mqtt(self) -> None:
        """The broker, then the heat pump on it (it says ``ready`` once connected)."""
        folder = self.log_dir / "mosquitto"
        folder.mkdir(exist_ok=True)
        passwd = folder / "passwd"
        passwd.unlink(missing_ok=True)
        passwd.touch(mode=0o600)
        for user, password in self.mqtt_passwords.items():
            subprocess.run(
                ["mosquitto_passwd", "-b", str(passwd), user, password],
                check=True,
                capture_output=True,
            )
        acl = mosquitto_acl(MQTT_HOME, CEM_USER, [DeviceCredentials(HEAT_PUMP_USER, HEAT_PUMP)])
        (folder / "acl").write_text(acl)
        (folder / "mosquitto.conf").write_text(
            f"listener {self.broker_port} 127.0.0.1\nallow_anonymous false\n"
            f"password_file {passwd}\nacl_file {folder / 'acl'}\npersistence false\n"
            f"set_tcp_nodelay true\nuser {getpass.getuser()}\n"
        )
        self._spawn("mosquitto", [str(folder / "mosquitto.conf")], program=str(MOSQUITTO))
        pump = self._spawn(
            "heat-pump",
            ["-m", f"{SIMULATORS}.mqtt_heat_pump", "--port", str(self.broker_port),
             "--username", HEAT_PUMP_USER, "--password", self.mqtt_passwords[HEAT_PUMP_USER],
             "--home", MQTT_HOME, "--device", HEAT_PUMP, "--tick-s", "1"],
        )  # fmt: skip
        await self._ready("heat pump", pump)

    def _spawn(
        self, name: str, args: list[str], *, stdout_to_log: bool = False, program: str = ""
    ) -> subprocess.Popen[bytes]:
        output = (self.log_dir / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [program or sys.executable, *(["-c"] if program else []), *args],
            cwd=ROOT,
            stdin=subprocess.PIPE,  # EOF on stdin stops the inverters
            stdout=output if stdout_to_log else subprocess.PIPE,
            stderr=output,
        )
        output.close()
        self.processes.append(process)
        return process

    async def _ready(self, name: str, process: subprocess.Popen[bytes]) -> None:
        """Wait for the simulator's ``ready`` line; stop everything if it does not come."""
        assert process.stdout is not None
        try:
            line = await asyncio.wait_for(
                asyncio.to_thread(process.stdout.readline), START_TIMEOUT_S
            )
        except TimeoutError:
            line = b""
        if line.strip() != b"ready":
            await self.stop()
            raise RuntimeError(f"the demo's {name} simulator did not start (see {self.log_dir})")

    async def stop(self) -> None:
        """Stop every simulator (closed stdin, then terminate, then kill)."""
        for process in self.processes:
            if process.stdin is not None:
                with contextlib.suppress(OSError):
                    process.stdin.close()
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                await asyncio.to_thread(process.wait, STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                await asyncio.to_thread(process.wait)
            if process.stdout is not None:
                process.stdout.close()
        self.processes.clear()
