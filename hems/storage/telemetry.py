"""Device telemetry (table ``telemetry``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import and_, delete, func, select

from hems.storage.database import StoreBase
from hems.storage.tables import TelemetryRow


class TelemetryRecords(StoreBase):
    """Readings of the devices, kept until pruned."""

    def add_telemetry(self, home_id: int, rows: list[TelemetryRow]) -> None:
        with self.write_transaction() as s:
            for r in rows:
                r.home_id = home_id
                s.add(r)

    def add_telemetry_of_homes(self, rows_by_home: Mapping[int, list[TelemetryRow]]) -> None:
        """Several homes' readings in one transaction (the telemetry job's, every minute: one
        commit instead of one a home). All or none are stored."""
        with self.write_transaction() as s:
            for home_id, rows in rows_by_home.items():
                for r in rows:
                    r.home_id = home_id
                s.add_all(rows)

    def telemetry_powers(
        self, home_id: int, device_name: str, since: datetime
    ) -> list[tuple[datetime, float]]:
        """(time, power [kW]) of one device's online readings since ``since``, oldest first."""
        query = (
            select(TelemetryRow.at, TelemetryRow.power_kw)
            .where(
                TelemetryRow.home_id == home_id,
                TelemetryRow.device_name == device_name,
                TelemetryRow.at >= since,
                TelemetryRow.online.is_(True),
                TelemetryRow.power_kw.is_not(None),
            )
            .order_by(TelemetryRow.at)
        )
        with self.session() as s:
            return [(at, float(kw)) for at, kw in s.execute(query) if kw is not None]

    def last_online(self, home_id: int) -> dict[str, tuple[datetime, bool]]:
        """Each device's last reading of a home: (time, whether it answered), by device name
        (what any replica can read, whoever runs the home)."""
        last = (
            select(TelemetryRow.device_name, func.max(TelemetryRow.at).label("at"))
            .where(TelemetryRow.home_id == home_id)
            .group_by(TelemetryRow.device_name)
            .subquery()
        )
        query = select(TelemetryRow.device_name, TelemetryRow.at, TelemetryRow.online).join(
            last, and_(TelemetryRow.device_name == last.c.device_name, TelemetryRow.at == last.c.at)
        )
        with self.session() as s:
            rows = s.execute(query.where(TelemetryRow.home_id == home_id))
            return {name: (at, bool(online)) for name, at, online in rows}

    def prune_telemetry(self, before: datetime) -> int:
        """Delete telemetry older than ``before``; returns how many rows went."""
        with self.write_transaction() as s:
            result = s.execute(delete(TelemetryRow).where(TelemetryRow.at < before))
            return int(result.rowcount or 0)  # type: ignore[attr-defined]
