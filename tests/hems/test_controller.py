"""The home controller's planning: each plan starts from the modes the home's last plan chose."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

import hems.plan_job as plan_job
from hems.settings import LOAD_SPREAD_COVER
from optimiser import ModeMemory


def test_a_homes_next_plan_is_given_the_modes_its_last_plan_left(demo, monkeypatch):
    given: list[dict] = []  # the modes each plan was given, as it was given them
    memories: list[ModeMemory] = []
    real = plan_job.optimise

    def recording(problem, options, extensions, memory=None, models=None):
        assert memory is not None
        given.append(dict(memory.modes))
        memories.append(memory)
        plan = real(problem, options, extensions, memory, models=models)
        # as a plan with mode binaries would leave it (the demo's winter plans have none)
        memory.modes[("grid", problem.grid.start_utc)] = 1.0
        return plan

    monkeypatch.setattr(plan_job, "optimise", recording)
    ctl = demo.runtime.service.controller(demo.home_id)
    asyncio.run(ctl.replan("first"))
    first_start = next(iter(ctl.mode_memory.modes))[1]
    demo.clock.advance(timedelta(minutes=30))
    asyncio.run(ctl.replan("second"))
    assert len(given) == 2
    assert given[0] == {}  # a new controller starts with an empty memory
    assert ("grid", first_start) in given[1]
    assert ctl.mode_memory is memories[1]  # the memory the second plan rewrote is kept
    assert ("grid", first_start + timedelta(minutes=30)) in ctl.mode_memory.modes


def test_two_apply_passes_at_once_send_each_setpoint_once(demo):
    """The scheduler's apply job and an API re-plan's dispatch can run at the same moment;
    both read the same due setpoints, and each used to send them (in the demo a battery
    setpoint reached the device three times)."""
    ctl = demo.runtime.service.controller(demo.home_id)
    asyncio.run(ctl.cycle())
    demo.clock.advance(timedelta(minutes=20))  # past any randomised delay and ramp
    for _ in range(40):
        asyncio.run(ctl.apply_due())
        demo.clock.advance(timedelta(seconds=15))
    store = demo.runtime.store
    battery = store.last_applied_setpoint(demo.home_id, "Battery")
    now = demo.clock.now()
    store.add_setpoint(demo.home_id, "Battery", battery.power_kw - 1.0, "plan", None, now, now)
    sent: list[float] = []
    driver = ctl.drivers["Battery"]
    real = driver.apply

    async def counting(setpoint):
        sent.append(setpoint.power_kw)
        await asyncio.sleep(0.05)  # a device on the network answers after a while
        await real(setpoint)

    driver.apply = counting  # type: ignore[method-assign]

    async def both() -> None:
        await asyncio.gather(ctl.apply_due(), ctl.apply_due())

    asyncio.run(both())
    assert sent == [pytest.approx(battery.power_kw - 1.0)]


def test_the_settings_load_spread_cover_reaches_the_plan_inputs(demo):
    ctl = demo.runtime.service.controller(demo.home_id)
    home = demo.runtime.store.home(demo.home_id)
    assert ctl.plan_inputs(demo.clock.now(), home).load_spread_cover == LOAD_SPREAD_COVER
    ctl.settings = ctl.settings.model_copy(update={"planner_load_spread_cover": 0.0})
    assert ctl.plan_inputs(demo.clock.now(), home).load_spread_cover == 0.0
