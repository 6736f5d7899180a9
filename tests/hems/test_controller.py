"""The home controller's planning: each plan starts from the modes the home's last plan chose."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import hems.controller as controller
from optimiser import ModeMemory


def test_a_homes_next_plan_is_given_the_modes_its_last_plan_left(demo, monkeypatch):
    given: list[dict] = []  # the modes each plan was given, as it was given them
    memories: list[ModeMemory] = []
    real = controller.optimise

    def recording(problem, options, extensions, memory=None):
        assert memory is not None
        given.append(dict(memory.modes))
        memories.append(memory)
        plan = real(problem, options, extensions, memory)
        # as a plan with mode binaries would leave it (the demo's winter plans have none)
        memory.modes[("grid", problem.grid.start_utc)] = 1.0
        return plan

    monkeypatch.setattr(controller, "optimise", recording)
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
