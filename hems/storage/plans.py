"""Plans (table ``plans``): what the planner decided, stored as JSON columns and read back as
typed records (:mod:`hems.storage.plan_records`)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from hems.storage.database import StoreBase
from hems.storage.fencing import check_fence
from hems.storage.plan_records import (
    PlanDocument,
    StoredPlan,
    finite,
    records_of,
    solver_from_json,
    totals_from_json,
    violations_from_json,
)
from hems.storage.tables import PlanRow
from optimiser import Plan


class PlanRecords(StoreBase):
    """Saving plans and reading them back; the latest plan's id is remembered per home."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self._latest_plan: dict[int, int] = {}

    def forget_plans(self, home_id: int) -> None:
        """Drop what is remembered of a home's plans (the home was erased)."""
        self._latest_plan.pop(home_id, None)

    def save_plan(
        self, home_id: int, plan: Plan, baseline: Plan, trigger: str, now: datetime
    ) -> int:
        schedule = plan.schedule
        totals, violations, solver = records_of(plan, baseline)
        with self.write_transaction() as s:
            check_fence(s, self.fencing, home_id)  # only the home's lease holder plans it
            row = PlanRow(
                home_id=home_id,
                created_at=now,
                trigger=trigger,
                status=plan.solver.status.value,
                grid_start=schedule.index[0].to_pydatetime(),
                step_minutes=int((schedule.index[1] - schedule.index[0]).total_seconds() // 60)
                if len(schedule) > 1
                else 30,
                objective_gbp=finite(plan.totals.objective_gbp),
                schedule=_frame_to_json(schedule),
                totals=totals.as_json(),
                violations=[v.as_json() for v in violations],
                solver=solver.as_json(),
            )
            s.add(row)
            s.flush()
            plan_id = row.id
        self._latest_plan[home_id] = plan_id
        self.changed("plans", home_id)
        return plan_id

    def latest_plan(self, home_id: int) -> StoredPlan | None:
        with self.session() as s:
            row = _latest_plan_row(s, home_id)
            return None if row is None else _stored_plan(row)

    def latest_plan_document(self, home_id: int) -> PlanDocument | None:
        """The home's latest plan as stored (:class:`PlanDocument`), or None."""
        with self.session() as s:
            row = _latest_plan_row(s, home_id)
            if row is None:
                return None
            return PlanDocument(
                id=row.id,
                created_at=row.created_at,
                trigger=row.trigger,
                status=row.status,
                schedule=row.schedule,
                totals=totals_from_json(row.totals),
                violations=violations_from_json(row.violations),
                solver=solver_from_json(row.solver),
            )

    def latest_plan_id(self, home_id: int) -> int | None:
        """The id of the home's latest plan (remembered from the last save of this process,
        else read)."""
        known = self._latest_plan.get(home_id)
        if known is not None:
            return known
        with self.session() as s:
            return s.scalar(select(func.max(PlanRow.id)).where(PlanRow.home_id == home_id))

    def plans_between(self, home_id: int, start: datetime, end: datetime) -> list[StoredPlan]:
        with self.session() as s:
            rows = s.scalars(
                select(PlanRow)
                .where(
                    PlanRow.home_id == home_id,
                    PlanRow.created_at >= start,
                    PlanRow.created_at < end,
                )
                .order_by(PlanRow.id)
            )
            return [_stored_plan(r) for r in rows]


def _frame_to_json(frame: pd.DataFrame) -> dict[str, Any]:
    """The schedule as JSON: an unknown value (NaN, e.g. an EV's charge while the car is away)
    is null, since JSON has no NaN (PostgreSQL refuses it)."""
    rows = frame.round(6).to_numpy().tolist()
    return {
        "index": [t.isoformat() for t in frame.index],
        "columns": list(frame.columns),
        "data": [[_known(v) for v in row] for row in rows],
    }


def _known(value: Any) -> Any:
    """``value``, or None for a float that is not finite."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _frame_from_json(data: dict[str, Any]) -> pd.DataFrame:
    """The schedule back; null (and a NaN stored before nulls were) reads as NaN, also in a
    column with no known value."""
    index = pd.DatetimeIndex(pd.to_datetime(data["index"], utc=True), name="slot_start")
    frame = pd.DataFrame(data["data"], index=index, columns=data["columns"])
    for column in frame.select_dtypes(include="object").columns:
        if frame[column].isna().all():
            frame[column] = np.nan
    return frame


def _latest_plan_row(s: Session, home_id: int) -> PlanRow | None:
    return s.scalars(
        select(PlanRow).where(PlanRow.home_id == home_id).order_by(PlanRow.id.desc()).limit(1)
    ).first()


def _stored_plan(row: PlanRow) -> StoredPlan:
    return StoredPlan(
        id=row.id,
        home_id=row.home_id,
        created_at=row.created_at,
        trigger=row.trigger,
        status=row.status,
        schedule=_frame_from_json(row.schedule),
        totals=totals_from_json(row.totals),
        violations=violations_from_json(row.violations),
        solver=solver_from_json(row.solver),
    )
