"""What a SunSpec battery or PV inverter reports it can do (its
:class:`~kernel.devices.DeviceCapabilities`), read from its registers: the charge limit
``WChaMax`` (storage model 124), the inverter's maximum AC power ``WMax`` (settings model 121;
a battery's discharge limit, a PV inverter's rating) and the battery's energy capacity
``WHRtg`` (battery model 802). A point the device marks not implemented is not reported; one
with a scale factor outside SunSpec's range, or a value no home device has, is logged and
dropped (:func:`~adapters.devices.capabilities.reported_capabilities`)."""

from __future__ import annotations

import logging

from adapters.devices.capabilities import reported_capabilities
from adapters.devices.sunspec.device import SunSpecDevice
from adapters.devices.sunspec.discovery import SETTINGS, STORAGE, STORAGE_8XX
from adapters.devices.sunspec.models import GarbageValueError
from kernel.devices import DeviceCapabilities

log = logging.getLogger(__name__)


async def _kilo(
    device: SunSpecDevice, name: str, model_ids: tuple[int, ...], point: str
) -> float | None:
    """Point ``point`` of the first of ``model_ids`` the device has, / 1000 (W -> kW, Wh ->
    kWh); None when the model or the point is missing or its scale factor is garbage."""
    model = await device.optional(model_ids)
    if model is None:
        return None
    try:
        value = (await device.read_model(model)).value(point)
    except GarbageValueError as e:
        log.warning("device %s (%s): %s; %s ignored", name, device.link.where, e, point)
        return None
    return None if value is None else value / 1000


async def battery_capabilities(device: SunSpecDevice, name: str) -> DeviceCapabilities:
    """A battery inverter's charge and discharge limits and capacity."""
    return reported_capabilities(
        name,
        max_charge_kw=await _kilo(device, name, (STORAGE,), "WChaMax"),
        max_discharge_kw=await _kilo(device, name, (SETTINGS,), "WMax"),
        capacity_kwh=await _kilo(device, name, (STORAGE_8XX,), "WHRtg"),
    )


async def pv_capabilities(device: SunSpecDevice, name: str) -> DeviceCapabilities:
    """A PV inverter's maximum AC power."""
    return reported_capabilities(name, max_power_kw=await _kilo(device, name, (SETTINGS,), "WMax"))
