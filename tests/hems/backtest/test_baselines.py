"""Battery baselines and a run on (synthetic) real-shaped data with given car stays."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from hems.backtest import BacktestConfig, run_backtest
from hems.backtest.forecast_market import HistoricalForecast
from hems.market import ReplayedMarket
from hems.simulation.devices import Stay
from tests.hems.backtest.synthetic import START, home_data

STAYS = (
    Stay(START - timedelta(hours=6), START + timedelta(hours=7), 0.4),
    Stay(START + timedelta(hours=18), START + timedelta(hours=31), 0.5),
)


@pytest.fixture(scope="module")
def results():  # type: ignore[no-untyped-def]
    data = home_data(days=1)
    config = BacktestConfig(
        start_utc=START,
        days=1,
        market=HistoricalForecast(data, temperature="persistence"),
        actuals=ReplayedMarket(data.actuals),
        ev_stays=STAYS,
        noise=0.0,
        data_report=data.report,
    )
    names = [
        "naive",
        "battery_self_consumption",
        "battery_timer",
        "ev_cheap_window",
        "ev_window_battery_timer",
    ]
    return run_backtest(config, names)


def test_self_consumption_stores_surplus_instead_of_exporting(results) -> None:  # type: ignore[no-untyped-def]
    s = results.summary
    assert s.loc["naive", "export_kwh"] > 1.0  # the synthetic PV has a surplus
    assert s.loc["battery_self_consumption", "export_kwh"] < 0.2 * s.loc["naive", "export_kwh"]
    assert s.loc["battery_self_consumption", "import_kwh"] < s.loc["naive", "import_kwh"]
    assert s.loc["battery_self_consumption", "battery_throughput_kwh"] > 1.0
    assert s.loc["naive", "battery_throughput_kwh"] == 0.0


def test_timer_charges_in_its_window_and_covers_the_peak(results) -> None:  # type: ignore[no-untyped-def]
    runs = {r.strategy: r for r in results.runs}
    naive, timer = runs["naive"].slots, runs["battery_timer"].slots
    assert naive is not None
    assert timer is not None
    local = pd.DatetimeIndex(timer.index).tz_convert("Europe/London")
    minutes = local.hour * 60 + local.minute
    charge = (minutes >= 30) & (minutes < 270)
    peak = (minutes >= 16 * 60) & (minutes < 19 * 60)
    extra = (timer["import_kwh"] - naive["import_kwh"]).to_numpy()
    assert extra[charge].sum() > 2.0  # grid charging at night
    assert abs(extra[~charge & ~peak]).max() < 1e-9  # idle outside both windows
    assert (extra[peak] <= 1e-9).all()
    assert extra[peak].sum() < -0.5
    assert (
        timer["export_kwh"].to_numpy()[peak].sum()
        <= naive["export_kwh"].to_numpy()[peak].sum() + 1e-9
    )


def test_combined_timers_are_the_ev_window_plus_the_battery_timer(results) -> None:  # type: ignore[no-untyped-def]
    runs = {r.strategy: r.slots for r in results.runs}
    naive, ev_window, timer, both = (
        runs[n] for n in ("naive", "ev_cheap_window", "battery_timer", "ev_window_battery_timer")
    )
    local = pd.DatetimeIndex(both.index).tz_convert("Europe/London")
    minutes = local.hour * 60 + local.minute
    charge = (minutes >= 30) & (minutes < 270)
    peak = (minutes >= 16 * 60) & (minutes < 19 * 60)
    # outside the night window and the peak the car and the battery are idle in both: the
    # combined home imports what the car-window home imports
    quiet = ~charge & ~peak
    assert abs((both["import_kwh"] - ev_window["import_kwh"]).to_numpy()[quiet]).max() < 1e-9
    # in the night window it adds the battery's charging to the car's
    extra = (both["import_kwh"] - ev_window["import_kwh"]).to_numpy()
    timer_extra = (timer["import_kwh"] - naive["import_kwh"]).to_numpy()
    assert extra[charge].sum() == pytest.approx(timer_extra[charge].sum(), rel=0.05)
    # and the car's charging moves out of the peak, as in the car-window home
    assert (
        both["import_kwh"].to_numpy()[peak] <= timer["import_kwh"].to_numpy()[peak] + 1e-9
    ).all()
    assert both["import_kwh"].to_numpy()[peak].sum() < timer["import_kwh"].to_numpy()[peak].sum()


def test_given_stays_drive_the_car_and_the_report_is_kept(results) -> None:  # type: ignore[no-untyped-def]
    assert (results.summary["ev_departures"] == 1.0).all()  # one stay ends inside the day
    assert results.data_report is not None
    assert len(results.data_report.series) == 5


def test_perfect_foresight_rolls_over_long_periods() -> None:
    from hems.backtest import Cadence, PlannerStrategy, strategy_named

    short = strategy_named("perfect_foresight", BacktestConfig(start_utc=START, days=3))
    long = strategy_named(
        "perfect_foresight",
        BacktestConfig(start_utc=START, days=30, foresight_cadence=Cadence.HOURLY),
    )
    assert isinstance(short, PlannerStrategy)
    assert isinstance(long, PlannerStrategy)
    assert short.cadence is Cadence.ONCE
    assert long.cadence is Cadence.HOURLY
    assert long.perfect_foresight


def test_reference_home_has_every_device() -> None:
    from hems.backtest import reference_home
    from hems.domain.devices import BatterySpec, EvChargerSpec, HeatPumpSpec, PvSpec

    devices = {type(d): d for d in reference_home().devices}
    assert devices[PvSpec].peak_kw == 4.0  # type: ignore[attr-defined]
    assert devices[BatterySpec].capacity_kwh == 10.0  # type: ignore[attr-defined]
    assert EvChargerSpec in devices
    assert HeatPumpSpec in devices


def test_a_departure_told_at_plug_in_reaches_the_plan() -> None:
    from hems.backtest.engine import _run_context
    from hems.backtest.strategies import PlannerStrategy
    from hems.problem_builder import next_departure

    early = (Stay(START - timedelta(hours=6), START + timedelta(hours=4), 0.3),)
    for told in (False, True):
        config = BacktestConfig(start_utc=START, days=1, ev_stays=early, departures_told=told)
        prefs = PlannerStrategy()._preferences(_run_context(config), START + timedelta(hours=1))
        leave, target = next_departure(prefs, START + timedelta(hours=1)) or (None, None)
        if told:
            assert leave == START + timedelta(hours=4)
            assert target == 0.8
        else:  # the weekly 07:30 local (GMT in March)
            assert leave == START + timedelta(hours=7, minutes=30)
