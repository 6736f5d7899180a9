"""One plan per trigger (issue 24): a DSR event with several intervals is decided on one plan, a
consent change that turns an answer plans once, and the dispatch and the event's answer use the
plan just made instead of loading it back from the store."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import time, timedelta
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest

from adapters.openadr.hooks import DispatchRequest
from hems.domain.preferences import OptOutWindow
from hems.storage.store import StoredEvent
from hems.ven_bridge import VenBridge
from kernel.dsr import DsrKind, OptType

from .conftest import MONDAY_5PM, Demo


def _counting(monkeypatch: pytest.MonkeyPatch, obj: object, name: str) -> list[Any]:
    """Record each call of ``obj.name`` (it still runs)."""
    calls: list[Any] = []
    original: Callable[..., Any] = getattr(obj, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(obj, name, counted)
    return calls


def _consent(demo: Demo, given: bool, windows: list[OptOutWindow] | None = None) -> None:
    store = demo.runtime.service.store
    prefs = store.preferences(demo.home_id).model_copy(
        update={"dsr_consent": given, "dsr_opt_out_windows": windows or []}
    )
    store.set_preferences(demo.home_id, prefs, MONDAY_5PM, "test")


def _notice(event_id: str, n_intervals: int) -> Any:
    """An OpenADR event notice of ``n_intervals`` half-hour import caps from 17:30 UTC."""
    start = MONDAY_5PM + timedelta(minutes=30)
    requests = tuple(
        DispatchRequest(
            kind=DsrKind.IMPORT_CAP,
            value_kw=2.0,
            start_utc=start + i * timedelta(minutes=30),
            end_utc=start + (i + 1) * timedelta(minutes=30),
        )
        for i in range(n_intervals)
    )
    event = SimpleNamespace(event_id=event_id, modification_number=0, signals=())
    return SimpleNamespace(event=event, status="far", requests=requests)


def test_an_event_with_three_intervals_is_decided_on_one_plan(demo, monkeypatch):
    service = demo.runtime.service
    _consent(demo, True)
    asyncio.run(service.cycle_all())
    saves = _counting(monkeypatch, service.store, "save_plan")
    decision = asyncio.run(VenBridge(service, demo.home_id).decide(_notice("e3", 3)))
    assert decision.opt == OptType.OPT_IN
    assert len(saves) == 1  # before: one plan per interval (3)
    parts = {e.event_id: e for e in service.store.events(demo.home_id)}
    assert set(parts) == {"e3/0", "e3/1", "e3/2"}
    assert {e.response for e in parts.values()} == {OptType.OPT_IN}
    assert service.store.latest_plan(demo.home_id).trigger == "DSR event e3"


def test_an_event_with_a_refused_interval_is_opted_out_whole_on_one_plan(demo, monkeypatch):
    service = demo.runtime.service
    # 18:00-18:30 local (GMT in winter): the second of three intervals falls in it
    _consent(demo, True, [OptOutWindow(start=time(18, 0), end=time(18, 30))])
    asyncio.run(service.cycle_all())
    saves = _counting(monkeypatch, service.store, "save_plan")
    decision = asyncio.run(VenBridge(service, demo.home_id).decide(_notice("e4", 3)))
    assert decision.opt == OptType.OPT_OUT
    assert "opt-out window" in decision.explanation
    assert len(saves) == 1  # before: 3, and one more to take the opted-in parts out
    parts = service.store.events(demo.home_id)
    assert {e.response for e in parts} == {OptType.OPT_OUT}
    assert {e.response_reason for e in parts} == {decision.explanation}


def test_a_consent_change_that_turns_an_answer_plans_once(demo, monkeypatch):
    service = demo.runtime.service
    _consent(demo, True)
    asyncio.run(service.cycle_all())
    asyncio.run(VenBridge(service, demo.home_id).decide(_notice("e5", 1)))
    saves = _counting(monkeypatch, service.store, "save_plan")
    prefs = service.store.preferences(demo.home_id).model_copy(update={"dsr_consent": False})

    async def withdraw() -> None:
        await service.update_preferences(demo.home_id, prefs, "test")
        await service.settle()

    asyncio.run(withdraw())
    assert [e.response for e in service.store.events(demo.home_id)] == [OptType.OPT_OUT]
    assert len(saves) == 1  # before: 2 (the new answer's plan, then the preferences' plan)
    assert service.store.latest_plan(demo.home_id).trigger == "DSR answer changed: e5 optOut"


def test_a_consent_change_that_turns_no_answer_plans_once_too(demo, monkeypatch):
    service = demo.runtime.service
    _consent(demo, False)
    asyncio.run(service.cycle_all())
    saves = _counting(monkeypatch, service.store, "save_plan")
    prefs = service.store.preferences(demo.home_id).model_copy(update={"dsr_consent": True})

    async def give() -> None:
        await service.update_preferences(demo.home_id, prefs, "test")
        await service.settle()

    asyncio.run(give())
    assert len(saves) == 1
    assert service.store.latest_plan(demo.home_id).trigger == "preferences changed"


def test_the_dispatch_and_the_answer_use_the_plan_just_made(demo, monkeypatch):
    """Receiving an event reads no stored plan: the previous plan (the baseline of a
    reduction request) is the one just made, and the new plan is dispatched and its shortfall
    answered from memory."""
    service = demo.runtime.service
    _consent(demo, True)
    asyncio.run(service.cycle_all())
    loads = _counting(monkeypatch, service.store, "latest_plan")
    event = StoredEvent(
        "cap-0", 0, "import_cap", 0.0, MONDAY_5PM, MONDAY_5PM + timedelta(hours=12), "far", "", ""
    )
    answer = asyncio.run(service.receive_event(demo.home_id, event))
    assert loads == []  # before: 3 (the inputs, the dispatch, the answer), then 1 (the inputs)
    assert answer.response == OptType.OPT_IN
    assert "missed by up to" in answer.response_reason  # from the plan just made
    monkeypatch.undo()
    made = service.controller(demo.home_id).made
    stored = service.store.latest_plan(demo.home_id)
    assert made is not None
    assert made.id == stored.id
    # the dispatch decides from exactly what a restarted service reads back
    pd.testing.assert_frame_equal(made.schedule, stored.schedule)


def test_the_vens_telemetry_and_the_apis_device_status_are_one_reading(demo, monkeypatch):
    # both come from hems.usecases.homes.device_readings: the same power, online and SoC, the
    # setpoint in force, and a consumer's pause shows as a manual override
    from hems.domain.preferences import OverrideKind, OverrideRequest
    from hems.usecases import homes, preferences
    from hems.ven_bridge import resource_id

    service = demo.runtime.service
    asyncio.run(service.cycle_all())
    request = OverrideRequest(kind=OverrideKind.PAUSE_DEVICE, target="Battery", duration_minutes=60)
    asyncio.run(preferences.add_override(service, demo.home_id, request, "test"))
    asyncio.run(service.settle())
    readings = {r.resource_id: r for r in asyncio.run(VenBridge(service, demo.home_id).telemetry())}
    statuses = homes.device_statuses(service, demo.home_id)
    assert len(readings) == 1 + len(statuses)  # the site and every device
    for status in statuses:
        reading = readings[resource_id(status.name)]
        assert (reading.power_kw, reading.online) == (status.power_kw, status.online)
        assert reading.soc_pct == (None if status.soc is None else 100 * status.soc)
        last = service.store.last_applied_setpoint(demo.home_id, status.name)
        assert reading.setpoint_kw == (None if last is None else last.power_kw)
        assert reading.manual_override == (status.name == "Battery")
