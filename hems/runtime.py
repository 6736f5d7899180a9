"""Assemble the running service from settings: database, stores, homes, drivers, scheduler.

In demo mode the bundled demo home is created on first start with simulated devices, and the
simulation's physics follow the clock.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from adapters.cache import SeriesCache
from adapters.devices.driver import DeviceDriver
from hems.account_refresh import LinkedHomes
from hems.clock import Clock, SystemClock
from hems.demo import demo_home_spec
from hems.demo_protocols import DemoProtocols
from hems.device_runtime import (
    DeviceConfigError,
    DeviceRuntime,
    registered_connections,
    replan_on_charger_events,
)
from hems.dsrsp_process import DemoDsrspProcess
from hems.live_market import LiveMarket
from hems.market import MarketSource, ReplayedMarket
from hems.measured_load import MeteredMarket, read_site_kw, record_site_meters
from hems.ownership import HomeOwnership
from hems.scheduler import build_scheduler
from hems.service import CemService
from hems.settings import Settings
from hems.simulation.home import SimulatedHome, simulate_home
from hems.site_guard import SiteMeterRead
from hems.storage.engine import make_engine, upgrade_schema
from hems.storage.file_modes import owner_only_dir
from hems.storage.store import Store
from hems.vens import VenFleet

log = logging.getLogger(__name__)
UK = ZoneInfo("Europe/London")
DEMO_SERIAL = "DEMO-0001"


@dataclass
class Runtime:
    """Everything the running service holds. ``new_tokens`` are tokens created at this start
    (shown once by the CLI, never logged)."""

    settings: Settings
    store: Store
    service: CemService
    simulations: dict[int, SimulatedHome] = field(default_factory=dict)
    new_tokens: dict[str, str] = field(default_factory=dict)
    scheduler: AsyncIOScheduler | None = None
    vens: VenFleet | None = None
    dsrsp: DemoDsrspProcess | None = None
    """The demo DSRSP, a child process started and stopped with the API by ``hems run --demo``."""
    devices: DeviceRuntime | None = None
    """The homes' real devices (``[devices]`` in the settings), started and stopped with the
    API (:func:`start_devices`)."""
    demo_protocols: DemoProtocols | None = None
    """``--devices protocols``: the demo's device simulators, child processes started and
    stopped with the devices."""
    ownership: HomeOwnership | None = None
    """On PostgreSQL: this replica's home leases (:mod:`hems.ownership`), started with the
    scheduler; None on SQLite (one process runs every home)."""

    async def simulate(self) -> None:
        """Advance every simulated home to now."""
        now = self.service.clock.now()
        for sim in self.simulations.values():
            sim.advance(now)


def build_runtime(
    settings: Settings, clock: Clock | None = None, *, seed: int | None = None
) -> Runtime:
    clock = clock or SystemClock()
    protocols = None
    if settings.demo and settings.demo_devices == "protocols":
        protocols = DemoProtocols.prepare(settings)
        settings = protocols.with_devices(settings, DEMO_SERIAL)
    owner_only_dir(settings.state_dir)  # the state directory: 0700 (hems/storage/file_modes.py)
    engine = make_engine(settings.resolved_database_url)
    upgrade_schema(engine)
    store = Store(engine)
    simulations: dict[int, SimulatedHome] = {}
    devices = DeviceRuntime(settings.devices)

    def drivers_for(home_id: int) -> Mapping[str, DeviceDriver]:
        sim = simulations.get(home_id)
        if sim is not None and home_id in devices.simulated:
            return sim.drivers
        if not devices.attached(home_id):  # a home registered while the service runs
            _attach_logged(devices, store, home_id)
        return devices.drivers_for(home_id)

    market: MarketSource = ReplayedMarket()
    if settings.live_market:
        market = LiveMarket(
            cache=SeriesCache(settings.state_dir / "market_cache.sqlite3"),
            clock=clock,
            import_product=settings.agile_import_product,
            export_product=settings.agile_export_product,
        )
    if devices.has_meters:  # homes with a meter are planned on their own measured load
        market = MeteredMarket(market, store, clock.now)
    else:  # and those with a linked Octopus account on its consumption (hems.account_refresh)
        market = MeteredMarket(market, store, clock.now, LinkedHomes(store))
    service = CemService(
        settings=settings,
        store=store,
        clock=clock,
        market=market,
        drivers_for=drivers_for,
        seed=seed,
    )
    runtime = Runtime(
        settings=settings, store=store, service=service, simulations=simulations, devices=devices
    )
    runtime.demo_protocols = protocols
    now = clock.now()
    if not store.has_admin_token():
        runtime.new_tokens["admin"] = store.create_token("admin", None, now, label="first start")
    demo_id = _demo_home(runtime, seed) if settings.demo else None
    if demo_id is not None and protocols is None:
        devices.simulated.add(demo_id)
    _attach_homes(devices, store, skip=devices.simulated)
    if demo_id is not None and protocols is not None and not protocols.mqtt:  # no broker
        devices.set_driver(demo_id, "Heat pump", simulations[demo_id].drivers["Heat pump"])
    devices.listeners.append(partial(replan_on_charger_events, service, devices))
    service.site_meter_for = partial(_site_meter, devices, simulations, settings)
    replicas = engine.dialect.name == "postgresql"  # several may share it: homes by lease
    if settings.vtn_url:
        runtime.vens = VenFleet(service, settings, follow_leases=replicas)
        for home_id in devices.meters():  # the DSRSP is told the meter's reading
            runtime.vens.site_power[home_id] = partial(devices.site_kw.get, home_id)
        for home_id in devices.simulated:  # the simulated meter (not a protocol demo's)
            runtime.vens.site_power[home_id] = partial(_site_power, simulations[home_id])
        runtime.vens.build()
    if replicas:
        runtime.ownership = HomeOwnership(store, service, settings, runtime.vens)
    return runtime


def _demo_home(runtime: Runtime, seed: int | None) -> int:
    """The demo home (made on the first start, with DSR consent and a token shown once) and its
    simulation; returns its id."""
    store, now = runtime.store, runtime.service.clock.now()
    home_id = next((h for h in store.home_ids() if store.home(h).cem_serial == DEMO_SERIAL), None)
    if home_id is None:
        home_id = store.create_home(demo_home_spec(DEMO_SERIAL), now, "system")
        # The demo consumer has agreed to DSR, so the demo DSRSP's event is taken part in.
        consent = store.preferences(home_id).model_copy(update={"dsr_consent": True})
        store.set_preferences(home_id, consent, now, "demo set-up")
        runtime.new_tokens["demo home"] = store.create_token("home", home_id, now, label="demo")
    prefs = store.preferences(home_id)
    runtime.simulations[home_id] = simulate_home(
        store.home(home_id),
        now,
        days=30,
        seed=seed or 0,
        comfort_min_c=lambda t: prefs.comfort_min_at(t.astimezone(UK)),
    )
    return home_id


def _attach_homes(devices: DeviceRuntime, store: Store, skip: set[int]) -> None:
    """Build every home's drivers at start: a configuration that does not fit its home stops
    the service (:class:`DeviceConfigError`), and one for a home not registered is said."""
    serials = set()
    for home_id in store.home_ids():
        home = store.home(home_id)
        serials.add(home.cem_serial)
        if home_id not in skip:
            devices.attach(home_id, home, registered_connections(store, home_id))
    for serial in sorted(set(devices.config.homes) - serials):
        log.warning("devices are configured for home %s, which is not registered", serial)


def _attach_logged(devices: DeviceRuntime, store: Store, home_id: int) -> None:
    """Build the drivers of a home registered while the service runs; a configuration that
    does not fit it is logged and the home runs without devices (the service goes on)."""
    try:
        devices.attach(home_id, store.home(home_id), registered_connections(store, home_id))
    except DeviceConfigError as exc:
        log.error("%s: the home runs without these devices", exc)
        devices.drivers_for(home_id)  # attached, with none


def _site_meter(
    devices: DeviceRuntime,
    simulations: Mapping[int, SimulatedHome],
    settings: Settings,
    home_id: int,
) -> SiteMeterRead | None:
    """What the home's import guard reads each apply tick: the simulated meter of the demo's
    simulated home, else the home's site meter, if it has one (hems/site_guard.py)."""
    if home_id in devices.simulated and home_id in simulations:
        return partial(_simulated_meter, simulations[home_id])
    if devices.meter_for(home_id) is None:
        return None
    return partial(read_site_kw, devices, home_id, settings.device_timeout_s)


async def _simulated_meter(sim: SimulatedHome) -> float | None:
    """The simulated meter now: the devices as just sent, the last step's load and PV."""
    return sim.metered_kw()


def _site_power(sim: SimulatedHome) -> float | None:
    """The simulated meter's site power [kW]."""
    return sim.site_power_kw


def start_scheduler(runtime: Runtime) -> None:
    """Start the timetable (and the VENs) in the running event loop."""
    simulate = runtime.simulate if runtime.simulations else None
    runtime.scheduler = build_scheduler(runtime.service, simulate)
    if runtime.devices is not None and runtime.devices.has_meters:  # each telemetry tick
        meters = partial(record_site_meters, runtime.service, runtime.devices)
        runtime.scheduler.add_job(meters, IntervalTrigger(seconds=60), id="meters")
    runtime.scheduler.start()
    if runtime.vens is not None:
        runtime.vens.start()
    if runtime.ownership is not None:  # the homes this replica claims start as it claims them
        runtime.ownership.start()


async def start_devices(runtime: Runtime) -> None:
    """Start the CSMS and the MQTT connections (before the scheduler's first cycle)."""
    if runtime.demo_protocols is not None:  # the simulators first: the brokers are up
        await runtime.demo_protocols.start()
    if runtime.devices is not None:
        await runtime.devices.start()


async def stop_devices(runtime: Runtime) -> None:
    if runtime.demo_protocols is not None:
        await runtime.demo_protocols.stop()
    if runtime.devices is not None and runtime.devices.started:
        await runtime.devices.stop()


async def stop_scheduler(runtime: Runtime) -> None:
    if runtime.ownership is not None:  # its homes are free for the other replicas at once
        await runtime.ownership.stop()
    if runtime.scheduler is not None and runtime.scheduler.running:
        runtime.scheduler.shutdown(wait=False)
    if runtime.vens is not None:
        await runtime.vens.stop()
