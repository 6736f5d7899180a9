"""EV chargers over OCPP 1.6J and 2.0.1: the CEM is the chargers' CSMS (docs/devices.md)."""

from adapters.devices.ocpp.csms import Csms, RefusedCharger
from adapters.devices.ocpp.driver import OcppChargerDriver
from adapters.devices.ocpp.schedule import ChargingSchedule, PlanStep, limit_for, schedule_for
from adapters.devices.ocpp.settings import ChargerSettings, CsmsSettings, TlsServerSettings
from adapters.devices.ocpp.state import ChargerEvent, ChargerInfo

__all__ = [
    "ChargerEvent",
    "ChargerInfo",
    "ChargerSettings",
    "ChargingSchedule",
    "Csms",
    "CsmsSettings",
    "OcppChargerDriver",
    "PlanStep",
    "RefusedCharger",
    "TlsServerSettings",
    "limit_for",
    "schedule_for",
]
