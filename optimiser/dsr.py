"""Demand side response requests as soft constraints on the site's grid power.

This is how OpenADR events reach the plan. Each request covers the slots it overlaps and
constrains the site's import ``i_t``, export ``x_t`` or net power ``n_t = i_t - x_t`` [kW]:

================  =================================================  ==========================
kind              constraint (soft, slack ``s_t >= 0``)               typical OpenADR signal
================  =================================================  ==========================
IMPORT_CAP        ``i_t <= value + s_t``                              LOAD_DISPATCH, SIMPLE level
EXPORT_FLOOR      ``x_t >= value - s_t``                              LOAD_DISPATCH (generation)
SETPOINT          ``n_t - value = s⁺_t - s⁻_t``                       LOAD_DISPATCH setpoint
REDUCTION         ``n_t <= baseline_t - value + s_t``                 LOAD_DISPATCH delta
================  =================================================  ==========================

Each kWh of deviation costs ``penalty_gbp_per_kwh``; deviations are reported per request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pyomo.environ as pyo

from kernel.dsr import DsrKind
from kernel.errors import ProblemError
from kernel.timegrid import TimeGrid
from optimiser.checks import FloatArray, SeriesLike, number, series
from optimiser.results import Violation, Wish, slot_violation


@dataclass(frozen=True, slots=True, kw_only=True)
class DsrRequest:
    """A DSR request over ``[start_utc, end_utc)``.

    Attributes:
        kind: see the module table.
        value_kw: the cap, floor, setpoint or reduction [kW] (>= 0 except for SETPOINT).
        baseline_kw: REDUCTION only: the site's baseline per slot [kW] (scalar or series).
        penalty_gbp_per_kwh: cost of each kWh of deviation [GBP/kWh].
        event_id: the DSRSP's identifier, for reports and messages.
    """

    kind: DsrKind
    start_utc: datetime
    end_utc: datetime
    value_kw: float
    baseline_kw: SeriesLike | None = None
    penalty_gbp_per_kwh: float = 2.0
    event_id: str = "DSR"

    def checked(self, grid: TimeGrid, where: str) -> DsrRequest:
        if self.start_utc.tzinfo is None or self.end_utc.tzinfo is None:
            raise ProblemError(f"{where}.start_utc", "times must be timezone-aware")
        if self.end_utc <= self.start_utc:
            raise ProblemError(f"{where}.end_utc", "is not after start_utc")
        number(f"{where}.penalty_gbp_per_kwh", self.penalty_gbp_per_kwh, minimum=0)
        if self.kind is not DsrKind.SETPOINT:
            number(f"{where}.value_kw", self.value_kw, minimum=0)
        else:
            number(f"{where}.value_kw", self.value_kw)
        baseline = None
        if self.kind is DsrKind.REDUCTION:
            if self.baseline_kw is None:
                raise ProblemError(f"{where}.baseline_kw", "a REDUCTION request needs a baseline")
            baseline = series(f"{where}.baseline_kw", self.baseline_kw, grid.n_steps)
        return DsrRequest(
            kind=self.kind,
            start_utc=self.start_utc,
            end_utc=self.end_utc,
            value_kw=float(self.value_kw),
            baseline_kw=baseline,
            penalty_gbp_per_kwh=self.penalty_gbp_per_kwh,
            event_id=self.event_id,
        )

    def slots(self, grid: TimeGrid) -> list[int]:
        """Slots the request overlaps."""
        return [
            t
            for t, f in enumerate(grid.overlap_fractions(self.start_utc, self.end_utc))
            if f > 1e-9
        ]

    def deviation_kw(
        self, import_kw: FloatArray, export_kw: FloatArray, grid: TimeGrid
    ) -> FloatArray:
        """Deviation per slot [kW] (0 outside the request) for a given grid schedule."""
        dev = np.zeros(grid.n_steps)
        net = import_kw - export_kw
        for t in self.slots(grid):
            match self.kind:
                case DsrKind.IMPORT_CAP:
                    dev[t] = max(0.0, import_kw[t] - self.value_kw)
                case DsrKind.EXPORT_FLOOR:
                    dev[t] = max(0.0, self.value_kw - export_kw[t])
                case DsrKind.SETPOINT:
                    dev[t] = abs(net[t] - self.value_kw)
                case DsrKind.REDUCTION:
                    base = np.asarray(self.baseline_kw)
                    dev[t] = max(0.0, net[t] - (base[t] - self.value_kw))
        return dev


def add_dsr_constraints(
    model: pyo.ConcreteModel,
    requests: tuple[DsrRequest, ...],
    grid: TimeGrid,
    import_kw: pyo.Var,
    export_kw: pyo.Var,
) -> list[object]:
    """Add every request's soft constraints to ``model``; returns the penalty terms [GBP]."""
    dt = grid.step_hours
    terms: list[object] = []
    for i, req in enumerate(requests):
        slots = req.slots(grid)
        if not slots:
            continue
        b = pyo.Block()
        model.add_component(f"dsr_{i}", b)
        b.over_kw = pyo.Var(slots, bounds=(0.0, None))
        match req.kind:
            case DsrKind.IMPORT_CAP:
                b.request = pyo.Constraint(
                    slots,
                    rule=lambda _b, t, r=req, bb=b: import_kw[t] <= r.value_kw + bb.over_kw[t],
                )
            case DsrKind.EXPORT_FLOOR:
                b.request = pyo.Constraint(
                    slots,
                    rule=lambda _b, t, r=req, bb=b: export_kw[t] >= r.value_kw - bb.over_kw[t],
                )
            case DsrKind.SETPOINT:
                b.under_kw = pyo.Var(slots, bounds=(0.0, None))
                b.request = pyo.Constraint(
                    slots,
                    rule=lambda _b, t, r=req, bb=b: (
                        import_kw[t] - export_kw[t] - r.value_kw == bb.over_kw[t] - bb.under_kw[t]
                    ),
                )
                terms.append(req.penalty_gbp_per_kwh * dt * sum(b.under_kw[t] for t in slots))
            case DsrKind.REDUCTION:
                b.request = pyo.Constraint(
                    slots,
                    rule=lambda _b, t, r=req, bb=b: (
                        import_kw[t] - export_kw[t]
                        <= float(np.asarray(r.baseline_kw)[t]) - r.value_kw + bb.over_kw[t]
                    ),
                )
        terms.append(req.penalty_gbp_per_kwh * dt * sum(b.over_kw[t] for t in slots))
    return terms


FLEXIBLE_LOAD_KW = 0.05
"""An asset drawing more than this in a missed request's slots is named as a cause [kW]."""


def _why_missed(
    req: DsrRequest,
    slots: list[int],
    base_load_kw: FloatArray,
    draws_kw: Mapping[str, FloatArray],
) -> str:
    """The cause of a missed request over ``slots``: for a cap or a reduction, the load the home
    cannot move (the base load above the cap) and the loads the plan chose to run then (the
    EV, the heat pump, a battery charging); otherwise, or with neither, the trade-off."""
    tradeoff = "following it fully would break a physical limit or cost more than its penalty"
    if req.kind not in (DsrKind.IMPORT_CAP, DsrKind.REDUCTION):
        return tradeoff
    causes: list[str] = []
    base_kw = float(base_load_kw[slots].max())
    if req.kind is DsrKind.IMPORT_CAP and base_kw > req.value_kw:
        causes.append(f"the home's other load alone is {base_kw:.1f} kW")
    running = {
        name: float(np.asarray(kw)[slots].max())
        for name, kw in draws_kw.items()
        if float(np.asarray(kw)[slots].max()) > FLEXIBLE_LOAD_KW
    }
    if running:
        loads = " and ".join(f"{name} (up to {kw:.1f} kW)" for name, kw in running.items())
        causes.append(
            f"the plan runs {loads} then, as holding back would cost more (a missed wish or "
            f"dearer energy) than the request's {req.penalty_gbp_per_kwh:g} GBP/kWh penalty"
        )
    return ", and ".join(causes) if causes else tradeoff


def dsr_violations(
    requests: tuple[DsrRequest, ...],
    grid: TimeGrid,
    import_kw: FloatArray,
    export_kw: FloatArray,
    base_load_kw: FloatArray,
    draws_kw: Mapping[str, FloatArray] | None = None,
) -> tuple[list[Violation], float, float]:
    """Violations, total deviation [kWh] and penalty [GBP] of a schedule against the requests.

    ``draws_kw`` are the assets' draws per slot (positive = consumption), by name: a missed cap
    or reduction names the loads the plan runs then (:func:`_why_missed`)."""
    dt = grid.step_hours
    out: list[Violation] = []
    total_kwh = 0.0
    penalty = 0.0
    for req in requests:
        dev = req.deviation_kw(import_kw, export_kw, grid)
        kwh = float(dt * dev.sum())
        total_kwh += kwh
        penalty += req.penalty_gbp_per_kwh * kwh
        if kwh <= 0.01:
            continue
        slots = [t for t in req.slots(grid) if dev[t] > 1e-6]
        worst = max(slots, key=lambda t: dev[t])
        why = _why_missed(req, slots, base_load_kw, draws_kw or {})
        out.append(
            slot_violation(
                wish=Wish.DSR,
                asset=req.event_id,
                grid=grid,
                first=slots[0],
                last=slots[-1],
                amount=kwh,
                unit="kWh",
                what=f"DSR request {req.event_id} ({req.kind.value} {req.value_kw:g} kW) is missed "
                f"by up to {dev[worst]:.1f} kW",
                why=why,
            )
        )
    return out, total_kwh, penalty
