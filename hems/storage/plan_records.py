"""What a stored plan holds, as typed records: its totals, the wishes it does not meet and
the solver's report, read back from the ``plans`` table's JSON columns (written by
:meth:`hems.storage.store.Store.save_plan`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import pandas as pd

from hems.cohort.measures import device_draws_kw, import_kw
from optimiser import Plan, PlanStatus, Wish


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredViolation:
    """A wish the plan does not meet (:class:`optimiser.Violation` without its times)."""

    wish: Wish
    asset: str
    """The asset's name, or the DSR event's id for a :attr:`Wish.DSR`."""
    amount: float
    unit: str
    message: str

    def as_json(self) -> dict[str, Any]:
        return {
            "wish": self.wish.value,
            "asset": self.asset,
            "amount": self.amount,
            "unit": self.unit,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredSolverReport:
    """How the plan was obtained (:class:`optimiser.SolverReport`'s stored part; times [s])."""

    status: PlanStatus
    message: str
    gap: float | None
    """None when the solver reported no finite gap."""
    build_s: float
    solve_s: float
    rounds: int

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "message": self.message,
            "gap": self.gap,
            "build_s": self.build_s,
            "solve_s": self.solve_s,
            "rounds": self.rounds,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredTotals:
    """The plan's totals over its horizon (:class:`optimiser.Totals`), and the rule-based
    baseline's cost and carbon per slot (for the savings against it)."""

    horizon: Mapping[str, float | None]
    """Each of :class:`optimiser.Totals`' figures by name (kWh, GBP, kg, K·h); None when it
    was not finite."""
    by_asset: Mapping[str, float]
    baseline_cost_gbp_by_slot: tuple[float, ...]
    baseline_carbon_kg_by_slot: tuple[float, ...]
    baseline_import_kw_by_slot: tuple[float, ...] = ()
    """The baseline's grid import per slot (the cohort view; empty for older plans)."""
    baseline_flexible_kw_by_slot: tuple[float, ...] = ()
    """The baseline's device draws per slot (:func:`hems.cohort.measures.device_draws_kw`)."""

    @property
    def net_energy_cost_gbp(self) -> float | None:
        return self.horizon.get("net_energy_cost_gbp")

    @property
    def carbon_kg(self) -> float | None:
        return self.horizon.get("carbon_kg")

    def public(self) -> dict[str, Any]:
        """The totals as the API shows them: the baseline's per-slot lists summed over the
        plan's slots (``baseline_cost_gbp``, ``baseline_carbon_kg``; None for a plan stored
        without them)."""
        has_baseline = bool(self.baseline_cost_gbp_by_slot)
        return {
            **self.horizon,
            "by_asset": dict(self.by_asset),
            "baseline_cost_gbp": sum(self.baseline_cost_gbp_by_slot) if has_baseline else None,
            "baseline_carbon_kg": sum(self.baseline_carbon_kg_by_slot) if has_baseline else None,
        }

    def as_json(self) -> dict[str, Any]:
        return {
            **self.horizon,
            "by_asset": dict(self.by_asset),
            "baseline_cost_gbp_by_slot": list(self.baseline_cost_gbp_by_slot),
            "baseline_carbon_kg_by_slot": list(self.baseline_carbon_kg_by_slot),
            "baseline_import_kw_by_slot": list(self.baseline_import_kw_by_slot),
            "baseline_flexible_kw_by_slot": list(self.baseline_flexible_kw_by_slot),
        }


@dataclass(frozen=True, slots=True)
class StoredPlan:
    id: int
    home_id: int
    created_at: datetime
    trigger: str
    status: str
    schedule: pd.DataFrame
    totals: StoredTotals
    violations: tuple[StoredViolation, ...]
    solver: StoredSolverReport


@dataclass(frozen=True, slots=True)
class PlanDocument:
    """A stored plan as its JSON columns hold it, without building the schedule's DataFrame
    (what the API serves): ``schedule`` is ``{"index": [ISO times], "columns": [...],
    "data": [[...], ...]}``."""

    id: int
    created_at: datetime
    trigger: str
    status: str
    schedule: dict[str, Any]
    totals: StoredTotals
    violations: tuple[StoredViolation, ...]
    solver: StoredSolverReport


def records_of(
    plan: Plan, baseline: Plan
) -> tuple[StoredTotals, list[StoredViolation], StoredSolverReport]:
    """What :meth:`Store.save_plan` stores of ``plan`` (and of the rule-based ``baseline``
    over the same slots)."""
    horizon = {
        f.name: finite(value) if isinstance(value := getattr(plan.totals, f.name), float) else value
        for f in fields(plan.totals)
        if f.name != "by_asset"
    }
    totals = StoredTotals(
        horizon=horizon,
        by_asset=dict(plan.totals.by_asset),
        baseline_cost_gbp_by_slot=tuple(baseline.schedule["cost_gbp"].round(6).tolist()),
        baseline_carbon_kg_by_slot=tuple(baseline.schedule["carbon_kg"].round(6).tolist()),
        baseline_import_kw_by_slot=tuple(round(float(x), 6) for x in import_kw(baseline.schedule)),
        baseline_flexible_kw_by_slot=tuple(
            round(float(x), 6) for x in device_draws_kw(baseline.schedule)
        ),
    )
    violations = [
        StoredViolation(wish=v.wish, asset=v.asset, amount=v.amount, unit=v.unit, message=v.message)
        for v in plan.violations
    ]
    s = plan.solver
    solver = StoredSolverReport(
        status=s.status,
        message=s.message,
        gap=finite(s.gap),
        build_s=s.build_s,
        solve_s=s.solve_s,
        rounds=s.rounds,
    )
    return totals, violations, solver


def totals_from_json(data: Mapping[str, Any]) -> StoredTotals:
    baseline = (
        "baseline_cost_gbp_by_slot",
        "baseline_carbon_kg_by_slot",
        "baseline_import_kw_by_slot",
        "baseline_flexible_kw_by_slot",
        "by_asset",
    )
    return StoredTotals(
        horizon={k: v for k, v in data.items() if k not in baseline},
        by_asset=dict(data.get("by_asset", {})),
        baseline_cost_gbp_by_slot=tuple(data.get("baseline_cost_gbp_by_slot", ())),
        baseline_carbon_kg_by_slot=tuple(data.get("baseline_carbon_kg_by_slot", ())),
        baseline_import_kw_by_slot=tuple(data.get("baseline_import_kw_by_slot", ())),
        baseline_flexible_kw_by_slot=tuple(data.get("baseline_flexible_kw_by_slot", ())),
    )


def violations_from_json(data: list[Any]) -> tuple[StoredViolation, ...]:
    return tuple(
        StoredViolation(
            wish=Wish(v["wish"]),
            asset=v["asset"],
            amount=v["amount"],
            unit=v["unit"],
            message=v["message"],
        )
        for v in data
    )


def solver_from_json(data: Mapping[str, Any]) -> StoredSolverReport:
    return StoredSolverReport(
        status=PlanStatus(data["status"]),
        message=data["message"],
        gap=data["gap"],
        build_s=data["build_s"],
        solve_s=data["solve_s"],
        rounds=data["rounds"],
    )


def finite(x: float) -> float | None:
    """``x``, or None when it is not finite (JSON has no NaN or infinity)."""
    return None if x != x or x in (float("inf"), float("-inf")) else float(x)
