"""A simulated home battery behind an S2 resource manager written with s2-python (its
ResourceManagerHandler, FRBCControlType and S2AsyncConnection), run as a separate process by
the S2 tests (``python -m tests.adapters.devices.s2_resource_manager --url ...``).

It connects to the CEM (reconnecting after a drop until told to quit), offers FRBC with three
operation modes (charge 0..max, idle, discharge -max..0, in W), carries out FRBC.Instructions
at their execution times on its own clock, and every tick integrates its SoC from its power and
reports a PowerMeasurement and an FRBC.StorageStatus (fill level in %). When the connection
ends, s2-python deactivates the control type: the battery drops the instructions still to come
and falls back to its own mode (idle, 0 kW).

Events, one JSON object a line on stdout: connected, activated, instruction (received),
started (carried out: the instruction's execution time and the clock's), revoked, tick (power,
soc), deactivated, disconnected. Commands on stdin: ``drop`` (close the connection; it
reconnects), ``reject`` (reject the following instructions), ``mute`` (leave the following
instructions unanswered), ``normal``, ``quit``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import ssl
import sys
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from s2python.common import (
    Commodity,
    CommodityQuantity,
    Duration,
    InstructionStatus,
    InstructionStatusUpdate,
    NumberRange,
    PowerMeasurement,
    PowerRange,
    PowerValue,
    ReceptionStatusValues,
    RevokeObject,
    Role,
    RoleType,
)
from s2python.connection.asset_details import AssetDetails
from s2python.connection.async_.connection import S2AsyncConnection
from s2python.connection.async_.control_type.class_based import (
    FRBCControlType,
    ResourceManagerHandler,
)
from s2python.connection.async_.medium.websocket import WebsocketClientMedium
from s2python.connection.types import S2ConnectionEventsAndMessages, SendOkayRunAsync
from s2python.frbc import (
    FRBCActuatorDescription,
    FRBCActuatorStatus,
    FRBCInstruction,
    FRBCOperationMode,
    FRBCOperationModeElement,
    FRBCStorageDescription,
    FRBCStorageStatus,
    FRBCSystemDescription,
)
from websockets.asyncio.client import connect

QUANTITY = CommodityQuantity.ELECTRIC_POWER_3_PHASE_SYMMETRIC
ACTUATOR_ID = uuid.UUID("00000000-0000-4000-8000-00000000a001")
CHARGE = uuid.UUID("00000000-0000-4000-8000-00000000c001")
IDLE = uuid.UUID("00000000-0000-4000-8000-00000000c002")
DISCHARGE = uuid.UUID("00000000-0000-4000-8000-00000000c003")


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}, default=str), flush=True)


class TlsMedium(WebsocketClientMedium):
    """s2-python's WebSocket medium with our own TLS context (a test CA, a client
    certificate), which its constructor does not take."""

    def __init__(self, url: str, token: str | None, context: ssl.SSLContext | None) -> None:
        super().__init__(url, bearer_token=token)
        self._context = context

    async def connect(self) -> None:
        headers = {"Authorization": f"Bearer {self._bearer_token}"} if self._bearer_token else {}
        self._ws = await connect(self.url, ssl=self._context, additional_headers=headers)


class Battery:
    """The battery's physics and the instructions it holds."""

    def __init__(self, capacity_kwh: float, max_power_kw: float, soc: float) -> None:
        self.capacity_kwh = capacity_kwh
        self.max_power_kw = max_power_kw
        self.soc = soc
        self.power_kw = 0.0
        self.mode = IDLE
        self.factor = 0.0
        self.pending: dict[uuid.UUID, FRBCInstruction] = {}
        self.behaviour = "normal"

    def power_of(self, mode: uuid.UUID, factor: float) -> float:
        if mode == CHARGE:
            return self.max_power_kw * factor
        if mode == DISCHARGE:  # S2 ranges rise: factor 0 is full discharge
            return -self.max_power_kw * (1.0 - factor)
        return 0.0

    def step(self, dt_s: float) -> None:
        power = self.power_of(self.mode, self.factor)
        if (power > 0 and self.soc >= 1.0) or (power < 0 and self.soc <= 0.0):
            power = 0.0
        self.power_kw = power
        self.soc = min(max(self.soc + power * dt_s / 3600.0 / self.capacity_kwh, 0.0), 1.0)


def system_description(max_power_w: float) -> FRBCSystemDescription:
    def mode(mode_id: uuid.UUID, label: str, start_w: float, end_w: float) -> FRBCOperationMode:
        return FRBCOperationMode(
            id=mode_id,
            diagnostic_label=label,
            abnormal_condition_only=False,
            elements=[
                FRBCOperationModeElement(
                    fill_level_range=NumberRange(start_of_range=0.0, end_of_range=100.0),
                    fill_rate=NumberRange(
                        start_of_range=start_w / 1000.0, end_of_range=end_w / 1000.0
                    ),
                    power_ranges=[
                        PowerRange(
                            start_of_range=start_w, end_of_range=end_w, commodity_quantity=QUANTITY
                        )
                    ],
                )
            ],
        )

    return FRBCSystemDescription(
        message_id=uuid.uuid4(),
        valid_from=datetime.now(UTC),
        actuators=[
            FRBCActuatorDescription(
                id=ACTUATOR_ID,
                diagnostic_label="inverter",
                supported_commodities=[Commodity.ELECTRICITY],
                operation_modes=[
                    mode(CHARGE, "charge", 0.0, max_power_w),
                    mode(IDLE, "idle", 0.0, 0.0),
                    mode(DISCHARGE, "discharge", -max_power_w, 0.0),
                ],
                transitions=[],
                timers=[],
            )
        ],
        storage=FRBCStorageDescription(
            diagnostic_label="battery",
            fill_level_label="%",
            provides_leakage_behaviour=False,
            provides_fill_level_target_profile=False,
            provides_usage_forecast=False,
            fill_level_range=NumberRange(start_of_range=0.0, end_of_range=100.0),
        ),
    )


class BatteryFrbc(FRBCControlType):
    """FRBC for the battery: instructions are held until their execution time."""

    def __init__(self, battery: Battery) -> None:
        self.battery = battery
        self.connection: S2AsyncConnection | None = None
        self.active = False

    def register_handlers(self, connection: S2AsyncConnection) -> None:
        super().register_handlers(connection)
        connection.register_handler(RevokeObject, self.handle_revoke)

    async def activate(self, connection: S2AsyncConnection) -> None:
        self.connection = connection
        await connection.send_msg_and_await_reception_status(
            system_description(self.battery.max_power_kw * 1000.0)
        )
        await self.report(connection)
        await connection.send_msg_and_await_reception_status(
            FRBCActuatorStatus(
                message_id=uuid.uuid4(),
                actuator_id=ACTUATOR_ID,
                active_operation_mode_id=self.battery.mode,
                operation_mode_factor=self.battery.factor,
            )
        )
        self.active = True
        emit("activated")

    async def deactivate(self, connection: S2AsyncConnection) -> None:
        self.active = False
        self.connection = None
        self.battery.pending.clear()
        self.battery.mode, self.battery.factor = IDLE, 0.0
        emit("deactivated")

    async def report(self, connection: S2AsyncConnection) -> None:
        await connection.send_msg_and_await_reception_status(
            PowerMeasurement(
                message_id=uuid.uuid4(),
                measurement_timestamp=datetime.now(UTC),
                values=[
                    PowerValue(commodity_quantity=QUANTITY, value=self.battery.power_kw * 1000.0)
                ],
            )
        )
        await connection.send_msg_and_await_reception_status(
            FRBCStorageStatus(message_id=uuid.uuid4(), present_fill_level=self.battery.soc * 100)
        )

    async def status(
        self, connection: S2AsyncConnection, instruction_id: uuid.UUID, status: InstructionStatus
    ) -> None:
        await connection.send_msg_and_await_reception_status(
            InstructionStatusUpdate(
                message_id=uuid.uuid4(),
                instruction_id=instruction_id,
                status_type=status,
                timestamp=datetime.now(UTC),
            )
        )

    async def handle_instruction(
        self,
        connection: S2AsyncConnection,
        msg: S2ConnectionEventsAndMessages,
        send_okay: SendOkayRunAsync,
    ) -> None:
        assert isinstance(msg, FRBCInstruction)
        assert send_okay is not None
        if self.battery.behaviour == "mute":
            await asyncio.Event().wait()  # a hung RM: never answers
        await send_okay()
        emit(
            "instruction",
            id=str(msg.id),
            mode=str(msg.operation_mode),
            factor=msg.operation_mode_factor,
            execution_time=msg.execution_time.isoformat(),
        )
        known = msg.actuator_id == ACTUATOR_ID and msg.operation_mode in (CHARGE, IDLE, DISCHARGE)
        if self.battery.behaviour == "reject" or not known:
            await self.status(connection, msg.id, InstructionStatus.REJECTED)
            return
        self.battery.pending[msg.id] = msg
        await self.status(connection, msg.id, InstructionStatus.ACCEPTED)

    async def handle_revoke(
        self,
        connection: S2AsyncConnection,
        msg: S2ConnectionEventsAndMessages,
        send_okay: SendOkayRunAsync,
    ) -> None:
        assert isinstance(msg, RevokeObject)
        assert send_okay is not None
        if self.battery.pending.pop(msg.object_id, None) is None:
            await connection.respond_with_reception_status(
                msg.message_id, ReceptionStatusValues.INVALID_CONTENT, "not pending"
            )
            return
        await send_okay()
        emit("revoked", id=str(msg.object_id))
        await self.status(connection, msg.object_id, InstructionStatus.REVOKED)

    async def tick(self, dt_s: float) -> None:
        """Carry out the instructions that are due, step the physics, report."""
        now = datetime.now(UTC)
        connection = self.connection
        due = sorted(
            (i for i in self.battery.pending.values() if i.execution_time <= now),
            key=lambda i: i.execution_time,
        )
        for instruction in due:
            del self.battery.pending[instruction.id]
            self.battery.mode = instruction.operation_mode
            self.battery.factor = instruction.operation_mode_factor
            power = self.battery.power_of(self.battery.mode, self.battery.factor)
            emit(
                "started",
                id=str(instruction.id),
                execution_time=instruction.execution_time.isoformat(),
                at=now.isoformat(),
                power_kw=power,
            )
            if connection is not None:
                await self.status(connection, instruction.id, InstructionStatus.STARTED)
        self.battery.step(dt_s)
        emit("tick", power_kw=self.battery.power_kw, soc=self.battery.soc, active=self.active)
        if connection is not None and self.active:
            await self.report(connection)


async def ticking(frbc: BatteryFrbc, tick_s: float) -> None:
    while True:
        await asyncio.sleep(tick_s)
        try:
            await frbc.tick(tick_s)
        except Exception as error:  # a connection going away mid-report
            emit("report_failed", error=str(error))


def read_commands(loop: asyncio.AbstractEventLoop, commands: asyncio.Queue[str]) -> None:
    for line in sys.stdin:
        loop.call_soon_threadsafe(commands.put_nowait, line.strip())
    loop.call_soon_threadsafe(commands.put_nowait, "quit")


async def main(args: argparse.Namespace) -> None:
    battery = Battery(args.capacity_kwh, args.max_power_kw, args.soc)
    frbc = BatteryFrbc(battery)
    details = AssetDetails(
        resource_id=uuid.UUID(args.resource_id),
        provides_forecast=False,
        provides_power_measurements=[QUANTITY],
        instruction_processing_delay=Duration.from_milliseconds(100),
        roles=[Role(role=RoleType.ENERGY_STORAGE, commodity=Commodity.ELECTRICITY)],
        name="test battery",
        manufacturer="Acme",
        model="B-10",
        serial_number="SN-0042",
        firmware_version="1.2.3",
    )
    context = None
    if args.url.startswith("wss://"):
        context = ssl.create_default_context(cafile=args.ca_file)
        if args.cert_file:
            context.load_cert_chain(args.cert_file, args.key_file)
    loop = asyncio.get_running_loop()
    commands: asyncio.Queue[str] = asyncio.Queue()
    threading.Thread(target=read_commands, args=(loop, commands), daemon=True).start()
    ticker = loop.create_task(ticking(frbc, args.tick_s))
    medium: TlsMedium | None = None

    async def obey() -> None:
        while True:
            command = await commands.get()
            if command in ("reject", "mute", "normal"):
                battery.behaviour = command
            elif command == "drop" and medium is not None:
                await medium.disconnect()
            elif command == "quit":
                return

    quitting = loop.create_task(obey())
    while not quitting.done():
        medium = TlsMedium(args.url, args.token, context)
        try:
            await medium.connect()
        except Exception as error:
            emit("connect_failed", error=str(error))
            await asyncio.wait([quitting], timeout=args.reconnect_s)
            continue
        emit("connected")
        connection = S2AsyncConnection(medium)
        ResourceManagerHandler([frbc], details).register_handlers(connection)
        running = loop.create_task(connection.run())
        await asyncio.wait([running, quitting], return_when=asyncio.FIRST_COMPLETED)
        if quitting.done():
            await medium.disconnect()
            await running
        emit("disconnected")
        if not quitting.done():
            await asyncio.wait([quitting], timeout=args.reconnect_s)
    ticker.cancel()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token")
    parser.add_argument("--resource-id", default="00000000-0000-4000-8000-000000000b01")
    parser.add_argument("--ca-file")
    parser.add_argument("--cert-file")
    parser.add_argument("--key-file")
    parser.add_argument("--capacity-kwh", type=float, default=10.0)
    parser.add_argument("--max-power-kw", type=float, default=5.0)
    parser.add_argument("--soc", type=float, default=0.5)
    parser.add_argument("--tick-s", type=float, default=0.1)
    parser.add_argument("--reconnect-s", type=float, default=0.2)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(main(parser.parse_args()))
