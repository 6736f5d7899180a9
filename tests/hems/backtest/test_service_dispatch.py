"""The backtest dispatches through the service's own step (hems.slot_setpoints), with the
service's safeguards: an EV start waits its randomised delay and climbs the ramp, a setpoint
unchanged is not sent again, and the safeguards can be switched as a service's settings do."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from itertools import pairwise

import pandas as pd
import pytest

from hems.backtest import BacktestConfig
from hems.backtest.engine import _run_context
from hems.backtest.service_dispatch import ServiceDispatch
from hems.backtest.strategies import PlannerStrategy
from hems.settings import Settings
from hems.simulation.devices import SimulatedEvCharger, Stay
from hems.slot_setpoints import Safeguards
from kernel.devices import Setpoint
from tests.hems.backtest.synthetic import START

NO_SAFEGUARDS = Safeguards.off()


def _ev_sends(safeguards: Safeguards) -> tuple[list[tuple[float, float]], float]:
    """Plan the plugged-in EV at 7.4 kW for one slot and run the service's dispatch through
    it: what the charger is sent (minutes after the decision, kW) and the drawn delay [s]."""
    config = BacktestConfig(
        start_utc=START, days=1, ev_stays=(Stay(START, START + timedelta(hours=8), 0.2),)
    )
    ctx = _run_context(config)
    ev = ctx.sim.devices["EV"]
    assert isinstance(ev, SimulatedEvCharger)
    sent: list[tuple[float, float]] = []
    apply = ev.apply

    async def recording(setpoint: Setpoint) -> None:
        sent.append(((ctx.sim.now_utc - START).total_seconds() / 60, setpoint.power_kw))
        await apply(setpoint)

    ev.apply = recording  # type: ignore[method-assign]
    schedule = pd.DataFrame({"EV.setpoint_kw": [7.4]}, index=pd.DatetimeIndex([START]))
    dispatch = ServiceDispatch(safeguards=safeguards, rng=random.Random(3))
    delay_s = random.Random(3).uniform(0, safeguards.rules.max_delay_s)

    async def run() -> None:
        await dispatch.decide(ctx, schedule, START, dsr_active=False)
        await dispatch.run_until(ctx, START + timedelta(minutes=30))
        await dispatch.decide(ctx, schedule, START + timedelta(minutes=30), dsr_active=False)

    asyncio.run(run())
    return sent, delay_s


def test_an_ev_start_waits_its_delay_then_climbs_the_ramp_as_in_the_service() -> None:
    sent, delay_s = _ev_sends(Safeguards())  # the service's defaults: 600 s, 2 kW/min, 15 s
    assert delay_s > 60
    minutes = [m for m, _ in sent]
    kws = [kw for _, kw in sent]
    assert minutes[0] >= delay_s / 60  # nothing before the delay is over
    assert minutes[0] < delay_s / 60 + 0.25  # at the first apply tick after it
    assert kws[0] == pytest.approx(1.4)  # the charger's minimum, then 0.5 kW per 15 s tick
    assert all(b - a <= 0.5 + 1e-9 for a, b in pairwise(kws))
    assert all(b - a == pytest.approx(0.25) for a, b in pairwise(minutes))
    assert kws[-1] == pytest.approx(7.4)
    assert len(sent) == 1 + 12  # and the next slot's unchanged 7.4 kW is not sent again


def test_without_safeguards_the_plan_is_sent_at_once() -> None:
    sent, _ = _ev_sends(NO_SAFEGUARDS)
    assert sent == [(0.0, 7.4)]


def test_the_backtests_safeguards_default_to_the_services() -> None:
    assert BacktestConfig().safeguards == Safeguards.of(Settings.model_construct())
    quick = Settings.model_construct(ev_random_delay_max_s=0, ev_ramp_kw_per_min=0.0)
    assert Safeguards.of(quick).rules.max_delay_s == 0


def test_the_planner_and_the_bound_dispatch_with_the_runs_safeguards() -> None:
    ctx = _run_context(BacktestConfig(start_utc=START, days=1))
    planner = PlannerStrategy()._dispatcher(ctx)
    bound = PlannerStrategy(perfect_foresight=True)._dispatcher(ctx)
    assert planner.safeguards == ctx.config.safeguards == Safeguards()
    assert bound.safeguards == ctx.config.safeguards
    quiet = _run_context(BacktestConfig(start_utc=START, days=1, safeguards=NO_SAFEGUARDS))
    assert PlannerStrategy(perfect_foresight=True)._dispatcher(quiet).safeguards == NO_SAFEGUARDS


def test_the_import_guard_turns_a_car_down_the_moment_it_arrives_over_the_limit() -> None:
    """A car arriving mid-slot to a charger set at 7.4 kW while the heat pump runs takes the
    site over its 6 kW limit: the guard reads the simulated meter at the arrival and turns
    the car down at once, so the meter never sees an import above the limit (before the
    guard, the backtest's peak was the whole sum)."""
    home = BacktestConfig().home
    home = home.model_copy(
        update={
            "import_limit_kw": 6.0,
            "devices": [d for d in home.devices if d.name in ("EV", "Heat pump")],
        }
    )
    arrive = START + timedelta(minutes=10)
    config = BacktestConfig(
        start_utc=START,
        days=1,
        home=home,
        ev_stays=(Stay(arrive, START + timedelta(hours=8), 0.2),),
        safeguards=NO_SAFEGUARDS,
    )
    ctx = _run_context(config)
    schedule = pd.DataFrame(
        {"EV.setpoint_kw": [7.4], "Heat pump.power_kw": [2.0]}, index=pd.DatetimeIndex([START])
    )
    dispatch = ServiceDispatch(safeguards=NO_SAFEGUARDS)

    async def run() -> None:
        await dispatch.decide(ctx, schedule, START, dsr_active=False)
        await dispatch.run_until(ctx, START + timedelta(minutes=30))
        ctx.sim.advance(START + timedelta(minutes=30))

    asyncio.run(run())
    ev = ctx.sim.devices["EV"]
    assert isinstance(ev, SimulatedEvCharger)
    base_kw = ctx.sim.base_load_kw
    assert base_kw + 2.0 < 5.7  # without the car the home is under the limit
    assert 1.4 <= ev.setpoint_kw < 7.4  # turned down, still charging
    assert ev.setpoint_kw == pytest.approx(6.0 - 0.3 - base_kw - 2.0, abs=1e-3)
    assert ctx.sim.meter.peak_import_kw <= 6.0
    assert ctx.sim.devices["Heat pump"].setpoint_kw == 2.0  # the car first
