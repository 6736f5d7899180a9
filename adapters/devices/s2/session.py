"""One resource manager's S2 session on the CEM: handshake, details, FRBC selection, reports.

S2 over WebSocket is symmetric JSON: either side sends a message with a ``message_id`` and the
other answers it with a ReceptionStatus. The RM opens with a Handshake (its role and the S2
versions it speaks); the CEM answers with its own Handshake and a HandshakeResponse naming the
version chosen; the RM then sends its ResourceManagerDetails (identity and control types); the
CEM selects FILL_RATE_BASED_CONTROL, after which the RM describes its storage and actuator
(FRBC.SystemDescription) and reports its fill level, actuator status and power.

The reading loop never waits for an answer itself (it is what receives the answers): follow-ups
run as tasks. Every frame is validated (:mod:`adapters.devices.s2.messages`); an invalid one is
answered with the ReceptionStatus S2 prescribes and dropped, and only a run of them closes the
connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import uuid
from collections.abc import Coroutine
from datetime import datetime
from typing import Any

from s2python.common import (
    CommodityQuantity,
    ControlType,
    EnergyManagementRole,
    Handshake,
    HandshakeResponse,
    InstructionStatus,
    InstructionStatusUpdate,
    PowerMeasurement,
    ReceptionStatus,
    ReceptionStatusValues,
    ResourceManagerDetails,
    RevokableObjects,
    RevokeObject,
    SelectControlType,
    SessionRequest,
    SessionRequestType,
)
from s2python.ddbc import DDBCInstruction
from s2python.frbc import (
    FRBCActuatorStatus,
    FRBCInstruction,
    FRBCStorageStatus,
    FRBCSystemDescription,
)
from s2python.message import S2Message, S2MessageWithID
from s2python.ombc import OMBCInstruction
from s2python.pebc import PEBCInstruction
from s2python.ppbc import (
    PPBCEndInterruptionInstruction,
    PPBCScheduleInstruction,
    PPBCStartInterruptionInstruction,
)
from s2python.version import S2_VERSION
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from adapters.devices.s2.messages import InvalidS2MessageError, parse_message
from adapters.devices.s2.settings import CemSettings, ResourceManagerSettings
from kernel.devices import DeviceUnavailableError

log = logging.getLogger(__name__)

# the S2 message versions this CEM speaks (s2-python's)
SUPPORTED_VERSIONS = (S2_VERSION,)
_ELECTRIC = frozenset(
    {
        CommodityQuantity.ELECTRIC_POWER_L1,
        CommodityQuantity.ELECTRIC_POWER_L2,
        CommodityQuantity.ELECTRIC_POWER_L3,
        CommodityQuantity.ELECTRIC_POWER_3_PHASE_SYMMETRIC,
    }
)
# messages only a CEM sends: an RM sending one is answered INVALID_CONTENT
_CEM_ONLY: tuple[type[S2Message], ...] = (
    HandshakeResponse,
    SelectControlType,
    FRBCInstruction,
    DDBCInstruction,
    OMBCInstruction,
    PEBCInstruction,
    PPBCScheduleInstruction,
    PPBCStartInterruptionInstruction,
    PPBCEndInterruptionInstruction,
)
_FAILED = frozenset(
    {InstructionStatus.REJECTED, InstructionStatus.REVOKED, InstructionStatus.ABORTED}
)


# instruction statuses (and revocations) kept per session: the latest; a plan is far fewer
_INSTRUCTIONS_KEPT = 1024


def _forget_oldest(kept: dict[uuid.UUID, Any]) -> None:
    """Keep the latest _INSTRUCTIONS_KEPT entries (dicts keep insertion order)."""
    while len(kept) > _INSTRUCTIONS_KEPT:
        del kept[next(iter(kept))]


class S2RefusedError(DeviceUnavailableError):
    """The RM answered a message with a ReceptionStatus other than OK."""


class RmSession:
    """One RM's connection, from its first frame to its close."""

    def __init__(
        self, rm: ResourceManagerSettings, connection: ServerConnection, settings: CemSettings
    ) -> None:
        self.rm = rm
        self._connection = connection
        self._settings = settings
        self.version: str | None = None
        self.details: ResourceManagerDetails | None = None
        self.control_type: ControlType | None = None
        self.system_description: FRBCSystemDescription | None = None
        self.fill_level: float | None = None
        self.actuator_status: FRBCActuatorStatus | None = None
        self.power_kw: float | None = None
        self.measured_at_utc: datetime | None = None
        self.last_seen_s = time.monotonic()
        self.instruction_status: dict[uuid.UUID, InstructionStatus] = {}
        # the last instruction the RM rejected or aborted (or revoked on its own), for
        # read_state; cleared by the driver when it sends new instructions
        self.failure: str | None = None
        self.closed = asyncio.Event()
        self.ready = asyncio.Event()  # FRBC selected and the system described
        self.close_reason = ""
        self._pending: dict[uuid.UUID, asyncio.Future[ReceptionStatus]] = {}
        self._outcomes: dict[uuid.UUID, asyncio.Future[InstructionStatus]] = {}
        self._revoked_by_cem: dict[uuid.UUID, None] = {}  # an ordered set
        self._tasks: set[asyncio.Task[None]] = set()
        self._selecting = False  # a SelectControlType is on its way

    @property
    def name(self) -> str:
        return self.rm.rm_id

    # -- the reading loop ---------------------------------------------------------------------

    async def run(self) -> None:
        """Read and handle frames until the connection closes."""
        invalid_in_row = 0
        try:
            async for frame in self._connection:
                try:
                    message = parse_message(frame)
                except InvalidS2MessageError as bad:
                    invalid_in_row += 1
                    log.warning(
                        "resource manager %s sent an invalid message, answered %s: %s",
                        self.name,
                        bad.status.value,
                        bad.reason,
                    )
                    await self._answer(bad.subject_id, bad.status, bad.reason)
                    if invalid_in_row >= self._settings.max_invalid_messages:
                        await self.close(1008, f"{invalid_in_row} invalid messages in a row")
                        return
                    continue
                invalid_in_row = 0
                self.last_seen_s = time.monotonic()  # garbage does not count as a sign of life
                await self._handle(message)
        except ConnectionClosed as closed:
            self.close_reason = self.close_reason or str(closed)
        finally:
            self._end()

    def _end(self) -> None:
        self.closed.set()
        self.ready.clear()
        reason = self.close_reason or "the connection closed"
        futures: list[asyncio.Future[Any]] = [*self._pending.values(), *self._outcomes.values()]
        for future in futures:
            if not future.done():
                future.set_exception(
                    DeviceUnavailableError(f"resource manager {self.name}: {reason}")
                )
                future.exception()  # retrieved: no "never retrieved" warning if none waits
        self._pending.clear()
        self._outcomes.clear()
        for task in self._tasks:
            task.cancel()

    async def close(self, code: int, reason: str) -> None:
        """Close the connection with a WebSocket close ``code`` and ``reason``."""
        self.close_reason = reason
        await self._connection.close(code=code, reason=reason[:120])

    async def _handle(self, message: S2Message) -> None:
        if isinstance(message, ReceptionStatus):
            future = self._pending.pop(message.subject_message_id, None)
            if future is not None and not future.done():
                future.set_result(message)
            return
        if isinstance(message, _CEM_ONLY):
            await self._refuse(message, "a CEM's message, not a resource manager's")
            return
        if isinstance(message, Handshake):
            if self.version is not None:  # once per session: no task per repeated handshake
                await self._refuse(message, "the handshake is done")
            else:
                await self._on_handshake(message)
            return
        if self.version is None:
            await self._refuse(message, "the handshake comes first")
            return
        if isinstance(message, ResourceManagerDetails):
            await self._on_details(message)
        elif isinstance(message, PowerMeasurement):
            await self._on_power(message)
        elif isinstance(message, FRBCSystemDescription):
            if not message.actuators:
                await self._refuse(message, "no actuator")
                return
            self.system_description = message
            await self._ok(message)
            self._update_ready()
        elif isinstance(message, FRBCStorageStatus):
            if not math.isfinite(message.present_fill_level):
                await self._refuse(message, "present_fill_level is not a finite number")
                return
            self.fill_level = message.present_fill_level
            await self._ok(message)
        elif isinstance(message, FRBCActuatorStatus):
            self.actuator_status = message
            await self._ok(message)
        elif isinstance(message, InstructionStatusUpdate):
            await self._on_instruction_status(message)
        elif isinstance(message, RevokeObject):
            await self._ok(message)
            description = self.system_description
            if (
                message.object_type == RevokableObjects.FRBC_SystemDescription
                and description is not None
                and description.message_id == message.object_id
            ):
                self.system_description = None
                self._update_ready()
        elif isinstance(message, SessionRequest):
            await self._ok(message)
            verb = "terminate" if message.request == SessionRequestType.TERMINATE else "reconnect"
            await self.close(1000, f"the resource manager asked to {verb}")
        else:  # forecasts, leakage, timers, other control types' reports: not used
            log.debug("resource manager %s: %s not used", self.name, message.message_type)
            await self._ok(message)

    # -- the set-up ---------------------------------------------------------------------------

    async def _on_handshake(self, message: Handshake) -> None:
        if message.role != EnergyManagementRole.RM:
            await self._refuse(message, "a resource manager's Handshake must have role RM")
            return
        offered = message.supported_protocol_versions or []
        common = [v for v in SUPPORTED_VERSIONS if v in offered]
        if not common:
            reason = f"no common S2 version: it offers {offered[:5]}, the CEM {SUPPORTED_VERSIONS}"
            log.warning("resource manager %s refused: %s", self.name, reason)
            await self._refuse(message, reason)
            await self.close(1008, "no common S2 version")
            return
        self.version = common[0]
        await self._ok(message)
        self._spawn(self._answer_handshake(self.version))

    async def _answer_handshake(self, version: str) -> None:
        await self.request(
            Handshake(
                message_id=uuid.uuid4(),
                role=EnergyManagementRole.CEM,
                supported_protocol_versions=list(SUPPORTED_VERSIONS),
            )
        )
        await self.request(
            HandshakeResponse(message_id=uuid.uuid4(), selected_protocol_version=version)
        )
        log.info("resource manager %s: S2 %s", self.name, version)

    async def _on_details(self, details: ResourceManagerDetails) -> None:
        paired = self.rm.resource_id
        if paired is not None and details.resource_id != paired:
            reason = f"resource {details.resource_id} is not the one paired ({paired})"
            log.warning("resource manager %s refused: %s", self.name, reason)
            await self._answer(details.message_id, ReceptionStatusValues.PERMANENT_ERROR, reason)
            await self.close(1008, "resource not paired")
            return
        self.details = details
        await self._ok(details)
        offered = details.available_control_types
        log.info(
            "resource manager %s: %s %s (serial %s), control types %s",
            self.name,
            details.manufacturer,
            details.model,
            details.serial_number,
            [c.value for c in offered],
        )
        if ControlType.FILL_RATE_BASED_CONTROL not in offered:
            log.warning("resource manager %s offers no FILL_RATE_BASED_CONTROL", self.name)
        elif self.control_type is None and not self._selecting:
            self._selecting = True
            self._spawn(self._select(ControlType.FILL_RATE_BASED_CONTROL))

    async def _select(self, control_type: ControlType) -> None:
        try:
            await self.request(
                SelectControlType(message_id=uuid.uuid4(), control_type=control_type)
            )
        finally:
            self._selecting = False
        self.control_type = control_type
        self._update_ready()

    def _update_ready(self) -> None:
        frbc = self.control_type == ControlType.FILL_RATE_BASED_CONTROL
        if frbc and self.system_description is not None:
            self.ready.set()
        else:
            self.ready.clear()

    # -- reports ------------------------------------------------------------------------------

    async def _on_power(self, message: PowerMeasurement) -> None:
        electric = [v.value for v in message.values if v.commodity_quantity in _ELECTRIC]
        if not electric or not all(math.isfinite(v) for v in electric):
            await self._refuse(message, "no finite electric power value")
            return
        self.power_kw = sum(electric) / 1000.0
        self.measured_at_utc = message.measurement_timestamp
        await self._ok(message)

    async def _on_instruction_status(self, update: InstructionStatusUpdate) -> None:
        await self._ok(update)
        status = update.status_type
        self.instruction_status[update.instruction_id] = status
        if status in _FAILED and update.instruction_id not in self._revoked_by_cem:
            self.failure = f"instruction {update.instruction_id} {status.value}"
            log.warning("resource manager %s: %s", self.name, self.failure)
        if status != InstructionStatus.NEW:
            future = self._outcomes.pop(update.instruction_id, None)
            if future is not None and not future.done():
                future.set_result(status)
        _forget_oldest(self.instruction_status)

    # -- what the driver calls ----------------------------------------------------------------

    async def request(self, message: S2MessageWithID) -> None:
        """Send ``message`` and wait for its ReceptionStatus.

        Raises:
            S2RefusedError: the status is not OK (with the RM's diagnostic label).
            DeviceUnavailableError: no status within ``response_timeout_s``, or the
                connection closed.
        """
        future: asyncio.Future[ReceptionStatus] = asyncio.get_running_loop().create_future()
        self._pending[message.message_id] = future
        try:
            await self._send(message)
            status = await asyncio.wait_for(future, self._settings.response_timeout_s)
        except TimeoutError:
            raise DeviceUnavailableError(
                f"resource manager {self.name} did not answer {message.message_type} within "
                f"{self._settings.response_timeout_s:g} s"
            ) from None
        finally:
            self._pending.pop(message.message_id, None)
        if status.status != ReceptionStatusValues.OK:
            raise S2RefusedError(
                f"resource manager {self.name} refused {message.message_type}: "
                f"{status.status.value} ({status.diagnostic_label or 'no reason given'})"
            )

    async def instruct(self, instruction: FRBCInstruction, *, awaited: bool = False) -> None:
        """Send an FRBC.Instruction; returns once the RM has received it (ReceptionStatus OK).
        ``awaited``: the caller will wait for its :meth:`outcome` (a plan's instructions are
        not awaited, and leave no future behind: their statuses are only recorded)."""
        if awaited:
            self._outcomes[instruction.id] = asyncio.get_running_loop().create_future()
        try:
            await self.request(instruction)
        except BaseException:
            self._outcomes.pop(instruction.id, None)
            raise

    async def outcome(self, instruction_id: uuid.UUID) -> InstructionStatus:
        """The instruction's first status after NEW (ACCEPTED, STARTED or SUCCEEDED).

        Raises:
            DeviceUnavailableError: it was REJECTED, ABORTED or REVOKED, no status came within
                ``response_timeout_s``, or the connection closed.
        """
        future = self._outcomes.get(instruction_id)
        known = self.instruction_status.get(instruction_id)
        status: InstructionStatus
        try:
            if known is not None and known != InstructionStatus.NEW:
                status = known
            elif future is None:
                raise DeviceUnavailableError(f"instruction {instruction_id} was not sent")
            else:
                status = await asyncio.wait_for(
                    asyncio.shield(future), self._settings.response_timeout_s
                )
        except TimeoutError:
            raise DeviceUnavailableError(
                f"resource manager {self.name} did not report instruction {instruction_id}'s "
                f"status within {self._settings.response_timeout_s:g} s"
            ) from None
        finally:
            self._outcomes.pop(instruction_id, None)
        if status in _FAILED:
            raise DeviceUnavailableError(
                f"resource manager {self.name}: instruction {instruction_id} {status.value}"
            )
        return status

    async def revoke(self, instruction_id: uuid.UUID) -> None:
        """Revoke an instruction not yet carried out (S2RefusedError if the RM refuses,
        e.g. because it has started)."""
        self._revoked_by_cem[instruction_id] = None
        _forget_oldest(self._revoked_by_cem)
        await self.request(
            RevokeObject(
                message_id=uuid.uuid4(),
                object_type=RevokableObjects.FRBC_Instruction,
                object_id=instruction_id,
            )
        )

    # -- sending ------------------------------------------------------------------------------

    async def _send(self, message: S2Message) -> None:
        try:
            await self._connection.send(message.to_json())
        except ConnectionClosed as closed:
            raise DeviceUnavailableError(
                f"resource manager {self.name} disconnected: {closed}"
            ) from None

    async def _answer(
        self, subject_id: uuid.UUID, status: ReceptionStatusValues, label: str
    ) -> None:
        """A ReceptionStatus; a connection that has gone is left to the reading loop."""
        with contextlib.suppress(DeviceUnavailableError):
            await self._send(
                ReceptionStatus(
                    subject_message_id=subject_id, status=status, diagnostic_label=label[:200]
                )
            )

    async def _ok(self, message: S2MessageWithID) -> None:
        await self._answer(message.message_id, ReceptionStatusValues.OK, "OK")

    async def _refuse(self, message: S2MessageWithID, reason: str) -> None:
        log.warning(
            "resource manager %s sent %s, refused: %s", self.name, message.message_type, reason
        )
        await self._answer(message.message_id, ReceptionStatusValues.INVALID_CONTENT, reason)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run a follow-up (it waits for answers the reading loop receives); its failure is
        one log line."""
        task = asyncio.get_running_loop().create_task(self._logged(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _logged(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except DeviceUnavailableError as error:
            log.warning("%s", error)
            if not self.closed.is_set():
                await self.close(1008, "the S2 set-up failed")
