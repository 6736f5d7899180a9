"""A simulated EV charge point with a car, run as its own process by the OCPP tests.

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

    python -m tests.adapters.devices.ocpp_charge_point --url ws://127.0.0.1:9000/CP-1 \
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
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ocpp.routing import after, on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

TICK_S = 0.1
MIN_CURRENT_A = 6.0


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}, default=float), flush=True)


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class Profile:
    """A charging profile as the charger keeps it."""

    purpose: str
    start: datetime
    duration_s: float | None
    unit: str
    periods: list[tuple[float, float, int | None]]  # (start offset s, limit, phases)

    def limit_kw(self, at: datetime, voltage_v: float, phases: int) -> float | None:
        """The limit in force at ``at`` [kW], None outside the schedule."""
        elapsed = (at - self.start).total_seconds()
        if elapsed < 0 or (self.duration_s is not None and elapsed >= self.duration_s):
            return None
        current = None
        for offset, limit, period_phases in self.periods:
            if offset <= elapsed:
                current = (limit, period_phases)
        if current is None:
            return None
        limit, period_phases = current
        if self.unit == "W":
            return limit / 1000.0
        if limit < MIN_CURRENT_A:
            return 0.0
        return limit * voltage_v * (period_phases or phases) / 1000.0


def profile_from(raw: dict[str, Any], version: str) -> Profile:
    schedule = raw["charging_schedule"]
    if version == "2.0.1":
        schedule = schedule[0]
    start = parse_time(schedule["start_schedule"]) if "start_schedule" in schedule else None
    return Profile(
        purpose=raw["charging_profile_purpose"],
        start=start or datetime.now(UTC),
        duration_s=float(schedule["duration"]) if "duration" in schedule else None,
        unit=schedule["charging_rate_unit"],
        periods=[
            (float(p["start_period"]), float(p["limit"]), p.get("number_phases"))
            for p in schedule["charging_schedule_period"]
        ],
    )


@dataclass
class Car:
    """The charger's state and the car's physics."""

    args: argparse.Namespace
    plugged: bool = False
    soc: float = 0.5
    energy_wh: float = 0.0
    power_kw: float = 0.0
    transaction_id: str | int | None = None
    default_profile: Profile | None = None
    tx_profile: Profile | None = None
    connected: bool = False
    stay_offline: bool = False

    def limit_kw(self) -> float:
        """The effective limit: the transaction's profile, else the default, else rated."""
        at = datetime.now(UTC)
        for profile in (self.tx_profile if self.transaction_id else None, self.default_profile):
            if profile is not None:
                limit = profile.limit_kw(at, self.args.voltage, self.args.phases)
                if limit is not None:
                    return limit
        return float(self.args.rated_kw)

    def runs(self, transaction_id: object) -> bool:
        """Whether a profile for ``transaction_id`` (None: not for a transaction) applies."""
        return transaction_id is None or str(transaction_id) == str(self.transaction_id)

    def step(self, dt_s: float) -> None:
        charging = self.plugged and self.transaction_id is not None and self.soc < 1.0
        self.power_kw = min(self.limit_kw(), self.args.car_max_kw) if charging else 0.0
        self.energy_wh += self.power_kw * 1000.0 * dt_s / 3600.0
        self.soc = min(1.0, self.soc + self.power_kw * dt_s / 3600.0 / self.args.capacity_kwh)


async def profile_fault(station: Any, raw_msg: str) -> bool:
    """With ``--on-profile ignore`` a SetChargingProfile is never answered; with ``drop`` the
    connection is closed on receiving it (and the charger stays offline). True if so."""
    mode = station.car.args.on_profile
    if mode == "answer" or '"SetChargingProfile"' not in raw_msg:
        return False
    emit("profile_fault", mode=mode)
    if mode == "drop":
        station.car.stay_offline = True
        await station._connection.close()
    return True


class Station16(ChargePoint16):
    version = "1.6"

    def __init__(self, identity: str, connection: Any, car: Car) -> None:
        super().__init__(identity, connection, response_timeout=5)
        self.car = car

    async def route_message(self, raw_msg: str) -> None:
        if raw_msg.startswith("[4"):
            emit("call_error", raw=raw_msg)
        if await profile_fault(self, raw_msg):
            return
        await super().route_message(raw_msg)

    @on("SetChargingProfile")
    def on_set_profile(self, connector_id: int, cs_charging_profiles: dict[str, Any], **kw: Any):
        # a TxProfile for a transaction this charger is not running is refused (1.6, 3.13.4)
        accepted = not self.car.args.reject_profiles and self.car.runs(
            cs_charging_profiles.get("transaction_id")
        )
        if accepted:
            profile = profile_from(cs_charging_profiles, self.version)
            if profile.purpose == "TxProfile":
                self.car.tx_profile = profile
            else:
                self.car.default_profile = profile
        emit(
            "profile",
            received_at=time.time(),  # wall clock, for latency from the CEM's side
            purpose=cs_charging_profiles["charging_profile_purpose"],
            accepted=accepted,
            periods=cs_charging_profiles["charging_schedule"]["charging_schedule_period"],
        )
        return result16.SetChargingProfile(status="Accepted" if accepted else "Rejected")

    @on("GetConfiguration")
    def on_get_configuration(self, key: list[str] | None = None, **kw: Any):
        args = self.car.args
        rotation = args.phase_rotation or ("1.RST" if args.phases == 3 else "1.NotApplicable")
        known = {"ConnectorPhaseRotation": rotation}
        asked = key or list(known)
        emit("get_configuration", keys=asked)
        return result16.GetConfiguration(
            configuration_key=[
                {"key": k, "readonly": True, "value": known[k]} for k in asked if k in known
            ],
            unknown_key=[k for k in asked if k not in known] or None,
        )

    @on("RemoteStartTransaction")
    def on_remote_start(self, id_tag: str, **kw: Any):
        accepted = self.car.plugged and self.car.transaction_id is None
        emit("remote_start", accepted=accepted)
        return result16.RemoteStartTransaction(status="Accepted" if accepted else "Rejected")

    @after("RemoteStartTransaction")
    async def after_remote_start(self, id_tag: str, **kw: Any) -> None:
        if self.car.plugged and self.car.transaction_id is None:
            if kw.get("charging_profile"):
                self.car.tx_profile = profile_from(kw["charging_profile"], self.version)
            await self.start_transaction(id_tag)

    async def boot(self) -> int:
        result = await self.call(
            call16.BootNotification(
                charge_point_model="SimCharger-16",
                charge_point_vendor="HEMS Test",
                charge_point_serial_number="SIM-0016",
                firmware_version="1.6.0",
            )
        )
        emit("booted", status=result.status, interval=result.interval)
        await self.report_plug()
        return int(result.interval)

    async def report_plug(self) -> None:
        status = "Preparing" if self.car.plugged else "Available"
        if self.car.transaction_id is not None:
            status = "Charging"
        await self.call(
            call16.StatusNotification(connector_id=1, error_code="NoError", status=status)
        )

    async def report_fault(self) -> None:
        await self.call(
            call16.StatusNotification(connector_id=1, error_code="GroundFailure", status="Faulted")
        )

    async def start_transaction(self, id_tag: str) -> None:
        result = await self.call(
            call16.StartTransaction(
                connector_id=1,
                id_tag=id_tag,
                meter_start=int(self.car.energy_wh),
                timestamp=now_text(),
            )
        )
        self.car.transaction_id = result.transaction_id
        await self.report_plug()

    async def stop_transaction(self) -> None:
        transaction_id, self.car.transaction_id = self.car.transaction_id, None
        self.car.tx_profile = None
        if transaction_id is not None:
            await self.call(
                call16.StopTransaction(
                    meter_stop=int(self.car.energy_wh),
                    timestamp=now_text(),
                    transaction_id=transaction_id,
                    reason="EVDisconnected",
                )
            )

    async def heartbeat(self) -> None:
        await self.call(call16.Heartbeat())

    async def meter(self) -> None:
        car = self.car
        await self.call(
            call16.MeterValues(
                connector_id=1,
                transaction_id=car.transaction_id,
                meter_value=[
                    {
                        "timestamp": now_text(),
                        "sampled_value": [
                            {
                                "value": f"{car.power_kw * 1000:.1f}",
                                "measurand": "Power.Active.Import",
                                "unit": "W",
                            },
                            {
                                "value": f"{car.energy_wh:.1f}",
                                "measurand": "Energy.Active.Import.Register",
                                "unit": "Wh",
                            },
                            {
                                "value": f"{car.soc * 100:.4f}",
                                "measurand": "SoC",
                                "unit": "Percent",
                            },
                        ],
                    }
                ],
            )
        )


class Station201(ChargePoint201):
    version = "2.0.1"

    def __init__(self, identity: str, connection: Any, car: Car) -> None:
        super().__init__(identity, connection, response_timeout=5)
        self.car = car
        self.seq_no = 0

    async def route_message(self, raw_msg: str) -> None:
        if raw_msg.startswith("[4"):
            emit("call_error", raw=raw_msg)
        if await profile_fault(self, raw_msg):
            return
        await super().route_message(raw_msg)

    @on("SetChargingProfile")
    def on_set_profile(self, evse_id: int, charging_profile: dict[str, Any], **kw: Any):
        # a TxProfile for a transaction this station is not running is refused (2.0.1, K01)
        accepted = not self.car.args.reject_profiles and self.car.runs(
            charging_profile.get("transaction_id")
        )
        if accepted:
            profile = profile_from(charging_profile, self.version)
            if profile.purpose == "TxProfile":
                self.car.tx_profile = profile
            else:
                self.car.default_profile = profile
        emit(
            "profile",
            received_at=time.time(),
            purpose=charging_profile["charging_profile_purpose"],
            accepted=accepted,
            periods=charging_profile["charging_schedule"][0]["charging_schedule_period"],
        )
        if accepted:
            return result201.SetChargingProfile(status="Accepted")
        return result201.SetChargingProfile(
            status="Rejected", status_info={"reason_code": "UnsupportedLimit"}
        )

    @on("GetVariables")
    def on_get_variables(self, get_variable_data: list[dict[str, Any]], **kw: Any):
        args = self.car.args
        power = args.reported_power_w or f"{args.rated_kw * 1000:.0f}"
        known = {"Power": power, "SupplyPhases": str(args.phases)}
        emit("get_variables", names=[d["variable"]["name"] for d in get_variable_data])
        results = []
        for d in get_variable_data:
            value = known.get(d["variable"]["name"]) if d["component"]["name"] == "EVSE" else None
            result = {
                "attribute_status": "Accepted" if value is not None else "UnknownVariable",
                "attribute_type": d.get("attribute_type", "Actual"),
                "component": d["component"],
                "variable": d["variable"],
            }
            if value is not None:
                result["attribute_value"] = value
            results.append(result)
        return result201.GetVariables(get_variable_result=results)

    @on("RequestStartTransaction")
    def on_request_start(self, id_token: dict[str, Any], remote_start_id: int, **kw: Any):
        accepted = self.car.plugged and self.car.transaction_id is None
        emit("remote_start", accepted=accepted)
        return result201.RequestStartTransaction(status="Accepted" if accepted else "Rejected")

    @after("RequestStartTransaction")
    async def after_request_start(self, id_token: dict[str, Any], **kw: Any) -> None:
        if self.car.plugged and self.car.transaction_id is None:
            if kw.get("charging_profile"):
                self.car.tx_profile = profile_from(kw["charging_profile"], self.version)
            await self.start_transaction("RemoteStart", id_token)

    async def boot(self) -> int:
        result = await self.call(
            call201.BootNotification(
                charging_station={
                    "model": "SimCharger-201",
                    "vendor_name": "HEMS Test",
                    "serial_number": "SIM-0201",
                    "firmware_version": "2.0.1",
                },
                reason="PowerUp",
            )
        )
        emit("booted", status=result.status, interval=result.interval)
        await self.report_plug()
        return int(result.interval)

    async def report_plug(self) -> None:
        await self.call(
            call201.StatusNotification(
                timestamp=now_text(),
                connector_status="Occupied" if self.car.plugged else "Available",
                evse_id=1,
                connector_id=1,
            )
        )

    async def report_fault(self) -> None:
        await self.call(
            call201.StatusNotification(
                timestamp=now_text(), connector_status="Faulted", evse_id=1, connector_id=1
            )
        )

    def _event(self, event_type: str, trigger: str, **extra: Any) -> call201.TransactionEvent:
        self.seq_no += 1
        info: dict[str, Any] = {"transaction_id": str(self.car.transaction_id)}
        info["charging_state"] = "Charging" if self.car.power_kw > 0 else "EVConnected"
        if event_type == "Ended":
            info = {
                "transaction_id": info["transaction_id"],
                "stopped_reason": "EVDisconnected",
                "charging_state": "Idle",
            }
        return call201.TransactionEvent(
            event_type=event_type,
            timestamp=now_text(),
            trigger_reason=trigger,
            seq_no=self.seq_no,
            transaction_info=info,
            evse={"id": 1, "connector_id": 1},
            **extra,
        )

    async def start_transaction(self, trigger: str, id_token: dict[str, Any] | None) -> None:
        self.car.transaction_id = str(uuid.uuid4())
        await self.call(self._event("Started", trigger, id_token=id_token))

    async def stop_transaction(self) -> None:
        if self.car.transaction_id is not None:
            await self.call(self._event("Ended", "EVDeparted"))
        self.car.transaction_id = None
        self.car.tx_profile = None

    async def heartbeat(self) -> None:
        await self.call(call201.Heartbeat())

    def _meter_value(self) -> list[dict[str, Any]]:
        car = self.car
        return [
            {
                "timestamp": now_text(),
                "sampled_value": [
                    {
                        "value": round(car.power_kw * 1000, 1),
                        "measurand": "Power.Active.Import",
                        "unit_of_measure": {"unit": "W"},
                    },
                    {
                        "value": round(car.energy_wh, 1),
                        "measurand": "Energy.Active.Import.Register",
                        "unit_of_measure": {"unit": "Wh"},
                    },
                    {
                        "value": round(car.soc * 100, 4),
                        "measurand": "SoC",
                        "unit_of_measure": {"unit": "Percent"},
                    },
                ],
            }
        ]

    async def meter(self) -> None:
        if self.car.transaction_id is not None:
            await self.call(
                self._event("Updated", "MeterValuePeriodic", meter_value=self._meter_value())
            )
        else:
            await self.call(call201.MeterValues(evse_id=1, meter_value=self._meter_value()))


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
                    subprotocols=[f"ocpp{args.version}"],
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


def main() -> None:
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
    args = parser.parse_args()
    args.identity = args.url.rstrip("/").rsplit("/", 1)[-1]
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        asyncio.run(Simulator(args).run())


if __name__ == "__main__":
    main()
