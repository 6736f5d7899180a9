"""The service behind its OpenADR VEN, against openleadr's VTN on 127.0.0.1 (the independent
peer): a LOAD_DISPATCH event reaches the planner and the consumer's consent answers it;
telemetry of the site and each device reaches the DSRSP."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from hems.clock import ManualClock
from hems.runtime import build_runtime
from hems.settings import Settings
from hems.usecases.cohort import ven_lookup
from hems.ven_bridge import part_id, resource_id
from tests.adapters.openadr.vtn_peer import VEN_ID, dispatch_event, free_port, make_vtn
from tests.hems.ven_setup import VEN_INTEROP_MARKS, demo_runtime, until

pytestmark = VEN_INTEROP_MARKS


async def _demo_with_vtn(tmp_path):  # type: ignore[no-untyped-def]
    """openleadr's VTN running on a free port, and the demo home's runtime pointed at it."""
    port = free_port()
    server, peer = make_vtn(port)
    await server.run()
    now = datetime.now(UTC)
    return server, peer, demo_runtime(tmp_path, port, now), now


def test_units():
    assert resource_id("Heat pump") == "heat-pump"
    assert part_id("e1", 0, 1) == "e1"
    assert part_id("e1", 1, 3) == "e1/1"


@pytest.mark.parametrize("consent", [True, False])
def test_a_dispatch_event_is_planned_and_answered_from_consent(tmp_path, consent):
    asyncio.run(_flow(tmp_path, consent))


async def _flow(tmp_path, consent: bool) -> None:
    server, peer, runtime, now = await _demo_with_vtn(tmp_path)
    service = runtime.service
    home_id = next(iter(runtime.simulations))
    prefs = service.store.preferences(home_id)
    service.store.set_preferences(
        home_id, prefs.model_copy(update={"dsr_consent": consent}), now, "test"
    )
    await service.cycle_all()  # device states for telemetry, a first plan
    opts: dict[str, str] = {}

    def on_opt(ven_id: str, event_id: str, opt_type: str) -> None:
        opts[event_id] = opt_type

    assert runtime.vens is not None
    try:
        runtime.vens.start(tick_s=0.2)
        await until(lambda: runtime.vens.vens[home_id].ven_id == VEN_ID)
        assert peer.registrations[0]["ven_name"] == "Open CEM:DEMO-0001"
        # the operator's view sees the registration and the VTN's last answer
        seen = ven_lookup(runtime.vens)(home_id)
        assert seen is not None
        assert seen.registered
        assert seen.ven_id == VEN_ID
        assert seen.contact is not None
        assert seen.contact.last_contact_utc is not None
        start = now + timedelta(minutes=2)
        event = dispatch_event(peer, "dsr-1", start, (1.0, 2.0), "setpoint")
        server.add_raw_event(VEN_ID, event, callback=on_opt)
        callback = server.event_callbacks["dsr-1"]  # openleadr drops it after one answer
        await until(lambda: "dsr-1" in opts)
        stored = {e.event_id: e for e in service.store.events(home_id)}
        assert set(stored) == {"dsr-1/0", "dsr-1/1"}
        if consent:
            assert opts["dsr-1"] == "optIn"
            assert {e.response for e in stored.values()} == {"optIn"}
            assert stored["dsr-1/1"].value_kw == 2.0
            assert stored["dsr-1/1"].kind == "setpoint"
            plan = service.store.latest_plan(home_id)
            assert plan.trigger.startswith("DSR event dsr-1")
            # consent withdrawn after the answer: the VTN is told optOut, then optIn again
            # when it is given back (an unsolicited oadrCreatedEvent each time)
            for given, expected in ((False, "optOut"), (True, "optIn")):
                server.event_callbacks["dsr-1"] = callback
                opts.pop("dsr-1")
                await service.update_preferences(
                    home_id, prefs.model_copy(update={"dsr_consent": given}), "test"
                )
                await until(lambda: "dsr-1" in opts)
                assert opts["dsr-1"] == expected
                stored = service.store.events(home_id)
                assert {e.response for e in stored} == {expected}
        else:
            assert opts["dsr-1"] == "optOut"
            assert {e.response for e in stored.values()} == {"optOut"}
        # telemetry of the site and of each device reaches the VTN
        await until(lambda: "ev" in peer.values and "site" in peer.values)
        ev_power = service.controller(home_id).states["EV"].power_kw
        assert {v for _, v in peer.values["ev"]} == {ev_power}
    finally:
        await runtime.vens.stop()
        await server.stop()


def test_the_demo_dsrsp_registers_the_demo_home_and_its_event_is_taken_part_in(tmp_path):
    from hems.dsrsp_sim import DemoDsrsp

    async def flow() -> None:
        dsrsp = DemoDsrsp(port=free_port(), event_after_s=60, event_kw=2.0)
        await dsrsp.start()
        settings = Settings(state_dir=tmp_path, demo=True, planner_processes=0, vtn_url=dsrsp.url)
        runtime = build_runtime(settings, ManualClock(datetime.now(UTC)), seed=4)
        await runtime.service.cycle_all()
        assert runtime.vens is not None
        try:
            runtime.vens.start(tick_s=0.2)
            await until(lambda: len(dsrsp.answers) == 1)
            assert list(dsrsp.registered) == ["Open CEM:DEMO-0001"]
            assert list(dsrsp.answers.values()) == ["optIn"]  # the demo consumer consented
            await until(lambda: any(k.endswith("/site") for k in dsrsp.readings))
        finally:
            await runtime.vens.stop()
            await dsrsp.stop()

    asyncio.run(flow())


def test_a_cancel_while_planning_is_unavailable_is_stored_and_planned_later(tmp_path, monkeypatch):
    """The VTN cancels an event while the planner worker cannot be started: the VEN's hook
    does not fail (the VTN is answered), the cancel is stored, and the home is re-planned when
    planning is back."""
    from types import SimpleNamespace

    from hems.planner_pool import PlanningUnavailableError
    from hems.storage.store import StoredEvent
    from hems.ven_bridge import VenBridge

    now = datetime(2026, 1, 12, 17, tzinfo=UTC)
    settings = Settings(state_dir=tmp_path, demo=True, planner_processes=0)
    runtime = build_runtime(settings, ManualClock(now), seed=2)
    service = runtime.service
    home_id = next(iter(runtime.simulations))
    asyncio.run(service.cycle_all())
    part = StoredEvent(
        "dsr-9", 0, "import_cap", 1.0, now, now + timedelta(hours=1), "far", "optIn", ""
    )
    service.store.upsert_event(home_id, part, now)

    async def unavailable(reason: str, home: object = None) -> int:
        raise PlanningUnavailableError("planning is unavailable: no worker")

    monkeypatch.setattr(service.controller(home_id), "replan", unavailable)
    asyncio.run(VenBridge(service, home_id).cancelled(SimpleNamespace(event_id="dsr-9")))
    assert [e.status for e in service.store.events(home_id)] == ["cancelled"]
    assert home_id in service._lost_plans


def test_a_home_added_or_deleted_while_running_gets_or_loses_its_ven(tmp_path):
    """A VEN's life follows its home's, without a restart: a home registered through the
    service gets its VEN, which registers with the VTN; a deleted home's VEN deregisters
    (oadrCancelPartyRegistration) and does not register again."""
    asyncio.run(_home_life(tmp_path))


async def _home_life(tmp_path) -> None:
    from hems.usecases import homes

    server, peer, runtime, _ = await _demo_with_vtn(tmp_path)
    service = runtime.service
    demo_id = next(iter(runtime.simulations))
    assert runtime.vens is not None
    fleet = runtime.vens
    try:
        fleet.start(tick_s=0.2)
        await until(lambda: len(peer.registrations) == 1)
        spec = service.store.home(demo_id).model_copy(update={"cem_serial": "DEMO-0002"})
        created = homes.create_home(service, spec, "test")
        await until(lambda: len(peer.registrations) == 2)
        assert peer.registrations[1]["ven_name"] == "Open CEM:DEMO-0002"
        assert created.id in fleet.vens
        homes.delete_home(service, created.id, "test")
        await until(lambda: len(peer.cancelled_registrations) == 1)
        await until(lambda: created.id not in fleet.vens)
        await asyncio.sleep(1.0)  # five ticks: the deleted home's VEN does not register again
        assert len(peer.registrations) == 2
        assert demo_id in fleet.vens  # the other home keeps its VEN
    finally:
        await fleet.stop()
        await server.stop()
