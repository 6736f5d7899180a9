"""What each device reports it can do, against what the consumer entered.

A driver that can (:class:`~adapters.devices.capabilities.ReportsCapabilities`: SunSpec
nameplates, an OCPP charger's configuration, an S2 system description, an MQTT device's
``capabilities`` message) is asked after each good read; what it reports is stored with the
device (a change only) so a restarted service plans with it before the device answers again.

The plan is made with the consumer's spec capped by the device (:func:`capped_spec`): a limit
the device reports below the entered one replaces it, one above it leaves the consumer's (the
consumer may want less than the device can do), so a plan never asks more than the device can
do. Where the two differ the consumer is told (:func:`mismatches`: the API's device listing,
the web app's devices page, ``hems devices list``) to correct the spec.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, computed_field

from adapters.devices.capabilities import ReportsCapabilities, reported_capabilities
from hems.domain.devices import BatterySpec, DeviceSpec, EvChargerSpec, HeatPumpSpec, PvSpec
from hems.domain.home import HomeSpec
from kernel.devices import DeviceCapabilities, DeviceUnavailableError

if TYPE_CHECKING:
    from hems.controller import HomeController
    from hems.storage.store import Store

log = logging.getLogger(__name__)

RELATIVE_TOLERANCE = 0.01
"""A reported value within 1 % of the entered one is the same (rounding, scale factors)."""

SPEC_FIELDS: dict[type[BaseModel], tuple[tuple[str, str], ...]] = {
    BatterySpec: (
        ("max_charge_kw", "max_charge_kw"),
        ("max_discharge_kw", "max_discharge_kw"),
        ("capacity_kwh", "capacity_kwh"),
    ),
    EvChargerSpec: (("max_charge_kw", "max_charge_kw"),),
    HeatPumpSpec: (("max_power_kw", "max_power_kw"),),
    PvSpec: (("inverter_limit_kw", "max_power_kw"),),
}
"""Per spec type: (the spec's field, the capability that caps it)."""


FIELD_WORDS = {
    "max_charge_kw": ("maximum charge", "kW"),
    "max_discharge_kw": ("maximum discharge", "kW"),
    "capacity_kwh": ("capacity", "kWh"),
    "max_power_kw": ("maximum power", "kW"),
    "inverter_limit_kw": ("inverter limit", "kW"),
}
"""Each capped spec field in the consumer's words, with its unit."""


class CapabilityMismatch(BaseModel):
    """A field of the consumer's device spec the device itself reports otherwise.

    ``entered``: the consumer's value (None: not entered); ``reported``: the device's;
    ``planned``: what the plan uses (the lower of the two); ``message``: all that in words."""

    field: str
    entered: float | None
    reported: float
    planned: float

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented use
    @property
    def message(self) -> str:
        words, unit = FIELD_WORDS.get(self.field, (self.field, ""))
        entered = "not entered" if self.entered is None else f"entered {self.entered:g} {unit}"
        return (
            f"{words} {entered}, the device reports {self.reported:g} {unit}: "
            f"planned with {self.planned:g} {unit}"
        )


def capabilities_json(caps: DeviceCapabilities) -> dict[str, Any]:
    """The fields the device reported, for the store."""
    return {k: v for k, v in dataclasses.asdict(caps).items() if v is not None}


def capabilities_from_json(name: str, data: Mapping[str, Any]) -> DeviceCapabilities:
    """Stored capabilities read back, checked again (a value that no longer passes is
    logged and left out, never a failed plan)."""
    known = {f.name for f in dataclasses.fields(DeviceCapabilities)}
    return reported_capabilities(name, **{k: v for k, v in data.items() if k in known})


def _planned(entered: float | None, reported: float) -> float:
    return reported if entered is None else min(entered, reported)


def capped_spec(spec: DeviceSpec, caps: DeviceCapabilities | None) -> DeviceSpec:
    """``spec`` with each limit the device reports below it lowered to the device's."""
    if caps is None:
        return spec
    update: dict[str, float] = {}
    for field, capability in SPEC_FIELDS.get(type(spec), ()):
        reported = getattr(caps, capability)
        if reported is not None:
            update[field] = _planned(getattr(spec, field), reported)
    if isinstance(spec, EvChargerSpec) and "max_charge_kw" in update:
        update["min_charge_kw"] = min(spec.min_charge_kw, update["max_charge_kw"])
    if isinstance(spec, HeatPumpSpec) and "max_power_kw" in update:
        update["min_power_kw"] = min(spec.min_power_kw, update["max_power_kw"])
    return spec.model_copy(update=update) if update else spec


def capped_home(home: HomeSpec, capabilities: Mapping[str, DeviceCapabilities]) -> HomeSpec:
    """The home as it is planned: each device's spec capped by what it reports."""
    if not capabilities:
        return home
    devices = [capped_spec(d, capabilities.get(d.name)) for d in home.devices]
    return home.model_copy(update={"devices": devices})


def mismatches(spec: DeviceSpec, caps: DeviceCapabilities | None) -> list[CapabilityMismatch]:
    """Each field of ``spec`` the device reports otherwise (beyond 1 %)."""
    if caps is None:
        return []
    out = []
    for field, capability in SPEC_FIELDS.get(type(spec), ()):
        reported = getattr(caps, capability)
        entered = getattr(spec, field)
        if reported is None:
            continue
        if entered is not None and abs(reported - entered) <= RELATIVE_TOLERANCE * entered:
            continue
        out.append(
            CapabilityMismatch(
                field=field,
                entered=entered,
                reported=reported,
                planned=_planned(entered, reported),
            )
        )
    return out


def device_mismatches(
    spec: DeviceSpec | None, stored: Mapping[str, Any] | None
) -> list[CapabilityMismatch]:
    """:func:`mismatches` of a device from its stored capabilities (none stored: none)."""
    if spec is None or not stored:
        return []
    return mismatches(spec, capabilities_from_json(spec.name, stored))


def stored_capabilities(store: Store, home_id: int) -> dict[str, DeviceCapabilities]:
    """Each device's capabilities as stored, checked again."""
    stored = store.device_capabilities(home_id)
    return {name: capabilities_from_json(name, data) for name, data in stored.items()}


async def refresh_capabilities(ctl: HomeController, answered: Iterable[str]) -> None:
    """Ask each of the ``answered`` devices (they just answered a read) what it can do and
    store what changed (``ctl.capabilities``: what the controller stored in this process). A
    device that does not answer now is asked again at its next read."""
    for name in answered:
        driver = ctl.drivers.get(name)
        if not isinstance(driver, ReportsCapabilities):
            continue
        try:
            timeout_s = ctl.settings.device_timeout_s
            caps = await asyncio.wait_for(driver.capabilities(), timeout=timeout_s)
        except (DeviceUnavailableError, TimeoutError):
            continue
        if caps is None or ctl.capabilities.get(name) == caps:
            continue
        ctl.capabilities[name] = caps
        data = capabilities_json(caps) or None
        await asyncio.to_thread(ctl.store.set_device_capabilities, ctl.home_id, name, data)
        log.info("home %s: %s reports %s", ctl.home_id, name, data or "no capabilities")
