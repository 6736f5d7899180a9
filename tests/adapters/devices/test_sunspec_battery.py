"""The SunSpec battery driver against the test server process (a battery inverter with
models 1, 103, 121, 124 and the site meter 203, with battery physics): state with scale
factors, limits, a charge and a discharge followed, the self-consumption modes, and the revert
to the inverter's own mode when the CEM stops writing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from adapters.devices.driver import DeviceDriver, Setpoint
from adapters.devices.sunspec import SunSpecBatteryDriver
from tests.adapters.devices.sunspec_peer import SunSpecPeer, running_peer


@pytest.fixture
def peer() -> Iterator[SunSpecPeer]:
    """A battery inverter on a site with a 1 kW load and no PV, time running 3600x (one
    second is an hour of charge)."""
    with running_peer("--speed", "3600", "--load-w", "1000", "--pv-w", "0") as p:
        yield p


def _driver(peer: SunSpecPeer, **kwargs: int) -> SunSpecBatteryDriver:
    return SunSpecBatteryDriver("battery", "127.0.0.1", peer.port, **kwargs)


def test_the_driver_is_a_device_driver(peer: SunSpecPeer) -> None:
    assert isinstance(_driver(peer), DeviceDriver)


def test_state_and_limits_are_read_with_their_scale_factors() -> None:
    async def run(peer: SunSpecPeer) -> None:
        driver = _driver(peer)
        state = await driver.read_state()
        truth = peer.state()
        # W_SF = 1 (tens of watts): -1234 W reads as -1.23 kW; ChaState_SF = -1
        assert truth["battery_w"] == -1234.0
        assert state.power_kw == pytest.approx(-1.23)
        assert state.soc == pytest.approx(0.5, abs=0.001)
        limits = await driver.read_limits()
        assert (limits.max_charge_kw, limits.max_discharge_kw) == (5.0, 4.6)  # WChaMax_SF = 1
        assert limits.min_reserve_soc == pytest.approx(0.1)
        assert limits.capacity_kwh is None  # model 124 has no energy capacity
        await driver.close()

    # wall-clock speed: the SoC stays at 0.5 while it is read
    with running_peer("--load-w", "1234", "--soc", "0.5") as peer:
        asyncio.run(run(peer))


def test_a_charge_setpoint_is_followed_from_the_grid(peer: SunSpecPeer) -> None:
    async def run() -> None:
        driver = _driver(peer)
        soc_before = (await driver.read_state()).soc
        await driver.apply(Setpoint(power_kw=2.0))
        truth = peer.state()
        assert truth["battery_w"] == pytest.approx(2000.0)
        assert truth["grid_charging"] is True
        assert truth["meter_w"] == pytest.approx(3000.0)  # the load and the charge imported
        assert truth["rvrt_s"] == driver.revert_timeout_s
        await asyncio.sleep(0.5)  # half an hour at 2 kW into 10 kWh: +0.1
        state = await driver.read_state()
        assert state.power_kw == pytest.approx(2.0)
        assert soc_before is not None
        assert state.soc is not None
        assert state.soc - soc_before == pytest.approx(0.1, abs=0.03)
        await driver.close()

    asyncio.run(run())


def test_a_discharge_setpoint_is_followed_and_exports(peer: SunSpecPeer) -> None:
    async def run() -> None:
        driver = _driver(peer)
        soc_before = (await driver.read_state()).soc
        await driver.apply(Setpoint(power_kw=-3.0))
        truth = peer.state()
        assert truth["battery_w"] == pytest.approx(-3000.0)
        assert truth["meter_w"] == pytest.approx(-2000.0)  # 2 kW exported beyond the load
        await asyncio.sleep(0.5)
        state = await driver.read_state()
        assert state.power_kw == pytest.approx(-3.0)
        assert soc_before is not None
        assert state.soc is not None
        assert soc_before - state.soc == pytest.approx(0.15, abs=0.04)
        await driver.close()

    asyncio.run(run())


def test_a_discharge_stops_at_the_reserve(peer: SunSpecPeer) -> None:
    async def run() -> None:
        driver = _driver(peer)
        peer.send("soc 0.12")
        await driver.apply(Setpoint(power_kw=-4.0))
        await asyncio.sleep(0.2)  # 0.2 h at 4 kW: more than the 0.02 above the reserve
        state = await driver.read_state()
        assert state.power_kw == 0.0
        assert state.soc == pytest.approx(0.1, abs=0.001)
        await driver.close()

    asyncio.run(run())


@pytest.mark.parametrize(
    ("site", "setpoint", "battery_w", "meter_w"),
    [
        # a planned discharge for the home's load covers the load, up to the cap
        ((2500, 500), Setpoint(power_kw=-1.0, follow_site=True), -1000.0, 1000.0),
        ((1500, 500), Setpoint(power_kw=-3.0, follow_site=True), -1000.0, 0.0),
        # ... and stores an unforeseen surplus only when told to
        ((500, 2500), Setpoint(power_kw=-1.0, follow_site=True), 0.0, -2000.0),
        (
            (500, 2500),
            Setpoint(power_kw=-1.0, follow_site=True, store_surplus=True),
            2000.0,
            0.0,
        ),
        # a planned charge from the PV stores the surplus up to p and covers a deficit
        ((1000, 3000), Setpoint(power_kw=1.5, follow_site=True), 1500.0, -500.0),
        ((1000, 3000), Setpoint(power_kw=3.0, follow_site=True), 2000.0, 0.0),
        ((2500, 500), Setpoint(power_kw=1.0, follow_site=True), -2000.0, 0.0),
        # the same charge held, not following: it imports
        ((1000, 0), Setpoint(power_kw=1.5), 1500.0, 2500.0),
    ],
)
def test_self_consumption_modes(
    peer: SunSpecPeer,
    site: tuple[int, int],
    setpoint: Setpoint,
    battery_w: float,
    meter_w: float,
) -> None:
    async def run() -> None:
        driver = _driver(peer)
        peer.send(f"site {site[0]} {site[1]}")
        await driver.apply(setpoint)
        truth = peer.state()
        # rates are written in 0.01 % steps (InOutWRte_SF = -2): within 1 W
        assert truth["battery_w"] == pytest.approx(battery_w, abs=1)
        assert truth["meter_w"] == pytest.approx(meter_w, abs=1)
        assert (await driver.read_state()).power_kw == pytest.approx(battery_w / 1000, abs=0.01)
        await driver.close()

    asyncio.run(run())


def test_the_inverter_reverts_to_its_own_mode_when_the_cem_stops_writing(
    peer: SunSpecPeer,
) -> None:
    async def run() -> None:
        driver = _driver(peer, revert_timeout_s=1)
        await driver.apply(Setpoint(power_kw=2.0))  # charging from the grid
        started = time.monotonic()
        assert peer.state()["stor_ctl_mod"] == 3
        await asyncio.sleep(0.5)
        await driver.apply(Setpoint(power_kw=2.0))  # re-sent in time: held on
        await asyncio.sleep(0.7)
        assert peer.state()["battery_w"] == pytest.approx(2000.0)
        # silence: one second after the last write it drops the window, self-consumption
        await asyncio.sleep(0.6)
        truth = peer.state()
        assert time.monotonic() - started > 1.5
        assert truth["stor_ctl_mod"] == 0
        assert truth["battery_w"] == pytest.approx(-1000.0)  # covers the 1 kW load
        assert (await driver.read_state()).power_kw == pytest.approx(-1.0)
        await driver.close()

    asyncio.run(run())


def test_the_revert_timeout_is_checked() -> None:
    with pytest.raises(ValueError, match="revert_timeout_s"):
        SunSpecBatteryDriver("battery", "127.0.0.1", 1502, revert_timeout_s=0)


@pytest.mark.parametrize("inverter", ["101", "102", "701"])
def test_other_inverter_models_are_read(inverter: str) -> None:
    async def run(peer: SunSpecPeer) -> None:
        driver = _driver(peer)
        assert (await driver.connect()).model_ids[1] == int(inverter)
        assert (await driver.read_state()).power_kw == pytest.approx(-0.8)
        await driver.apply(Setpoint(power_kw=1.2))
        assert (await driver.read_state()).power_kw == pytest.approx(1.2)
        await driver.close()

    with running_peer("--inverter", inverter, "--load-w", "800") as peer:
        asyncio.run(run(peer))


def test_a_setpoint_that_is_not_a_number_is_refused_before_anything_is_written(
    peer: SunSpecPeer,
) -> None:
    async def run() -> None:
        driver = _driver(peer)
        with pytest.raises(ValueError, match="not a finite power"):
            await driver.apply(Setpoint(power_kw=float("nan")))
        assert peer.state()["stor_ctl_mod"] == 0
        await driver.close()

    asyncio.run(run())


def test_the_capacity_is_read_from_battery_model_802_when_present() -> None:
    async def run(peer: SunSpecPeer) -> None:
        driver = _driver(peer)
        assert 802 in (await driver.connect()).model_ids
        limits = await driver.read_limits()
        assert limits.capacity_kwh == pytest.approx(10.0)  # WHRtg 1000 x 10^1 Wh
        assert limits.max_charge_kw == 5.0
        await driver.close()

    with running_peer("--battery-802") as peer:
        asyncio.run(run(peer))
