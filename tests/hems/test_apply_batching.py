"""The apply job asks the store once which homes have a decision due and reads no more of the
others; the import guard re-uses the home's record a control pass read (hems/kept_home.py).
Neither may lose a write: a decision that comes due is sent at the first tick after, a
turn-down the guard stores in a tick is sent in it, and a device removed is gone from the next
tick's record."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from hems import apply_pass
from hems.kept_home import HOME_REUSE_S, recent_home
from hems.send_batch import SendBatch
from hems.storage.setpoint_records import SetpointKind

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


def _due_now(demo: Demo) -> tuple[int, int]:
    """A rise of the EV (walked in ramp steps) and a PV cap (never ramped), both due now."""
    store, now = demo.runtime.service.store, demo.clock.now()
    ev = store.add_setpoint(demo.home_id, "EV", 7.0, "test", None, now, now)
    pv = store.add_setpoint(demo.home_id, "PV", 1.5, "test", None, now, now)
    return ev, pv


def test_an_apply_pass_writes_a_homes_ramp_steps_in_one_commit_and_its_sends_in_one(demo):
    store = demo.runtime.service.store
    _warm(demo)
    _due_now(demo)
    commits: list[object] = []

    def seen(conn: object) -> None:
        commits.append(conn)

    event.listen(store.engine, "commit", seen)
    asyncio.run(_ticks(demo, 1))
    event.remove(store.engine, "commit", seen)
    now = demo.clock.now()
    since = now - timedelta(minutes=1)
    sent = {s.device_name: s for s in store.setpoints(demo.home_id, since) if s.applied_at == now}
    assert sent["EV"].kind is SetpointKind.RAMP_STEP  # a step towards 7 kW
    assert sent["EV"].power_kw < 7.0
    assert sent["PV"].power_kw == 1.5
    assert len(commits) == 2  # the step, then both sends' record (was one commit each)


def test_sends_whose_record_failed_are_due_again_and_sent_again(demo, monkeypatch, caplog):
    store = demo.runtime.service.store
    _warm(demo)
    _ev, pv = _due_now(demo)
    told = _counting(monkeypatch, apply_pass, "hold")
    real = store.record_sends

    def fails_once(outcomes):
        monkeypatch.setattr(store, "record_sends", real)
        raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(store, "record_sends", fails_once)
    asyncio.run(_ticks(demo, 1))
    assert "sends not recorded" in caplog.text
    assert len(told) == 2  # both devices were told,
    assert pv in {s.id for s in store.due_setpoints(demo.home_id, demo.clock.now())}
    assert store.last_applied_setpoint(demo.home_id, "PV").id != pv
    asyncio.run(_ticks(demo, 1))  # so the next pass tells them again and records it
    assert len(told) == 4
    applied = store.last_applied_setpoint(demo.home_id, "PV")
    assert (applied.id, applied.applied_at) == (pv, demo.clock.now())
    assert pv not in {s.id for s in store.due_setpoints(demo.home_id, demo.clock.now())}


def test_a_pass_waits_for_the_last_passes_record_and_sends_nothing_twice(demo, monkeypatch):
    service = demo.runtime.service
    _warm(demo)
    now = demo.clock.now()
    service.store.add_setpoint(demo.home_id, "PV", 1.5, "test", None, now, now)
    told = _counting(monkeypatch, apply_pass, "hold")
    ctl = service.controller(demo.home_id)

    async def run() -> None:
        batch = SendBatch(service.store)
        await ctl.apply_due(sends=batch)  # the apply job's pass: sent, not yet recorded
        assert len(told) == 1
        dispatch = asyncio.create_task(ctl.apply_due())  # e.g. a re-plan's dispatch
        await asyncio.sleep(0.2)
        assert not dispatch.done()  # waits for the record,
        await batch.record()
        await dispatch
        assert len(told) == 1  # then finds nothing due

    asyncio.run(run())
    applied = service.store.last_applied_setpoint(demo.home_id, "PV")
    assert applied.power_kw == 1.5
