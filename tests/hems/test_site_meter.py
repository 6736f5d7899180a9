"""The site meter: its readings kept as the home's telemetry each tick, with the base load net
of the planned devices; and the base-load forecast learnt from that measured load once a day
of it exists, instead of a typical home's profile."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from hems.domain.connections import DeviceSettings, HomeDevices, ModbusConnection
from hems.domain.devices import BatterySpec
from hems.market import BASE_LOAD_P90, ReplayedMarket
from hems.measured_load import (
    ACCOUNT_IMPORT,
    BASE_LOAD,
    SITE_METER,
    MeasuredHistory,
    MeteredMarket,
    measured_history_kwh,
    record_site_meters,
)
from hems.runtime import build_runtime, start_devices, stop_devices
from hems.settings import Settings
from hems.storage.tables import TelemetryRow
from optimiser import TimeGrid
from tests.adapters.devices.sunspec_peer import running_peer

from .test_device_runtime import home_spec

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _battery_home():
    return home_spec().model_copy(
        update={
            "devices": [
                BatterySpec(name="Battery", capacity_kwh=10, max_charge_kw=5, max_discharge_kw=4.6)
            ]
        }
    )


def _settings(tmp_path, port: int) -> Settings:
    inverter = {"host": "127.0.0.1", "port": port, "timeout_s": 1.0}
    devices = DeviceSettings(
        homes={
            "CEM-T1": HomeDevices(
                devices={"Battery": ModbusConnection(role="battery", **inverter)},
                site_meter=ModbusConnection(role="meter", **inverter),
            )
        }
    )
    return Settings(state_dir=tmp_path, planner_processes=0, devices=devices)


def test_the_meter_is_stored_each_tick_with_the_base_load_net_of_the_devices(tmp_path):
    async def run(peer) -> None:
        runtime = build_runtime(_settings(tmp_path, peer.port))
        assert isinstance(runtime.service.market, MeteredMarket)
        home_id = runtime.store.create_home(_battery_home(), NOW, "test")
        await start_devices(runtime)
        assert runtime.devices is not None
        try:
            ctl = runtime.service.controller(home_id)
            await ctl.read_states()  # the battery's power, as the telemetry tick reads it
            await record_site_meters(runtime.service, runtime.devices)
            truth = await asyncio.to_thread(peer.state)
            since = datetime(2000, 1, 1, tzinfo=UTC)
            site = runtime.store.telemetry_powers(home_id, SITE_METER, since)
            base = runtime.store.telemetry_powers(home_id, BASE_LOAD, since)
            assert len(site) == len(base) == 1
            assert site[0][1] == pytest.approx(truth["meter_w"] / 1000, abs=0.02)
            # the meter sees load + battery; net of the battery it is the home's 1.2 kW load
            assert base[0][1] == pytest.approx(1.2, abs=0.02)
            assert runtime.devices.site_kw[home_id] == pytest.approx(site[0][1])
            peer.stop()  # the meter goes away: stored offline, never raised
            await record_site_meters(runtime.service, runtime.devices)
            assert home_id not in runtime.devices.site_kw
            assert len(runtime.store.telemetry_powers(home_id, SITE_METER, since)) == 1
        finally:
            await stop_devices(runtime)
            runtime.service.close()

    with running_peer("--load-w", "1200", "--pv-w", "0", "--soc", "0.6") as peer:
        asyncio.run(run(peer))


def _measured(store, home_id: int, start: datetime, hours: float, kw) -> None:
    """Base-load readings every 10 minutes for ``hours`` from ``start``."""
    times = [start + timedelta(minutes=10 * i) for i in range(int(hours * 6))]
    store.add_telemetry(
        home_id,
        [TelemetryRow(device_name=BASE_LOAD, at=t, online=True, power_kw=kw(t)) for t in times],
    )


def _day_and_night(t: datetime) -> float:
    """A home that uses 2.5 kW by day and 0.5 kW from 22:00 to 06:00 (UTC = UK in December)."""
    return 0.5 if t.hour >= 22 or t.hour < 6 else 2.5


def test_the_forecast_learns_the_measured_load_once_a_day_of_it_exists(tmp_path):
    runtime = build_runtime(Settings(state_dir=tmp_path, planner_processes=0))
    store = runtime.store
    home = _battery_home()
    home_id = store.create_home(home, NOW, "test")
    inner = ReplayedMarket()
    clock = [NOW]
    market = MeteredMarket(inner, store, lambda: clock[0])

    _measured(store, home_id, NOW - timedelta(hours=12), 12, _day_and_night)  # not enough yet
    grid = TimeGrid.starting_at(NOW, step_minutes=30, horizon_hours=24)
    assert measured_history_kwh(store, home_id, NOW) is None
    profile = inner.series(grid, home)["base_load_kw"].to_numpy()
    assert np.array_equal(market.series(grid, home)["base_load_kw"].to_numpy(), profile)

    # four days on, read as they come (the market keeps what it read)
    _measured(store, home_id, NOW, 96, _day_and_night)
    clock[0] = NOW + timedelta(hours=96)
    grid = TimeGrid.starting_at(clock[0], step_minutes=30, horizon_hours=24)
    learnt = market.series(grid, home)["base_load_kw"]
    hours = learnt.index.tz_convert("Europe/London").hour
    night = (hours >= 22) | (hours < 6)
    assert np.allclose(learnt[night], 0.5, atol=0.05)
    assert np.allclose(learnt[~night], 2.5, atol=0.05)
    assert not np.allclose(learnt.to_numpy(), inner.series(grid, home)["base_load_kw"], atol=0.3)
    # with its P90, for a planner that keeps a share of the spread
    p90 = market.series(grid, home)[BASE_LOAD_P90]
    assert (p90 >= learnt).all()
    # the same as reading the whole history at once
    whole = measured_history_kwh(store, home_id, clock[0])
    assert whole is not None
    assert np.allclose(market._history.kwh(home_id, clock[0]).to_numpy(), whole.to_numpy())
    runtime.service.close()


def test_the_account_s_import_fills_the_half_hours_the_meter_did_not_measure(tmp_path):
    runtime = build_runtime(Settings(state_dir=tmp_path, planner_processes=0))
    store = runtime.store
    home_id = store.create_home(_battery_home(), NOW, "test")
    day_before = NOW - timedelta(hours=24)
    slots = [day_before + timedelta(minutes=30 * i) for i in range(48)]
    store.add_telemetry(  # a day of the Octopus account's import: 0.8 kW each half-hour
        home_id,
        [TelemetryRow(device_name=ACCOUNT_IMPORT, at=t, online=True, power_kw=0.8) for t in slots],
    )
    history = MeasuredHistory(store)
    only_account = history.kwh(home_id, NOW)
    assert only_account is not None
    assert np.allclose(only_account.to_numpy(), 0.4)
    _measured(store, home_id, NOW - timedelta(hours=6), 6, lambda _t: 2.0)  # the meter's
    both = history.kwh(home_id, NOW + timedelta(minutes=1))
    assert both is not None
    assert len(both) == 48
    measured = both.index >= NOW - timedelta(hours=6)
    assert np.allclose(both[measured], 1.0)  # the meter's own base load wins
    assert np.allclose(both[~measured], 0.4)
    assert both.equals(measured_history_kwh(store, home_id, NOW + timedelta(minutes=1)))
    runtime.service.close()
