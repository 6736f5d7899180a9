"""The :class:`~adapters.devices.driver.DeviceDriver` of an S2 resource manager under FRBC.

``apply`` sends one FRBC.Instruction executed now and returns once the RM has accepted it;
:meth:`S2FrbcDriver.send_plan` sends the plan's next hours as instructions with execution
times, which the RM carries out on its own clock. A new plan or setpoint first revokes the
instructions of the last plan not yet carried out, so only one plan is ever pending.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from s2python.common import InstructionStatus
from s2python.frbc import FRBCSystemDescription

from adapters.devices.driver import DeviceState, DeviceUnavailableError, Setpoint
from adapters.devices.s2.cem import S2Cem
from adapters.devices.s2.frbc import (
    PlanStep,
    fill_fraction,
    instruction_for,
    plan_powers,
    system_capabilities,
)
from adapters.devices.s2.session import RmSession, S2RefusedError
from kernel.devices import DeviceCapabilities

log = logging.getLogger(__name__)

_CARRIED_OUT = frozenset({InstructionStatus.STARTED, InstructionStatus.SUCCEEDED})


@dataclass(frozen=True, slots=True)
class ResourceIdentity:
    """Who the RM says it is (its ResourceManagerDetails)."""

    resource_id: uuid.UUID
    name: str | None
    manufacturer: str | None
    model: str | None
    serial_number: str | None
    firmware_version: str | None
    control_types: tuple[str, ...]


class S2FrbcDriver:
    """One paired RM, driven through ``cem`` with fill-rate based control."""

    def __init__(self, name: str, cem: S2Cem, rm_id: str) -> None:
        self.name = name
        self.rm_id = rm_id
        self._cem = cem
        cem.resource_manager(rm_id)  # KeyError: not paired
        # the last plan's instructions (id, execution time) on the session they went to
        self._pending: tuple[RmSession, list[tuple[uuid.UUID, datetime]]] | None = None
        self._sent_plan: tuple[RmSession, tuple[tuple[datetime, float], ...]] | None = None
        self._capabilities: tuple[FRBCSystemDescription, DeviceCapabilities] | None = None

    def identity(self) -> ResourceIdentity | None:
        """The RM's identity from its last ResourceManagerDetails; None before it sent them."""
        session = self._cem.session(self.rm_id)
        details = session.details if session is not None else None
        if details is None:
            return None
        return ResourceIdentity(
            resource_id=details.resource_id,
            name=details.name,
            manufacturer=details.manufacturer,
            model=details.model,
            serial_number=details.serial_number,
            firmware_version=details.firmware_version,
            control_types=tuple(c.value for c in details.available_control_types),
        )

    async def capabilities(self) -> DeviceCapabilities | None:
        """What the RM's last FRBC.SystemDescription says its device can do (powers, phases,
        capacity: :func:`~adapters.devices.s2.frbc.system_capabilities`); None before one."""
        session = self._cem.session(self.rm_id)
        description = session.system_description if session is not None else None
        if description is None:
            return None
        if self._capabilities is None or self._capabilities[0] is not description:
            # read once per description: its garbage is logged once, not at every read
            self._capabilities = (description, system_capabilities(self.rm_id, description))
        return self._capabilities[1]

    async def read_state(self) -> DeviceState:
        """Power from the RM's last PowerMeasurement, SoC from its FRBC.StorageStatus as a
        fraction of the storage's fill-level range.

        Raises:
            DeviceUnavailableError: not connected, not set up for FRBC, silent for longer than
                ``stale_after_s``, no power measured yet, or it rejected or aborted an
                instruction since the last setpoint or plan.
        """
        session = self._ready()
        silent_s = time.monotonic() - session.last_seen_s
        if silent_s > self._cem.settings.stale_after_s:
            raise DeviceUnavailableError(
                f"resource manager {self.rm_id} has been silent for {silent_s:.0f} s"
            )
        if session.failure is not None:
            raise DeviceUnavailableError(f"resource manager {self.rm_id}: {session.failure}")
        if session.power_kw is None:
            raise DeviceUnavailableError(f"resource manager {self.rm_id} has measured no power yet")
        soc = None
        description = session.system_description
        if session.fill_level is not None and description is not None:
            soc = fill_fraction(session.fill_level, description.storage.fill_level_range)
        return DeviceState(at_utc=datetime.now(UTC), power_kw=session.power_kw, soc=soc)

    async def apply(self, setpoint: Setpoint) -> None:
        """Hold ``setpoint.power_kw`` from now: the last plan's instructions still to come are
        revoked and one instruction, executed now, is sent; returns once the RM accepted it.
        FRBC has no "follow the site": ``follow_site`` and ``store_surplus`` are ignored.

        Raises:
            DeviceUnavailableError: not connected or set up, or the RM refused, rejected or
                did not answer the instruction.
            ValueError: the power is not a finite number (nothing is sent).
        """
        session = self._ready()
        description = session.system_description
        assert description is not None  # ready
        instruction, choice = instruction_for(
            description, session.fill_level, setpoint.power_kw, datetime.now(UTC)
        )
        await self._revoke_pending(session)
        session.failure = None
        await session.instruct(instruction, awaited=True)
        await session.outcome(instruction.id)
        self._sent_plan = None
        log.info(
            "resource manager %s holds %.2f kW (mode %s, factor %.3f)",
            self.rm_id,
            choice.power_kw,
            choice.operation_mode_id,
            choice.factor,
        )

    async def send_plan(
        self, steps: Sequence[PlanStep], end_utc: datetime | None = None, *, force: bool = False
    ) -> bool:
        """Send the plan's next hours as FRBC instructions executed at the steps' start times
        (a step already begun starts now; one instruction per change of power; with
        ``end_utc``, 0 kW from then). The last plan's instructions not yet carried out are
        revoked first. The same plan is not sent twice to the same connection unless
        ``force``; returns whether it was sent.

        Raises:
            DeviceUnavailableError: not connected or set up, or the RM refused an instruction
                or did not answer.
            ValueError: the steps do not make a plan.
        """
        changes = tuple(plan_powers(steps, end_utc))
        session = self._ready()
        if not force and self._sent_plan == (session, changes):
            return False
        description = session.system_description
        assert description is not None  # ready
        now = datetime.now(UTC)
        begun = [c for c in changes if c[0] <= now]
        to_come = [(now, begun[-1][1])] if begun else []
        to_come += [c for c in changes if c[0] > now]
        instructions = [
            instruction_for(description, session.fill_level, power_kw, start)[0]
            for start, power_kw in to_come
        ]
        await self._revoke_pending(session)
        session.failure = None
        sent: list[tuple[uuid.UUID, datetime]] = []
        self._pending = (session, sent)
        self._sent_plan = None
        for instruction in instructions:
            await session.instruct(instruction)
            sent.append((instruction.id, instruction.execution_time))
        self._sent_plan = (session, changes)
        log.info(
            "resource manager %s holds a plan of %d instruction(s) from %s",
            self.rm_id,
            len(sent),
            to_come[0][0].isoformat(),
        )
        return True

    async def _revoke_pending(self, session: RmSession) -> None:
        """Revoke the last plan's instructions not yet carried out (on this connection: an RM
        that reconnected has dropped them). One the RM has just started is refused: it is
        followed by the new instruction anyway."""
        if self._pending is None:
            return
        pending_session, pending = self._pending
        self._pending = None
        if pending_session is not session:
            return
        now = datetime.now(UTC)
        for instruction_id, execution_utc in pending:
            status = session.instruction_status.get(instruction_id)
            if execution_utc <= now or status in _CARRIED_OUT:
                continue
            try:
                await session.revoke(instruction_id)
            except S2RefusedError as refused:
                log.info("%s", refused)

    def _ready(self) -> RmSession:
        session = self._cem.session(self.rm_id)
        if session is None:
            raise DeviceUnavailableError(f"resource manager {self.rm_id} is not connected")
        if not session.ready.is_set():
            raise DeviceUnavailableError(
                f"resource manager {self.rm_id} is connected but not set up for FRBC "
                "(handshake, details, control type or system description missing)"
            )
        return session
