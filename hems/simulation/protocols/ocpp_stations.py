"""The simulated charge point's OCPP 1.6J and 2.0.1 stations: what the charger sends (boot,
plug state, transactions, meter values) and how it answers the CSMS (charging profiles,
remote starts, its configuration and variables)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201

from adapters.devices.ocpp.link import handles, handles_after
from hems.simulation.protocols.ocpp_car import Car, emit, held_back, now_text, profile_from


class Station16(ChargePoint16):  # type: ignore[misc]  # ocpp ships no type hints
    version = "1.6"

    def __init__(self, identity: str, connection: Any, car: Car) -> None:
        super().__init__(identity, connection, response_timeout=5)
        self.car = car

    async def route_message(self, raw_msg: str) -> None:
        if not await held_back(self, raw_msg):
            await super().route_message(raw_msg)

    @handles("SetChargingProfile")
    def on_set_profile(
        self, connector_id: int, cs_charging_profiles: dict[str, Any], **kw: Any
    ) -> Any:
        accepted = self.car.take_profile(cs_charging_profiles, self.version)
        emit(
            "profile",
            received_at=time.time(),  # wall clock, for latency from the CEM's side
            purpose=cs_charging_profiles["charging_profile_purpose"],
            accepted=accepted,
            periods=cs_charging_profiles["charging_schedule"]["charging_schedule_period"],
        )
        return result16.SetChargingProfile(status="Accepted" if accepted else "Rejected")

    @handles("GetConfiguration")
    def on_get_configuration(self, key: list[str] | None = None, **kw: Any) -> Any:
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

    @handles("RemoteStartTransaction")
    def on_remote_start(self, id_tag: str, **kw: Any) -> Any:
        accepted = self.car.plugged and self.car.transaction_id is None
        emit("remote_start", accepted=accepted)
        return result16.RemoteStartTransaction(status="Accepted" if accepted else "Rejected")

    @handles_after("RemoteStartTransaction")
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


class Station201(ChargePoint201):  # type: ignore[misc]  # ocpp ships no type hints
    version = "2.0.1"

    def __init__(self, identity: str, connection: Any, car: Car) -> None:
        super().__init__(identity, connection, response_timeout=5)
        self.car = car
        self.seq_no = 0

    async def route_message(self, raw_msg: str) -> None:
        if not await held_back(self, raw_msg):
            await super().route_message(raw_msg)

    @handles("SetChargingProfile")
    def on_set_profile(self, evse_id: int, charging_profile: dict[str, Any], **kw: Any) -> Any:
        accepted = self.car.take_profile(charging_profile, self.version)
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

    @handles("GetVariables")
    def on_get_variables(self, get_variable_data: list[dict[str, Any]], **kw: Any) -> Any:
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

    @handles("RequestStartTransaction")
    def on_request_start(self, id_token: dict[str, Any], remote_start_id: int, **kw: Any) -> Any:
        accepted = self.car.plugged and self.car.transaction_id is None
        emit("remote_start", accepted=accepted)
        return result201.RequestStartTransaction(status="Accepted" if accepted else "Rejected")

    @handles_after("RequestStartTransaction")
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
