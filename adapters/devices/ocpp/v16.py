"""The CSMS side of one OCPP 1.6J connection: the charger's messages fill its
:class:`ChargerLive`; the driver's requests go out as SetChargingProfile and
RemoteStartTransaction."""

from __future__ import annotations

import asyncio
import itertools
import logging
from datetime import UTC, datetime
from typing import Any

from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action

from adapters.devices.driver import DeviceUnavailableError
from adapters.devices.ocpp.configuration import (
    read_capabilities,
    v16_capabilities,
    v16_request,
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

# StatusNotification states with a car at the connector
_PLUGGED = {"Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing"}
# the profile ids the CEM uses: a new profile with the same id replaces the old one
TX_DEFAULT_PROFILE_ID = 1
TX_PROFILE_ID = 2
STACK_LEVEL = 1
_ACCEPTED = {"status": "Accepted"}


def profile_v16(
    schedule: ChargingSchedule, *, purpose: str, profile_id: int, transaction_id: int | None
) -> dict[str, Any]:
    """A 1.6 csChargingProfiles object (camelCase keys are made by the library)."""
    charging_schedule: dict[str, Any] = {
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
        "charging_profile_id": profile_id,
        "stack_level": STACK_LEVEL,
        "charging_profile_purpose": purpose,
        "charging_profile_kind": "Absolute",
        "charging_schedule": charging_schedule,
    }
    if transaction_id is not None:
        profile["transaction_id"] = transaction_id
    return profile


class CsmsLinkV16(ChargePoint):  # type: ignore[misc]  # ocpp ships no type hints
    """One OCPP 1.6J charger's connection."""

    _transaction_ids = itertools.count(1)

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
        self, charge_point_vendor: str, charge_point_model: str, **kwargs: Any
    ) -> call_result.BootNotification:
        serial = kwargs.get("charge_point_serial_number") or kwargs.get("charge_box_serial_number")
        self.live.info = ChargerInfo(
            vendor=charge_point_vendor,
            model=charge_point_model,
            serial=serial,
            firmware=kwargs.get("firmware_version"),
        )
        log.info("charger %s booted (OCPP 1.6): %s", self.identity, self.live.info)
        self.live.notify(ChargerEvent.BOOTED)
        return call_result.BootNotification(
            current_time=ocpp_time(datetime.now(UTC)),
            interval=self._heartbeat_interval_s,
            status="Accepted",
        )

    @handles_after(Action.boot_notification)
    async def after_boot_notification(self, **kwargs: Any) -> None:
        """Ask what the charger can do (:mod:`adapters.devices.ocpp.configuration`)."""
        request = self.call(v16_request(), suppress=False)
        await read_capabilities(self.identity, self.closed, self.live, request, v16_capabilities)

    @handles(Action.heartbeat)
    def on_heartbeat(self) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=ocpp_time(datetime.now(UTC)))

    @handles(Action.authorize)
    def on_authorize(self, id_tag: str) -> call_result.Authorize:
        # a home charger: the CEM is not an authorisation service, every tag may charge
        return call_result.Authorize(id_tag_info=_ACCEPTED)

    @handles(Action.status_notification)
    def on_status_notification(
        self, connector_id: int, error_code: str, status: str, **kwargs: Any
    ) -> call_result.StatusNotification:
        self.live.set_faulted(status == "Faulted")
        if connector_id != 0 and status not in ("Faulted", "Unavailable", "Reserved"):
            plugged = status in _PLUGGED
            if self.live.set_plugged(plugged):
                log.info(
                    "charger %s: car %s", self.identity, "plugged in" if plugged else "unplugged"
                )
            if status == "Available" and self.live.transaction_id is not None:
                # no car, no transaction (one that ended while the CSMS was away): a plan must
                # go as a default profile, a TxProfile for it would be refused
                log.info(
                    "charger %s: transaction %s is over", self.identity, self.live.transaction_id
                )
                self.live.transaction_id = None
        if status == "Faulted":
            log.warning("charger %s reports a fault: %s", self.identity, error_code)
        return call_result.StatusNotification()

    @handles(Action.start_transaction)
    def on_start_transaction(
        self, connector_id: int, id_tag: str, meter_start: int, timestamp: str, **kwargs: Any
    ) -> call_result.StartTransaction:
        transaction_id = next(self._transaction_ids)
        self.live.transaction_id = str(transaction_id)
        self.live.set_plugged(True)
        log.info("charger %s started transaction %d", self.identity, transaction_id)
        return call_result.StartTransaction(transaction_id=transaction_id, id_tag_info=_ACCEPTED)

    @handles(Action.stop_transaction)
    def on_stop_transaction(
        self, meter_stop: int, timestamp: str, transaction_id: int, **kwargs: Any
    ) -> call_result.StopTransaction:
        self.live.transaction_id = None
        self.live.power_kw = 0.0
        self.live.energy_kwh = meter_stop / 1000.0
        log.info("charger %s stopped transaction %d", self.identity, transaction_id)
        return call_result.StopTransaction(id_tag_info=_ACCEPTED)

    @handles(Action.meter_values)
    def on_meter_values(
        self, connector_id: int, meter_value: list[dict[str, Any]], **kwargs: Any
    ) -> call_result.MeterValues:
        transaction_id = kwargs.get("transaction_id")
        if transaction_id is not None and self.live.transaction_id != str(transaction_id):
            # a transaction the CSMS has not seen start (it started while the CSMS was away)
            log.info("charger %s: charging in transaction %s", self.identity, transaction_id)
            self.live.transaction_id = str(transaction_id)
            self.live.set_plugged(True)
        apply_reading(self.live, read_meter_values(self.identity, meter_value))
        return call_result.MeterValues()

    async def set_profile(
        self, schedule: ChargingSchedule, *, transaction_id: str | None, connector_id: int
    ) -> None:
        """SetChargingProfile: a TxProfile on the transaction's connector, else a
        TxDefaultProfile for every connector (connector 0)."""
        if transaction_id is not None:
            request = call.SetChargingProfile(
                connector_id=connector_id,
                cs_charging_profiles=profile_v16(
                    schedule,
                    purpose="TxProfile",
                    profile_id=TX_PROFILE_ID,
                    transaction_id=int(transaction_id),
                ),
            )
        else:
            request = call.SetChargingProfile(
                connector_id=0,
                cs_charging_profiles=profile_v16(
                    schedule,
                    purpose="TxDefaultProfile",
                    profile_id=TX_DEFAULT_PROFILE_ID,
                    transaction_id=None,
                ),
            )
        result = await call_until_closed(
            self.identity, self.closed, self.call(request, suppress=False), "SetChargingProfile"
        )
        if result.status != "Accepted":
            raise DeviceUnavailableError(
                f"charger {self.identity} refused the charging profile: {result.status}"
            )

    async def start_transaction(
        self, schedule: ChargingSchedule, *, connector_id: int, id_tag: str
    ) -> None:
        """RemoteStartTransaction with ``schedule`` as the transaction's TxProfile."""
        request = call.RemoteStartTransaction(
            id_tag=id_tag,
            connector_id=connector_id,
            charging_profile=profile_v16(
                schedule, purpose="TxProfile", profile_id=TX_PROFILE_ID, transaction_id=None
            ),
        )
        result = await call_until_closed(
            self.identity,
            self.closed,
            self.call(request, suppress=False),
            "RemoteStartTransaction",
        )
        if result.status != "Accepted":
            raise DeviceUnavailableError(
                f"charger {self.identity} refused to start charging: {result.status}"
            )
