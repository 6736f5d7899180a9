"""The CEM's MQTT side in a process of its own, for the test of its last will: it connects,
sets the heat pump ``hp1`` to ``--setpoint-kw``, leaves a plan (``--plan``: JSON of [seconds
from now, kW] pairs, ending ``--end-s`` from now), prints ``ready`` and waits to be killed."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.devices.driver import Setpoint
from adapters.devices.mqtt import BrokerSettings, MqttCem, MqttDeviceDriver, PlanStep


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ca", type=Path, required=True)
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--setpoint-kw", type=float, required=True)
    parser.add_argument("--plan", required=True)
    parser.add_argument("--end-s", type=float, required=True)
    args = parser.parse_args()
    settings = BrokerSettings(
        host="127.0.0.1",
        port=args.port,
        home="home1",
        username=args.username,
        password=args.password,
        ca_file=args.ca,
    )
    async with MqttCem(settings) as cem:
        driver = MqttDeviceDriver("heat pump", cem, "hp1")
        now = datetime.now(UTC)
        steps = [PlanStep(now + timedelta(seconds=s), kw) for s, kw in json.loads(args.plan)]
        await driver.apply(Setpoint(power_kw=args.setpoint_kw))
        await driver.send_plan(steps, now + timedelta(seconds=args.end_s))
        print("ready", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
