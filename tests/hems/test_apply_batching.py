"""The apply job asks the store once which homes have a decision due and reads no more of the
others; the import guard re-uses the home's record a control pass read (hems/kept_home.py).
Neither may lose a write: a decision that comes due is sent at the first tick after, a
turn-down the guard stores in a tick is sent in it, and a device removed is gone from the next
tick's record."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from hems.kept_home import HOME_REUSE_S, recent_home

from .conftest import Demo
from .test_one_pass_per_trigger import _counting
from .test_ramps import _ticks


def _warm(demo: Demo) -> None:
    """A first cycle (plan, dispatch), then every ramp to its decision."""
    asyncio.run(demo.runtime.service.cycle_all())
    asyncio.run(_ticks(demo, 40))


def test_a_decision_that_comes_due_is_sent_at_the_first_tick_after(demo: Demo, monkeypatch):
    store = demo.runtime.service.store
    _warm(demo)
    reads = _counting(monkeypatch, store, "due_setpoints")
    asyncio.run(_ticks(demo, 2))
    assert reads == []  # nothing due: the home's setpoints are not read
    now = demo.clock.now()
    sid = store.add_setpoint(
        demo.home_id, "Battery", -1.0, "test", None, now, now + timedelta(seconds=20)
    )
    asyncio.run(_ticks(demo, 1))  # 15 s: not due yet
    before = store.last_applied_setpoint(demo.home_id, "Battery")
    assert before is None or before.reason != "test"
    asyncio.run(_ticks(demo, 1))  # 30 s: due, and sent
    applied = store.last_applied_setpoint(demo.home_id, "Battery")
    assert applied is not None
    # the decision, or the first ramp step towards it, sent at this tick
    assert (applied.reason, applied.applied_at) == ("test", demo.clock.now())
    assert sid <= applied.id
    assert reads  # the home had something due: read as before


def test_the_guard_reuses_the_record_a_pass_read_until_it_is_old(demo: Demo, monkeypatch):
    service = demo.runtime.service
    _warm(demo)
    asyncio.run(service.read_all())  # a control pass reads the record
    reads = _counting(monkeypatch, service.store, "home")
    ticks = int(HOME_REUSE_S // 15) - 1
    asyncio.run(_ticks(demo, ticks))
    assert reads == []
    asyncio.run(_ticks(demo, 2))
    assert len(reads) == 1  # older than HOME_REUSE_S: read again


def test_a_device_removed_is_gone_from_the_next_ticks_record(demo: Demo) -> None:
    service, store = demo.runtime.service, demo.runtime.service.store
    _warm(demo)
    ctl = service.controller(demo.home_id)
    asyncio.run(service.read_all())
    assert "Battery" in {d.name for d in asyncio.run(recent_home(ctl)).devices}
    store.remove_device(demo.home_id, "Battery", demo.clock.now(), "test")
    assert "Battery" not in {d.name for d in asyncio.run(recent_home(ctl)).devices}
