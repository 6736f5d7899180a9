"""A car that plugs in or leaves mid-slot: the planner re-plans a minute later, as the service
does within its 60 s telemetry, not at the next slot start; the naive charger charges at
once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hems.backtest import BacktestConfig, Cadence, run_backtest
from hems.simulation.devices import Stay
from hems.slot_setpoints import Safeguards
from tests.hems.backtest.synthetic import START

# 11:10-13:00 UTC (GMT in March): 10.8 kWh to store from 62 % to the 80 % target, 97 minutes
# at the charger's 7.4 kW and 90 % efficiency; 110 minutes plugged in, 90 from 11:30
SHORT_STAY = Stay(START + timedelta(hours=11, minutes=10), START + timedelta(hours=13), 0.62)
SHORT_FROM_1130_KWH = 60 * (0.8 - 0.62) - 7.4 * 1.5 * 0.9
"""What the car lacks at 13:00 when it charges at full power from 11:30 [kWh]."""
NO_SAFEGUARDS = Safeguards.off()


def _run(  # type: ignore[no-untyped-def]
    notice_minutes: float | None, stay: Stay = SHORT_STAY, safeguards: Safeguards | None = None
):
    config = BacktestConfig(
        start_utc=START,
        days=1,
        ev_stays=(stay,),
        departures_told=True,
        plug_notice_minutes=notice_minutes,
        safeguards=safeguards or Safeguards(),  # the service's by default
    )
    return run_backtest(config, ["planner"], cadence=Cadence.SLOT).summary.loc["planner"]


def test_a_car_arriving_mid_slot_charges_from_the_minute_after() -> None:
    row = _run(1.0)
    assert row["ev_departures"] == 1
    assert row["ev_short_kwh"] < 0.05, row
    assert row["plans"] == 48 + 1  # every slot, and 11:11 (the 13:00 departure starts a slot)


def test_at_the_next_slot_start_the_car_leaves_short() -> None:
    row = _run(None, safeguards=NO_SAFEGUARDS)  # the charge starts at 11:30 sharp
    assert row["plans"] == 48
    assert row["ev_short_kwh"] == pytest.approx(SHORT_FROM_1130_KWH, abs=0.1)


def test_the_services_safeguards_cost_the_late_car_its_delay_and_ramp() -> None:
    # the 11:30 start waits its randomised delay (up to 600 s) and climbs 1.4 -> 7.4 kW at
    # 2 kW/min, as the service would send it: the car leaves shorter than without them
    short_kwh = _run(None)["ev_short_kwh"]
    ramp_kwh = 0.9 * (7.4 - 1.4) / 2 * 3 / 60  # the energy a 3-minute ramp forgoes
    assert SHORT_FROM_1130_KWH + ramp_kwh - 0.1 < short_kwh
    assert short_kwh < SHORT_FROM_1130_KWH + ramp_kwh + 0.9 * 7.4 * 10 / 60 + 0.1


def test_a_car_leaving_mid_slot_is_news_too() -> None:
    leaves_at_1240 = Stay(SHORT_STAY.arrive_utc, START + timedelta(hours=12, minutes=40), 0.62)
    assert _run(1.0, leaves_at_1240)["plans"] == 48 + 2  # 11:11 and 12:41


def test_the_naive_charger_charges_from_the_minute_the_car_plugs_in() -> None:
    config = BacktestConfig(start_utc=START, days=1, ev_stays=(SHORT_STAY,))
    s = run_backtest(config, ["naive", "ev_cheap_window"]).summary
    assert s.loc["naive", "ev_short_kwh"] < 0.05, s
    # the cheap window (00:30-04:30) never sees this car: it leaves as it came
    assert s.loc["ev_cheap_window", "ev_short_kwh"] == pytest.approx(60 * (0.8 - 0.62))


def test_a_negative_notice_is_refused() -> None:
    with pytest.raises(ValueError, match="plug_notice_minutes"):
        BacktestConfig(plug_notice_minutes=-1.0)
