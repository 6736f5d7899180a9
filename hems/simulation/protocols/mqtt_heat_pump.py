"""A simulated heat pump on MQTT, run as a separate process by the demo and the ``test_mqtt_*``
modules.

It speaks the CEM's topic scheme (docs/devices.md, "MQTT") as a device would: ``online`` on its
availability topic with ``offline`` as its last will, its ``capabilities`` (retained: its
maximum power and phases); it follows setpoints (or SG-Ready states)
and acknowledges each by its sequence number, refusing a power outside 0..max; it publishes its
state (retained) every tick with simple physics (the power ramps to its target, the house
warms with the heat pump's heat and cools to the outside); while the CEM is offline (its will)
or the broker is gone, or the last setpoint's ``hold_s`` has run out, it follows the retained
plan's steps, and after the plan's end or with no plan, its own thermostat.

stdin commands: ``state`` prints the physics as one JSON line; ``quit`` ends it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import ssl
import sys
import time
from datetime import UTC, datetime
from typing import Any

import aiomqtt

RAMP_KW_PER_S = 20.0
COP = 3.0
HEAT_CAPACITY_KWH_PER_K = 0.05  # a small house on a fast clock, so the tests see it move
LOSS_KW_PER_K = 0.2
OUTSIDE_C = 5.0
THERMOSTAT_SET_C = 20.0
SG_READY_POWER = {1: 0.0, 3: 0.7, 4: 1.0}  # fraction of max; 2: its own thermostat


class HeatPump:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        root = f"cem/{args.home}/{args.device}"
        self.t = {
            leaf: f"{root}/{leaf}"
            for leaf in (
                "state",
                "ack",
                "availability",
                "capabilities",
                "setpoint",
                "sg_ready",
                "plan",
            )
        }
        self.cem_availability = f"cem/{args.home}/availability"
        self.power_kw = 0.0
        self.temperature_c = 19.0
        self.setpoint_kw: float | None = None  # None: own thermostat
        self.setpoint_until_s = 0.0  # monotonic: the setpoint's hold_s from its receipt
        self.plan: dict[str, Any] | None = None
        self.cem_online = False
        self.connected = False
        self.last_seq: int | None = None
        self.mode = "own"
        self.client: aiomqtt.Client | None = None

    def own_kw(self) -> float:
        return self.args.max_power_kw if self.temperature_c < THERMOSTAT_SET_C else 0.0

    def target_kw(self) -> float:
        held = time.monotonic() < self.setpoint_until_s
        if self.cem_online and self.connected and (held or self.setpoint_kw is None):
            self.mode = "setpoint" if self.setpoint_kw is not None else "own"
            return self.setpoint_kw if self.setpoint_kw is not None else self.own_kw()
        now = datetime.now(UTC)
        if self.plan is not None and now < datetime.fromisoformat(self.plan["end"]):
            started = [s for s in self.plan["steps"] if datetime.fromisoformat(s["start"]) <= now]
            if started:
                self.mode = "plan"
                return float(started[-1]["power_kw"])
        self.mode = "own"  # no plan left: the heat pump's own safe mode
        return self.own_kw()

    def step(self, dt_s: float) -> None:
        target = self.target_kw()
        delta = max(-RAMP_KW_PER_S * dt_s, min(RAMP_KW_PER_S * dt_s, target - self.power_kw))
        self.power_kw += delta
        heat_kw = COP * self.power_kw - LOSS_KW_PER_K * (self.temperature_c - OUTSIDE_C)
        self.temperature_c += heat_kw * dt_s / 3600 / HEAT_CAPACITY_KWH_PER_K

    def snapshot(self) -> dict[str, Any]:
        return {
            "power_kw": round(self.power_kw, 4),
            "temperature_c": round(self.temperature_c, 3),
            "setpoint_kw": self.setpoint_kw,
            "mode": self.mode,
            "cem_online": self.cem_online,
            "connected": self.connected,
            "last_seq": self.last_seq,
            "plan_steps": None if self.plan is None else len(self.plan["steps"]),
        }

    def hold(self, body: dict[str, Any]) -> None:
        hold_s = body.get("hold_s", 900.0)
        self.setpoint_until_s = time.monotonic() + float(hold_s)

    async def ack(self, seq: Any, reason: str | None = None) -> None:
        if self.client is None or not isinstance(seq, int):
            return
        body: dict[str, Any] = {"seq": seq, "accepted": reason is None}
        if reason is not None:
            body["reason"] = reason
        await self.client.publish(self.t["ack"], json.dumps(body), qos=1)

    async def on_message(self, topic: str, raw: bytes) -> None:
        if topic == self.cem_availability:
            self.cem_online = raw == b"online"
            return
        if not raw:
            return
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            return
        seq = body.get("seq")
        if topic == self.t["setpoint"]:
            power = body.get("power_kw")
            if not isinstance(power, int | float) or not 0 <= power <= self.args.max_power_kw:
                await self.ack(seq, f"power {power} kW outside 0..{self.args.max_power_kw}")
                return
            self.setpoint_kw, self.last_seq = float(power), seq
            self.hold(body)
        elif topic == self.t["sg_ready"]:
            state = body.get("state")
            if state not in (1, 2, 3, 4):
                await self.ack(seq, f"SG-Ready state {state!r} is not 1-4")
                return
            fraction = SG_READY_POWER.get(state)
            self.setpoint_kw = None if fraction is None else fraction * self.args.max_power_kw
            self.last_seq = seq
            self.hold(body)
        elif topic == self.t["plan"]:
            self.plan = body
        await self.ack(seq)

    async def physics(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(self.args.tick_s)
            now = time.monotonic()
            self.step(now - last)
            last = now
            if self.client is not None and self.connected:
                state = {
                    "at": datetime.now(UTC).isoformat(),
                    "power_kw": round(self.power_kw, 4),
                    "temperature_c": round(self.temperature_c, 3),
                    "mode": self.mode,
                }
                with contextlib.suppress(aiomqtt.MqttError):
                    await self.client.publish(self.t["state"], json.dumps(state), retain=True)

    async def mqtt(self, ready: asyncio.Event) -> None:
        # without --ca: a broker on the same host without TLS (the service's protocol demo)
        context = ssl.create_default_context(cafile=self.args.ca) if self.args.ca else None
        will = aiomqtt.Will(self.t["availability"], "offline", qos=1, retain=True)
        while True:
            try:
                async with aiomqtt.Client(
                    "127.0.0.1",
                    self.args.port,
                    username=self.args.username,
                    password=self.args.password,
                    identifier=f"device-{self.args.device}",
                    will=will,
                    keepalive=5,
                    tls_context=context,
                    socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
                ) as client:
                    self.client = client
                    await client.subscribe(
                        [
                            (self.t["setpoint"], 1),
                            (self.t["sg_ready"], 1),
                            (self.t["plan"], 1),
                            (self.cem_availability, 1),
                        ]
                    )
                    # what it can do, retained (any text: --capabilities-json, to send garbage)
                    capabilities = self.args.capabilities_json or json.dumps(
                        {"max_power_kw": self.args.max_power_kw, "phases": 1}
                    )
                    await client.publish(self.t["capabilities"], capabilities, qos=1, retain=True)
                    await client.publish(self.t["availability"], "online", qos=1, retain=True)
                    self.connected = True
                    ready.set()
                    async for message in client.messages:
                        payload = message.payload
                        raw = payload if isinstance(payload, bytes) else str(payload).encode()
                        await self.on_message(message.topic.value, raw)
            except aiomqtt.MqttError:
                pass
            self.connected, self.client = False, None
            await asyncio.sleep(0.2)


async def commands(pump: HeatPump) -> None:
    loop = asyncio.get_running_loop()
    while True:
        line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
        if line in ("", "quit"):
            return
        if line == "state":
            print(json.dumps(pump.snapshot()), flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ca")
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--home", required=True)
    parser.add_argument("--device", required=True)
    parser.add_argument("--max-power-kw", type=float, default=3.0)
    parser.add_argument("--capabilities-json", default=None)
    parser.add_argument("--tick-s", type=float, default=0.1)
    pump = HeatPump(parser.parse_args())
    ready = asyncio.Event()
    tasks = [asyncio.create_task(pump.mqtt(ready)), asyncio.create_task(pump.physics())]
    await ready.wait()
    print("ready", flush=True)
    await commands(pump)
    for task in tasks:
        task.cancel()


if __name__ == "__main__":
    asyncio.run(main())
