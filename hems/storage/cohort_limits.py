"""The cohort import limit (table ``cohort_limits``): the operator sets one, replacing the one
in force, and clears it; the rows cleared stay as its history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from hems.storage.database import StoreBase
from hems.storage.tables import CohortLimitRow


@dataclass(frozen=True, slots=True, kw_only=True)
class CohortLimit:
    """``limit_kw`` for the cohort's summed import from ``start`` to ``end`` (UTC)."""

    limit_kw: float
    start: datetime
    end: datetime
    set_by: str
    set_at: datetime


class CohortLimitRecords(StoreBase):
    """Set, read and clear the cohort import limit."""

    def set_cohort_limit(self, limit: CohortLimit) -> None:
        """Put ``limit`` in force, clearing the one before it."""
        with self.write_transaction() as s:
            for row in s.scalars(select(CohortLimitRow).where(CohortLimitRow.cleared_at.is_(None))):
                row.cleared_at = limit.set_at
            s.add(
                CohortLimitRow(
                    limit_kw=limit.limit_kw,
                    start=limit.start,
                    end=limit.end,
                    set_by=limit.set_by,
                    set_at=limit.set_at,
                )
            )

    def cohort_limit(self) -> CohortLimit | None:
        """The limit set and not cleared (it may have ended or not begun), or None."""
        with self.session() as s:
            row = s.scalars(
                select(CohortLimitRow)
                .where(CohortLimitRow.cleared_at.is_(None))
                .order_by(CohortLimitRow.id.desc())
            ).first()
            if row is None:
                return None
            return CohortLimit(
                limit_kw=row.limit_kw,
                start=row.start,
                end=row.end,
                set_by=row.set_by,
                set_at=row.set_at,
            )

    def clear_cohort_limit(self, now: datetime) -> bool:
        """Clear the limit in force; False when there was none."""
        with self.write_transaction() as s:
            rows = list(
                s.scalars(select(CohortLimitRow).where(CohortLimitRow.cleared_at.is_(None)))
            )
            for row in rows:
                row.cleared_at = now
        return bool(rows)
