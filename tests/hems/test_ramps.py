"""Ramp limits in the running service: a big rise is walked in steps at the apply job, every
step within the rate; a consumer's boost reaches full power within the documented time; a
pause and a DSR turn-down are delivered at once."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta

from hems.domain.devices import DeviceKind
from hems.domain.preferences import OverrideKind
from hems.storage.setpoint_records import SetpointKind
from hems.storage.store import StoredEvent

EV_RATE_KW_PER_MIN = 2.0  # the default setting


def _applied(service, home_id, device, since):
    rows = [
        s
        for s in service.store.setpoints(home_id, since)
        if s.device_name == device and s.applied_at is not None
    ]
    return sorted(rows, key=lambda s: (s.applied_at, s.id))


async def _ticks(demo, n: int, interval_s: float = 15.0) -> None:
    """The apply job, ``n`` times, ``interval_s`` apart on the manual clock."""
    service = demo.runtime.service
    sim = demo.runtime.simulations[demo.home_id]
    for _ in range(n):
        sim.advance(demo.clock.advance(timedelta(seconds=interval_s)))
        await service.apply_due_all()


def _assert_within_rate(rows, rate_kw_per_min: float, interval_s: float = 15.0) -> None:
    for a, b in itertools.pairwise(rows):
        dt_s = min((b.applied_at - a.applied_at).total_seconds(), interval_s)
        assert b.power_kw - a.power_kw <= rate_kw_per_min * dt_s / 60 + 1e-6, (a, b)


def test_a_boost_is_walked_up_within_the_rate_and_reaches_full_power_in_time(demo):
    service = demo.runtime.service
    store = service.store
    sim = demo.runtime.simulations[demo.home_id]
    sim.advance(demo.clock.advance(timedelta(hours=1, minutes=5)))  # the car is home
    ctl = service.controller(demo.home_id)
    limits = ctl.ramp_limits()
    assert limits.limit_kw_per_min(DeviceKind.EV_CHARGER) == EV_RATE_KW_PER_MIN

    async def run() -> None:
        await service.cycle_all()
        ev_before = store.last_applied_setpoint(demo.home_id, "EV")
        start_kw = 0.0 if ev_before is None else ev_before.power_kw
        assert start_kw < 1.0  # the plan does not charge at peak: a big step follows
        boosted_at = demo.clock.now()
        store.add_override(
            demo.home_id,
            OverrideKind.EV_BOOST,
            "EV",
            boosted_at,
            boosted_at + timedelta(hours=1),
            "test",
        )
        await service.replan_and_dispatch(demo.home_id, "boost")
        # the decision is full power, at once (no randomised delay for a consumer override)
        decided = store.last_decided_setpoint(demo.home_id, "EV")
        assert (decided.power_kw, decided.reason) == (7.4, "override:boost")
        assert decided.effective_at == boosted_at
        assert "EV" in ctl.ramping
        # the car was told 0 kW a moment ago: the first step comes at the next apply at the
        # latest, and each step is at most the rate times the time since the previous one
        deadline_s = limits.time_to_reach_s(DeviceKind.EV_CHARGER, 7.4 - start_kw)
        await _ticks(demo, int(deadline_s // 15))
        rows = [r for r in _applied(service, demo.home_id, "EV", boosted_at) if r.id >= decided.id]
        assert all(r.kind is SetpointKind.RAMP_STEP for r in rows[:-1])
        assert all(r.reason == "override:boost" for r in rows)
        assert rows[-1].power_kw == 7.4
        assert rows[-1].kind is SetpointKind.DECISION
        assert (rows[-1].applied_at - boosted_at).total_seconds() <= deadline_s
        assert len(rows) >= 10  # split into steps
        # a start at the charger's minimum (it cannot run lower), then within the rate
        assert rows[0].power_kw <= max(1.4, start_kw + EV_RATE_KW_PER_MIN * 15 / 60) + 1e-9
        rows = rows[1:]
        _assert_within_rate(rows, EV_RATE_KW_PER_MIN)
        assert [r.power_kw for r in rows] == sorted(r.power_kw for r in rows)
        assert sim.devices["EV"].setpoint_kw == 7.4
        assert "EV" not in ctl.ramping

        # a pause (the consumer) stops the charge at once, in the same call
        paused_at = demo.clock.now()
        store.add_override(
            demo.home_id,
            OverrideKind.PAUSE_DEVICE,
            "EV",
            paused_at,
            paused_at + timedelta(hours=1),
            "test",
        )
        await service.replan_and_dispatch(demo.home_id, "pause")
        last = store.last_applied_setpoint(demo.home_id, "EV")
        assert (last.power_kw, last.applied_at) == (0.0, paused_at)
        assert sim.devices["EV"].setpoint_kw == 0.0

    asyncio.run(run())


def test_a_dsr_turn_down_is_delivered_at_once(demo):
    service = demo.runtime.service
    store = service.store
    sim = demo.runtime.simulations[demo.home_id]
    sim.advance(demo.clock.advance(timedelta(hours=1, minutes=5)))  # winter evening, heating
    now = demo.clock.now()
    prefs = store.preferences(demo.home_id).model_copy(update={"dsr_consent": True})
    store.set_preferences(demo.home_id, prefs, now, "test")
    devices = ("EV", "Heat pump", "Battery")

    def in_force() -> dict[str, float]:
        out = {}
        for name in devices:
            row = store.last_applied_setpoint(demo.home_id, name)
            out[name] = 0.0 if row is None else row.power_kw
        return out

    async def run() -> None:
        await service.cycle_all()
        await _ticks(demo, 20)  # every ramp of the evening plan completes
        assert not service.controller(demo.home_id).ramping
        before = in_force()
        assert before["Heat pump"] > 0.5  # heating: there is something to shed

        at = demo.clock.now()
        event = StoredEvent(
            event_id="cap-now",
            modification_number=0,
            kind="import_cap",
            value_kw=0.0,
            start=at,
            end=at + timedelta(hours=1),
            status="active",
            response="",
            response_reason="",
        )
        answered = await service.receive_event(demo.home_id, event)
        assert answered.response == "optIn"
        # when receive_event returns, every device the new plan lowers has been lowered
        lowered = []
        for name in devices:
            decided = store.last_decided_setpoint(demo.home_id, name)
            applied = store.last_applied_setpoint(demo.home_id, name)
            if decided is not None and decided.power_kw < before[name] - 0.05:
                lowered.append(name)
                assert decided.applied_at == at, name
                assert applied.id == decided.id, name
        assert "Heat pump" in lowered, "the import cap shed no heating"
        assert in_force()["Heat pump"] < before["Heat pump"] - 0.05

    asyncio.run(run())
