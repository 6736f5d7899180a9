"""Homes and their devices (tables ``homes``, ``devices``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hems.domain.home import HomeSpec
from hems.domain.preferences import Preferences
from hems.storage.database import ConflictError, NotFoundError, StoreBase, audit_row
from hems.storage.tables import DeviceRow, HomeRow, PreferencesRow


class HomeRecords(StoreBase):
    """A home's spec, written once with its devices and default preferences."""

    def create_home(self, spec: HomeSpec, now: datetime, actor: str) -> int:
        with self.write_transaction() as s:
            row = HomeRow(
                name=spec.name,
                cem_manufacturer=spec.cem_manufacturer,
                cem_serial=spec.cem_serial,
                spec=spec.model_dump(mode="json", exclude={"devices"}),
                created_at=now,
            )
            s.add(row)
            try:
                s.flush()
            except IntegrityError:
                raise ConflictError(f"CEM serial {spec.cem_serial} is already registered") from None
            for d in spec.devices:
                s.add(
                    DeviceRow(
                        home_id=row.id,
                        name=d.name,
                        kind=d.kind.value,
                        spec=d.model_dump(mode="json"),
                    )
                )
            s.add(
                PreferencesRow(
                    home_id=row.id, data=Preferences().model_dump(mode="json"), updated_at=now
                )
            )
            s.add(audit_row(row.id, now, actor, "home.create", {"serial": spec.cem_serial}))
            return row.id

    def home_ids(self) -> list[int]:
        with self.session() as s:
            return list(s.scalars(select(HomeRow.id).order_by(HomeRow.id)))

    def home_records(self, home_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Several homes' records, unvalidated (``HomeSpec.model_validate`` each), in two
        queries instead of two a home (the telemetry job's, every minute); a home not found is
        left out."""
        with self.session() as s:
            rows = s.scalars(select(HomeRow).where(HomeRow.id.in_(home_ids)))
            records: dict[int, dict[str, Any]] = {r.id: {**r.spec, "devices": []} for r in rows}
            devices = select(DeviceRow).where(DeviceRow.home_id.in_(list(records)))
            for d in s.scalars(devices.order_by(DeviceRow.id)):
                records[d.home_id]["devices"].append(d.spec)
            return records

    def home(self, home_id: int) -> HomeSpec:
        with self.session() as s:
            row = s.get(HomeRow, home_id)
            if row is None:
                raise NotFoundError(f"home {home_id}")
            devices = s.scalars(
                select(DeviceRow).where(DeviceRow.home_id == home_id).order_by(DeviceRow.id)
            )
            return HomeSpec.model_validate({**row.spec, "devices": [d.spec for d in devices]})
