"""The fast linear reader: the same model as Pyomo's standard-form compiler, and incremental."""

from __future__ import annotations

import highspy
import numpy as np
import pyomo.environ as pyo
import pytest
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from benchmarks.reference_home import reference_home
from optimiser import SolverOptions
from optimiser.highs_backend import HighsModel
from optimiser.model import build_model
from optimiser.planner import initial_binary_slots
from optimiser.translate import LinearReader, NonlinearError


def _pyomo_compiler_objective(model: pyo.ConcreteModel) -> float:
    """Solve the LP relaxation of ``model`` through Pyomo's own standard-form compiler."""
    sf = LinearStandardFormCompiler().write(model, mixed_form=True, set_sense=None)
    a = sf.A.tocsr()
    inf = highspy.kHighsInf
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    lower = [-inf if v.lb is None else v.lb for v in sf.columns]
    upper = [inf if v.ub is None else v.ub for v in sf.columns]
    cost = np.asarray(sf.c.toarray(), dtype=np.float64).ravel()
    no_int, no_float = np.zeros(0, dtype=np.int32), np.zeros(0)
    h.addCols(len(lower), cost, np.array(lower), np.array(upper), 0, no_int, no_int, no_float)
    kinds = np.array([r.bound_type for r in sf.rows])
    rhs = np.asarray(sf.rhs, dtype=float)
    row_lo = np.where(kinds <= 0, rhs, -inf)  # bound_type: 0 =, 1 <=, -1 >=
    row_hi = np.where(kinds >= 0, rhs, inf)
    start, index = a.indptr[:-1].astype(np.int32), a.indices.astype(np.int32)
    h.addRows(len(rhs), row_lo, row_hi, a.nnz, start, index, a.data.astype(np.float64))
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return float(h.getInfo().objective_function_value) + float(np.ravel(sf.c_offset)[0])


@pytest.mark.parametrize("seed", [0, 3])
def test_reader_gives_the_same_lp_optimum_as_pyomos_compiler(seed):
    problem = reference_home(seed, 48, 60)
    built = build_model(problem, initial_binary_slots(problem))
    for var in built.model.component_data_objects(pyo.Var):
        var.domain = pyo.Reals if not var.is_integer() else pyo.UnitInterval  # LP relaxation
    ours = HighsModel(built.model, SolverOptions()).solve(10.0)
    assert ours.objective == pytest.approx(_pyomo_compiler_objective(built.model), rel=1e-9)


def test_reader_handles_parameters_expressions_and_fixed_variables():
    m = pyo.ConcreteModel()
    m.x = pyo.Var(bounds=(0, 10))
    m.y = pyo.Var(bounds=(0, 10))
    m.z = pyo.Var(initialize=2.0)
    m.z.fix()
    m.p = pyo.Param(initialize=3.0, mutable=True)
    m.e = pyo.Expression(expr=m.x + m.y)
    m.c1 = pyo.Constraint(expr=m.e >= 4)  # a named Expression: Pyomo's visitor reads it
    m.c2 = pyo.Constraint(expr=(1, m.x - m.y / 2, m.p * m.z))  # ranged, param * fixed bound
    m.c3 = pyo.Constraint(expr=-(m.x - 2 * m.y) <= m.z)
    m.obj = pyo.Objective(expr=m.p * m.x + 2 * (m.y + 1))
    out = HighsModel(m, SolverOptions()).solve(10.0)
    # min 3x + 2y + 2 s.t. x + y >= 4, 1 <= x - y/2 <= 6, 2y - x <= 2  ->  x = 2, y = 2
    assert out.objective == pytest.approx(12.0)
    assert (pyo.value(m.x), pyo.value(m.y)) == pytest.approx((2.0, 2.0))


def test_reader_refuses_nonlinear_constraints():
    m = pyo.ConcreteModel()
    m.x = pyo.Var()
    m.c = pyo.Constraint(expr=m.x * m.x <= 4)
    m.obj = pyo.Objective(expr=m.x)
    with pytest.raises(NonlinearError, match="c"):
        LinearReader().read_new(m)


def test_reader_returns_only_what_was_added_since_the_last_read():
    m = pyo.ConcreteModel()
    m.x = pyo.Var(bounds=(0, 1))
    m.c = pyo.Constraint(expr=m.x <= 1)
    reader = LinearReader()
    first = reader.read_new(m)
    assert (len(first.columns), first.n_rows) == (1, 1)
    m.y = pyo.Var(domain=pyo.Binary)
    m.d = pyo.Constraint(expr=m.x <= m.y)
    second = reader.read_new(m)
    assert (len(second.columns), second.n_rows) == (1, 1)
    assert second.col_integer == [True]
    assert second.row_index == [0, 1]  # x keeps its column; y is appended


def test_a_lazy_round_on_the_solved_model_matches_a_rebuild_with_the_binaries(hourly_grid):
    """15 kWh over 3 slots at 7.4 kW leaves a 0.2 kW remainder below the 1.4 kW minimum: the
    second round adds the charger's binaries to the solved model; a model built with them from
    the start has the same optimum: 13.6 kWh at 0.10 and the 1.4 kW minimum at 0.20 = 1.64 GBP
    (the alternative, 0.2 kWh short at 5 GBP/kWh, costs 2.48 GBP)."""
    from optimiser import Problem, optimise
    from optimiser.context import BinarySlots
    from optimiser.highs_backend import solve_with_highs

    from .conftest import plugged_ev

    ev = plugged_ev(arrive_h=1, leave_h=9, arrival_soc=0.5, target_soc=0.8, capacity_kwh=50.0)
    prices = [0.3, 0.1, 0.1, 0.2, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3]
    problem = Problem(grid=hourly_grid, import_price_gbp_per_kwh=prices, evs=(ev,))
    plan = optimise(problem)
    assert plan.solver.rounds == 2
    slots = BinarySlots().with_added(ev.min_power_key, set(range(10)))
    rebuilt = solve_with_highs(build_model(problem, slots).model, SolverOptions(), 10.0)
    assert plan.solver.objective_gbp == pytest.approx(1.64)
    assert rebuilt.objective == pytest.approx(1.64)
    power = plan.schedule["EV.power_kw"].to_numpy()
    assert sorted(np.round(power[power > 1e-6], 6)) == [1.4, 6.2, 7.4]
    assert power[3] == pytest.approx(1.4)


def test_reader_sees_components_and_blocks_added_or_reactivated_after_a_read():
    m = pyo.ConcreteModel()
    m.x = pyo.Var(bounds=(0, 4))
    m.c = pyo.Constraint(expr=m.x <= 3)
    reader = LinearReader()
    assert reader.read_new(m).n_rows == 1
    m.b = pyo.Block()  # a new block with a row: found
    m.b.d = pyo.Constraint(expr=m.x >= 1)
    assert reader.read_new(m).n_rows == 1
    m.b.e = pyo.Constraint(expr=m.x >= 0.5)
    m.b.deactivate()  # its new row is not read while the block is inactive
    assert reader.read_new(m).n_rows == 0
    m.b.activate()
    assert reader.read_new(m).n_rows == 1
    m.f = pyo.Constraint(expr=m.x <= 2)
    m.f.deactivate()
    assert reader.read_new(m).n_rows == 0
    m.f.activate()  # a component activated again: its row is read
    assert reader.read_new(m).n_rows == 1
    m.s = pyo.SOSConstraint(var=m.x, sos=1)  # added after a read: still refused
    with pytest.raises(ValueError, match="SOSConstraint"):
        reader.read_new(m)
