"""What goes wrong talking to a SunSpec device, each a :class:`DeviceUnavailableError` so the
service treats it as "the device did not answer or refused" (reported offline, retried)."""

from __future__ import annotations

from adapters.devices.driver import DeviceUnavailableError


class ModbusExceptionError(DeviceUnavailableError):
    """The device answered with a Modbus exception (``code``: 1 illegal function, 2 illegal
    address, 3 illegal value, 4 device failure, 6 busy...)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class SunSpecMapError(DeviceUnavailableError):
    """The device's registers are not a SunSpec map the driver can use: no ``SunS`` marker, a
    model chain that breaks off or runs past the registers, or the models the driver needs
    are missing. Retrying will not help until the device or its address is changed."""
