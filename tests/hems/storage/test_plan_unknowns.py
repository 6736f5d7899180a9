"""A plan whose schedule holds an unknown value (NaN: an EV's charge while the car is away, as
the fleet benchmark's homes plan it) is stored and read back, on SQLite and on PostgreSQL
(whose JSON has no NaN: the plan was refused and the home never re-planned, found by
benchmarks/bench_fleet.py on PostgreSQL)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pandas as pd

from hems.demo import demo_problem
from hems.simulation.cohort import draw_cohort
from hems.storage.engine import make_engine, upgrade_schema
from hems.storage.store import Store
from optimiser import optimise, rule_based_plan

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _round_trip(url: str) -> None:
    engine = make_engine(url)
    upgrade_schema(engine)
    store = Store(engine)
    home_id = store.create_home(draw_cohort(1, seed=0)[0].spec, NOW, "test")
    problem = demo_problem()
    plan, baseline = optimise(problem), rule_based_plan(problem)
    column = "EV.soc_pct"
    plan.schedule.iloc[:3, plan.schedule.columns.get_loc(column)] = math.nan
    plan_id = store.save_plan(home_id, plan, baseline, "test", NOW)
    stored = store.latest_plan(home_id)
    assert stored is not None
    assert stored.id == plan_id
    unknown = plan.schedule[column].isna().tolist()
    assert unknown[:3] == [True, True, True]
    assert not all(unknown)
    assert stored.schedule[column].isna().tolist() == unknown
    pd.testing.assert_frame_equal(
        stored.schedule, plan.schedule.round(6), check_names=False, check_freq=False
    )
    document = store.latest_plan_document(home_id)
    assert document is not None
    at = document.schedule["columns"].index(column)
    assert [row[at] for row in document.schedule["data"][:3]] == [None, None, None]
    # a column with no known value at all reads back as numbers too
    plan.schedule[column] = math.nan
    store.save_plan(home_id, plan, baseline, "test", NOW)
    stored = store.latest_plan(home_id)
    assert stored is not None
    assert stored.schedule[column].dtype == float
    assert stored.schedule[column].isna().all()
    engine.dispose()


def test_unknown_values_round_trip_on_sqlite(tmp_path):
    _round_trip(f"sqlite:///{tmp_path / 'plans.sqlite3'}")


def test_unknown_values_round_trip_on_postgres(postgres_url):
    _round_trip(postgres_url)
