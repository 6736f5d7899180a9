"""Reading and writing the service's records. Every method is one short transaction, so a
process killed at any moment leaves either the whole record or none of it."""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hems.domain.home import HomeSpec
from hems.domain.preferences import OverrideKind, Preferences
from hems.storage.engine import WRITE_LOCK, session_factory
from hems.storage.plan_records import (  # PlanDocument, StoredPlan: re-exported for callers
    PlanDocument as PlanDocument,
)
from hems.storage.plan_records import (
    StoredPlan as StoredPlan,
)
from hems.storage.plan_records import (
    finite,
    records_of,
    solver_from_json,
    totals_from_json,
    violations_from_json,
)
from hems.storage.tables import (
    ApiTokenRow,
    AuditRow,
    DeviceRow,
    DsrEventRow,
    HomeRow,
    OverrideRow,
    PlanRow,
    PreferencesRow,
    ReportRow,
    SetpointKind,
    SetpointRow,
    SetpointStatus,
    TelemetryRow,
)
from optimiser import Plan

TOKEN_PREFIX = "hems_"
UNSENT = (SetpointStatus.PENDING, SetpointStatus.FAILED)
"""The states of a setpoint still to be sent (a failed one at its retry time)."""


class NotFoundError(LookupError):
    """No such record (or not visible to the caller)."""


class ConflictError(ValueError):
    """The record clashes with an existing one (e.g. a CEM serial already registered)."""


def hash_token(token: str) -> str:
    """SHA-256 of a token. Tokens are 256-bit random strings, so a fast hash is enough (no
    dictionary to guard against); only the hash is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a token belongs to: the admin (``home_id`` None) or one home."""

    token_id: int
    role: str
    home_id: int | None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True, slots=True)
class ActiveOverride:
    id: int
    kind: OverrideKind
    target: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class StoredEvent:
    event_id: str
    modification_number: int
    kind: str
    value_kw: float
    start: datetime
    end: datetime
    status: str
    response: str
    response_reason: str


class Store:
    """The service's records over one SQLAlchemy engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._session = session_factory(engine)
        self._versions: dict[tuple[str, int], int] = {}
        self._latest_plan: dict[int, int] = {}
        # SQLite has one writer at a time: this process's writers take turns here
        self._writer: AbstractContextManager[Any] = (
            threading.Lock() if engine.dialect.name == "sqlite" else nullcontext()
        )

    def version(self, kind: str, home_id: int) -> int:
        """How many times this store has changed a home's ``kind`` of record
        (``preferences``, ``events``, ``plans``) since it was opened: a cache key for what the
        API serves. Bumped after each commit, so a reader never keeps data older than the
        version it read. Counts the writes of this process only: the service is the one
        writer of these records in its database."""
        return self._versions.get((kind, home_id), 0)

    def _changed(self, kind: str, home_id: int) -> None:
        self._versions[(kind, home_id)] = self._versions.get((kind, home_id), 0) + 1

    def session(self) -> Session:
        return self._session()

    @contextmanager
    def write_transaction(self, lock_home: int | None = None) -> Iterator[Session]:
        """One transaction of a method that writes, holding the write lock from its first
        statement, so what it reads is still true when it writes.

        SQLite: ``BEGIN IMMEDIATE`` takes the database's write lock at once, waiting up to the
        busy timeout for another writer (thread or process). A deferred ``BEGIN`` would read
        first, and its upgrade to a writer fails at once with "database is locked" when another
        write committed in between (the snapshot is stale; the busy timeout does not apply),
        which failed ``mark_setpoint`` and ``cancel_override`` within milliseconds. The writers
        of this process also queue on a lock of their own first: SQLite's busy handler polls
        (sleeps of up to 100 ms), and a dozen threads polling for one lock starved some past
        the busy timeout; queued here, only other processes' writers poll.

        PostgreSQL (READ COMMITTED): each statement sees the latest commit, and writers of
        different rows never wait for each other, so the lock is taken where the data needs it.
        A method that reads a row and writes it back reads it ``with_for_update`` (a concurrent
        writer of that row waits; its read then sees this commit). A method whose writes
        depend on which rows exist (supersede a device's pending setpoints, then insert) passes
        ``lock_home``: the home's row is locked ``FOR NO KEY UPDATE`` first, so such writers
        of one home take turns; it does not block inserts that only reference the home (they
        take ``FOR KEY SHARE``). A pure insert needs neither. On SQLite ``FOR UPDATE`` renders
        nothing: the database lock already covers it."""
        with self._writer, self.session() as s, s.begin():
            s.connection(execution_options=WRITE_LOCK)
            if lock_home is not None:
                _lock_home(s, lock_home)
            yield s

    # -- homes and devices -------------------------------------------------------------------
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
            s.add(_audit(row.id, now, actor, "home.create", {"serial": spec.cem_serial}))
            return row.id

    def home_ids(self) -> list[int]:
        with self.session() as s:
            return list(s.scalars(select(HomeRow.id).order_by(HomeRow.id)))

    def home(self, home_id: int) -> HomeSpec:
        with self.session() as s:
            row = s.get(HomeRow, home_id)
            if row is None:
                raise NotFoundError(f"home {home_id}")
            devices = s.scalars(
                select(DeviceRow).where(DeviceRow.home_id == home_id).order_by(DeviceRow.id)
            )
            return HomeSpec.model_validate({**row.spec, "devices": [d.spec for d in devices]})

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
                OverrideRow,
                PlanRow,
                PreferencesRow,
                ReportRow,
                SetpointRow,
                TelemetryRow,
            ):
                s.execute(delete(table).where(table.home_id == home_id))
            s.execute(delete(HomeRow).where(HomeRow.id == home_id))
            s.add(_audit(None, now, actor, "home.delete", {"home_id": home_id}))
        self._latest_plan.pop(home_id, None)
        for kind in ("preferences", "events", "plans"):
            self._changed(kind, home_id)

    # -- tokens ------------------------------------------------------------------------------
    def create_token(self, role: str, home_id: int | None, now: datetime, label: str = "") -> str:
        """A new token, returned once; only its hash is stored."""
        if role not in ("admin", "home") or (role == "home") != (home_id is not None):
            raise ValueError("a home token needs a home; an admin token has none")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.write_transaction() as s:
            if home_id is not None and s.get(HomeRow, home_id) is None:
                raise NotFoundError(f"home {home_id}")
            s.add(
                ApiTokenRow(
                    home_id=home_id,
                    role=role,
                    token_hash=hash_token(token),
                    label=label,
                    created_at=now,
                )
            )
            s.add(_audit(home_id, now, "system", "token.create", {"role": role, "label": label}))
        return token

    def has_admin_token(self) -> bool:
        with self.session() as s:
            found = s.scalars(
                select(ApiTokenRow.id).where(
                    ApiTokenRow.role == "admin", ApiTokenRow.revoked_at.is_(None)
                )
            ).first()
            return found is not None

    def principal(self, token: str) -> Principal | None:
        with self.session() as s:
            row = s.scalars(
                select(ApiTokenRow).where(
                    ApiTokenRow.token_hash == hash_token(token), ApiTokenRow.revoked_at.is_(None)
                )
            ).first()
            return None if row is None else Principal(row.id, row.role, row.home_id)

    def token_in_force(self, token_id: int) -> bool:
        """Whether a token still works (not revoked, its home not deleted)."""
        with self.session() as s:
            row = s.get(ApiTokenRow, token_id)
            return row is not None and row.revoked_at is None

    # -- preferences and overrides -----------------------------------------------------------
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
            s.add(_audit(home_id, now, actor, "preferences.update", detail))
        self._changed("preferences", home_id)
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
                _audit(
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
            s.add(_audit(home_id, now, actor, "override.cancel", {"id": override_id}))

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

    # -- plans -------------------------------------------------------------------------------
    def save_plan(
        self, home_id: int, plan: Plan, baseline: Plan, trigger: str, now: datetime
    ) -> int:
        schedule = plan.schedule
        totals, violations, solver = records_of(plan, baseline)
        with self.write_transaction() as s:
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
        self._changed("plans", home_id)
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

    # -- setpoints ---------------------------------------------------------------------------
    def last_setpoint(self, home_id: int, device: str) -> SetpointRow | None:
        """The device's latest stored row, decision or ramp step, applied or not."""
        return self._last_setpoint(home_id, device)

    def last_decided_setpoint(self, home_id: int, device: str) -> SetpointRow | None:
        """The device's latest decision (ramp steps towards it left out), applied or not."""
        return self._last_setpoint(home_id, device, SetpointRow.kind == SetpointKind.DECISION)

    def last_applied_setpoint(self, home_id: int, device: str) -> SetpointRow | None:
        """The setpoint the device was last sent and accepted (the one in force)."""
        return self._last_setpoint(
            home_id,
            device,
            SetpointRow.applied_at.is_not(None),
            latest_first=(SetpointRow.applied_at.desc(),),
        )

    def _last_setpoint(
        self, home_id: int, device: str, *where: Any, latest_first: tuple[Any, ...] = ()
    ) -> SetpointRow | None:
        """The device's newest row meeting ``where``, newest by ``latest_first`` then id."""
        with self.session() as s:
            return s.scalars(
                select(SetpointRow)
                .where(SetpointRow.home_id == home_id, SetpointRow.device_name == device, *where)
                .order_by(*latest_first, SetpointRow.id.desc())
                .limit(1)
            ).first()

    def add_ramp_step(self, target_id: int, power_kw: float, now: datetime) -> int:
        """Store one step of a ramp towards the decided setpoint ``target_id`` [kW], due now
        (written before it is sent, like every setpoint). A step left unsent by a crash is
        superseded; the decision itself stays due until the ramp reaches it."""
        with self.write_transaction() as s:
            target = s.get(SetpointRow, target_id)  # its home, device, reason, mode never change
            if target is None:
                raise NotFoundError(f"setpoint {target_id}")
            _lock_home(s, target.home_id)  # then the device's pending steps, as add_setpoint
            _supersede_unsent(
                s, target.home_id, target.device_name, SetpointRow.kind == SetpointKind.RAMP_STEP
            )
            row = SetpointRow(
                home_id=target.home_id,
                device_name=target.device_name,
                power_kw=power_kw,
                reason=target.reason,
                kind=SetpointKind.RAMP_STEP,
                follow_site=target.follow_site,
                store_surplus=target.store_surplus,
                status=SetpointStatus.PENDING,
                plan_id=target.plan_id,
                created_at=now,
                effective_at=now,
            )
            s.add(row)
            s.flush()
            return row.id

    def add_setpoint(
        self,
        home_id: int,
        device: str,
        power_kw: float,
        reason: str,
        plan_id: int | None,
        now: datetime,
        effective_at: datetime,
        *,
        follow_site: bool = False,
        store_surplus: bool = False,
    ) -> int:
        """Store a decision (``reason``: why, e.g. ``plan``, ``override:boost``) to send to
        ``device`` from ``effective_at``, in the mode ``follow_site`` / ``store_surplus``
        (:class:`adapters.devices.driver.Setpoint`); it supersedes the device's decision still
        waiting, if any."""
        with self.write_transaction(lock_home=home_id) as s:
            # A newer decision replaces one still waiting for its randomised delay.
            _supersede_unsent(s, home_id, device)
            row = SetpointRow(
                home_id=home_id,
                device_name=device,
                power_kw=power_kw,
                reason=reason,
                kind=SetpointKind.DECISION,
                follow_site=follow_site,
                store_surplus=store_surplus,
                status=SetpointStatus.PENDING,
                plan_id=plan_id,
                created_at=now,
                effective_at=effective_at,
            )
            s.add(row)
            s.flush()
            return row.id

    def due_setpoints(self, home_id: int, now: datetime) -> list[SetpointRow]:
        """Decisions whose time has come and that were not yet applied (oldest first)."""
        with self.session() as s:
            return list(
                s.scalars(
                    select(SetpointRow)
                    .where(
                        SetpointRow.home_id == home_id,
                        SetpointRow.status.in_(UNSENT),
                        SetpointRow.effective_at <= now,
                        SetpointRow.kind == SetpointKind.DECISION,
                    )
                    .order_by(SetpointRow.id)
                )
            )

    def mark_setpoint(
        self,
        setpoint_id: int,
        *,
        applied_at: datetime | None,
        error: str = "",
        retry_at: datetime | None = None,
    ) -> bool:
        """Record an attempt to send a setpoint: sent (``applied_at``) or failed (``error``,
        tried again at ``retry_at``). A setpoint already marked sent stays as it is, and False
        says so (another apply loop sent it: the device was told twice); a failure reported
        late can then not make a sent setpoint due again, nor a superseded one. True when this
        call changed it."""
        with self.write_transaction() as s:
            row = s.get(SetpointRow, setpoint_id, with_for_update=True)
            if row is None or row.status is SetpointStatus.SENT:
                return False
            row.attempts += 1
            row.applied_at = applied_at
            if applied_at is not None:
                row.status = SetpointStatus.SENT
            elif row.status is not SetpointStatus.SUPERSEDED:  # a late failure revives nothing
                row.status = SetpointStatus.FAILED
            row.last_error = error[:200]
            if retry_at is not None:
                row.effective_at = retry_at
            return True

    def supersede_setpoint(self, setpoint_id: int) -> bool:
        """Drop a setpoint not yet sent (a ramp step whose send failed, a device gone): it is
        never sent. False when it was already sent (it stays so) or does not exist."""
        with self.write_transaction() as s:
            row = s.get(SetpointRow, setpoint_id, with_for_update=True)
            if row is None or row.status is SetpointStatus.SENT:
                return False
            row.status = SetpointStatus.SUPERSEDED
            return True

    def setpoints(self, home_id: int, since: datetime) -> list[SetpointRow]:
        with self.session() as s:
            return list(
                s.scalars(
                    select(SetpointRow)
                    .where(SetpointRow.home_id == home_id, SetpointRow.created_at >= since)
                    .order_by(SetpointRow.id)
                )
            )

    # -- telemetry, events, audit ------------------------------------------------------------
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

    def upsert_event(self, home_id: int, event: StoredEvent, now: datetime) -> bool:
        """Store a DSR event; True when it is new or its modification number went up. Safe
        against a concurrent upsert of the same event (the row is locked on PostgreSQL; a
        second insert of a new event loses the race, and is retried as an update)."""
        try:
            changed = self._upsert_event(home_id, event, now)
        except IntegrityError:
            changed = self._upsert_event(home_id, event, now)
        if changed:
            self._changed("events", home_id)
        return changed

    def _upsert_event(self, home_id: int, event: StoredEvent, now: datetime) -> bool:
        with self.write_transaction() as s:
            row = s.scalars(
                select(DsrEventRow)
                .where(DsrEventRow.home_id == home_id, DsrEventRow.event_id == event.event_id)
                .with_for_update()
            ).first()
            if row is not None and row.modification_number >= event.modification_number:
                return False
            if row is None:
                row = DsrEventRow(home_id=home_id, event_id=event.event_id, received_at=now)
                s.add(row)
            row.modification_number = event.modification_number
            row.kind = event.kind
            row.value_kw = event.value_kw
            row.start = event.start
            row.end = event.end
            row.status = event.status
            row.response = event.response
            row.response_reason = event.response_reason
            s.add(
                _audit(
                    home_id,
                    now,
                    "dsrsp",
                    "event.receive",
                    {
                        "event_id": event.event_id,
                        "modification": event.modification_number,
                        "response": event.response,
                        "reason": event.response_reason,
                    },
                )
            )
            return True

    def set_event_response(
        self, home_id: int, event_id: str, response: str, reason: str, now: datetime, actor: str
    ) -> None:
        with self.write_transaction() as s:
            row = s.scalars(
                select(DsrEventRow)
                .where(DsrEventRow.home_id == home_id, DsrEventRow.event_id == event_id)
                .with_for_update()
            ).first()
            if row is None:
                raise NotFoundError(f"event {event_id}")
            row.response = response
            row.response_reason = reason
            s.add(
                _audit(
                    home_id,
                    now,
                    actor,
                    f"event.{response}",
                    {"event_id": event_id, "reason": reason},
                )
            )
        self._changed("events", home_id)

    def events(self, home_id: int) -> list[StoredEvent]:
        with self.session() as s:
            rows = s.scalars(
                select(DsrEventRow)
                .where(DsrEventRow.home_id == home_id)
                .order_by(DsrEventRow.start)
            )
            return [
                StoredEvent(
                    r.event_id,
                    r.modification_number,
                    r.kind,
                    r.value_kw,
                    r.start,
                    r.end,
                    r.status,
                    r.response,
                    r.response_reason,
                )
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
            "events": [vars_of(e) for e in self.events(home_id)],
            "plans": plans,
            "setpoints": setpoints,
            "telemetry": telemetry,
            "audit": self.audit(home_id),
        }

    def record_audit(
        self, home_id: int | None, now: datetime, actor: str, action: str, detail: dict[str, Any]
    ) -> None:
        with self.write_transaction() as s:
            s.add(_audit(home_id, now, actor, action, detail))


def _lock_home(s: Session, home_id: int) -> None:
    """Take the home's row lock for a writer whose writes depend on which of the home's rows
    exist (PostgreSQL; see :meth:`Store.write_transaction`)."""
    s.execute(select(HomeRow.id).where(HomeRow.id == home_id).with_for_update(key_share=True))


def _supersede_unsent(s: Session, home_id: int, device: str, *where: Any) -> None:
    """Mark the device's setpoints not yet sent (meeting ``where``) superseded, in one UPDATE
    whose condition is checked again on a row another writer holds: on PostgreSQL a row marked
    sent meanwhile (``mark_setpoint`` holds it ``FOR UPDATE``) is then left sent. Reading the
    rows first and writing them back overwrote that mark (a setpoint then sent twice)."""
    s.execute(
        update(SetpointRow)
        .where(
            SetpointRow.home_id == home_id,
            SetpointRow.device_name == device,
            SetpointRow.status.in_(UNSENT),
            *where,
        )
        .values(status=SetpointStatus.SUPERSEDED)
        .execution_options(synchronize_session=False)
    )


def _audit(
    home_id: int | None, now: datetime, actor: str, action: str, detail: dict[str, Any]
) -> AuditRow:
    return AuditRow(home_id=home_id, at=now, actor=actor, action=action, detail=detail)


def vars_of(obj: Any) -> dict[str, Any]:
    """A dataclass's fields as a JSON-ready dict (datetimes as ISO strings)."""
    out: dict[str, Any] = {}
    for name in obj.__slots__ if hasattr(obj, "__slots__") else vars(obj):
        value = getattr(obj, name)
        out[name] = value.isoformat() if isinstance(value, datetime) else value
    return out


def _frame_to_json(frame: pd.DataFrame) -> dict[str, Any]:
    return {
        "index": [t.isoformat() for t in frame.index],
        "columns": list(frame.columns),
        "data": frame.round(6).to_numpy().tolist(),
    }


def _frame_from_json(data: dict[str, Any]) -> pd.DataFrame:
    index = pd.DatetimeIndex(pd.to_datetime(data["index"], utc=True), name="slot_start")
    return pd.DataFrame(data["data"], index=index, columns=data["columns"])


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
