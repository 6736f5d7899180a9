"""A simulated EV charge point with a car, run as its own process by the demo and the OCPP
tests.

Written with the ``ocpp`` library, as a charger's firmware would be: it connects to the CSMS
(ws:// or wss://, basic auth and/or a client certificate), boots, reports plug state,
transactions and meter values (power, energy, SoC), takes charging profiles and remote starts,
and follows the effective profile's schedule on its own clock, connected or not (it reconnects
every ``--retry-s`` while the CSMS is away). The car draws the limit, up to its own maximum,
and its SoC rises with the energy it takes.

Control: one command a line on stdin: ``plug``, ``unplug``, ``drop`` (close the connection
and stay offline), ``online`` (connect again), ``garbage`` (send a malformed frame),
``unknown`` (call an action no CSMS knows), ``badpayload`` (a call that fails the OCPP
schema), ``fault`` / ``recover`` (the connector reports a fault / its plug state again),
``quit``. Events: one JSON object a line on
stdout (``connected``, ``refused``, ``booted``, ``profile``, ``remote_start``, ``tick``,
``call_error``, ``disconnected``).

    python -m hems.simulation.protocols.ocpp_charge_point --url ws://127.0.0.1:9000/CP-1 \
        --version 1.6
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import ssl
import sys
import threading
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from hems.simulation.protocols.ocpp_car import TICK_S, Car, emit
from hems.simulation.protocols.ocpp_stations import Station16, Station201


def client_ssl(args: argparse.Namespace) -> ssl.SSLContext | None:
    if not args.url.startswith("wss://"):
        return None
    context = ssl.create_default_context(cafile=args.ca)
    if args.cert:
        context.load_cert_chain(args.cert, args.key)
    return context


class Simulator:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.car = Car(args=args, plugged=args.plugged, soc=args.soc)
        self.station: Station16 | Station201 | None = None
        self.online = asyncio.Event()
        self.online.set()
        self.connection: Any = None

    async def run(self) -> None:
        """Until ``quit`` or the end of stdin."""
        lines: asyncio.Queue[str] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def read_stdin() -> None:
            for line in sys.stdin:
                loop.call_soon_threadsafe(lines.put_nowait, line.strip())
            loop.call_soon_threadsafe(lines.put_nowait, "quit")

        threading.Thread(target=read_stdin, daemon=True).start()
        tasks = [
            asyncio.create_task(self.physics()),
            asyncio.create_task(self.connect_forever()),
        ]
        try:
            await self.commands(lines)
        finally:
            if self.connection is not None:
                await self.connection.close()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def physics(self) -> None:
        since_tick = 0.0
        while True:
            await asyncio.sleep(TICK_S)
            self.car.step(TICK_S)
            since_tick += TICK_S
            if since_tick >= self.args.meter_interval_s - 1e-9:
                since_tick = 0.0
                emit(
                    "tick",
                    limit_kw=round(self.car.limit_kw(), 3),
                    power_kw=round(self.car.power_kw, 3),
                    soc=round(self.car.soc, 6),
                    connected=self.car.connected,
                    transaction=self.car.transaction_id,
                )

    async def commands(self, lines: asyncio.Queue[str]) -> None:
        while (line := await lines.get()) != "quit":
            try:
                await self.command(line)
            except (ConnectionClosed, TimeoutError, OSError) as error:
                emit("command_failed", command=line, error=str(error))

    async def command(self, line: str) -> None:
        station = self.station
        if line == "plug":
            self.car.plugged = True
            if station and self.car.connected:
                await station.report_plug()
                if self.args.auto_start:
                    await (
                        station.start_transaction(self.args.id_tag)
                        if isinstance(station, Station16)
                        else station.start_transaction("CablePluggedIn", None)
                    )
            elif self.args.auto_start:
                self.car.transaction_id = "offline"
        elif line == "unplug":
            self.car.plugged = False
            if station and self.car.connected:
                await station.stop_transaction()
                await station.report_plug()
            else:
                self.car.transaction_id = None
                self.car.tx_profile = None
        elif line == "drop":
            self.online.clear()
            if self.connection is not None:
                await self.connection.close()
        elif line == "online":
            self.online.set()
        elif line == "garbage" and self.connection is not None:
            await self.connection.send('{"this is": not an OCPP frame')
        elif line == "fault" and station is not None:
            await station.report_fault()
        elif line == "recover" and station is not None:
            await station.report_plug()
        elif line == "badpayload" and self.connection is not None:
            frame = [2, "b-1", "StatusNotification", {"connectorId": "one"}]
            await self.connection.send(json.dumps(frame))
        elif line == "unknown" and self.connection is not None:
            await self.connection.send(json.dumps([2, "u-1", "FrobnicateWidget", {}]))

    async def connect_forever(self) -> None:
        args = self.args
        headers = {}
        if args.password:
            token = base64.b64encode(f"{args.identity}:{args.password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        while True:
            await self.online.wait()
            try:
                async with connect(
                    args.url,
                    subprotocols=[Subprotocol(f"ocpp{args.version}")],
                    additional_headers=headers,
                    ssl=client_ssl(args),
                    open_timeout=5,
                ) as connection:
                    self.connection = connection
                    await self.session(connection)
            except InvalidStatus as refused:
                emit("refused", status=refused.response.status_code)
            except Exception as error:  # a charger retries whatever went wrong
                emit("connect_failed", error=f"{type(error).__name__}: {error}")
            finally:
                self.connection = None
                if self.car.connected:
                    self.car.connected = False
                    emit("disconnected")
            if self.car.stay_offline:
                self.car.stay_offline = False
                self.online.clear()
            await asyncio.sleep(args.retry_s)

    async def session(self, connection: Any) -> None:
        kind = Station16 if self.args.version == "1.6" else Station201
        station = kind(self.args.identity, connection, self.car)
        self.station = station
        self.car.connected = True
        emit("connected", subprotocol=connection.subprotocol)
        serving = asyncio.create_task(station.start())
        try:
            interval = await station.boot()
            if self.car.plugged and self.car.transaction_id in (None, "offline"):
                self.car.transaction_id = None
                if self.args.auto_start:
                    await (
                        station.start_transaction(self.args.id_tag)
                        if isinstance(station, Station16)
                        else station.start_transaction("CablePluggedIn", None)
                    )
            beat = asyncio.create_task(self.beat(station, interval))
            try:
                await serving
            finally:
                beat.cancel()
        finally:
            serving.cancel()
            await asyncio.gather(serving, return_exceptions=True)

    async def beat(self, station: Station16 | Station201, interval_s: int) -> None:
        since_heartbeat = 0.0
        while True:
            await asyncio.sleep(self.args.meter_interval_s)
            since_heartbeat += self.args.meter_interval_s
            await station.meter()
            if since_heartbeat >= interval_s:
                since_heartbeat = 0.0
                await station.heartbeat()


def options(argv: list[str] | None = None) -> argparse.Namespace:
    """The simulator's options from ``argv`` (None: the command line), with its identity."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--version", choices=("1.6", "2.0.1"), default="1.6")
    parser.add_argument("--password")
    parser.add_argument("--ca")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--plugged", action="store_true")
    parser.add_argument("--no-auto-start", dest="auto_start", action="store_false")
    parser.add_argument("--reject-profiles", action="store_true")
    parser.add_argument("--on-profile", choices=("answer", "ignore", "drop"), default="answer")
    parser.add_argument("--soc", type=float, default=0.5)
    parser.add_argument("--capacity-kwh", type=float, default=60.0)
    parser.add_argument("--car-max-kw", type=float, default=7.4)
    parser.add_argument("--rated-kw", type=float, default=7.4)
    parser.add_argument("--voltage", type=float, default=230.0)
    parser.add_argument("--phases", type=int, default=1)
    # what the charger reports it can do: 1.6 ConnectorPhaseRotation (default from --phases),
    # 2.0.1 EVSE Power MaxSet [W] (default --rated-kw; any text, to send garbage)
    parser.add_argument("--phase-rotation", default=None)
    parser.add_argument("--reported-power-w", default=None)
    parser.add_argument("--meter-interval-s", type=float, default=0.5)
    parser.add_argument("--retry-s", type=float, default=0.3)
    parser.add_argument("--id-tag", default="SIM-TAG")
    args = parser.parse_args(argv)
    args.identity = args.url.rstrip("/").rsplit("/", 1)[-1]
    return args


def main() -> None:
    args = options()
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        asyncio.run(Simulator(args).run())


if __name__ == "__main__":
    main()
