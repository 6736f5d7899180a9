"""The home's record is read and validated once per control pass and passed down as the typed
``HomeSpec`` (issue 24): a cycle, a re-plan with its dispatch, a DSR event. A counting wrapper
around ``Store.home`` fails these tests if a step of the pass reads it again."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from hems.ven_bridge import VenBridge

from .conftest import Demo
from .test_one_pass_per_trigger import _consent, _counting, _notice


def _warm(demo: Demo) -> None:
    """A first cycle (plan, dispatch, apply), then the clock into the next slot."""
    asyncio.run(demo.runtime.service.cycle_all())
    demo.clock.advance(timedelta(minutes=30))


def test_a_cycle_that_plans_dispatches_and_applies_reads_the_home_once(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = demo.runtime.service
    _warm(demo)
    reads = _counting(monkeypatch, service.store, "home")
    saves = _counting(monkeypatch, service.store, "save_plan")
    sent = _counting(monkeypatch, service.store, "record_sends")
    asyncio.run(service.controller(demo.home_id).cycle())
    assert len(saves) == 1  # a new slot: planned,
    assert sent  # dispatched and applied
    assert len(reads) == 1


def test_a_replan_and_its_dispatch_read_the_home_once(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = demo.runtime.service
    _warm(demo)
    reads = _counting(monkeypatch, service.store, "home")
    asyncio.run(service.replan_and_dispatch(demo.home_id, "preferences changed"))
    assert len(reads) == 1


def test_a_dsr_event_reads_the_home_once(demo: Demo, monkeypatch: pytest.MonkeyPatch) -> None:
    service = demo.runtime.service
    _consent(demo, True)
    _warm(demo)
    reads = _counting(monkeypatch, service.store, "home")
    saves = _counting(monkeypatch, service.store, "save_plan")
    asyncio.run(VenBridge(service, demo.home_id).decide(_notice("e1", 2)))
    assert len(saves) == 1
    assert len(reads) == 1
