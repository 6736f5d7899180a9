"""A home's enrolment in the DSRSP's programme (table ``ven_enrolments``): withdrawn by the
consumer or operator, or cancelled by the DSRSP's VTN, and enrolled again. Kept in the database
so a withdrawn or cancelled home's VEN stays deregistered across restarts. The same row holds
how the home's VEN talks (:class:`VenMode`, the operator's choice per home)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from hems.storage.database import NotFoundError, StoreBase, audit_row
from hems.storage.tables import HomeRow, VenEnrolmentRow


class EnrolmentStatus(StrEnum):
    ENROLLED = "enrolled"
    """The home's VEN registers with the DSRSP's VTN (the default)."""
    WITHDRAWN = "withdrawn"
    """The consumer or operator withdrew the home: its VEN deregistered and stays so."""
    CANCELLED_BY_DSRSP = "cancelled_by_dsrsp"
    """The DSRSP's VTN cancelled the registration: not registered again until re-enrolled."""


class VenMode(StrEnum):
    PULL = "pull"
    """The VEN polls the VTN for events and report requests (the default)."""
    REPORT_ONLY = "report_only"
    """A report-only VEN (oadrReportOnly): registers and reports, takes no events."""
    PUSH = "push"
    """The VTN pushes to the service's push endpoint (settings ``ven_push_*``)."""


@dataclass(frozen=True, slots=True)
class Enrolment:
    """Where a home stands with the DSRSP; ``since`` is when that became so (None: enrolled
    from the start), ``by`` who withdrew it (the audit log's actor)."""

    status: EnrolmentStatus = EnrolmentStatus.ENROLLED
    since: datetime | None = None
    by: str = ""


class EnrolmentRecords(StoreBase):
    """Withdrawals, re-enrolments and the VTN's cancellations, each audited."""

    def enrolment(self, home_id: int) -> Enrolment:
        """The home's enrolment (NotFoundError for no such home)."""
        with self.session() as s:
            if s.get(HomeRow, home_id) is None:
                raise NotFoundError(f"home {home_id}")
            row = s.get(VenEnrolmentRow, home_id)
            if row is None:
                return Enrolment()
            if row.withdrawn_at is not None:
                return Enrolment(EnrolmentStatus.WITHDRAWN, row.withdrawn_at, row.withdrawn_by)
            if row.cancelled_by_vtn_at is not None:
                return Enrolment(EnrolmentStatus.CANCELLED_BY_DSRSP, row.cancelled_by_vtn_at)
            return Enrolment()

    def ven_mode(self, home_id: int) -> VenMode:
        """How the home's VEN talks (NotFoundError for no such home)."""
        with self.session() as s:
            if s.get(HomeRow, home_id) is None:
                raise NotFoundError(f"home {home_id}")
            row = s.get(VenEnrolmentRow, home_id)
            return VenMode.PULL if row is None else VenMode(row.mode)

    def set_ven_mode(self, home_id: int, mode: VenMode, now: datetime, actor: str) -> bool:
        """Set how the home's VEN talks (audited); False when it already did."""
        with self.write_transaction() as s:
            row = self._row(s, home_id)
            if row.mode == mode:
                return False
            s.add(audit_row(home_id, now, actor, "ven.mode", {"from": row.mode, "to": mode}))
            row.mode = mode.value
            return True

    def withdraw(self, home_id: int, now: datetime, actor: str) -> bool:
        """Withdraw the home from the programme; False when it already was."""
        with self.write_transaction() as s:
            row = self._row(s, home_id)
            if row.withdrawn_at is not None:
                return False
            row.withdrawn_at, row.withdrawn_by = now, actor
            s.add(audit_row(home_id, now, actor, "dsrsp.withdraw", {}))
            return True

    def enrol(self, home_id: int, now: datetime, actor: str) -> bool:
        """Enrol the home again (after a withdrawal or the VTN's cancellation); False when it
        was enrolled."""
        with self.write_transaction() as s:
            row = self._row(s, home_id)
            if row.withdrawn_at is None and row.cancelled_by_vtn_at is None:
                return False
            row.withdrawn_at, row.withdrawn_by, row.cancelled_by_vtn_at = None, "", None
            s.add(audit_row(home_id, now, actor, "dsrsp.enrol", {}))
            return True

    def record_cancelled_by_vtn(self, home_id: int, now: datetime) -> None:
        """The DSRSP's VTN cancelled the home's registration."""
        with self.write_transaction() as s:
            row = self._row(s, home_id)
            row.cancelled_by_vtn_at = now
            s.add(audit_row(home_id, now, "dsrsp", "dsrsp.registration_cancelled", {}))

    @staticmethod
    def _row(s: Session, home_id: int) -> VenEnrolmentRow:
        if s.get(HomeRow, home_id) is None:
            raise NotFoundError(f"home {home_id}")
        row = s.get(VenEnrolmentRow, home_id, with_for_update=True)
        if row is None:
            row = VenEnrolmentRow(home_id=home_id, withdrawn_by="", mode=VenMode.PULL.value)
            s.add(row)
        return row
