"""A battery that follows the site: its planned discharge covers the home's load without
exporting, its planned charge takes the PV surplus without importing and covers a deficit the
plan did not foresee (self-consumption mode), and idle where the PV covers the home it covers
a deficit only."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from hems.demo import demo_home_spec
from hems.dispatch import (
    site_following_batteries,
    surplus_storing_batteries,
    with_following_caps,
)
from hems.market import COLUMNS, ReplayedMarket
from hems.simulation.devices import SimulatedBattery, SimulatedPv
from hems.simulation.home import SimulatedHome
from kernel.devices import Setpoint

START = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def _home(base_load_kw: float, pv_kw_per_kwp: float, battery: Setpoint) -> SimulatedHome:
    """A home with a 4 kWp array and a 10 kWh battery at 50 %, flat weather and load, no
    noise, the battery told ``battery``."""
    index = pd.date_range(START, periods=4, freq="30min")
    sample = pd.DataFrame(
        {
            "import_price_gbp_per_kwh": 0.25,
            "export_price_gbp_per_kwh": 0.05,
            "carbon_intensity_g_per_kwh": 200.0,
            "base_load_kw": base_load_kw,
            "outdoor_temperature_c": 8.0,
            "pv_kw_per_kwp": pv_kw_per_kwp,
        },
        index=index,
    )[list(COLUMNS)]
    bat = SimulatedBattery(
        name="Battery",
        capacity_kwh=10.0,
        max_charge_kw=5.0,
        max_discharge_kw=5.0,
        charge_efficiency=0.95,
        discharge_efficiency=0.95,
        min_soc=0.1,
        now_utc=START,
        soc=0.5,
    )
    home = SimulatedHome(
        devices={"Battery": bat, "PV": SimulatedPv(name="PV", peak_kw=4.0, now_utc=START)},
        market=ReplayedMarket(sample),
        now_utc=START,
        noise=0.0,
    )
    asyncio.run(bat.apply(battery))
    return home


def test_a_following_discharge_covers_the_load_and_exports_nothing() -> None:
    home = _home(base_load_kw=1.0, pv_kw_per_kwp=0.0, battery=Setpoint(power_kw=-5.0))
    home.advance(START + timedelta(minutes=30))
    assert home.meter.export_kwh == pytest.approx(2.0)  # a fixed 5 kW: 4 kW to the grid

    home = _home(
        base_load_kw=1.0, pv_kw_per_kwp=0.0, battery=Setpoint(power_kw=-5.0, follow_site=True)
    )
    home.advance(START + timedelta(minutes=30))
    battery = home.devices["Battery"]
    assert home.meter.export_kwh == pytest.approx(0.0)
    assert home.meter.import_kwh == pytest.approx(0.0)
    assert battery.power_kw() == pytest.approx(-1.0)  # just the load


def test_a_following_discharge_is_still_capped_at_the_plan() -> None:
    home = _home(
        base_load_kw=3.0, pv_kw_per_kwp=0.0, battery=Setpoint(power_kw=-1.0, follow_site=True)
    )
    home.advance(START + timedelta(minutes=30))
    assert home.devices["Battery"].power_kw() == pytest.approx(-1.0)
    assert home.meter.import_kwh == pytest.approx(1.0)  # the plan's import, as planned


def test_a_following_charge_takes_only_the_surplus() -> None:
    # 4 kWp at 0.75 kW/kWp = 3 kW of PV against 1 kW of load: 2 kW of surplus.
    home = _home(base_load_kw=1.0, pv_kw_per_kwp=0.75, battery=Setpoint(power_kw=5.0))
    home.advance(START + timedelta(minutes=30))
    assert home.meter.import_kwh == pytest.approx(1.5)  # a fixed 5 kW imports the rest

    home = _home(
        base_load_kw=1.0, pv_kw_per_kwp=0.75, battery=Setpoint(power_kw=5.0, follow_site=True)
    )
    home.advance(START + timedelta(minutes=30))
    assert home.devices["Battery"].power_kw() == pytest.approx(2.0)
    assert home.meter.import_kwh == pytest.approx(0.0)
    assert home.meter.export_kwh == pytest.approx(0.0)


def test_a_following_charge_covers_a_deficit_the_plan_did_not_foresee() -> None:
    # the plan stores the PV surplus; a cloud leaves 0.5 kW of PV against 1 kW of load
    home = _home(base_load_kw=1.0, pv_kw_per_kwp=0.125, battery=Setpoint(power_kw=5.0))
    home.advance(START + timedelta(minutes=30))
    assert home.meter.import_kwh == pytest.approx(2.75)  # a fixed 5 kW: charged from the grid

    home = _home(
        base_load_kw=1.0, pv_kw_per_kwp=0.125, battery=Setpoint(power_kw=5.0, follow_site=True)
    )
    home.advance(START + timedelta(minutes=30))
    battery = home.devices["Battery"]
    assert battery.power_kw() == pytest.approx(-0.5)  # the deficit, from the battery
    assert home.meter.import_kwh == pytest.approx(0.0)
    assert battery.soc < 0.5


def test_a_following_discharge_leaves_a_surplus_to_the_grid() -> None:
    # the plan discharges for the load; the sun comes out: 3 kW of PV against 1 kW of load.
    # The battery stops (it never exports), and does not store it either: only a planned
    # charge runs both ways
    home = _home(
        base_load_kw=1.0, pv_kw_per_kwp=0.75, battery=Setpoint(power_kw=-5.0, follow_site=True)
    )
    home.advance(START + timedelta(minutes=30))
    assert home.devices["Battery"].power_kw() == pytest.approx(0.0)
    assert home.meter.export_kwh == pytest.approx(1.0)


def test_a_discharge_told_to_store_a_surplus_keeps_the_pv_the_plan_did_not_foresee() -> None:
    # as above, but the plan's discharge for the load comes with store_surplus: the 2 kW of
    # surplus go into the battery, not to the grid at the export price
    told = Setpoint(power_kw=-5.0, follow_site=True, store_surplus=True)
    home = _home(base_load_kw=1.0, pv_kw_per_kwp=0.75, battery=told)
    home.advance(START + timedelta(minutes=30))
    assert home.devices["Battery"].power_kw() == pytest.approx(2.0)
    assert home.meter.export_kwh == pytest.approx(0.0)
    # and it still covers the load when the sun goes
    home = _home(base_load_kw=1.0, pv_kw_per_kwp=0.0, battery=told)
    home.advance(START + timedelta(minutes=30))
    assert home.devices["Battery"].power_kw() == pytest.approx(-1.0)
    assert home.meter.import_kwh == pytest.approx(0.0)


def test_a_held_battery_stores_a_surplus_and_covers_nothing() -> None:
    # idle while the home imports (its energy kept for dearer slots): no power, following,
    # storing a surplus
    held = Setpoint(power_kw=0.0, follow_site=True, store_surplus=True)
    home = _home(base_load_kw=1.0, pv_kw_per_kwp=0.0, battery=held)
    home.advance(START + timedelta(minutes=30))
    assert home.devices["Battery"].power_kw() == pytest.approx(0.0)
    assert home.meter.import_kwh == pytest.approx(0.5)  # the load, from the grid as planned
    home = _home(base_load_kw=1.0, pv_kw_per_kwp=0.75, battery=held)
    home.advance(START + timedelta(minutes=30))
    assert home.devices["Battery"].power_kw() == pytest.approx(2.0)
    assert home.meter.export_kwh == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("battery_kw", "import_kw", "export_kw", "stores"),
    [
        (-3.0, 0.5, 0.0, True),  # discharging for the home's load
        (-3.0, 0.0, 2.0, False),  # discharging to export on purpose
        (0.0, 1.0, 0.0, True),  # held idle while the home imports
        (0.0, 0.0, 1.5, False),  # idle while the PV covers the home: room kept on purpose
        (2.0, 0.0, 0.0, False),  # a charge stores a surplus already (up to its cap)
        (2.0, 2.5, 0.0, False),  # charging from the grid on purpose
    ],
)
def test_which_planned_battery_powers_store_a_surplus(
    battery_kw: float, import_kw: float, export_kw: float, stores: bool
) -> None:
    chosen = surplus_storing_batteries(
        _schedule(battery_kw, import_kw, export_kw),
        demo_home_spec(),
        START + timedelta(minutes=10),
    )
    assert ("Battery" in chosen) is stores


def test_an_idle_battery_where_the_pv_covers_the_home_covers_a_deficit_only() -> None:
    spec = demo_home_spec()
    cap = with_following_caps({"Battery": 0.0}, frozenset({"Battery"}), spec)["Battery"]
    assert cap == -5.0  # the idle battery is sent its full discharge as the cap
    # 6 kW of load and no PV: the battery's 5 kW limit, 1 kW from the grid
    home = _home(
        base_load_kw=6.0, pv_kw_per_kwp=0.0, battery=Setpoint(power_kw=cap, follow_site=True)
    )
    home.advance(START + timedelta(minutes=30))
    assert home.devices["Battery"].power_kw() == pytest.approx(-5.0)
    assert home.meter.import_kwh == pytest.approx(0.5)
    # 3 kW of surplus: exported as the plan chose (it may keep room for cheaper energy)
    home = _home(
        base_load_kw=1.0, pv_kw_per_kwp=1.0, battery=Setpoint(power_kw=cap, follow_site=True)
    )
    home.advance(START + timedelta(minutes=30))
    assert home.devices["Battery"].power_kw() == pytest.approx(0.0)
    assert home.meter.export_kwh > 1.4


def _schedule(battery_kw: float, import_kw: float, export_kw: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Battery.power_kw": [battery_kw],
            "grid_import_kw": [import_kw],
            "grid_export_kw": [export_kw],
        },
        index=pd.DatetimeIndex([START], name="slot_start"),
    )


@pytest.mark.parametrize(
    ("battery_kw", "import_kw", "export_kw", "follows"),
    [
        (-3.0, 0.5, 0.0, True),  # discharging for the home's load
        (-3.0, 0.0, 2.0, False),  # discharging to export on purpose: hold the power
        (2.0, 0.0, 0.0, True),  # storing the PV surplus
        (2.0, 2.5, 0.0, False),  # charging from the grid on purpose: hold the power
        (0.0, 1.0, 0.0, False),  # idle while the home imports: energy kept for later
        (0.0, 0.0, 1.5, True),  # idle while the PV covers the home and exports
        (2.0, 0.0, 1.5, True),  # storing part of the surplus, exporting the rest
    ],
)
def test_which_planned_battery_powers_follow_the_site(
    battery_kw: float, import_kw: float, export_kw: float, follows: bool
) -> None:
    spec = demo_home_spec()
    chosen = site_following_batteries(
        _schedule(battery_kw, import_kw, export_kw), spec, START + timedelta(minutes=10)
    )
    assert ("Battery" in chosen) is follows


def test_the_service_sends_the_battery_the_follow_flag_its_plan_calls_for(client, demo) -> None:
    # Monday 17:00, the evening peak, with a full battery: the plan discharges it for the
    # home's load (no export at 5.5 p against the peak import price).
    ctl = demo.runtime.service.controller(demo.home_id)
    battery = demo.runtime.simulations[demo.home_id].devices["Battery"]
    assert isinstance(battery, SimulatedBattery)
    battery.soc = 0.95
    client.portal.call(ctl.read_states)
    client.portal.call(ctl.replan, "test")
    client.portal.call(ctl.dispatch)
    for _ in range(4):  # the ramp's steps reach the planned power
        demo.clock.advance(timedelta(seconds=15))
        client.portal.call(demo.runtime.service.apply_due_all)
    plan = demo.runtime.service.store.latest_plan(demo.home_id)
    assert plan is not None
    now = demo.clock.now()
    expected = "Battery" in site_following_batteries(plan.schedule, demo_spec(demo), now)
    assert battery.follow_site is expected
    assert battery.follow_site, "the peak-time plan was expected to discharge for the load"
    assert battery.setpoint_kw < 0


def test_a_battery_is_told_when_its_mode_changes_at_the_same_power(
    client, demo, monkeypatch
) -> None:
    # the peak-time plan has the battery follow the site at its full discharge (-5 kW cap);
    # the next slot's plan discharges at the same -5 kW to export on purpose: the power is
    # unchanged but the battery must now hold it, not follow the home's load
    import hems.slot_setpoints as step  # the decide step the controller runs

    ctl = demo.runtime.service.controller(demo.home_id)
    battery = demo.runtime.simulations[demo.home_id].devices["Battery"]
    assert isinstance(battery, SimulatedBattery)
    battery.soc = 0.95

    def settle() -> None:
        client.portal.call(ctl.dispatch)
        for _ in range(4):  # the ramp's steps reach the decided power
            demo.clock.advance(timedelta(seconds=15))
            client.portal.call(demo.runtime.service.apply_due_all)

    client.portal.call(ctl.read_states)
    client.portal.call(ctl.replan, "test")
    settle()
    assert battery.follow_site
    held = battery.setpoint_kw
    monkeypatch.setattr(step, "site_following_batteries", lambda *_: frozenset())
    monkeypatch.setattr(step, "surplus_storing_batteries", lambda *_: frozenset())
    monkeypatch.setattr(
        step, "with_following_caps", lambda planned, *_: {**planned, "Battery": held}
    )
    settle()
    assert battery.setpoint_kw == held
    assert not battery.follow_site


def demo_spec(demo):  # the demo home as stored
    return demo.runtime.service.store.home(demo.home_id)


def test_a_following_battery_is_sent_its_full_power_in_the_planned_direction() -> None:
    spec = demo_home_spec()
    battery = next(d for d in spec.devices if d.name == "Battery")
    planned = {"Battery": -1.2, "EV charger": 7.4}
    capped = with_following_caps(planned, frozenset({"Battery"}), spec)
    assert capped["Battery"] == -battery.max_discharge_kw  # type: ignore[attr-defined]
    assert capped["EV charger"] == 7.4  # only batteries follow the site
    assert with_following_caps({"Battery": 0.8}, frozenset({"Battery"}), spec)["Battery"] == (
        battery.max_charge_kw  # type: ignore[attr-defined]
    )
    # a battery not following (charging from the grid, exporting on purpose) keeps its power
    assert with_following_caps(planned, frozenset(), spec) == planned
    assert with_following_caps({"Battery": 0.0}, frozenset(), spec) == {"Battery": 0.0}
    # idle where the PV covers the home: the discharge direction (a deficit only)
    assert with_following_caps({"Battery": 0.0}, frozenset({"Battery"}), spec)["Battery"] == (
        -battery.max_discharge_kw  # type: ignore[attr-defined]
    )


def test_load_above_its_forecast_is_covered_by_the_following_battery_not_the_grid() -> None:
    # the plan discharges 1 kW for a 1 kW forecast load; the load turns out 3 kW
    spec = demo_home_spec()
    cap = with_following_caps({"Battery": -1.0}, frozenset({"Battery"}), spec)["Battery"]
    home = _home(
        base_load_kw=3.0, pv_kw_per_kwp=0.0, battery=Setpoint(power_kw=cap, follow_site=True)
    )
    home.advance(START + timedelta(hours=1))
    assert home.devices["Battery"].power_kw() == pytest.approx(-3.0)
    assert home.meter.import_kwh == pytest.approx(0.0)
    assert home.meter.export_kwh == pytest.approx(0.0)
