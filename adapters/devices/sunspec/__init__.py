"""Battery inverters, PV inverters and site meters over Modbus TCP with SunSpec models
(docs/devices.md, "Modbus TCP / SunSpec")."""

from adapters.devices.sunspec.battery import BatteryLimits, SunSpecBatteryDriver, storage_command
from adapters.devices.sunspec.discovery import DeviceIdentity, SunSpecMap, discover
from adapters.devices.sunspec.errors import ModbusExceptionError, SunSpecMapError
from adapters.devices.sunspec.meter import MeterReading, SunSpecMeterDriver
from adapters.devices.sunspec.pv import SunSpecPvDriver

__all__ = [
    "BatteryLimits",
    "DeviceIdentity",
    "MeterReading",
    "ModbusExceptionError",
    "SunSpecBatteryDriver",
    "SunSpecMap",
    "SunSpecMapError",
    "SunSpecMeterDriver",
    "SunSpecPvDriver",
    "discover",
    "storage_command",
]
