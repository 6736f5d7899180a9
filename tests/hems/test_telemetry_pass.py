"""The telemetry job stores every home's readings in one transaction (hems/telemetry_pass.py);
should it fail (a home deleted between its read and the write), no other home loses its
readings."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from hems.storage.tables import TelemetryRow
from hems.telemetry_pass import _store

from .conftest import Demo
from .test_one_pass_per_trigger import _counting


def _rows(demo: Demo) -> int:
    with demo.runtime.service.store.session() as s:
        return int(s.scalar(select(func.count()).select_from(TelemetryRow)) or 0)


def test_the_pass_stores_each_devices_reading_once_in_one_transaction(demo: Demo, monkeypatch):
    service = demo.runtime.service
    ctl = service.controller(demo.home_id)
    before = _rows(demo)
    batches = _counting(monkeypatch, service.store, "add_telemetry_of_homes")
    records = _counting(monkeypatch, service.store, "home_records")
    reads = _counting(monkeypatch, service.store, "home")
    asyncio.run(service.read_all())
    assert len(batches) == len(records) == 1  # the records read at once, the readings stored
    assert reads == []
    assert ctl.kept_home is not None
    assert ctl.kept_home.spec == service.store.home(demo.home_id)
    assert _rows(demo) - before == len(ctl.drivers) > 0
    assert set(ctl.states) == set(ctl.drivers)  # the checks after the write ran on each


def test_a_home_deleted_meanwhile_loses_none_of_the_others_readings(demo: Demo, caplog) -> None:
    service = demo.runtime.service
    ctl = service.controller(demo.home_id)
    rows = asyncio.run(ctl.read_devices(demo.clock.now()))
    gone = asyncio.run(ctl.read_devices(demo.clock.now()))
    before = _rows(demo)
    asyncio.run(_store(service.store, {demo.home_id: rows, demo.home_id + 999: gone}))
    assert "not stored at once" in caplog.text  # the one transaction failed
    assert "home %s: telemetry not stored" % (demo.home_id + 999) in caplog.text
    assert _rows(demo) - before == len(rows) > 0
    stored = service.store.last_online(demo.home_id)
    assert set(stored) == {r.device_name for r in rows}


def test_the_slot_cycle_reads_every_home_then_plans_with_one_write_of_readings(
    demo: Demo, monkeypatch
):
    service = demo.runtime.service
    ctl = service.controller(demo.home_id)
    before = _rows(demo)
    batches = _counting(monkeypatch, service.store, "add_telemetry_of_homes")
    one_home = _counting(monkeypatch, service.store, "add_telemetry")
    reads = _counting(monkeypatch, service.store, "home")
    decided = _counting(monkeypatch, service.store, "add_setpoints")
    decided_alone = _counting(monkeypatch, service.store, "add_setpoint")
    asyncio.run(service.cycle_all())
    assert len(batches) == 1  # the readings of all homes at once
    assert len(decided) == 1  # and the home's decisions in one commit
    assert len(decided[0][3]) > 1
    assert decided_alone == []
    assert one_home == []
    assert reads == []  # the pass's record planned the home
    assert _rows(demo) - before == len(ctl.drivers) > 0
    assert ctl.made is not None  # and it planned
