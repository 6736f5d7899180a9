"""Storage, on SQLite and on a real PostgreSQL server (a throwaway cluster; skipped when
PostgreSQL is not installed unless HEMS_REQUIRE_POSTGRES=1): the migration builds exactly the
tables the code uses; times stay UTC; SQLite runs in WAL mode; tokens are stored hashed; plans,
setpoints (with ramp steps), events, telemetry and the audit log round-trip."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from hems.demo import demo_home_spec
from hems.domain.preferences import OverrideKind
from hems.storage.setpoint_records import SetpointKind, SetpointStatus, StoredSetpoint
from hems.storage.store import ConflictError, NotFoundError, StoredEvent, hash_token
from hems.storage.tables import Base
from kernel.devices import Setpoint
from optimiser import Violation, Wish

from ..conftest import MONDAY_5PM


def test_the_migrations_match_the_tables(store):
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_sqlite_runs_in_wal_mode_with_foreign_keys(store):
    if store.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_tokens_are_stored_only_as_hashes(store):
    home = store.create_home(demo_home_spec(), MONDAY_5PM, "test")
    token = store.create_token("home", home, MONDAY_5PM)
    with store.engine.connect() as conn:
        stored = conn.execute(text("SELECT token_hash FROM api_tokens")).scalars().all()
    assert token not in stored
    assert hash_token(token) in stored
    assert store.principal(token).home_id == home


def test_times_come_back_utc_and_naive_times_are_refused(store):
    home = store.create_home(demo_home_spec(), MONDAY_5PM, "test")
    store.add_override(
        home, OverrideKind.EV_BOOST, "", MONDAY_5PM, MONDAY_5PM + timedelta(hours=1), "test"
    )
    (o,) = store.active_overrides(home, MONDAY_5PM + timedelta(minutes=1))
    assert o.expires_at == MONDAY_5PM + timedelta(hours=1)
    assert o.expires_at.utcoffset() == timedelta(0)
    assert store.active_overrides(home, MONDAY_5PM + timedelta(hours=2)) == []
    with pytest.raises(Exception, match="timezone-aware"):
        store.add_override(
            home, OverrideKind.EV_BOOST, "", datetime(2026, 1, 1), datetime(2026, 1, 2), "test"
        )


def test_a_cem_serial_registers_once(store):
    store.create_home(demo_home_spec("A-1"), MONDAY_5PM, "test")
    with pytest.raises(ConflictError, match="A-1"):
        store.create_home(demo_home_spec("A-1"), MONDAY_5PM, "test")
    assert len(store.home_ids()) == 1  # nothing half-written


def test_telemetry_past_its_retention_is_pruned_and_the_rest_kept(store):
    from hems.storage.tables import TelemetryRow

    home = store.create_home(demo_home_spec(), MONDAY_5PM, "test")
    rows = [
        TelemetryRow(device_name="EV", at=MONDAY_5PM - timedelta(days=d), online=True, power_kw=1.0)
        for d in (0, 10, 100)
    ]
    store.add_telemetry(home, rows)
    assert store.prune_telemetry(MONDAY_5PM - timedelta(days=90)) == 1
    assert len(store.export_home(home)["telemetry"]) == 2


def test_a_plan_round_trips_with_its_schedule_and_utc_index(store):
    from hems.demo import demo_home_spec as spec
    from hems.market import ReplayedMarket
    from hems.problem_builder import PlanInputs, build_problem
    from optimiser import TimeGrid, rule_based_plan

    home = store.create_home(spec(), MONDAY_5PM, "test")
    grid = TimeGrid.starting_at(MONDAY_5PM, step_minutes=30, horizon_hours=6)
    home_spec = store.home(home)
    inputs = PlanInputs(
        home=home_spec,
        preferences=store.preferences(home),
        states={},
        market=ReplayedMarket().series(grid, home_spec),
        grid=grid,
        now_utc=MONDAY_5PM,
    )
    problem, _ = build_problem(inputs)
    plan = rule_based_plan(problem)
    plan_id = store.save_plan(home, plan, plan, "test", MONDAY_5PM)
    stored = store.latest_plan(home)
    assert stored.id == plan_id == store.latest_plan_id(home)
    assert stored.created_at == MONDAY_5PM
    assert stored.schedule.index[0] == MONDAY_5PM
    assert str(stored.schedule.index.tz) == "UTC"
    assert list(stored.schedule.columns) == list(plan.schedule.columns)
    assert stored.schedule["grid_kw"].to_numpy() == pytest.approx(
        plan.schedule["grid_kw"].to_numpy(), abs=1e-6
    )
    assert len(stored.totals.baseline_cost_gbp_by_slot) == grid.n_steps
    assert stored.totals.net_energy_cost_gbp == pytest.approx(plan.totals.net_energy_cost_gbp)
    assert stored.solver.status is plan.solver.status
    # what a plan misses comes back typed (the service matches a DSR event's by wish and id)
    missed = Violation(
        wish=Wish.DSR,
        asset="e-1",
        amount=1.5,
        unit="kWh",
        message="The home cannot reduce by 2 kW.",
        start_utc=MONDAY_5PM,
        end_utc=MONDAY_5PM + timedelta(hours=1),
    )
    store.save_plan(home, replace(plan, violations=(missed,)), plan, "test", MONDAY_5PM)
    (violation,) = store.latest_plan(home).violations
    assert (violation.wish, violation.asset, violation.amount) == (Wish.DSR, "e-1", 1.5)
    assert store.latest_plan_document(home).violations == (violation,)
    assert store.plans_between(home, MONDAY_5PM, MONDAY_5PM + timedelta(seconds=1))[0].id == plan_id
    assert (
        store.plans_between(home, MONDAY_5PM + timedelta(seconds=1), MONDAY_5PM + timedelta(1))
        == []
    )


def test_setpoints_decisions_ramp_steps_and_what_is_in_force(store):
    home = store.create_home(demo_home_spec(), MONDAY_5PM, "test")
    t0 = MONDAY_5PM
    first = store.add_setpoint(home, "EV", 7.4, "plan", None, t0, t0 + timedelta(seconds=30))
    assert store.due_setpoints(home, t0) == []
    (due,) = store.due_setpoints(home, t0 + timedelta(seconds=30))
    assert due.id == first
    t1 = t0 + timedelta(seconds=30)
    step = store.add_ramp_step(first, 1.4, t1)
    store.mark_setpoint(step, applied_at=t1)
    assert store.last_applied_setpoint(home, "EV").id == step
    assert store.last_decided_setpoint(home, "EV").id == first
    assert [s.id for s in store.due_setpoints(home, t1)] == [first]  # steps are never due
    # a step left unsent (a crash between writing and sending) is superseded by the next
    t2 = t1 + timedelta(seconds=15)
    lost = store.add_ramp_step(first, 1.9, t2)
    t3 = t2 + timedelta(seconds=15)
    store.mark_setpoint(store.add_ramp_step(first, 1.9, t3), applied_at=t3)
    rows = {s.id: s for s in store.setpoints(home, t0)}
    assert rows[lost].status is SetpointStatus.SUPERSEDED
    assert (rows[lost].kind, rows[lost].reason) == (SetpointKind.RAMP_STEP, "plan")
    store.mark_setpoint(first, applied_at=t3 + timedelta(seconds=15))
    assert store.last_applied_setpoint(home, "EV").id == first  # in force: the decision
    assert store.last_applied_setpoint(home, "EV").applied_at.utcoffset() == timedelta(0)
    # a new decision supersedes one still waiting
    later = store.add_setpoint(home, "EV", 0.0, "plan", None, t3, t3 + timedelta(minutes=5))
    newest = store.add_setpoint(home, "EV", 3.0, "plan", None, t3, t3)
    rows = {s.id: s for s in store.setpoints(home, t0)}
    assert rows[later].status is SetpointStatus.SUPERSEDED
    assert [s.id for s in store.due_setpoints(home, t3 + timedelta(hours=1))] == [newest]
    store.mark_setpoint(
        newest, applied_at=None, error="timeout", retry_at=t3 + timedelta(seconds=10)
    )
    assert store.due_setpoints(home, t3 + timedelta(seconds=5)) == []
    assert rows[newest].attempts == 0
    failed = {s.id: s for s in store.setpoints(home, t0)}[newest]
    assert (failed.attempts, failed.status, failed.last_error) == (
        1,
        SetpointStatus.FAILED,
        "timeout",
    )


def test_a_setpoints_mode_is_stored_and_copied_to_its_ramp_steps(store):
    home = store.create_home(demo_home_spec(), MONDAY_5PM, "test")
    t0 = MONDAY_5PM
    decided = store.add_setpoint(
        home, "Battery", 3.0, "plan", None, t0, t0, follow_site=True, store_surplus=True
    )
    step = store.add_ramp_step(decided, 1.0, t0)
    rows = {s.id: s for s in store.setpoints(home, t0)}
    for row in rows[decided], rows[step]:
        assert (row.reason, row.follow_site, row.store_surplus) == ("plan", True, True)
    assert store.last_decided_setpoint(home, "Battery").follow_site


def test_a_failure_reported_late_does_not_revive_a_superseded_setpoint(store):
    home = store.create_home(demo_home_spec(), MONDAY_5PM, "test")
    t0 = MONDAY_5PM
    old = store.add_setpoint(home, "EV", 7.4, "plan", None, t0, t0)
    new = store.add_setpoint(home, "EV", 3.0, "plan", None, t0, t0)  # while `old` was sent
    store.mark_setpoint(old, applied_at=None, error="timeout", retry_at=t0)
    assert [s.id for s in store.due_setpoints(home, t0)] == [new]
    assert store.supersede_setpoint(new)
    store.mark_setpoint(new, applied_at=t0)  # a send that raced the supersede still counts
    assert not store.supersede_setpoint(new)  # and a sent setpoint stays sent
    assert {s.id: s for s in store.setpoints(home, t0)}[new].status is SetpointStatus.SENT


def test_events_upsert_by_modification_and_answers_are_audited(store):
    home = store.create_home(demo_home_spec(), MONDAY_5PM, "test")
    event = StoredEvent(
        event_id="e-1",
        modification_number=0,
        kind="import_cap",
        value_kw=2.0,
        start=MONDAY_5PM,
        end=MONDAY_5PM + timedelta(hours=1),
        status="far",
        response="optIn",
        response_reason="consent given",
    )
    assert store.upsert_event(home, event, MONDAY_5PM) is True
    assert store.upsert_event(home, event, MONDAY_5PM) is False  # a repeat changes nothing
    modified = replace(event, modification_number=1, value_kw=1.0, status="active")
    assert store.upsert_event(home, modified, MONDAY_5PM) is True
    store.set_event_response(home, "e-1", "optOut", "the consumer opted out", MONDAY_5PM, "home")
    (stored,) = store.events(home)
    assert (stored.value_kw, stored.status, stored.response) == (1.0, "active", "optOut")
    assert stored.start == MONDAY_5PM
    assert stored.start.tzinfo is not None
    with pytest.raises(NotFoundError):
        store.set_event_response(home, "nope", "optOut", "", MONDAY_5PM, "home")
    actions = [a["action"] for a in store.audit(home)]
    assert actions.count("event.receive") == 2
    assert "event.optOut" in actions
    assert store.audit(home)[-1]["detail"] == {
        "event_id": "e-1",
        "reason": "the consumer opted out",
    }


def test_preferences_overrides_export_and_erase(store):
    from hems.domain.preferences import Preferences

    home = store.create_home(demo_home_spec(), MONDAY_5PM, "test")
    other = store.create_home(demo_home_spec("OTHER-1"), MONDAY_5PM, "test")
    token = store.create_token("home", home, MONDAY_5PM, "app")
    prefs = Preferences(dsr_consent=True, battery_reserve_soc=0.3)
    store.set_preferences(home, prefs, MONDAY_5PM, "home-token-1")
    assert store.preferences(home) == prefs
    oid = store.add_override(
        home, OverrideKind.PAUSE_DEVICE, "Heat pump", MONDAY_5PM, MONDAY_5PM + timedelta(1), "t"
    )
    store.cancel_override(home, oid, MONDAY_5PM + timedelta(minutes=1), "t")
    assert store.active_overrides(home, MONDAY_5PM + timedelta(minutes=2)) == []
    with pytest.raises(NotFoundError):
        store.cancel_override(other, oid, MONDAY_5PM, "t")  # not the other home's
    exported = store.export_home(home)
    assert exported["preferences"]["dsr_consent"] is True
    audit = exported["audit"]
    assert {"preferences.update", "override.create", "override.cancel"} <= {
        a["action"] for a in audit
    }
    assert next(a for a in audit if a["action"] == "preferences.update")["detail"] == {
        "version": 2,
        "dsr_consent": True,
    }
    assert datetime.fromisoformat(audit[0]["at"]).utcoffset() == timedelta(0)
    store.delete_home_data(home, MONDAY_5PM, "admin")
    assert store.principal(token) is None
    assert store.home_ids() == [other]
    with pytest.raises(NotFoundError):
        store.preferences(home)


def test_times_are_utc_whatever_the_server_or_session_time_zone(store):
    """A timestamp written in one zone reads back as the same instant (PostgreSQL's server
    zone in the tests is America/New_York)."""
    home = store.create_home(demo_home_spec(), MONDAY_5PM, "test")
    local = datetime(2026, 3, 29, 1, 30, tzinfo=UTC).astimezone(ZoneInfo("Europe/London"))
    store.add_override(home, OverrideKind.EV_BOOST, "", local, local + timedelta(hours=1), "t")
    (o,) = store.active_overrides(home, local + timedelta(minutes=1))
    assert o.created_at == local
    assert o.created_at.tzinfo is not None
    with store.engine.connect() as conn:
        raw = conn.execute(text("SELECT created_at FROM overrides")).scalar()
    assert str(raw).startswith("2026-03-29 01:30:00")  # stored as UTC


def test_concurrent_writers_neither_fail_nor_lose_updates(store):
    """Threads receiving the same new events and updating preferences at once: each event is
    stored once (one writer sees it new), and every preference write gets its own version."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from hems.domain.preferences import Preferences

    home = store.create_home(demo_home_spec(), MONDAY_5PM, "test")
    n_events, n_threads = 20, 4
    barrier = Barrier(n_threads)

    def receive(_: int) -> list[bool]:
        barrier.wait()
        out = []
        for i in range(n_events):
            event = StoredEvent(
                f"e-{i}",
                0,
                "import_cap",
                1.0,
                MONDAY_5PM,
                MONDAY_5PM + timedelta(hours=1),
                "far",
                "optIn",
                "consent given",
            )
            out.append(store.upsert_event(home, event, MONDAY_5PM))
            store.set_preferences(home, Preferences(), MONDAY_5PM, "t")
        return out

    with ThreadPoolExecutor(n_threads) as pool:
        results = list(pool.map(receive, range(n_threads)))
    assert [sum(r[i] for r in results) for i in range(n_events)] == [1] * n_events
    assert len(store.events(home)) == n_events
    versions = [
        a["detail"]["version"] for a in store.audit(home) if a["action"] == "preferences.update"
    ]
    assert sorted(versions) == list(range(2, 2 + n_events * n_threads))


def test_setpoints_are_read_back_as_frozen_typed_records(store):
    # not the ORM's rows: a record outlives its session and cannot be changed by mistake
    home = store.create_home(demo_home_spec(), MONDAY_5PM, "test")
    t0 = MONDAY_5PM
    decided = store.add_setpoint(
        home, "Battery", -5.0, "plan", 7, t0, t0, follow_site=True, store_surplus=False
    )
    store.mark_setpoint(decided, applied_at=t0)
    reads = [
        store.last_setpoint(home, "Battery"),
        store.last_decided_setpoint(home, "Battery"),
        store.last_applied_setpoint(home, "Battery"),
        *store.setpoints(home, t0),
    ]
    store.add_setpoint(home, "EV", 7.4, "plan", None, t0, t0)
    reads += store.due_setpoints(home, t0)
    assert all(type(r) is StoredSetpoint for r in reads)
    record = reads[0]
    assert record.setpoint == Setpoint(power_kw=-5.0, follow_site=True, store_surplus=False)
    assert (record.plan_id, record.kind, record.status) == (
        7,
        SetpointKind.DECISION,
        SetpointStatus.SENT,
    )
    with pytest.raises(FrozenInstanceError):
        record.power_kw = 0.0  # type: ignore[misc]


def test_the_setpoints_in_force_of_several_homes_at_once_match_each_devices_own(store):
    homes = [store.create_home(demo_home_spec(f"s-{i}"), MONDAY_5PM, "test") for i in range(3)]
    t = MONDAY_5PM
    for n, home in enumerate(homes[:2]):
        for device, kw in (("EV", 7.4), ("Battery", -2.0)):
            old = store.add_setpoint(home, device, kw + n, "plan", None, t, t)
            store.mark_setpoint(old, applied_at=t + timedelta(seconds=1))
            # two sent at the same instant: the later row is in force
            tie = store.add_setpoint(home, device, kw + n + 1, "plan", None, t, t)
            store.mark_setpoint(tie, applied_at=t + timedelta(seconds=1))
            store.add_setpoint(home, device, 0.5, "plan", None, t, t)  # decided, never sent
    got = store.last_applied_setpoints(homes)
    assert set(got) == set(homes[:2])  # the third was never sent anything
    for home in homes[:2]:
        assert set(got[home]) == {"EV", "Battery"}
        for device, record in got[home].items():
            assert record == store.last_applied_setpoint(home, device)
    assert store.last_applied_setpoints([homes[2]]) == {}


def test_a_homes_decisions_stored_at_once_supersede_each_devices_waiting_one(store):
    from hems.storage.setpoint_records import NewDecision

    home = store.create_home(demo_home_spec(), MONDAY_5PM, "test")
    t = MONDAY_5PM
    waiting = store.add_setpoint(home, "EV", 7.4, "plan", None, t, t + timedelta(minutes=5))
    kept = store.add_setpoint(home, "Heat pump", 1.0, "plan", None, t, t + timedelta(minutes=5))
    decisions = [
        NewDecision("EV", 3.0, "plan", t, follow_site=False),
        NewDecision("Battery", -2.0, "plan", t + timedelta(seconds=30), True, True),
    ]
    ids = store.add_setpoints(home, None, t, decisions)
    rows = {s.id: s for s in store.setpoints(home, t)}
    assert rows[waiting].status is SetpointStatus.SUPERSEDED  # the EV's decision replaced
    assert rows[kept].status is SetpointStatus.PENDING  # another device's is not
    ev, battery = (rows[i] for i in ids)
    assert (ev.device_name, ev.power_kw, ev.kind) == ("EV", 3.0, SetpointKind.DECISION)
    assert (battery.follow_site, battery.store_surplus) == (True, True)
    assert battery.effective_at == t + timedelta(seconds=30)
    assert [s.id for s in store.due_setpoints(home, t)] == [ids[0]]
