"""A fleet of real-protocol devices on one service: read + apply cycle time.

Run: ``python -m benchmarks.bench_device_fleet [--chargers 70] [--batteries 30] [--cycles 20]``.
Builds the service in this process (the runtime ``hems run`` builds, SQLite in a temporary
folder) with ``--chargers`` homes, each with an EV whose charger is a simulated OCPP charge
point (half 1.6J, half 2.0.1; ``benchmarks.ocpp_fleet``, 50 to a process, each its own
WebSocket session to the service's CSMS), the first ``--batteries`` of them with a battery
behind its own SunSpec Modbus TCP server (``hems.simulation.protocols.sunspec_server``, a
process each).
Then ``--cycles`` times, all homes side by side as the service's cycle runs them: each home's
devices are read through its controller (``read_states``: every device read, telemetry
stored), then every device is sent a new setpoint (alternating 3 / 4 kW for an EV, +-1 kW
for a battery: a charging profile answered by the charger, registers written and read back).
The first cycle includes each SunSpec device's discovery (its model chain read once).
Prints the cycle's median and spread, setpoints not taken, the service's CPU time per cycle
and its resident memory per connected device. Writes ``benchmarks/results/device_fleet.json``.

Fast clock (issue 25: "no missed setpoint in a 30-minute run"): ``--simulated-minutes 30
--speed 4`` runs the service's schedule instead of back-to-back cycles, on a clock ``--speed``
times faster than the wall: every device is sent a setpoint each apply interval (15 s of the
simulated clock, 15 / speed s of the wall) and read each minute. A setpoint is missed when the
device refuses it or does not answer, or when its tick ends after the next one was due (the
service would have sent it late); with the charge points, batteries and service on one machine
the speed at which ticks start to be late is the fleet's headroom. Reports CPU per device per
simulated minute and memory per device; writes ``device_fleet_fast_clock.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.bench_service import free_port
from hems.domain.connections import (
    CsmsServer,
    DeviceConnection,
    DeviceSettings,
    HomeDevices,
    ModbusConnection,
    OcppConnection,
)
from hems.domain.devices import BatterySpec, DeviceSpec, EvChargerSpec
from hems.domain.home import HomeSpec
from hems.runtime import Runtime, build_runtime, start_devices, stop_devices
from hems.settings import Settings
from kernel.devices import DeviceUnavailableError, Setpoint
from tests.adapters.devices.sunspec_peer import SunSpecPeer

RESULTS = Path(__file__).resolve().parent / "results"
PER_FLEET_PROCESS = 50
APPLY_INTERVAL_S = 15.0
"""The service's default ``apply_interval_s``: a setpoint to every device this often."""
READ_EVERY_TICKS = 4
"""Devices read each minute (every fourth apply tick), as the service's cycle does."""


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def home(k: int, battery: bool) -> HomeSpec:
    devices: list[DeviceSpec] = [EvChargerSpec(name="EV", vehicle_capacity_kwh=60)]
    if battery:
        devices.append(
            BatterySpec(name="Battery", capacity_kwh=10, max_charge_kw=5, max_discharge_kw=5)
        )
    return HomeSpec(
        name=f"fleet {k}",
        cem_manufacturer="Bench",
        cem_serial=f"CEM-F{k:03d}",
        latitude=51.5,
        longitude=-0.1,
        region="C",
        devices=devices,
    )


def settings(folder: Path, csms_port: int, battery_ports: list[int], chargers: int) -> Settings:
    homes = {}
    for k in range(chargers):
        connections: dict[str, DeviceConnection] = {"EV": OcppConnection(identity=f"CP-{k}")}
        if k < len(battery_ports):
            connections["Battery"] = ModbusConnection(
                role="battery", host="127.0.0.1", port=battery_ports[k], timeout_s=5.0
            )
        homes[f"CEM-F{k:03d}"] = HomeDevices(devices=connections)
    devices = DeviceSettings(
        ocpp=CsmsServer(port=csms_port, heartbeat_interval_s=300, stale_after_s=600),
        homes=homes,
    )
    return Settings(state_dir=folder, planner_processes=0, device_timeout_s=10.0, devices=devices)


async def cycle(
    runtime: Runtime, homes: list[int], n: int, *, read: bool = True
) -> tuple[float, int]:
    """One read (unless ``read`` is False) + apply pass over every home, side by side; its
    wall time and the setpoints not taken."""
    missed = 0

    async def one(home_id: int) -> None:
        nonlocal missed
        ctl = runtime.service.controller(home_id)
        if read:
            await ctl.read_states()
        for name, driver in ctl.drivers.items():
            power_kw = (3.0 + n % 2) if name == "EV" else (1.0 if n % 2 else -1.0)
            try:
                await asyncio.wait_for(driver.apply(Setpoint(power_kw=power_kw)), 10.0)
            except (DeviceUnavailableError, TimeoutError):
                missed += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(one(h) for h in homes))
    return time.perf_counter() - t0, missed


async def fast_clock(
    runtime: Runtime, homes: list[int], args: argparse.Namespace, devices: int
) -> dict[str, object]:
    """``--simulated-minutes`` of the service's schedule at ``--speed``: a setpoint to every
    device each apply tick, a read each minute; late ticks and refusals are missed setpoints."""
    ticks = round(args.simulated_minutes * 60 / APPLY_INTERVAL_S)
    tick_s = APPLY_INTERVAL_S / args.speed
    walls, missed, late = [], 0, 0
    cpu0, start = time.process_time(), time.perf_counter()
    for n in range(ticks):
        due = start + n * tick_s
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        wall_s, lost = await cycle(runtime, homes, n, read=n % READ_EVERY_TICKS == 0)
        walls.append(wall_s)
        missed += lost
        if time.perf_counter() > due + tick_s:  # the next tick was due before this one ended
            late += 1
    cpu_s = time.process_time() - cpu0
    return {
        "simulated_minutes": args.simulated_minutes,
        "speed": args.speed,
        "ticks": ticks,
        "tick_s": tick_s,
        "ticks_late": late,
        "setpoints_sent": devices * ticks,
        "setpoints_missed": missed + late * devices,
        "tick_median_ms": 1000 * statistics.median(walls),
        "tick_max_ms": 1000 * max(walls),
        "wall_s": time.perf_counter() - start,
        "service_cpu_per_device_per_simulated_minute_ms": 1000
        * cpu_s
        / devices
        / args.simulated_minutes,
    }


async def measure(
    runtime: Runtime, args: argparse.Namespace, fleet: list[str]
) -> dict[str, object]:
    homes = [
        runtime.store.create_home(home(k, k < args.batteries), datetime.now(UTC), "bench")
        for k in range(args.chargers)
    ]
    rss_before = rss_mib()
    await start_devices(runtime)
    try:
        for h in homes:
            runtime.service.controller(h)
        csms = runtime.devices.csms if runtime.devices is not None else None
        assert csms is not None
        with ExitStack() as stack:
            for cmd in fleet:
                proc = subprocess.Popen(
                    cmd.split(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
                stack.callback(proc.kill)
            deadline = time.monotonic() + 300
            ids = [f"CP-{k}" for k in range(args.chargers)]
            while sum(
                csms.link(i) is not None and bool(csms.live(i).plugged_in) for i in ids
            ) < len(ids):
                assert time.monotonic() < deadline, "the charge points did not all connect"
                await asyncio.sleep(0.2)
            await asyncio.sleep(2)
            rss_connected = rss_mib()
            devices = args.chargers + args.batteries
            if args.simulated_minutes:
                result = await fast_clock(runtime, homes, args, devices)
                per_device_kib = 1024 * (rss_connected - rss_before) / devices
                return result | {
                    "devices": devices,
                    "chargers": args.chargers,
                    "batteries": args.batteries,
                    "service_rss_per_device_kib": per_device_kib,
                    "service_rss_mib": rss_mib(),
                }
            times, missed, cpu0 = [], 0, time.process_time()
            for n in range(args.cycles):
                wall_s, lost = await cycle(runtime, homes, n)
                times.append(wall_s)
                missed += lost
            cpu_per_cycle_s = (time.process_time() - cpu0) / args.cycles
    finally:
        await stop_devices(runtime)
        await runtime.service.settle()
    devices = args.chargers + args.batteries
    return {
        "devices": devices,
        "chargers": args.chargers,
        "batteries": args.batteries,
        "cycles": args.cycles,
        "cycle_median_ms": 1000 * statistics.median(times),
        "cycle_min_ms": 1000 * min(times),
        "cycle_max_ms": 1000 * max(times),
        "setpoints_sent": devices * args.cycles,
        "setpoints_missed": missed,
        "service_cpu_per_cycle_ms": 1000 * cpu_per_cycle_s,
        "service_cpu_per_device_per_cycle_ms": 1000 * cpu_per_cycle_s / devices,
        "service_rss_per_device_kib": 1024 * (rss_connected - rss_before) / devices,
        "service_rss_mib": rss_connected,
    }


def run(args: argparse.Namespace) -> dict[str, object]:
    csms_port = free_port()
    url = f"ws://127.0.0.1:{csms_port}"
    fleet = [
        f"{sys.executable} -m benchmarks.ocpp_fleet --csms {url} --first {first} "
        f"--count {min(PER_FLEET_PROCESS, args.chargers - first)}"
        for first in range(0, args.chargers, PER_FLEET_PROCESS)
    ]
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        peers = []
        for _ in range(args.batteries):
            peer = SunSpecPeer("--load-w", "500").start()
            stack.callback(peer.stop)
            peers.append(peer)
        runtime = build_runtime(
            settings(Path(tmp), csms_port, [p.port for p in peers], args.chargers)
        )
        try:
            return asyncio.run(measure(runtime, args, fleet))
        finally:
            runtime.service.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chargers", type=int, default=70)
    parser.add_argument("--batteries", type=int, default=30)
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--simulated-minutes", type=float, default=0.0)
    parser.add_argument("--speed", type=float, default=1.0)
    args = parser.parse_args()
    if args.speed <= 0 or args.simulated_minutes < 0:
        parser.error("--speed must be above 0 and --simulated-minutes at least 0")
    if not 0 <= args.batteries <= args.chargers:
        parser.error("--batteries must be between 0 and --chargers (one home each)")
    result = run(args)
    result |= {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": platform.node(),
        "load_average": os.getloadavg(),
    }
    if args.simulated_minutes:
        print(
            f"{result['devices']} devices, {args.simulated_minutes:g} simulated minutes at "
            f"{args.speed:g}x ({result['ticks']} ticks of {result['tick_s']:.2f} s): setpoints "
            f"missed {result['setpoints_missed']} of {result['setpoints_sent']} "
            f"({result['ticks_late']} ticks late); tick median {result['tick_median_ms']:.0f} "
            f"ms, max {result['tick_max_ms']:.0f}; service CPU "
            f"{result['service_cpu_per_device_per_simulated_minute_ms']:.1f} ms a device a "
            f"simulated minute; memory {result['service_rss_per_device_kib']:.0f} KiB a "
            f"device; load average {result['load_average']}"
        )
        RESULTS.mkdir(exist_ok=True)
        out = RESULTS / "device_fleet_fast_clock.json"
        out.write_text(json.dumps(result, indent=2), encoding="utf-8")
        return
    print(
        f"{result['devices']} devices ({args.chargers} OCPP chargers, {args.batteries} SunSpec "
        f"batteries) on one service: read + apply cycle median {result['cycle_median_ms']:.0f} "
        f"ms (min {result['cycle_min_ms']:.0f}, max {result['cycle_max_ms']:.0f}, "
        f"{args.cycles} cycles); setpoints missed {result['setpoints_missed']} of "
        f"{result['setpoints_sent']}; service CPU {result['service_cpu_per_cycle_ms']:.0f} ms a "
        f"cycle; memory {result['service_rss_per_device_kib']:.0f} KiB a device; load average "
        f"{result['load_average']}"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "device_fleet.json").write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
