"""Reading and writing the service's records. Every method is one short transaction, so a
process killed at any moment leaves either the whole record or none of it.

:class:`Store` is one object over one engine, made of one part per record type, each in its
module: homes and devices (:mod:`~hems.storage.homes`), API tokens
(:mod:`~hems.storage.tokens`), preferences, overrides and the audit log
(:mod:`~hems.storage.preferences`), plans (:mod:`~hems.storage.plans`), setpoints
(:mod:`~hems.storage.setpoints`; an apply pass's in batches, :mod:`~hems.storage.setpoint_sends`),
DSR events (:mod:`~hems.storage.events`), telemetry
(:mod:`~hems.storage.telemetry`), the DSRSP enrolment (:mod:`~hems.storage.enrolments`) and
the replicas' home leases (:mod:`~hems.storage.leases`);
web sessions are apart (:mod:`~hems.storage.web_sessions`).
All write through the one :meth:`~hems.storage.database.StoreBase.write_transaction`. What
spans every record of a home (erasing it, exporting it) is here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from hems.storage.cohort_limits import CohortLimitRecords
from hems.storage.database import ConflictError, NotFoundError, audit_row, vars_of
from hems.storage.device_registry import DeviceRegistryRecords, RegisteredDevice
from hems.storage.enrolments import EnrolmentRecords
from hems.storage.events import EventRecords, StoredEvent
from hems.storage.homes import HomeRecords
from hems.storage.leases import LeaseRecords
from hems.storage.octopus_accounts import OctopusAccountRecords, StoredAccountLink
from hems.storage.plan_records import PlanDocument, StoredPlan
from hems.storage.plans import PlanRecords
from hems.storage.preferences import ActiveOverride, PreferenceRecords
from hems.storage.saving_sessions import SavingSessionRecords
from hems.storage.setpoint_sends import SetpointSends
from hems.storage.setpoints import SetpointRecords
from hems.storage.tables import (
    ApiTokenRow,
    AuditRow,
    DeviceRow,
    DsrEventRow,
    HomeRow,
    OctopusAccountRow,
    OverrideRow,
    PlanRow,
    PreferencesRow,
    ReportRow,
    SavingSessionRow,
    SetpointRow,
    TelemetryRow,
    VenEnrolmentRow,
)
from hems.storage.telemetry import TelemetryRecords
from hems.storage.tokens import TOKEN_PREFIX, Principal, TokenRecords, hash_token

__all__ = [
    "TOKEN_PREFIX",
    "ActiveOverride",
    "ConflictError",
    "NotFoundError",
    "PlanDocument",
    "Principal",
    "RegisteredDevice",
    "Store",
    "StoredEvent",
    "StoredPlan",
    "hash_token",
    "vars_of",
]


def _account_export(link: StoredAccountLink | None) -> dict[str, Any] | None:
    """The home's Octopus link without its key (only the key's last 4 characters)."""
    if link is None:
        return None
    out = vars_of(link)
    del out["api_key_encrypted"]
    return out


class Store(
    HomeRecords,
    TokenRecords,
    PreferenceRecords,
    PlanRecords,
    SetpointRecords,
    SetpointSends,
    EventRecords,
    TelemetryRecords,
    EnrolmentRecords,
    DeviceRegistryRecords,
    LeaseRecords,
    SavingSessionRecords,
    CohortLimitRecords,
    OctopusAccountRecords,
):
    """The service's records over one SQLAlchemy engine: every part's methods on one object
    (``store.add_setpoint(...)``), sharing its sessions, write transactions and change
    counters."""

    def delete_home_data(self, home_id: int, now: datetime, actor: str) -> None:
        """Erase a home and everything recorded about it (the consumer's right to deletion)."""
        with self.write_transaction() as s:
            if s.get(HomeRow, home_id, with_for_update=True) is None:
                raise NotFoundError(f"home {home_id}")
            for table in (
                ApiTokenRow,
                AuditRow,
                DeviceRow,
                DsrEventRow,
                OctopusAccountRow,
                OverrideRow,
                PlanRow,
                PreferencesRow,
                ReportRow,
                SavingSessionRow,
                SetpointRow,
                TelemetryRow,
                VenEnrolmentRow,
            ):
                s.execute(delete(table).where(table.home_id == home_id))
            s.execute(delete(HomeRow).where(HomeRow.id == home_id))
            s.add(audit_row(None, now, actor, "home.delete", {"home_id": home_id}))
        self.forget_plans(home_id)
        for kind in ("preferences", "events", "plans", "home"):
            self.changed(kind, home_id)

    def export_home(self, home_id: int) -> dict[str, Any]:
        """Everything held about one home, as JSON-ready data (the consumer's data export)."""
        spec = self.home(home_id)
        with self.session() as s:
            telemetry = [
                {
                    "device": r.device_name,
                    "at": r.at.isoformat(),
                    "online": r.online,
                    "power_kw": r.power_kw,
                    "soc": r.soc,
                    "temperature_c": r.temperature_c,
                }
                for r in s.scalars(select(TelemetryRow).where(TelemetryRow.home_id == home_id))
            ]
            plans = [
                {
                    "created_at": r.created_at.isoformat(),
                    "trigger": r.trigger,
                    "status": r.status,
                    "objective_gbp": r.objective_gbp,
                    "totals": r.totals,
                    "violations": r.violations,
                }
                for r in s.scalars(select(PlanRow).where(PlanRow.home_id == home_id))
            ]
            setpoints = [
                {
                    "device": r.device_name,
                    "power_kw": r.power_kw,
                    "reason": r.reason,
                    "kind": r.kind.value,
                    "follow_site": r.follow_site,
                    "store_surplus": r.store_surplus,
                    "status": r.status.value,
                    "effective_at": r.effective_at.isoformat(),
                    "applied_at": r.applied_at.isoformat() if r.applied_at else None,
                }
                for r in s.scalars(select(SetpointRow).where(SetpointRow.home_id == home_id))
            ]
        return {
            "home": spec.model_dump(mode="json"),
            "preferences": self.preferences(home_id).model_dump(mode="json"),
            "dsrsp_enrolment": vars_of(self.enrolment(home_id)),
            "ven_mode": self.ven_mode(home_id).value,
            "events": [vars_of(e) for e in self.events(home_id)],
            "saving_sessions": [vars_of(x) for x in self.saving_sessions(home_id)],
            "octopus_account": _account_export(self.octopus_account(home_id)),
            "plans": plans,
            "setpoints": setpoints,
            "telemetry": telemetry,
            "audit": self.audit(home_id),
        }
