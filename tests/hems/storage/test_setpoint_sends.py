"""An apply pass's batched writes (hems/storage/setpoint_sends.py), on SQLite and PostgreSQL:
a home's ramp steps in one commit, and what became of a pass's sends, of several homes, in one
commit, each outcome as the one-at-a-time writes recorded it (a failed send is not marked sent,
a setpoint already sent stays so, a dropped step is never sent)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event

from hems.demo import demo_home_spec
from hems.storage.setpoint_records import SendOutcome, SetpointKind, SetpointStatus
from hems.storage.store import Store

from ..conftest import MONDAY_5PM

T0 = MONDAY_5PM


def _commits(store: Store) -> list[object]:
    """Every commit on the store's engine from now on."""
    seen: list[object] = []
    event.listen(store.engine, "commit", seen.append)
    return seen


def _by_id(store: Store, home: int) -> dict[int, object]:
    return {s.id: s for s in store.setpoints(home, T0 - timedelta(days=1))}


def test_a_homes_ramp_steps_are_one_commit_and_replace_its_unsent_steps(store):
    home = store.create_home(demo_home_spec("SENDS-1"), T0, "test")
    ev = store.add_setpoint(home, "EV", 7.0, "plan", None, T0, T0, follow_site=False)
    hp = store.add_setpoint(home, "Heat pump", 3.0, "plan", None, T0, T0)
    old = store.add_ramp_steps(home, [(ev, 1.0)], T0)[0]  # left unsent (a crash)
    commits = _commits(store)
    new = store.add_ramp_steps(home, [(ev, 2.0), (hp, 1.5)], T0 + timedelta(seconds=15))
    assert len(commits) == 1
    rows = _by_id(store, home)
    assert [(rows[i].device_name, rows[i].power_kw) for i in new] == [
        ("EV", 2.0),
        ("Heat pump", 1.5),
    ]
    assert {rows[i].kind for i in new} == {SetpointKind.RAMP_STEP}
    assert rows[old].status is SetpointStatus.SUPERSEDED
    assert rows[ev].status is SetpointStatus.PENDING  # due until its ramp reaches it


def test_a_pass_sends_of_several_homes_are_recorded_in_one_commit_as_one_at_a_time(store):
    a = store.create_home(demo_home_spec("SENDS-A"), T0, "test")
    b = store.create_home(demo_home_spec("SENDS-B"), T0, "test")
    sent = store.add_setpoint(a, "EV", 7.0, "plan", None, T0, T0)
    failed = store.add_setpoint(a, "Battery", 2.0, "plan", None, T0, T0)
    target = store.add_setpoint(b, "EV", 7.0, "plan", None, T0, T0)
    step = store.add_ramp_steps(b, [(target, 2.0)], T0)[0]
    twice = store.add_setpoint(b, "Heat pump", 1.0, "plan", None, T0, T0)
    store.mark_setpoint(twice, applied_at=T0)  # another loop sent it first
    now, retry = T0 + timedelta(seconds=15), T0 + timedelta(seconds=25)
    commits = _commits(store)
    done = store.record_sends(
        [
            SendOutcome(home_id=a, setpoint_id=sent, applied_at=now),
            SendOutcome(home_id=a, setpoint_id=failed, applied_at=None, error="x", retry_at=retry),
            SendOutcome(home_id=b, setpoint_id=step, applied_at=None, dropped=True),
            SendOutcome(home_id=b, setpoint_id=target, applied_at=None, error="y", retry_at=retry),
            SendOutcome(home_id=b, setpoint_id=twice, applied_at=now),
        ]
    )
    assert len(commits) == 1
    assert (done.already_sent, done.lost_homes) == ((twice,), ())
    rows = _by_id(store, a) | _by_id(store, b)
    assert (rows[sent].status, rows[sent].applied_at, rows[sent].attempts) == (
        SetpointStatus.SENT,
        now,
        1,
    )
    for row in (rows[failed], rows[target]):  # failed: not sent, due again at the retry
        assert (row.status, row.applied_at, row.effective_at) == (
            SetpointStatus.FAILED,
            None,
            retry,
        )
    assert rows[step].status is SetpointStatus.SUPERSEDED
    assert rows[step].applied_at is None
    assert rows[twice].applied_at == T0  # stays as first sent
    assert [s.id for s in store.due_setpoints(a, retry)] == [failed]
    assert store.last_applied_setpoint(b, "EV") is None  # the dropped step was never in force


def test_a_late_failure_revives_no_superseded_setpoint_and_nothing_is_no_commit(store):
    home = store.create_home(demo_home_spec("SENDS-2"), T0, "test")
    first = store.add_setpoint(home, "EV", 7.0, "plan", None, T0, T0)
    store.add_setpoint(home, "EV", 3.0, "plan", None, T0, T0)  # supersedes the first
    commits = _commits(store)
    assert store.record_sends([]).already_sent == ()
    assert commits == []
    store.record_sends([SendOutcome(home_id=home, setpoint_id=first, applied_at=None, error="z")])
    assert _by_id(store, home)[first].status is SetpointStatus.SUPERSEDED
