"""A load of concurrent read-modify-write calls on one store: threads (and, run as
``python -m tests.hems.storage.write_hammer URL HOME THREADS OPS SEED``, a second process) each
add and cancel overrides, add setpoints, mark due setpoints sent or failed, save plans and
replace preferences, interleaved. Each reports what it did, so the test can check that the
database holds exactly that: no call failed, no update was lost, no setpoint sent twice."""

from __future__ import annotations

import json
import random
import sys
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hems.domain.preferences import OverrideKind, Preferences
from hems.market import ReplayedMarket
from hems.problem_builder import PlanInputs, build_problem
from hems.storage.engine import make_engine
from hems.storage.store import Store
from optimiser import Plan, TimeGrid, rule_based_plan

AT = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
DEVICES = ("EV", "Battery")
"""Every worker writes setpoints of the same two devices, so their writes collide."""


@dataclass
class Tally:
    """What the workers of one process did (merged across processes by the test)."""

    marks: Counter[int] = field(default_factory=Counter)
    """Per setpoint: the marks that said they changed it (each one attempt)."""
    sent: Counter[int] = field(default_factory=Counter)
    """Per setpoint: the marks that said they marked it sent."""
    overrides_cancelled: int = 0
    plans_saved: int = 0
    preferences_set: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def as_json(self) -> dict[str, Any]:
        return {
            "marks": dict(self.marks),
            "sent": dict(self.sent),
            "overrides_cancelled": self.overrides_cancelled,
            "plans_saved": self.plans_saved,
            "preferences_set": self.preferences_set,
            "errors": self.errors,
        }


def small_plan(store: Store, home_id: int) -> Plan:
    """A rule-based plan of the home over two hours (cheap to save many times)."""
    grid = TimeGrid.starting_at(AT, step_minutes=30, horizon_hours=2)
    spec = store.home(home_id)
    inputs = PlanInputs(
        home=spec,
        preferences=store.preferences(home_id),
        states={},
        market=ReplayedMarket().series(grid, spec),
        grid=grid,
        now_utc=AT,
    )
    return rule_based_plan(build_problem(inputs)[0])


@dataclass
class Worker:
    """One worker's view: the store, the home, its random numbers and the shared tally."""

    store: Store
    home: int
    rng: random.Random
    tally: Tally
    plan: Plan
    open_overrides: list[int]
    """Overrides this process made and has not cancelled yet (shared by its workers)."""


def hammer(store: Store, home_id: int, threads: int, ops: int, seed: int) -> Tally:
    """``threads`` workers, ``ops`` calls each, started together."""
    tally = Tally()
    plan = small_plan(store, home_id)
    start = threading.Barrier(threads)
    open_overrides: list[int] = []

    def work(n: int) -> None:
        w = Worker(store, home_id, random.Random(seed * 1000 + n), tally, plan, open_overrides)
        start.wait()
        for i in range(ops):
            try:
                OPS[(i + n) % len(OPS)](w)
            except Exception as exc:  # every failure is reported
                with tally.lock:
                    tally.errors.append(f"{type(exc).__name__}: {exc}"[:300])

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, range(threads)))
    return tally


def _add_override(w: Worker) -> None:
    oid = w.store.add_override(
        w.home, OverrideKind.EV_BOOST, "", AT, AT + timedelta(hours=1), "hammer"
    )
    with w.tally.lock:
        w.open_overrides.append(oid)


def _cancel_override(w: Worker) -> None:
    with w.tally.lock:
        if not w.open_overrides:
            return
        oid = w.open_overrides.pop(w.rng.randrange(len(w.open_overrides)))
    w.store.cancel_override(w.home, oid, AT, "hammer")
    with w.tally.lock:
        w.tally.overrides_cancelled += 1


def _add_setpoint(w: Worker) -> None:
    w.store.add_setpoint(w.home, w.rng.choice(DEVICES), w.rng.uniform(-3, 7), "plan", None, AT, AT)


def _mark_setpoint(w: Worker) -> None:
    """What the apply loop does: take a due setpoint and mark it sent (or failed)."""
    due = w.store.due_setpoints(w.home, AT)
    if not due:
        return
    sp = w.rng.choice(due)
    sent = w.rng.random() < 0.7
    changed = w.store.mark_setpoint(
        sp.id, applied_at=AT if sent else None, error="" if sent else "timeout", retry_at=AT
    )
    if changed:
        with w.tally.lock:
            w.tally.marks[sp.id] += 1
            if sent:
                w.tally.sent[sp.id] += 1


def _save_plan(w: Worker) -> None:
    w.store.save_plan(w.home, w.plan, w.plan, "hammer", AT)
    with w.tally.lock:
        w.tally.plans_saved += 1


def _set_preferences(w: Worker) -> None:
    w.store.set_preferences(w.home, Preferences(carbon_preference=w.rng.random()), AT, "hammer")
    with w.tally.lock:
        w.tally.preferences_set += 1


OPS: tuple[Callable[[Worker], None], ...] = (
    _add_override,
    _add_setpoint,
    _mark_setpoint,
    _cancel_override,
    _mark_setpoint,
    _save_plan,
    _add_setpoint,
    _mark_setpoint,
    _set_preferences,
)


if __name__ == "__main__":
    url, home_id, n_threads, n_ops, seed = sys.argv[1:6]
    store = Store(make_engine(url))
    result = hammer(store, int(home_id), int(n_threads), int(n_ops), int(seed))
    store.engine.dispose()
    print(json.dumps(result.as_json()))
