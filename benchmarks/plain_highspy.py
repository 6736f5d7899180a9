"""A plain highspy model of a small home: the yardstick of the optimiser's fixed cost.

``optimise`` builds a Pyomo model, translates it, solves it in planner rounds, checks the
solution and assembles a plan with its schedule, totals and reasons. An outside review
compared it with a model written straight into HiGHS's arrays and found homes with few
assets 1-4 times slower (issue 27). This module is that direct model, written here from the
maths of the components' docstrings (``optimiser/components/``, ``optimiser/model.py``):
numpy arrays of columns and rows, one ``Highs.passModel`` call, one ``run``. It covers what
the overhead benchmark plans (``benchmarks/bench_overhead.py``): PV, batteries within their
SoC bounds, EVs without V2G, "charge now" or a dispatch lag, modulating heat pumps without a
tank, a plan made inside its first slot. Anything else is a ``ValueError``.

Binaries go where they can bind, as a modeller who knows the home would put them: import or
export where export pays at least the (carbon-weighted) import price, charge or discharge
where importing is free or paid, a charger's or heat pump's on/off in every slot it can run
when it has a minimum power. Elsewhere simultaneous flows only lose money, so the optimum is
the full model's, and :func:`solve_plain`'s objective equals ``optimise``'s to the gap
(``check_same_objective``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import highspy
import numpy as np
import numpy.typing as npt

from optimiser import Battery, ElectricVehicle, HeatPump, Plan, Problem, SolverOptions

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_INF = math.inf


@dataclass(frozen=True, slots=True)
class PlainOutcome:
    """What the plain model gave: its objective [GBP], the time to build the arrays and pass
    them to HiGHS, and HiGHS's solve [s]."""

    objective_gbp: float
    status: str
    build_s: float
    solve_s: float
    n_columns: int
    n_rows: int
    n_integer: int

    @property
    def total_s(self) -> float:
        return self.build_s + self.solve_s


@dataclass(slots=True)
class _Arrays:
    """Columns and rows collected block by block (rows as COO triplets)."""

    lower: list[FloatArray] = field(default_factory=list)
    upper: list[FloatArray] = field(default_factory=list)
    cost: list[FloatArray] = field(default_factory=list)
    integer: list[npt.NDArray[np.int32]] = field(default_factory=list)
    n_cols: int = 0
    row_lower: list[FloatArray] = field(default_factory=list)
    row_upper: list[FloatArray] = field(default_factory=list)
    coo: list[tuple[IntArray, IntArray, FloatArray]] = field(default_factory=list)
    n_rows: int = 0

    def cols(
        self,
        lower: FloatArray | float,
        upper: FloatArray | float,
        cost: FloatArray | float = 0.0,
        *,
        n: int,
        integer: bool = False,
    ) -> IntArray:
        """``n`` new columns; their indices."""
        self.lower.append(np.broadcast_to(np.asarray(lower, dtype=np.float64), (n,)))
        self.upper.append(np.broadcast_to(np.asarray(upper, dtype=np.float64), (n,)))
        self.cost.append(np.broadcast_to(np.asarray(cost, dtype=np.float64), (n,)))
        self.integer.append(np.full(n, 1 if integer else 0, dtype=np.int32))
        first, self.n_cols = self.n_cols, self.n_cols + n
        return np.arange(first, first + n, dtype=np.int64)

    def rows(
        self,
        lower: FloatArray | float,
        upper: FloatArray | float,
        terms: list[tuple[IntArray, FloatArray | float]],
        *,
        n: int,
    ) -> None:
        """``n`` rows ``lower <= Σ coef·col <= upper``; each term gives one column and
        coefficient per row (a column index below 0: no entry in that row)."""
        self.row_lower.append(np.broadcast_to(np.asarray(lower, dtype=np.float64), (n,)))
        self.row_upper.append(np.broadcast_to(np.asarray(upper, dtype=np.float64), (n,)))
        rows = np.arange(self.n_rows, self.n_rows + n, dtype=np.int64)
        for cols, coef in terms:
            values = np.broadcast_to(np.asarray(coef, dtype=np.float64), (n,))
            keep = cols >= 0
            self.coo.append((rows[keep], cols[keep], values[keep]))
        self.n_rows += n

    def pass_to(self, h: highspy.Highs, *, relax: bool = False) -> None:
        """The whole model to HiGHS in one call (rows in compressed row form); ``relax``:
        every column continuous."""
        row = np.concatenate([r for r, _, _ in self.coo])
        col = np.concatenate([c for _, c, _ in self.coo])
        val = np.concatenate([v for _, _, v in self.coo])
        order = np.argsort(row, kind="stable")
        start = np.searchsorted(row[order], np.arange(self.n_rows)).astype(np.int32)
        integrality = np.concatenate(self.integer)
        if relax:
            integrality[:] = 0
        status = h.passModel(
            self.n_cols,
            self.n_rows,
            len(val),
            int(highspy.MatrixFormat.kRowwise),
            int(highspy.ObjSense.kMinimize),
            0.0,
            np.concatenate(self.cost),
            np.concatenate(self.lower),
            np.concatenate(self.upper),
            np.concatenate(self.row_lower),
            np.concatenate(self.row_upper),
            start,
            col[order].astype(np.int32),
            val[order],
            integrality,  # all of it (an empty array is read as garbage)
        )
        if status == highspy.HighsStatus.kError:
            raise RuntimeError("HiGHS refused the plain model")


def _refuse_uncovered(problem: Problem) -> None:
    if problem.dsr_requests or problem.appliances or problem.import_rewards:
        raise ValueError("the plain model has no DSR requests, appliances or rewards")
    if problem.ev_dispatch_lag.rise_delay_s > 0 or problem.ev_dispatch_lag.ramp_kw_per_min > 0:
        raise ValueError("the plain model has no EV dispatch lag")
    if any(
        b.starts_outside_bounds or not (b.allow_export and b.allow_grid_charging)
        for b in problem.batteries
    ):
        raise ValueError("the plain model's batteries start within bounds, export and charge")
    if any(ev.has_v2g or any(s.charge_now for s in ev.sessions) for ev in problem.evs):
        raise ValueError("the plain model's EVs have no V2G and no charge now")
    if any(hp.tank is not None or not hp.modulating for hp in problem.heat_pumps):
        raise ValueError("the plain model's heat pumps modulate and have no tank")


def build_plain(problem: Problem, options: SolverOptions, *, relax: bool = False) -> highspy.Highs:
    """The home as one HiGHS model (module docstring), options set, not solved; ``relax``:
    its LP relaxation (no integrality)."""
    _refuse_uncovered(problem)
    n, dt = problem.grid.n_steps, problem.grid.step_hours
    run = problem.running_fraction
    price_in = problem.effective_import_price
    m = _Arrays()
    imp = m.cols(0.0, problem.import_limit_kw, dt * price_in, n=n)
    exp = m.cols(0.0, problem.export_limit_kw, -dt * problem.export_price, n=n)
    supply: list[IntArray] = []  # per slot power onto the bus (a column per slot, -1: none)
    consumption: list[IntArray] = []
    for pv in problem.pv:
        forecast = np.where(pv.forecast < 1e-6, 0.0, pv.forecast)
        supply.append(m.cols(0.0, forecast, n=n))
    storage_slots = np.flatnonzero(price_in <= 1e-12)
    for bat in problem.batteries:
        c, d = _add_battery(m, problem, bat, storage_slots)
        consumption.append(c)
        supply.append(d)
    for ev in problem.evs:
        consumption.append(_add_ev(m, problem, ev))
    for hp in problem.heat_pumps:
        consumption.append(_add_heat_pump(m, problem, hp, run))
    m.rows(
        problem.base_load,
        problem.base_load,
        [(imp, 1.0), (exp, -1.0), *((s, 1.0) for s in supply), *((c, -1.0) for c in consumption)],
        n=n,
    )
    if problem.export_limit_kw > 0:
        both = np.flatnonzero(problem.export_price >= price_in - 1e-12)
        y = m.cols(0.0, 1.0, n=len(both), integer=True)
        k = len(both)
        m.rows(-_INF, 0.0, [(imp[both], 1.0), (y, -problem.import_limit_kw)], n=k)
        m.rows(
            -_INF, problem.export_limit_kw, [(exp[both], 1.0), (y, problem.export_limit_kw)], n=k
        )
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", options.threads)
    h.setOptionValue("random_seed", options.random_seed)
    h.setOptionValue("mip_rel_gap", options.mip_rel_gap)
    h.setOptionValue("mip_abs_gap", options.mip_abs_gap)
    h.setOptionValue("time_limit", options.time_limit_s)
    for name, value in options.highs_options:
        h.setOptionValue(name, value)
    m.pass_to(h, relax=relax)
    return h


def _add_battery(
    m: _Arrays, problem: Problem, bat: Battery, storage_slots: IntArray
) -> tuple[IntArray, IntArray]:
    """Charge and discharge columns, the energy balance, terminal terms, mode binaries."""
    n, dt = problem.grid.n_steps, problem.grid.step_hours
    run = problem.running_fraction
    cap = bat.capacity_kwh
    c = m.cols(0.0, bat.max_charge_kw * run, n=n)
    d = m.cols(0.0, bat.max_discharge_kw * run, dt * bat.degradation_gbp_per_kwh, n=n)
    value = np.zeros(n)
    value[-1] = -bat.end_value_gbp_per_kwh
    e = m.cols(bat.min_soc * cap, bat.max_soc * cap, value, n=n)
    prev = np.concatenate([[-1], e[:-1]])
    rhs = np.zeros(n)
    rhs[0] = bat.initial_soc * cap
    eta_c, eta_d = bat.charge_efficiency, bat.discharge_efficiency
    m.rows(rhs, rhs, [(e, 1.0), (prev, -1.0), (c, -dt * eta_c), (d, dt / eta_d)], n=n)
    if bat.target_soc_end is not None:
        s = m.cols(0.0, _INF, problem.penalties.battery_target_gbp_per_kwh, n=1)
        m.rows(bat.target_soc_end * cap, _INF, [(e[-1:], 1.0), (s, 1.0)], n=1)
    k = len(storage_slots)
    if k:
        z = m.cols(0.0, 1.0, n=k, integer=True)
        m.rows(-_INF, 0.0, [(c[storage_slots], 1.0), (z, -bat.max_charge_kw)], n=k)
        m.rows(
            -_INF,
            bat.max_discharge_kw,
            [(d[storage_slots], 1.0), (z, bat.max_discharge_kw)],
            n=k,
        )
    return c, d


def _add_ev(m: _Arrays, problem: Problem, ev: ElectricVehicle) -> IntArray:
    """Charging and energy columns per plugged-in slot, each session's balance and soft
    target, the charger's on/off where it has a minimum power; the charging column per slot
    of the horizon (-1 where unplugged)."""
    grid = problem.grid
    n, dt = grid.n_steps, grid.step_hours
    horizon_h = dt * n
    charge = np.full(n, -1, dtype=np.int64)
    cap, eta = ev.battery_capacity_kwh, ev.charge_efficiency
    for s in ev.sessions:
        fraction = np.asarray(grid.overlap_fractions(s.arrival_utc, s.departure_utc))
        slots = np.flatnonzero(fraction > 1e-9)
        k = len(slots)
        if not k:
            continue
        f = fraction[slots]
        p = m.cols(0.0, ev.max_charge_kw * f, n=k)
        e = m.cols(0.0, cap, n=k)
        charge[slots] = p
        rhs = np.zeros(k)
        rhs[0] = s.arrival_soc * cap
        prev = np.concatenate([[-1], e[:-1]])
        m.rows(rhs, rhs, [(e, 1.0), (prev, -1.0), (p, -dt * eta)], n=k)
        required = s.target_soc * cap
        after_h = grid.hours_from_start(s.departure_utc) - horizon_h
        if after_h > 1e-9:  # leaves after the horizon: only what cannot be added later
            required = max(0.0, required - ev.max_charge_kw * eta * after_h)
        if required > 0:
            short = m.cols(0.0, _INF, problem.penalties.ev_shortfall_gbp_per_kwh, n=1)
            m.rows(required, _INF, [(e[-1:], 1.0), (short, 1.0)], n=1)
        if ev.min_charge_kw > 0:
            u = m.cols(0.0, 1.0, n=k, integer=True)
            m.rows(0.0, _INF, [(p, 1.0), (u, -ev.min_charge_kw * f)], n=k)
            m.rows(-_INF, 0.0, [(p, 1.0), (u, -ev.max_charge_kw * f)], n=k)
    return charge


def _add_heat_pump(m: _Arrays, problem: Problem, hp: HeatPump, run: FloatArray) -> IntArray:
    """Power, indoor temperature and the comfort band's slacks; the 1R1C building's exact
    step per slot (the first one spans the share of the slot left)."""
    n, dt = problem.grid.n_steps, problem.grid.step_hours
    bld = hp.building
    t_out = problem.outdoor_temperature
    cop = hp.cop.cop_at(t_out)
    hours = dt * run
    loss, capacity = bld.heat_loss_kw_per_k, bld.thermal_capacity_kwh_per_k
    if loss > 0:
        a = np.exp(-loss * hours / capacity)
        b = (1.0 - a) / loss
    else:
        a, b = np.ones(n), hours / capacity
    gains = np.asarray(bld.solar_gain_kw) + np.asarray(bld.internal_gain_kw)
    penalty = problem.penalties.comfort_gbp_per_kelvin_hour * dt
    p = m.cols(0.0, hp.max_power_kw * run, n=n)
    theta = m.cols(-_INF, _INF, n=n)
    below = m.cols(0.0, _INF, penalty, n=n)
    above = m.cols(0.0, _INF, penalty, n=n)
    free = (1 - a) * t_out + b * gains
    free[0] += a[0] * bld.initial_indoor_temperature_c
    prev = np.concatenate([[-1], theta[:-1]])
    m.rows(free, free, [(theta, 1.0), (prev, -a), (p, -b * cop / run)], n=n)
    lo = np.broadcast_to(np.asarray(hp.comfort_min_c, dtype=np.float64), (n,))
    hi = np.broadcast_to(np.asarray(hp.comfort_max_c, dtype=np.float64), (n,))
    if problem.hard_comfort:
        m.rows(lo, hi, [(theta, 1.0)], n=n)
    else:
        m.rows(lo, hi, [(theta, 1.0), (below, 1.0), (above, -1.0)], n=n)
    if hp.min_power_kw > 0:
        u = m.cols(0.0, 1.0, n=n, integer=True)
        m.rows(0.0, _INF, [(p, 1.0), (u, -hp.min_power_kw * run)], n=n)
        m.rows(-_INF, 0.0, [(p, 1.0), (u, -hp.max_power_kw * run)], n=n)
    return p


def solve_plain(
    problem: Problem, options: SolverOptions | None = None, *, relax: bool = False
) -> PlainOutcome:
    """Build the plain model and solve it; times build (arrays and ``passModel``) and solve.
    ``relax``: without integrality (the home's LP: HiGHS's own floor for this home)."""
    options = options or SolverOptions()
    t0 = time.perf_counter()
    h = build_plain(problem, options, relax=relax)
    t1 = time.perf_counter()
    h.run()
    t2 = time.perf_counter()
    lp = h.getLp()
    n_integer = sum(v == highspy.HighsVarType.kInteger for v in lp.integrality_)
    return PlainOutcome(
        objective_gbp=float(h.getInfo().objective_function_value),
        status=h.modelStatusToString(h.getModelStatus()),
        build_s=t1 - t0,
        solve_s=t2 - t1,
        n_columns=lp.num_col_,
        n_rows=lp.num_row_,
        n_integer=n_integer,
    )


def objective_tolerance_gbp(objective_gbp: float, options: SolverOptions) -> float:
    """How far two solutions each within the gap of the optimum may differ [GBP]."""
    return max(options.mip_abs_gap, options.mip_rel_gap * abs(objective_gbp)) + 1e-7


def check_same_objective(plain: PlainOutcome, plan: Plan, options: SolverOptions) -> float:
    """The plain model's and the plan's objectives differ by at most the gap (else an
    ``AssertionError`` naming both); returns the difference in units of the gap."""
    ours = plan.solver.objective_gbp
    tol = objective_tolerance_gbp(ours, options)
    diff = abs(plain.objective_gbp - ours)
    assert plain.status == "Optimal", f"the plain model ended {plain.status}"
    assert diff <= tol, (
        f"plain model {plain.objective_gbp:.6f} GBP, optimise {ours:.6f} GBP: "
        f"{diff:.2e} apart, more than the gap {tol:.2e}"
    )
    return diff / tol
