"""Homes of one asset mix share a kept model (optimiser.model_shape): another home's hardware
(site limits, battery, EV, heat pump, hot-water tank) is numbers the kept model is given, and
its plans and pushed models equal fresh ones (the helpers of test_model_cache.py)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyomo.environ as pyo
import pytest
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

from benchmarks.reference_home import reference_home
from benchmarks.replan_homes import replan, replans
from optimiser import EvDispatchLag, HotWaterTank, Problem, optimise
from optimiser.components.cop import CopCurve
from optimiser.context import BinarySlots
from optimiser.highs_backend import HighsModel
from optimiser.model import build_model
from optimiser.model_cache import ModelCache, PersistentModel
from optimiser.model_shape import shape_key

from .test_model_cache import OPTIONS, _assert_same_plan, _lp, _same_lp
from .test_properties import homes


def _other_hardware(problem: Problem, seed: int) -> Problem:
    """``problem`` in another home of its asset mix: every hardware number a kept model writes
    drawn from ``seed`` (the SoC now kept within the new bounds)."""
    rng = np.random.default_rng(seed)
    kw: dict[str, object] = {
        "import_limit_kw": float(rng.uniform(12.0, 30.0)),
        "export_limit_kw": float(rng.choice([0.0, 3.68, 5.0])),
    }
    if problem.batteries:
        b = problem.batteries[0]
        lo, hi = float(rng.uniform(0.0, 0.2)), float(rng.uniform(0.8, 1.0))
        kw["batteries"] = (
            replace(
                b,
                capacity_kwh=float(rng.uniform(4.0, 16.0)),
                min_soc=lo,
                max_soc=hi,
                initial_soc=min(max(b.initial_soc, lo), hi),
                max_charge_kw=float(rng.uniform(2.0, 6.0)),
                max_discharge_kw=float(rng.uniform(2.0, 6.0)),
                charge_efficiency=float(rng.uniform(0.85, 0.98)),
                discharge_efficiency=float(rng.uniform(0.85, 0.98)),
                degradation_gbp_per_kwh=float(rng.choice([0.0, 0.03])),
            ),
        )
    if problem.evs:
        ev = problem.evs[0]
        kw["evs"] = (
            replace(
                ev,
                battery_capacity_kwh=float(rng.uniform(30.0, 90.0)),
                min_charge_kw=float(rng.uniform(1.2, 2.0)) if ev.min_charge_kw > 0 else 0.0,
                max_charge_kw=float(rng.uniform(3.5, 11.0)),
                charge_efficiency=float(rng.uniform(0.85, 0.95)),
            ),
        )
    if problem.heat_pumps and problem.heat_pumps[0].modulating:  # an on/off unit's is shape
        hp = problem.heat_pumps[0]
        warmer = float(rng.uniform(-0.5, 0.8))
        cop = CopCurve(outdoor_temperature_c=(-7.0, 2.0, 12.0), cop=(2.0, 2.9 + warmer, 4.2))
        building = replace(
            hp.building,
            heat_loss_kw_per_k=float(rng.uniform(0.08, 0.3)),
            thermal_capacity_kwh_per_k=float(rng.uniform(4.0, 14.0)),
        )
        kw["heat_pumps"] = (
            replace(
                hp,
                max_power_kw=float(rng.uniform(2.0, 6.0)),
                min_power_kw=float(rng.uniform(0.4, 1.2)) if hp.min_power_kw > 0 else 0.0,
                cop=cop,
                building=building,
            ),
        )
    return replace(problem, **kw)  # type: ignore[arg-type]


def _paid(problem: Problem) -> Problem:
    """``problem`` with every import price positive (a day of many negative prices drops the
    cover rows: another shape)."""
    price = np.clip(problem.import_price, 0.001, None)
    return replace(problem, import_price_gbp_per_kwh=price)


@pytest.mark.parametrize("seed", range(6))
def test_homes_of_one_mix_share_a_kept_model(seed: int) -> None:
    """Two homes of one asset mix and different hardware, planned alternately through one
    cache: the second home's first plan goes through the model the first built, and every
    plan and pushed model equals a fresh one (the shape held the hardware: 0 hits across)."""
    rng = np.random.default_rng(seed)
    a = replans(seed, 3, n_steps=48)
    b = [_other_hardware(replan(a[0], rng), 1000 + seed) for _ in range(3)]
    sequence = [_paid(p) for p in (a[0], a[1], b[0], a[2], b[1], b[2])]
    assert len({shape_key(p) for p in sequence}) == 1
    assert _through_one_model(sequence) == (1, 5)


def _lp_by_name(model: HighsModel, built: object) -> dict[str, dict[object, float]]:
    """The LP HiGHS holds keyed by the Pyomo names of its rows and columns: a kept model's
    binaries sit at the end of its columns, a fresh model's among their block's."""
    reader, lp = model.reader, _lp(model.highs)
    col_names = [v.name for v in reader.columns]
    row_names: dict[int, str] = {}
    for con in built.model.component_data_objects(pyo.Constraint, active=True):  # type: ignore[attr-defined]
        if id(con) in reader.row_of:
            row_names[reader.row_of[id(con)]] = con.name
    return {
        "matrix": {
            (row_names[int(r)], col_names[int(c)]): float(v)
            for r, c, v in zip(lp["rows"], lp["cols"], lp["values"], strict=True)
        },
        "cols": {
            col_names[c]: (lp["col_lower"][c], lp["col_upper"][c], lp["col_cost"][c])
            for c in range(len(col_names))
        },
        "rows": {name: (lp["row_lower"][r], lp["row_upper"][r]) for r, name in row_names.items()},
    }


def test_another_homes_binaries_read_its_own_hardware() -> None:
    """A kept model built by one home adds the binaries of another home of its mix with that
    home's powers and limits: with binaries in every slot, the LP equals a fresh one of the
    second home, row by row and column by column."""
    home = reference_home(3, n_steps=48)  # every asset, the EV plugged in from 20:00
    home = replace(
        home,
        evs=(replace(home.evs[0], min_charge_kw=1.4),),
        heat_pumps=(replace(home.heat_pumps[0], min_power_kw=0.8),),
    )
    rng = np.random.default_rng(3)
    home, other = replan(home, rng), _other_hardware(replan(home, rng), 7)
    assert shape_key(home) == shape_key(other)
    every = frozenset(range(48))
    keys = [
        "grid",
        home.batteries[0].binary_key,
        home.evs[0].min_power_key,
        home.heat_pumps[0].binary_key,
    ]
    binaries = BinarySlots(by_key=dict.fromkeys(keys, every))
    model = PersistentModel(home, OPTIONS)
    for problem in (home, other, home):
        model.prepare(problem, binaries)
        fresh = build_model(problem, binaries, dense_evs=True)
        theirs = _lp_by_name(HighsModel(fresh.model, OPTIONS), fresh)
        ours = _lp_by_name(model.highs, model.built)
        assert ours == theirs


def _with_tank(problem: Problem, seed: int) -> Problem:
    """``problem`` with a hot-water tank on its heat pump, drawn from ``seed`` (its hardware,
    its temperature now and the day's draws)."""
    rng = np.random.default_rng(seed)
    n = problem.grid.n_steps
    draw = np.where(rng.random(n) < 0.15, rng.uniform(1.0, 4.0, n), 0.0)
    tank = HotWaterTank(
        volume_litres=float(rng.uniform(120.0, 250.0)),
        initial_temperature_c=float(rng.uniform(44.0, 55.0)),
        min_temperature_c=float(rng.uniform(42.0, 46.0)),
        max_temperature_c=float(rng.uniform(58.0, 62.0)),
        draw_kw=draw,
        standby_loss_kw_per_k=float(rng.uniform(0.001, 0.004)),
        room_temperature_c=float(rng.uniform(14.0, 20.0)),
    )
    return replace(problem, heat_pumps=(replace(problem.heat_pumps[0], tank=tank),))


@pytest.mark.parametrize("seed", range(3))
def test_heat_pumps_with_a_tank_keep_their_model(seed: int) -> None:
    """A modulating heat pump with a hot-water tank: re-plans and another home's tank (its
    size, losses, temperatures and draws) go through one kept model, equal to fresh plans
    and fresh translations (such homes were planned fresh: no shape)."""
    rng = np.random.default_rng(seed)
    a = [_with_tank(p, 10 * seed + k) for k, p in enumerate(replans(seed, 3, 48, reference=True))]
    b = [_with_tank(_other_hardware(replan(a[0], rng), 99), 500 + k) for k in range(2)]
    sequence = [_paid(p) for p in (a[0], a[1], b[0], a[2], b[1])]
    assert len({shape_key(p) for p in sequence}) == 1
    assert _through_one_model(sequence) == (1, 4)
    on_off = replace(a[0].heat_pumps[0], modulating=False)
    assert shape_key(replace(a[0], heat_pumps=(on_off,))) is None  # relax-and-fix: fresh


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(homes(), st.integers(0, 2**16))
def test_random_homes_share_a_model_with_other_hardware(home: Problem, seed: int) -> None:
    """A random home (tests/optimiser/test_properties.py: every asset kind and option), then
    another home of its mix, then the first again, through one kept model: each plan and
    pushed model equals a fresh one."""
    note(f"home = {home!r}, seed = {seed}")
    other = _other_hardware(home, seed)
    assume(shape_key(home) is not None and shape_key(home) == shape_key(other))
    cache = ModelCache(keep_after=1)
    model = PersistentModel(home, OPTIONS)
    for problem in (home, other, home):
        _assert_same_plan(
            optimise(problem, OPTIONS), optimise(problem, OPTIONS, models=cache), problem
        )
        model.prepare(problem, BinarySlots())
        _same_lp(model, problem, [])
    assert cache.hits == 2


@pytest.mark.parametrize(
    "lags",
    [
        (
            EvDispatchLag(rise_delay_s=300.0, ramp_kw_per_min=2.0, longest_delay_s=600.0),
            EvDispatchLag(rise_delay_s=200.0, ramp_kw_per_min=3.5, longest_delay_s=450.0),
        ),
        (EvDispatchLag(rise_delay_s=300.0), EvDispatchLag(rise_delay_s=90.0)),
    ],
)
def test_dispatch_lags_of_one_structure_share_a_model(
    lags: tuple[EvDispatchLag, EvDispatchLag],
) -> None:
    """Two services' lags with the same rows (chords, longest-delay columns) and other delays
    and ramps: the EV home's plans with either go through one kept model, equal to fresh
    plans and translations (the lag's parameters were the shape)."""
    plans = replans(0, 4, 48, reference=True)
    sequence = [_paid(replace(p, ev_dispatch_lag=lags[k % 2])) for k, p in enumerate(plans)]
    assert len({shape_key(p) for p in sequence}) == 1
    assert _through_one_model(sequence) == (1, 3)
    off = replace(sequence[0], ev_dispatch_lag=EvDispatchLag())
    assert shape_key(off) != shape_key(sequence[0])  # no rise rows at all


def _through_one_model(sequence: list[Problem]) -> tuple[int, int]:
    """Plan ``sequence`` fresh and through one cache (kept from the first plan), each plan and
    pushed model equal to a fresh one; returns the cache's (misses, hits)."""
    cache = ModelCache(keep_after=1)
    model = PersistentModel(sequence[0], OPTIONS)
    for problem in sequence:
        _assert_same_plan(
            optimise(problem, OPTIONS), optimise(problem, OPTIONS, models=cache), problem
        )
        model.prepare(problem, BinarySlots())
        _same_lp(model, problem, [])
    return cache.misses, cache.hits
