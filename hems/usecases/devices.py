"""A home's devices registered through the API and the CLI: register one (the connection of a
device the home has, or a new device with its connection), list them with the identity each
gave once connected, test one now, remove one. Each change is stored, audited and takes effect
in the running service at once: the device is driven (a charger paired) or no longer (a charger
unpaired, its credentials gone), and the home re-plans.

Devices configured in the settings file are listed too (``source: settings``) but changed only
there."""

from __future__ import annotations

import asyncio
from typing import Literal

from pydantic import BaseModel

from hems.device_capabilities import CapabilityMismatch, device_mismatches
from hems.device_runtime import DeviceRuntime, registered_connections
from hems.domain.connections import (
    DeviceRegistration,
    HomeDevices,
    MqttConnection,
    OcppConnection,
    S2Connection,
    connection_problems,
)
from hems.service import CemService
from hems.storage.store import ConflictError, NotFoundError
from hems.usecases.errors import InvalidInputError
from kernel.devices import DeviceUnavailableError


class DeviceIdentity(BaseModel):
    """What a device said it is once connected (a charger's BootNotification, a SunSpec
    device's common model)."""

    manufacturer: str | None
    model: str | None
    serial: str | None
    version: str | None


class DeviceListing(BaseModel):
    """A device of the home and how the CEM reaches it (``protocol`` None: not connected to
    the CEM; ``source``: the settings file or the API), what it reported it can do
    (``capabilities``: the fields of :class:`kernel.devices.DeviceCapabilities` it gave) and
    where that differs from the spec the consumer entered (``mismatches``: the plan uses the
    lower)."""

    name: str
    kind: str
    protocol: str | None
    source: Literal["settings", "api"] | None
    identity: DeviceIdentity | None
    capabilities: dict[str, float | int] | None = None
    mismatches: list[CapabilityMismatch] = []


class DeviceTest(BaseModel):
    """One read of the device now: its power, or why it did not answer."""

    name: str
    online: bool
    power_kw: float | None
    error: str


def _check(
    service: CemService, devices: DeviceRuntime, home_id: int, reg: DeviceRegistration
) -> None:
    """Refuse a registration that cannot work, naming the field (InvalidInputError, 422) or the
    conflict (ConflictError, 409)."""
    home = service.store.home(home_id)
    _not_simulated(devices, home_id)
    specs = {d.name: d for d in home.devices}
    if reg.spec is None and reg.name not in specs:
        known = ", ".join(sorted(specs)) or "none"
        raise InvalidInputError(
            ("body", "name"),
            f"the home has no device {reg.name!r} ({known}): give its spec",
            reg.name,
        )
    if reg.name in devices.config.for_home(home.cem_serial).devices:
        raise ConflictError(
            f"device {reg.name!r} is configured in the settings file: change it there"
        )
    all_specs = [*home.devices, *([reg.spec] if reg.spec is not None else [])]
    for problem in connection_problems(all_specs, HomeDevices(devices={reg.name: reg.connection})):
        raise InvalidInputError(("body", "connection"), problem, reg.connection.protocol)
    c = reg.connection
    if isinstance(c, MqttConnection) and c.broker not in devices.config.brokers:
        known = ", ".join(sorted(devices.config.brokers)) or "none in the settings file"
        raise InvalidInputError(
            ("body", "connection", "broker"), f"no broker {c.broker!r} ({known})", c.broker
        )
    if isinstance(c, OcppConnection) and devices.charger_paired(c.identity):
        raise ConflictError(f"charger identity {c.identity} is paired already")
    if isinstance(c, S2Connection) and devices.rm_paired(c.rm_id):
        raise ConflictError(f"S2 resource manager {c.rm_id} is paired already")


async def register_device(
    service: CemService, devices: DeviceRuntime, home_id: int, reg: DeviceRegistration, actor: str
) -> DeviceListing:
    """Register the device (audited, ``device.register``), drive it now and re-plan the home."""
    _check(service, devices, home_id, reg)
    connection = reg.connection.model_dump(mode="json")  # a password only as its hash
    now = service.clock.now()
    await asyncio.to_thread(
        service.store.register_device, home_id, reg.name, reg.spec, connection, now, actor
    )
    spec = reg.spec or next(d for d in service.store.home(home_id).devices if d.name == reg.name)
    if not devices.attached(home_id):
        devices.attach(
            home_id, service.store.home(home_id), registered_connections(service.store, home_id)
        )
        await devices.start_servers()
    else:
        await devices.add(home_id, reg.name, reg.connection, spec)
    _refresh_controller(service, devices, home_id)
    service.replan_soon(home_id, f"device {reg.name} registered")
    return DeviceListing(
        name=reg.name,
        kind=spec.kind.value,
        protocol=reg.connection.protocol,
        source="api",
        identity=None,
    )


async def registered_devices(
    service: CemService, devices: DeviceRuntime, home_id: int
) -> list[DeviceListing]:
    """The home's devices, each with its protocol and, once it connected, its identity (kept:
    a device that answered once is shown as it said it is)."""
    home = service.store.home(home_id)
    in_settings = devices.config.for_home(home.cem_serial).devices
    specs = {d.name: d for d in home.devices}
    out = []
    for d in await asyncio.to_thread(service.store.registered_devices, home_id):
        identity = await devices.identity(home_id, d.name)
        if identity is not None and identity != d.identity:
            await asyncio.to_thread(service.store.set_device_identity, home_id, d.name, identity)
        identity = identity or d.identity
        source: Literal["settings", "api"] | None = None
        protocol: str | None = None
        if d.name in in_settings:
            source, protocol = "settings", in_settings[d.name].protocol
        elif d.connection is not None:
            source, protocol = "api", str(d.connection.get("protocol"))
        out.append(
            DeviceListing(
                name=d.name,
                kind=d.kind,
                protocol=protocol,
                source=source,
                identity=DeviceIdentity(**identity) if identity else None,
                capabilities=d.capabilities,
                mismatches=device_mismatches(specs.get(d.name), d.capabilities),
            )
        )
    return out


async def test_device(
    service: CemService, devices: DeviceRuntime, home_id: int, name: str
) -> DeviceTest:
    """Read the device once now (bounded by the device timeout): is it reachable, and what
    does it do. NotFoundError for a device the CEM does not drive."""
    driver = service.controller(home_id).drivers.get(name)  # the demo's simulated ones too
    if driver is None:
        raise NotFoundError(f"device {name!r} of home {home_id} (not connected to the CEM)")
    try:
        state = await asyncio.wait_for(driver.read_state(), service.settings.device_timeout_s)
    except (DeviceUnavailableError, TimeoutError) as exc:
        return DeviceTest(name=name, online=False, power_kw=None, error=str(exc) or "timeout")
    return DeviceTest(name=name, online=True, power_kw=state.power_kw, error="")


async def remove_device(
    service: CemService, devices: DeviceRuntime, home_id: int, name: str, actor: str
) -> None:
    """Remove the device from the home with its connection and credentials (audited,
    ``device.remove``); a charger is unpaired and its session ended; the home re-plans."""
    home = service.store.home(home_id)
    _not_simulated(devices, home_id)
    if name in devices.config.for_home(home.cem_serial).devices:
        raise ConflictError(f"device {name!r} is configured in the settings file: remove it there")
    now = service.clock.now()
    await asyncio.to_thread(service.store.remove_device, home_id, name, now, actor)
    await devices.remove(home_id, name)
    ctl = service.controllers.get(home_id)
    if ctl is not None:
        ctl.states.pop(name, None)
        ctl.health.pop(name, None)
        ctl.schedules.pop(name, None)
    service.replan_soon(home_id, f"device {name} removed")


def _refresh_controller(service: CemService, devices: DeviceRuntime, home_id: int) -> None:
    """A controller made before the home had drivers holds the runtime's dict: nothing to do;
    one of a home with none attached then is given it."""
    ctl = service.controllers.get(home_id)
    if ctl is not None and ctl.drivers is not devices.drivers_for(home_id):
        ctl.drivers = devices.drivers_for(home_id)


def _not_simulated(devices: DeviceRuntime, home_id: int) -> None:
    if home_id in devices.simulated:
        raise ConflictError(f"home {home_id}'s devices are simulated (the demo): not changed")
