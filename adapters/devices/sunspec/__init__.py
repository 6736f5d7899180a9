"""Battery inverters, PV inverters and site meters over Modbus TCP with SunSpec models, and
site meters with a common energy-meter map (Eastron) (docs/devices.md, "Modbus TCP /
SunSpec")."""

from adapters.devices.sunspec.battery import BatteryLimits, SunSpecBatteryDriver, storage_command
from adapters.devices.sunspec.discovery import DeviceIdentity, SunSpecMap, discover
from adapters.devices.sunspec.energy_meter import (
    METER_MAPS,
    EnergyMeterMap,
    ModbusEnergyMeterDriver,
)
from adapters.devices.sunspec.errors import ModbusExceptionError, SunSpecMapError
from adapters.devices.sunspec.meter import SunSpecMeterDriver
from adapters.devices.sunspec.pv import SunSpecPvDriver
from kernel.devices import MeterReading

__all__ = [
    "METER_MAPS",
    "BatteryLimits",
    "DeviceIdentity",
    "EnergyMeterMap",
    "MeterReading",
    "ModbusEnergyMeterDriver",
    "ModbusExceptionError",
    "SunSpecBatteryDriver",
    "SunSpecMap",
    "SunSpecMapError",
    "SunSpecMeterDriver",
    "SunSpecPvDriver",
    "discover",
    "storage_command",
]
