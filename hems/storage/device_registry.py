"""Devices registered through the API (table ``devices``, columns ``connection`` and
``identity``): a home's device with the connection the CEM reaches it by, added, listed and
removed with an audit entry each. A connection holds the device's credentials (a charger's
password): they go with the row when the device is removed, and never into the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hems.domain.devices import DeviceSpec
from hems.storage.database import ConflictError, NotFoundError, StoreBase, audit_row
from hems.storage.tables import DeviceRow, HomeRow


@dataclass(frozen=True, slots=True)
class RegisteredDevice:
    """A device of a home as registered: ``connection`` (JSON, None for one with no
    connection stored), ``identity`` (manufacturer, model, serial, version; None until it
    connected) and ``capabilities`` (what it reported it can do; None until it did)."""

    name: str
    kind: str
    connection: dict[str, Any] | None
    identity: dict[str, str | None] | None
    capabilities: dict[str, Any] | None = None


class DeviceRegistryRecords(StoreBase):
    """The API's device registrations."""

    def register_device(
        self,
        home_id: int,
        name: str,
        spec: DeviceSpec | None,
        connection: dict[str, Any],
        now: datetime,
        actor: str,
    ) -> None:
        """Store a device's connection: of the home's device ``name``, or with ``spec`` of a new
        device. NotFoundError: no such home, or no such device without a spec; ConflictError:
        a new device's name is taken, or the device has a connection already."""
        with self.write_transaction(lock_home=home_id) as s:
            _home(s, home_id)
            row = _device(s, home_id, name)
            if spec is not None:
                if row is not None:
                    raise ConflictError(f"home {home_id} has a device named {name!r} already")
                row = DeviceRow(
                    home_id=home_id,
                    name=name,
                    kind=spec.kind.value,
                    spec=spec.model_dump(mode="json"),
                )
                s.add(row)
            elif row is None:
                raise NotFoundError(f"home {home_id} has no device named {name!r}")
            elif row.connection is not None:
                raise ConflictError(f"device {name!r} has a connection: remove it first")
            row.connection, row.identity = connection, None
            details = {
                "device": name,
                "protocol": connection.get("protocol"),
                "new": spec is not None,
            }
            s.add(audit_row(home_id, now, actor, "device.register", details))
        self.changed("home", home_id)  # a new device is in the home's record

    def registered_devices(self, home_id: int) -> list[RegisteredDevice]:
        """The home's devices with their connections and identities (NotFoundError: no home)."""
        with self.session() as s:
            _home(s, home_id)
            rows = s.scalars(
                select(DeviceRow).where(DeviceRow.home_id == home_id).order_by(DeviceRow.id)
            )
            return [
                RegisteredDevice(r.name, r.kind, r.connection, r.identity, r.capabilities)
                for r in rows
            ]

    def set_device_identity(self, home_id: int, name: str, identity: dict[str, str | None]) -> None:
        """What the device said it is, once connected (not audited: the device's own words)."""
        with self.write_transaction() as s:
            row = _device(s, home_id, name)
            if row is not None:
                row.identity = identity

    def set_device_capabilities(
        self, home_id: int, name: str, capabilities: dict[str, Any] | None
    ) -> None:
        """What the device reported it can do (not audited: the device's own words; kept
        across restarts so the home is planned with them before the device answers again)."""
        with self.write_transaction() as s:
            row = _device(s, home_id, name)
            if row is not None:
                row.capabilities = capabilities

    def device_capabilities(self, home_id: int) -> dict[str, dict[str, Any]]:
        """Each device's reported capabilities by name (devices that reported none left out)."""
        with self.session() as s:
            rows = s.execute(
                select(DeviceRow.name, DeviceRow.capabilities).where(DeviceRow.home_id == home_id)
            )
            return {name: caps for name, caps in rows if caps}

    def remove_device(self, home_id: int, name: str, now: datetime, actor: str) -> None:
        """Remove the device from the home with its connection and credentials (audited).
        NotFoundError: no such home or device."""
        with self.write_transaction(lock_home=home_id) as s:
            _home(s, home_id)
            row = _device(s, home_id, name)
            if row is None:
                raise NotFoundError(f"home {home_id} has no device named {name!r}")
            protocol = (row.connection or {}).get("protocol")
            s.execute(delete(DeviceRow).where(DeviceRow.id == row.id))
            s.add(
                audit_row(
                    home_id, now, actor, "device.remove", {"device": name, "protocol": protocol}
                )
            )
        self.changed("home", home_id)


def _home(s: Session, home_id: int) -> HomeRow:
    row = s.get(HomeRow, home_id)
    if row is None:
        raise NotFoundError(f"home {home_id}")
    return row


def _device(s: Session, home_id: int, name: str) -> DeviceRow | None:
    return s.scalars(
        select(DeviceRow).where(DeviceRow.home_id == home_id, DeviceRow.name == name)
    ).first()
