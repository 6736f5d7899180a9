"""The CSMS side of one OCPP 2.0.1 connection: the charger's messages fill its
:class:`ChargerLive`; the driver's requests go out as SetChargingProfile and
RequestStartTransaction."""

from __future__ import annotations

import asyncio
import itertools
import logging
from datetime import UTC, datetime
from typing import Any

from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.enums import Action

from adapters.devices.driver import DeviceUnavailableError
from adapters.devices.ocpp.configuration import (
    read_capabilities,
    v201_capabilities,
    v201_request,
)
from adapters.devices.ocpp.link import (
    LIBRARY_LOG,
    call_until_closed,
    handles,
    handles_after,
    route_guarded,
)
from adapters.devices.ocpp.schedule import ChargingSchedule, ocpp_time
from adapters.devices.ocpp.state import (
    ChargerEvent,
    ChargerInfo,
    ChargerLive,
    apply_reading,
    read_meter_values,
)

log = logging.getLogger(__name__)

# TransactionEvent charging states with a car connected
_CONNECTED_STATES = {"EVConnected", "Charging", "SuspendedEV", "SuspendedEVSE"}
# trigger reasons / stopped reasons that mean the car left
_DEPARTED = {"EVDeparted", "EVCommunicationLost"}
TX_DEFAULT_PROFILE_ID = 1
TX_PROFILE_ID = 2
STACK_LEVEL = 1
_ACCEPTED = {"status": "Accepted"}


def profile_v201(
    schedule: ChargingSchedule, *, purpose: str, profile_id: int, transaction_id: str | None
) -> dict[str, Any]:
    """A 2.0.1 ChargingProfileType (camelCase keys are made by the library)."""
    charging_schedule: dict[str, Any] = {
        "id": profile_id,
        "charging_rate_unit": schedule.rate_unit,
        "start_schedule": ocpp_time(schedule.start_utc),
        "charging_schedule_period": [
            {"start_period": offset_s, "limit": limit}
            | ({"number_phases": schedule.number_phases} if schedule.number_phases else {})
            for offset_s, limit in schedule.periods
        ],
    }
    if schedule.duration_s is not None:
        charging_schedule["duration"] = schedule.duration_s
    profile: dict[str, Any] = {
        "id": profile_id,
        "stack_level": STACK_LEVEL,
        "charging_profile_purpose": purpose,
        "charging_profile_kind": "Absolute",
        "charging_schedule": [charging_schedule],
    }
    if transaction_id is not None:
        profile["transaction_id"] = transaction_id
    return profile


def _reason(result: Any) -> str:
    """A refusal's status and, when given, its reason code."""
    info = result.status_info
    if isinstance(info, dict) and info.get("reason_code"):
        return f"{result.status} ({info['reason_code']})"
    return str(result.status)


class CsmsLinkV201(ChargePoint):  # type: ignore[misc]  # ocpp ships no type hints
    """One OCPP 2.0.1 charging station's connection."""

    _remote_start_ids = itertools.count(1)

    def __init__(
        self,
        identity: str,
        connection: Any,
        live: ChargerLive,
        *,
        heartbeat_interval_s: int,
        response_timeout_s: float,
    ) -> None:
        super().__init__(
            identity, connection, response_timeout=response_timeout_s, logger=LIBRARY_LOG
        )
        self.identity = identity
        self.live = live
        self.closed = asyncio.Event()
        self._heartbeat_interval_s = heartbeat_interval_s

    async def close(self) -> None:
        """End the session (the charger was unpaired or connected again)."""
        self.closed.set()
        await self._connection.close()

    async def route_message(self, raw_msg: str | bytes) -> None:
        """Every frame shows the charger alive; bad ones are logged, never fatal."""
        self.live.seen()
        await route_guarded(
            self.identity, raw_msg, self.route_map, super().route_message, self._send
        )

    @handles(Action.boot_notification)
    def on_boot_notification(
        self, charging_station: dict[str, Any], reason: str, **kwargs: Any
    ) -> call_result.BootNotification:
        self.live.info = ChargerInfo(
            vendor=str(charging_station.get("vendor_name", "")),
            model=str(charging_station.get("model", "")),
            serial=charging_station.get("serial_number"),
            firmware=charging_station.get("firmware_version"),
        )
        log.info("charger %s booted (OCPP 2.0.1, %s): %s", self.identity, reason, self.live.info)
        self.live.notify(ChargerEvent.BOOTED)
        return call_result.BootNotification(
            current_time=ocpp_time(datetime.now(UTC)),
            interval=self._heartbeat_interval_s,
            status="Accepted",
        )

    @handles_after(Action.boot_notification)
    async def after_boot_notification(self, **kwargs: Any) -> None:
        """Ask what the charger can do (:mod:`adapters.devices.ocpp.configuration`)."""
        request = self.call(v201_request(), suppress=False)
        await read_capabilities(self.identity, self.closed, self.live, request, v201_capabilities)

    @handles(Action.heartbeat)
    def on_heartbeat(self, **kwargs: Any) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=ocpp_time(datetime.now(UTC)))

    @handles(Action.authorize)
    def on_authorize(self, id_token: dict[str, Any], **kwargs: Any) -> call_result.Authorize:
        # a home charger: the CEM is not an authorisation service, every token may charge
        return call_result.Authorize(id_token_info=_ACCEPTED)

    @handles(Action.status_notification)
    def on_status_notification(
        self, timestamp: str, connector_status: str, evse_id: int, connector_id: int, **kwargs: Any
    ) -> call_result.StatusNotification:
        self.live.set_faulted(connector_status == "Faulted")
        if connector_status in ("Available", "Occupied"):
            self._set_plugged(connector_status == "Occupied")
        elif connector_status == "Faulted":
            log.warning("charger %s reports a fault on EVSE %d", self.identity, evse_id)
        return call_result.StatusNotification()

    @handles(Action.transaction_event)
    def on_transaction_event(
        self,
        event_type: str,
        timestamp: str,
        trigger_reason: str,
        seq_no: int,
        transaction_info: dict[str, Any],
        **kwargs: Any,
    ) -> call_result.TransactionEvent:
        transaction_id = str(transaction_info.get("transaction_id"))
        state = transaction_info.get("charging_state")
        if event_type == "Ended":
            self.live.transaction_id = None
            self.live.power_kw = 0.0
            log.info("charger %s ended transaction %s", self.identity, transaction_id)
        else:
            if self.live.transaction_id != transaction_id:
                log.info("charger %s started transaction %s", self.identity, transaction_id)
            self.live.transaction_id = transaction_id
        if state in _CONNECTED_STATES:
            self._set_plugged(True)
        if (
            trigger_reason in _DEPARTED
            or transaction_info.get("stopped_reason") == "EVDisconnected"
        ):
            self._set_plugged(False)
        meter_value = kwargs.get("meter_value")
        if meter_value:
            apply_reading(self.live, read_meter_values(self.identity, meter_value))
        if kwargs.get("id_token") is not None:
            return call_result.TransactionEvent(id_token_info=_ACCEPTED)
        return call_result.TransactionEvent()

    @handles(Action.meter_values)
    def on_meter_values(
        self, evse_id: int, meter_value: list[dict[str, Any]], **kwargs: Any
    ) -> call_result.MeterValues:
        apply_reading(self.live, read_meter_values(self.identity, meter_value))
        return call_result.MeterValues()

    def _set_plugged(self, plugged: bool) -> None:
        if self.live.set_plugged(plugged):
            log.info("charger %s: car %s", self.identity, "plugged in" if plugged else "unplugged")
        if not plugged and self.live.transaction_id is not None:
            # no car, no transaction to aim a TxProfile at (its end may come later, queued
            # while the CSMS was away)
            log.info("charger %s: transaction %s is over", self.identity, self.live.transaction_id)
            self.live.transaction_id = None

    async def set_profile(
        self, schedule: ChargingSchedule, *, transaction_id: str | None, connector_id: int
    ) -> None:
        """SetChargingProfile: a TxProfile on the transaction's EVSE, else a
        TxDefaultProfile for the whole station (EVSE 0)."""
        if transaction_id is not None:
            evse_id = connector_id
            profile = profile_v201(
                schedule,
                purpose="TxProfile",
                profile_id=TX_PROFILE_ID,
                transaction_id=transaction_id,
            )
        else:
            evse_id = 0
            profile = profile_v201(
                schedule,
                purpose="TxDefaultProfile",
                profile_id=TX_DEFAULT_PROFILE_ID,
                transaction_id=None,
            )
        request = call.SetChargingProfile(evse_id=evse_id, charging_profile=profile)
        result = await call_until_closed(
            self.identity, self.closed, self.call(request, suppress=False), "SetChargingProfile"
        )
        if result.status != "Accepted":
            raise DeviceUnavailableError(
                f"charger {self.identity} refused the charging profile: {_reason(result)}"
            )

    async def start_transaction(
        self, schedule: ChargingSchedule, *, connector_id: int, id_tag: str
    ) -> None:
        """RequestStartTransaction with ``schedule`` as the transaction's TxProfile."""
        request = call.RequestStartTransaction(
            id_token={"id_token": id_tag, "type": "Central"},
            remote_start_id=next(self._remote_start_ids),
            evse_id=connector_id,
            charging_profile=profile_v201(
                schedule, purpose="TxProfile", profile_id=TX_PROFILE_ID, transaction_id=None
            ),
        )
        result = await call_until_closed(
            self.identity,
            self.closed,
            self.call(request, suppress=False),
            "RequestStartTransaction",
        )
        if result.status != "Accepted":
            raise DeviceUnavailableError(
                f"charger {self.identity} refused to start charging: {_reason(result)}"
            )
