"""A home's preferences, the consumer's overrides, and the audit log of who changed what (tables
``preferences``, ``overrides``, ``audit_log``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from hems.domain.preferences import OverrideKind, Preferences
from hems.storage.database import NotFoundError, StoreBase, audit_row
from hems.storage.tables import AuditRow, OverrideRow, PreferencesRow


@dataclass(frozen=True, slots=True)
class ActiveOverride:
    id: int
    kind: OverrideKind
    target: str
    created_at: datetime
    expires_at: datetime


class PreferenceRecords(StoreBase):
    """Preferences (versioned, audited), overrides and the audit log."""

    def preferences(self, home_id: int) -> Preferences:
        with self.session() as s:
            row = s.get(PreferencesRow, home_id)
            if row is None:
                raise NotFoundError(f"home {home_id}")
            return Preferences.model_validate(row.data)

    def set_preferences(
        self, home_id: int, prefs: Preferences, now: datetime, actor: str
    ) -> Preferences:
        """Replace a home's preferences (audited); returns the ones they replace."""
        with self.write_transaction() as s:
            # locked, so two writers each get their own version
            row = s.get(PreferencesRow, home_id, with_for_update=True)
            if row is None:
                raise NotFoundError(f"home {home_id}")
            before = Preferences.model_validate(row.data)
            row.data = prefs.model_dump(mode="json")
            row.version += 1
            row.updated_at = now
            detail: dict[str, Any] = {"version": row.version}
            if before.dsr_consent != prefs.dsr_consent:
                detail["dsr_consent"] = prefs.dsr_consent
            s.add(audit_row(home_id, now, actor, "preferences.update", detail))
        self.changed("preferences", home_id)
        return before

    def add_override(
        self,
        home_id: int,
        kind: OverrideKind,
        target: str,
        now: datetime,
        expires: datetime,
        actor: str,
    ) -> int:
        with self.write_transaction() as s:
            row = OverrideRow(
                home_id=home_id, kind=kind.value, target=target, created_at=now, expires_at=expires
            )
            s.add(row)
            s.flush()
            s.add(
                audit_row(
                    home_id, now, actor, "override.create", {"kind": kind.value, "target": target}
                )
            )
            return row.id

    def cancel_override(self, home_id: int, override_id: int, now: datetime, actor: str) -> None:
        with self.write_transaction() as s:
            row = s.get(OverrideRow, override_id, with_for_update=True)
            if row is None or row.home_id != home_id:
                raise NotFoundError(f"override {override_id}")
            row.cancelled_at = now
            s.add(audit_row(home_id, now, actor, "override.cancel", {"id": override_id}))

    def active_overrides(self, home_id: int, now: datetime) -> list[ActiveOverride]:
        with self.session() as s:
            rows = s.scalars(
                select(OverrideRow).where(
                    OverrideRow.home_id == home_id,
                    OverrideRow.cancelled_at.is_(None),
                    OverrideRow.expires_at > now,
                    OverrideRow.created_at <= now,
                )
            )
            return [
                ActiveOverride(r.id, OverrideKind(r.kind), r.target, r.created_at, r.expires_at)
                for r in rows
            ]

    def audit(self, home_id: int) -> list[dict[str, Any]]:
        with self.session() as s:
            rows = s.scalars(
                select(AuditRow).where(AuditRow.home_id == home_id).order_by(AuditRow.id)
            )
            return [
                {"at": r.at.isoformat(), "actor": r.actor, "action": r.action, "detail": r.detail}
                for r in rows
            ]

    def audit_entries(
        self, home_id: int, action: str, since: datetime
    ) -> list[tuple[datetime, dict[str, Any]]]:
        """(time, detail) of the home's audit entries of one ``action`` since ``since``,
        oldest first (the car's plug-ins, :mod:`hems.ev_arrivals`)."""
        query = (
            select(AuditRow.at, AuditRow.detail)
            .where(AuditRow.home_id == home_id, AuditRow.action == action, AuditRow.at >= since)
            .order_by(AuditRow.at)
        )
        with self.session() as s:
            return [(at, dict(detail or {})) for at, detail in s.execute(query)]

    def record_audit(
        self, home_id: int | None, now: datetime, actor: str, action: str, detail: dict[str, Any]
    ) -> None:
        with self.write_transaction() as s:
            s.add(audit_row(home_id, now, actor, action, detail))
