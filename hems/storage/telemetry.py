"""Device telemetry (table ``telemetry``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete

from hems.storage.database import StoreBase
from hems.storage.tables import TelemetryRow


class TelemetryRecords(StoreBase):
    """Readings of the devices, kept until pruned."""

    def add_telemetry(self, home_id: int, rows: list[TelemetryRow]) -> None:
        with self.write_transaction() as s:
            for r in rows:
                r.home_id = home_id
                s.add(r)

    def prune_telemetry(self, before: datetime) -> int:
        """Delete telemetry older than ``before``; returns how many rows went."""
        with self.write_transaction() as s:
            result = s.execute(delete(TelemetryRow).where(TelemetryRow.at < before))
            return int(result.rowcount or 0)  # type: ignore[attr-defined]
