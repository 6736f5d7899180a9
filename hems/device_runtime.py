"""The real devices of the running service: drivers built from each home's connections
(:mod:`hems.domain.connections`), and the servers and connections they share.

One :class:`~adapters.devices.ocpp.Csms` serves every home's chargers and one
:class:`~adapters.devices.s2.S2Cem` every home's S2 resource managers (each started and stopped
with the service, only when such a device is configured or registered); one
:class:`~adapters.devices.mqtt.MqttCem` per broker; a SunSpec / Modbus driver per device.
:meth:`DeviceRuntime.drivers_for` gives the service a home's drivers: the same dict for the
life of the service, so a device paired or removed while it runs is seen by the home's
controller at its next read.

A device that does not answer is the controller's business (reported offline, planned around);
a broker that is down at start is retried in the background. A configuration that does not fit
its home (a device the home does not have, a protocol that cannot drive it) stops the service
at start with a message naming it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Protocol

from pydantic import TypeAdapter, ValidationError

from adapters.devices.driver import DeviceDriver
from adapters.devices.mqtt import MqttCem, MqttDeviceDriver, MqttMeterDriver, SgReadyThresholds
from adapters.devices.ocpp import ChargerEvent, Csms, OcppChargerDriver
from adapters.devices.s2 import RmEvent, S2Cem, S2FrbcDriver
from adapters.devices.sunspec import MeterReading, SunSpecBatteryDriver, SunSpecPvDriver
from hems.device_settings import (
    broker_settings,
    charger_settings,
    csms_settings,
    meter_driver,
    rm_settings,
    s2_settings,
)
from hems.domain.connections import (
    DeviceConnection,
    DeviceSettings,
    HomeDevices,
    MqttConnection,
    OcppConnection,
    S2Connection,
    connection_problems,
)
from hems.domain.devices import DeviceSpec, EvChargerSpec, HeatPumpSpec
from hems.domain.home import HomeSpec
from hems.service import CemService
from hems.settings import SettingsError
from hems.storage.store import Store

log = logging.getLogger(__name__)

BROKER_RETRY_MAX_S = 60.0
"""The longest wait between two attempts to reach a broker that was down at start [s]."""


class DeviceConfigError(SettingsError):
    """A home's device connections do not fit the home; the message names each problem."""


class SiteMeter(Protocol):
    """A meter driver: the site's import and export (``SunSpecMeterDriver``,
    ``ModbusEnergyMeterDriver``, ``MqttMeterDriver``)."""

    name: str

    async def read_meter(self) -> MeterReading: ...


class DeviceRuntime:
    """Every configured home's drivers, the CSMS, the S2 server and the MQTT connections."""

    def __init__(self, config: DeviceSettings) -> None:
        self.config = config
        self.csms: Csms | None = None
        if config.has_chargers:
            self._new_csms()
        self.s2: S2Cem | None = None
        if config.has_s2:
            self._new_s2()
        self._rms: dict[str, tuple[int, str]] = {}  # rm_id: (home id, device name)
        self.brokers = {name: MqttCem(broker_settings(b)) for name, b in config.brokers.items()}
        self._drivers: dict[int, dict[str, DeviceDriver]] = {}
        self._chargers: dict[str, tuple[int, str]] = {}  # identity: (home id, device name)
        self.listeners: list[Callable[[int, str, ChargerEvent | RmEvent], None]] = []
        """Told of each charger's and S2 RM's event with the home and device it is (on the
        service's loop; only while the devices run)."""
        self._meters: dict[int, SiteMeter] = {}
        self.simulated: set[int] = set()
        """Homes whose devices are simulated (the demo): not driven here, not registrable."""
        self.site_kw: dict[int, float] = {}
        """Each home's site power at its meter's last good reading [kW, positive importing]."""
        self._tasks: set[asyncio.Task[None]] = set()
        self._csms_listening = False
        self._s2_listening = False
        self.started = False

    def _new_csms(self) -> Csms:
        self.csms = Csms(csms_settings(self.config.ocpp))
        self.csms.subscribe(self._on_charger)
        return self.csms

    def _new_s2(self) -> S2Cem:
        self.s2 = S2Cem(s2_settings(self.config.s2))
        self.s2.subscribe(self._on_rm)
        return self.s2

    def attach(
        self, home_id: int, home: HomeSpec, registered: Mapping[str, DeviceConnection] | None = None
    ) -> None:
        """Build the home's drivers from its connections: the settings' (by its CEM serial)
        and those ``registered`` through the API; pairs its chargers. Raises
        :class:`DeviceConfigError` naming what does not fit the home."""
        connections = self.config.for_home(home.cem_serial)
        if registered:
            both = set(registered) & set(connections.devices)
            if both:
                log.warning(
                    "home %s: %s configured in the settings too: those are used", home_id, both
                )
            merged = {**registered, **connections.devices}
            connections = connections.model_copy(update={"devices": merged})
        problems = connection_problems(home.devices, connections)
        if problems:
            raise DeviceConfigError(
                f"devices of home {home.cem_serial} (id {home_id}): " + "; ".join(problems)
            )
        drivers = self._drivers.setdefault(home_id, {})
        specs = {d.name: d for d in home.devices}
        for name, connection in connections.devices.items():
            drivers[name] = self._driver(home_id, name, connection, specs[name])
        meter = connections.site_meter
        if isinstance(meter, MqttConnection):
            self._meters[home_id] = MqttMeterDriver(
                "site meter",
                self.brokers[meter.broker],
                meter.device_id,
                stale_after_s=meter.stale_after_s,
            )
        elif meter is not None:
            self._meters[home_id] = meter_driver("site meter", meter)
        if drivers or connections.site_meter is not None:
            log.info(
                "home %s: %d device(s) over their protocols%s",
                home_id,
                len(drivers),
                ", a site meter" if connections.site_meter is not None else "",
            )

    def _driver(
        self, home_id: int, name: str, c: DeviceConnection, spec: DeviceSpec
    ) -> DeviceDriver:
        if isinstance(c, OcppConnection):
            assert isinstance(spec, EvChargerSpec)
            csms = self.csms or self._new_csms()
            csms.pair(charger_settings(c, spec))
            self._chargers[c.identity] = (home_id, name)
            return OcppChargerDriver(name, csms, c.identity)
        if isinstance(c, S2Connection):
            s2 = self.s2 or self._new_s2()
            s2.pair(rm_settings(c))
            self._rms[c.rm_id] = (home_id, name)
            return S2FrbcDriver(name, s2, c.rm_id)
        if isinstance(c, MqttConnection):
            sg_ready = None
            if c.control == "sg_ready" and isinstance(spec, HeatPumpSpec):
                sg_ready = SgReadyThresholds(rated_power_kw=spec.max_power_kw)
            return MqttDeviceDriver(
                name,
                self.brokers[c.broker],
                c.device_id,
                stale_after_s=c.stale_after_s,
                ack_timeout_s=c.ack_timeout_s,
                sg_ready=sg_ready,
                hold_s=c.hold_s,
            )
        where = (c.host, c.port)
        if c.role == "battery":
            return SunSpecBatteryDriver(
                name,
                *where,
                unit_id=c.unit_id,
                timeout_s=c.timeout_s,
                revert_timeout_s=c.revert_timeout_s,
            )
        return SunSpecPvDriver(
            name,
            *where,
            unit_id=c.unit_id,
            timeout_s=c.timeout_s,
            revert_timeout_s=c.revert_timeout_s,
        )

    async def add(self, home_id: int, name: str, c: DeviceConnection, spec: DeviceSpec) -> None:
        """Drive a device registered while the service runs (the CSMS started for a first
        charger, the S2 server for a first resource manager)."""
        self._drivers.setdefault(home_id, {})[name] = self._driver(home_id, name, c, spec)
        await self.start_servers()

    async def start_servers(self) -> None:
        """Start the CSMS and the S2 server, those there are, if the devices run and they do
        not listen yet (a port taken: the error goes up, the service stops)."""
        if self.started and self.csms is not None and not self._csms_listening:
            await self.csms.start()
            self._csms_listening = True
        if self.started and self.s2 is not None and not self._s2_listening:
            await self.s2.start()
            self._s2_listening = True

    async def remove(self, home_id: int, name: str) -> None:
        """Stop driving a device: a charger is unpaired (its credentials forgotten, its session
        ended), a Modbus connection closed."""
        driver = self._drivers.get(home_id, {}).pop(name, None)
        if isinstance(driver, OcppChargerDriver) and self.csms is not None:
            self._chargers.pop(driver.identity, None)
            with contextlib.suppress(KeyError):
                await self.csms.unpair(driver.identity)
        if isinstance(driver, S2FrbcDriver) and self.s2 is not None:
            self._rms.pop(driver.rm_id, None)
            with contextlib.suppress(KeyError):
                await self.s2.unpair(driver.rm_id)
        close = getattr(driver, "close", None)
        if close is not None:
            await close()

    async def identity(self, home_id: int, name: str) -> dict[str, str | None] | None:
        """What the device said it is (manufacturer, model, serial, version), None before it
        has: a charger's BootNotification, a SunSpec device's common model (read only once it
        answered, so this never waits on a device that is away)."""
        driver = self._drivers.get(home_id, {}).get(name)
        if isinstance(driver, OcppChargerDriver):
            info = driver.info()
            if info is None:
                return None
            return {
                "manufacturer": info.vendor,
                "model": info.model,
                "serial": info.serial,
                "version": info.firmware,
            }
        if isinstance(driver, S2FrbcDriver):
            rm = driver.identity()
            if rm is None:
                return None
            return {
                "manufacturer": rm.manufacturer,
                "model": rm.model,
                "serial": rm.serial_number,
                "version": rm.firmware_version,
            }
        if isinstance(driver, SunSpecBatteryDriver | SunSpecPvDriver) and driver.device.discovered:
            found = (await driver.connect()).identity
            return {
                "manufacturer": found.manufacturer,
                "model": found.model,
                "serial": found.serial,
                "version": found.version,
            }
        return None

    def connected_protocol(self, home_id: int, name: str) -> str | None:
        """The protocol the device is driven by, None when it has no driver."""
        driver = self._drivers.get(home_id, {}).get(name)
        if driver is None:
            return None
        if isinstance(driver, OcppChargerDriver):
            return "ocpp"
        if isinstance(driver, S2FrbcDriver):
            return "s2"
        return "mqtt" if isinstance(driver, MqttDeviceDriver) else "modbus"

    def set_driver(self, home_id: int, name: str, driver: DeviceDriver) -> None:
        """Drive the home's device ``name`` by ``driver`` (the protocol demo's simulated heat
        pump beside its real-protocol devices)."""
        self._drivers.setdefault(home_id, {})[name] = driver

    def charger_paired(self, identity: str) -> bool:
        """Whether a charger of that identity is paired to a home."""
        return identity in self._chargers

    def rm_paired(self, rm_id: str) -> bool:
        """Whether an S2 resource manager of that id is paired to a home."""
        return rm_id in self._rms

    def attached(self, home_id: int) -> bool:
        return home_id in self._drivers

    def drivers_for(self, home_id: int) -> Mapping[str, DeviceDriver]:
        """The home's drivers (an empty dict for a home with none; the same dict each time)."""
        return self._drivers.setdefault(home_id, {})

    def meter_for(self, home_id: int) -> SiteMeter | None:
        """The home's site meter, if one is configured."""
        return self._meters.get(home_id)

    def meters(self) -> dict[int, SiteMeter]:
        """Every home's site meter, by home id."""
        return dict(self._meters)

    @property
    def has_meters(self) -> bool:
        """Whether any home has a site meter configured (attached or not yet)."""
        return any(h.site_meter is not None for h in self.config.homes.values())

    async def start(self) -> None:
        """Start the CSMS and the S2 server (a port taken: the service stops when it cannot
        listen) and connect to the brokers (one that is down is retried in the background)."""
        self.started = True
        await self.start_servers()
        for name, cem in self.brokers.items():
            self.spawn(self._connect(name, cem))

    def _on_charger(self, identity: str, event: ChargerEvent) -> None:
        self._tell(self._chargers.get(identity), event)

    def _on_rm(self, rm_id: str, event: RmEvent) -> None:
        self._tell(self._rms.get(rm_id), event)

    def _tell(self, where: tuple[int, str] | None, event: ChargerEvent | RmEvent) -> None:
        if where is None or not self.started:  # not a device of a home, or shutting down
            return
        for listener in self.listeners:
            listener(*where, event)

    async def stop(self) -> None:
        """Close the brokers' connections (saying ``offline``), stop the CSMS and the S2
        server."""
        self.started = False
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for cem in self.brokers.values():
            await cem.close()
        if self.csms is not None:
            await self.csms.stop()
            self._csms_listening = False
        if self.s2 is not None:
            await self.s2.stop()
            self._s2_listening = False
        for driver in [
            *self._meters.values(),
            *(d for h in self._drivers.values() for d in h.values()),
        ]:
            close = getattr(driver, "close", None)  # a Modbus connection
            if close is not None:
                await close()

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` in the background until it ends or the devices stop."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connect(self, name: str, cem: MqttCem) -> None:
        """Connect to a broker, retrying with backoff until it answers (its devices are
        reported offline meanwhile). Once connected, the connection reconnects by itself."""
        wait_s = 1.0
        while True:
            try:
                await cem.start()
            except Exception as exc:
                if wait_s == 1.0:
                    log.warning("MQTT broker %s (%s): %s; retrying", name, cem.address, exc)
                await asyncio.sleep(wait_s)
                wait_s = min(wait_s * 2, BROKER_RETRY_MAX_S)
                continue
            log.info("MQTT broker %s (%s) connected", name, cem.address)
            return


def replan_on_charger_events(
    service: CemService,
    devices: DeviceRuntime,
    home_id: int,
    name: str,
    event: ChargerEvent | RmEvent,
) -> None:
    """A charger's or S2 RM's event, as the service acts on it: the home's devices are read
    (the car's plug state, a device now offline) and the home re-plans at once, not at the next
    read. A car plugged in or out is planned for; a charger that connects or boots, an RM set up
    (again), gets the new plan whole; one that faults or disconnects is reported offline and
    planned around."""

    async def read_and_replan() -> None:
        try:
            await service.controller(home_id).read_states()
        except Exception:  # the home deleted meanwhile, its store unreachable: said, not raised
            log.exception("home %s: could not read its devices after %s %s", home_id, name, event)
            return
        service.replan_soon(home_id, f"{name} {event.value.replace('_', ' ')}")

    devices.spawn(read_and_replan())


CONNECTION = TypeAdapter(DeviceConnection)
"""Reads a stored connection (JSON) back into its model."""


def registered_connections(store: Store, home_id: int) -> dict[str, DeviceConnection]:
    """The connections of the home's devices registered through the API; one that no longer
    reads (a field since renamed) is logged and left out, never a failed start."""
    out: dict[str, DeviceConnection] = {}
    for device in store.registered_devices(home_id):
        if device.connection is None:
            continue
        try:
            out[device.name] = CONNECTION.validate_python(device.connection)
        except ValidationError as exc:
            log.error(
                "home %s: device %s's stored connection is invalid: %s", home_id, device.name, exc
            )
    return out


__all__ = ["DeviceConfigError", "DeviceRuntime", "HomeDevices", "SiteMeter"]
