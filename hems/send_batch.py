"""What became of an apply pass's sends, recorded in one transaction when the pass ends
(issue 29): the apply job passes one :class:`SendBatch` to every home's pass, so a pass of N
homes is one commit for its sends instead of one a setpoint (a fleet's commits queue for
SQLite's one writer). A pass outside the job (a re-plan's dispatch) has a batch of its own.

Until its batch is recorded, a home's sends are not in the store: its next pass waits for that
record first (:attr:`HomeController.unrecorded`), so it never reads a setpoint it sent as still
due. A crash or a failed record loses no committed write; the sends not recorded are due again
and sent again (:mod:`hems.storage.setpoint_sends`)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from hems.storage.setpoint_records import SendOutcome
from hems.storage.store import Store

log = logging.getLogger(__name__)


@dataclass
class SendBatch:
    """The outcomes of one apply pass's sends, of one home or many, until :meth:`record`."""

    store: Store
    outcomes: list[SendOutcome] = field(default_factory=list)
    _recorded: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, outcome: SendOutcome) -> None:
        """One setpoint sent, failed, or (a ramp step whose send failed) dropped."""
        self.outcomes.append(outcome)

    async def record(self) -> None:
        """Store every outcome in one transaction (in a worker thread: a durable commit waits
        for the disk); once, when the pass ends. A failure is logged, and the homes waiting for
        the record go on either way: their sends not recorded are due again."""
        try:
            if self.outcomes:
                done = await asyncio.to_thread(self.store.record_sends, self.outcomes)
                for setpoint_id in done.already_sent:
                    log.warning("setpoint %s was already marked sent", setpoint_id)
                for home_id in done.lost_homes:
                    log.info("home %s: its sends not recorded here: lease lost", home_id)
        except Exception:
            log.exception("%d sends not recorded; they are sent again", len(self.outcomes))
        finally:
            self._recorded.set()

    async def recorded(self) -> None:
        """Wait until :meth:`record` has run."""
        await self._recorded.wait()
