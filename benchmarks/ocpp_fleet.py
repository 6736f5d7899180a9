"""Many simulated charge points in one process, for the device fleet benchmark
(``bench_device_fleet``): each is the simulated charge point (``ocpp_charge_point.Simulator``, a
car plugged in, its own WebSocket connection and OCPP session to the CSMS), so a hundred need
a few processes, not a hundred.

Run: ``python -m benchmarks.ocpp_fleet --csms ws://127.0.0.1:9000 --first 0 --count 50``
(identities ``CP-<n>``); runs until killed.
"""

from __future__ import annotations

import argparse
import asyncio

from hems.simulation.protocols.ocpp_charge_point import Simulator, options


def charge_point_args(url: str, version: str, meter_interval_s: float) -> argparse.Namespace:
    """The simulator's options as its command line gives them (a car at 50 % plugged in), so
    an option it gains is never missing here."""
    return options(
        ["--url", url, "--version", version, "--plugged", "--soc", "0.5", "--retry-s", "1",
         "--meter-interval-s", str(meter_interval_s)]
    )  # fmt: skip


async def run(args: argparse.Namespace) -> None:
    tasks = []
    for n in range(args.first, args.first + args.count):
        version = "2.0.1" if n % 2 else "1.6"
        sim = Simulator(charge_point_args(f"{args.csms}/CP-{n}", version, args.meter_interval_s))
        tasks += [asyncio.create_task(sim.physics()), asyncio.create_task(sim.connect_forever())]
    await asyncio.gather(*tasks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--csms", required=True, help="ws://host:port of the CSMS")
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--meter-interval-s", type=float, default=10.0)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
