"""The import guard in the running service on the simulated demo home: the household's load
jumps far above its forecast while the car charges (boosted: the guard acts during a
consumer's override too, the boosted car last) and the heat pump heats; at the next apply tick
the heat pump, then the car, are turned down so the metered import is back under the home's
limit, the cause recorded where the consumer sees it (the history's setpoints, the audit log);
when the load falls back they are given back their power after the hold time, not within the
hysteresis band."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest

from hems.domain.preferences import OverrideKind
from hems.import_guard import RESTORE_REASON, TURN_DOWN_REASON
from hems.usecases.plans import history

from .test_ramps import _ticks


def test_a_load_above_forecast_turns_the_flexible_loads_down_within_a_tick(demo, monkeypatch):
    service = demo.runtime.service
    store = service.store
    sim = demo.runtime.simulations[demo.home_id]
    ctl = service.controller(demo.home_id)
    limit_kw = store.home(demo.home_id).import_limit_kw
    sim.advance(demo.clock.advance(timedelta(hours=1, minutes=5)))  # the car is home, heating
    extra_kw = {"now": 0.0}
    environment = sim.environment
    monkeypatch.setattr(
        sim,
        "environment",
        lambda at: replace(
            environment(at), base_load_kw=environment(at).base_load_kw + extra_kw["now"]
        ),
    )

    def applied(name: str) -> float:
        row = store.last_applied_setpoint(demo.home_id, name)
        return 0.0 if row is None else row.power_kw

    async def run() -> None:
        await service.cycle_all()
        now = demo.clock.now()
        for kind, target in ((OverrideKind.EV_BOOST, "EV"), (OverrideKind.PAUSE_DEVICE, "Battery")):
            store.add_override(demo.home_id, kind, target, now, now + timedelta(hours=2), "test")
        await service.replan_and_dispatch(demo.home_id, "boost")
        await _ticks(demo, 20)  # the boost's ramp completes
        assert applied("EV") == 7.4
        heat_pump_kw = applied("Heat pump")
        assert heat_pump_kw > 0.5  # a winter evening: the heat pump heats
        assert sim.metered_kw() < limit_kw - 1.0

        # the household's load jumps: the meter reads 3.5 kW above the limit
        extra_kw["now"] = limit_kw + 3.5 - sim.metered_kw()
        jumped_at = demo.clock.now() + timedelta(seconds=15)
        await _ticks(demo, 1)
        assert sim.metered_kw() <= limit_kw  # back under within the tick
        assert applied("Heat pump") == 0.0  # first: the car is boosted, so it goes last
        assert applied("EV") == pytest.approx(7.4 - (3.8 - heat_pump_kw), abs=0.2)
        rows = [
            s for s in history(service, demo.home_id, 1).setpoints if s.reason == TURN_DOWN_REASON
        ]
        assert {r.device for r in rows} == {"EV", "Heat pump"}
        assert all(r.applied_at == jumped_at for r in rows)
        audit = [a for a in store.audit(demo.home_id) if a["action"] == "import_limit.turn_down"]
        assert audit
        assert audit[-1]["detail"]["reason"] == TURN_DOWN_REASON

        # the load falls back within the hysteresis band: nothing is given back
        extra_kw["now"] -= 0.7
        await _ticks(demo, 8)
        assert applied("Heat pump") == 0.0
        # ... and well below: after the hold time the last turned down (the car) first
        extra_kw["now"] = 0.0
        await _ticks(demo, 2)
        restored = [
            s for s in history(service, demo.home_id, 1).setpoints if s.reason == RESTORE_REASON
        ]
        assert [r.device for r in restored][:1] == ["EV"]
        await _ticks(demo, 30)
        assert applied("EV") == 7.4
        assert applied("Heat pump") == pytest.approx(heat_pump_kw, abs=0.05)
        assert not ctl.guard.caps

    asyncio.run(run())
