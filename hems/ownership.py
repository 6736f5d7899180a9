"""Which homes this replica runs, when several service replicas share one PostgreSQL database
(docs/service.md, "Replicas").

:class:`HomeOwnership` runs a lease round every ``lease_renew_s`` (:meth:`Store.lease_round
<hems.storage.leases.LeaseRecords.lease_round>`: heartbeat, renew, give back beyond the fair
share, claim up to it). What the round returns is what the replica runs: the store's fencing
(:mod:`hems.storage.fencing`) and the service's owned homes are set from it, a home gained gets
its cycle and its VEN at once, a home lost (taken over, given back, or its lease run out while
the database could not be reached) is dropped at once, its VEN stopped without deregistering
(the new owner's VEN carries the registration on).

A home taken over in the middle of a slot is not planned again in that slot when its previous
owner stored a plan for it: the controller starts from that plan (it dispatches it), so a
replica that dies costs no home a second plan in one slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from dataclasses import dataclass, field

from hems.dsr_events import CONSUMER_OPT_OUT, base_event_id
from hems.replica_handover import answered_events, push_missed_reason, split_pushes_missed
from hems.service import CemService
from hems.settings import Settings
from hems.storage.database import NotFoundError
from hems.storage.enrolments import VenMode
from hems.storage.fencing import Fencing
from hems.storage.leases import LeasesUnreachableError
from hems.storage.store import Store
from hems.vens import VenFleet

log = logging.getLogger(__name__)


def replica_name(settings: Settings) -> str:
    """The replica's id: the setting, else ``<hostname>-<pid>`` (unique on one host)."""
    return settings.replica_id or f"{socket.gethostname()}-{os.getpid()}"


@dataclass
class HomeOwnership:
    """This replica's leases and what follows from them (see the module doc)."""

    store: Store
    service: CemService
    settings: Settings
    vens: VenFleet | None = None
    replica_id: str = ""
    owned: dict[int, int] = field(default_factory=dict)
    """The homes this replica runs: id -> the lease's epoch."""
    _valid_until: float = 0.0
    _task: asyncio.Task[None] | None = None
    _starting: set[int] = field(default_factory=set)
    """Homes claimed and being taken over (not run until their controller is ready)."""
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _asked: dict[int, str] = field(default_factory=dict)
    """Re-plans asked of homes still being taken over: their first cycle here plans."""

    def __post_init__(self) -> None:
        self.replica_id = self.replica_id or replica_name(self.settings)
        if self.vens is not None and self.vens.push is not None:
            self.vens.push.dispatcher.misrouted = self.push_missed

    async def lease_round(self) -> None:
        """One round: claim, renew, rebalance; then run exactly the homes held. A database
        that cannot be reached keeps the homes until their leases would have run out, then
        drops them all (another replica may hold them by then)."""
        started = time.monotonic()
        try:
            result = await asyncio.to_thread(
                self.store.lease_round, self.replica_id, self.settings.lease_time_s
            )
        except LeasesUnreachableError as exc:
            log.warning("replica %s: lease round failed: %s", self.replica_id, exc)
            if self.owned and time.monotonic() >= self._valid_until:
                log.warning("replica %s: leases ran out; stopping its homes", self.replica_id)
                await self._run_only({})
            return
        self._valid_until = started + self.settings.lease_time_s
        await self._run_only(result.owned)
        for home_id, reasons in result.replans.items():  # asked through another replica
            missed, reason = split_pushes_missed(reasons)
            if missed and self.vens is not None and self.service.runs(home_id):
                await self.vens.resync(home_id, missed)  # (a VEN starting registers anyway)
            if not reason:
                continue
            if self.service.runs(home_id):
                self.service.replan_soon(home_id, reason)
                await self._send_answers(home_id, answered_events(reason))
            elif home_id in self._starting:  # planned by its first cycle here
                self._asked[home_id] = reason

    async def push_missed(self, home_id: int, service: str) -> float | None:
        """The VTN pushed ``service`` here for a home in push mode this replica does not run
        (:mod:`hems.ven_push`): its owner is asked to fetch it (through the lease, as a
        change is, :mod:`hems.replica_handover`); the seconds after which the VTN may push
        again, or None for no such push home (404)."""
        try:
            if await asyncio.to_thread(self.store.ven_mode, home_id) is not VenMode.PUSH:
                return None
            if home_id not in self._starting:  # one starting here registers and fetches
                reason = push_missed_reason(service)
                owner = await asyncio.to_thread(self.store.ask_replan, home_id, reason)
                log.info(
                    "replica %s: the VTN pushed %s for home %s, run by %s: asked to fetch it",
                    self.replica_id,
                    service,
                    home_id,
                    owner or "no replica yet (the next to claim it)",
                )
        except NotFoundError:
            return None
        except Exception as exc:  # the database is away: the VTN tries again later
            log.warning(
                "replica %s: a push for home %s not passed on: %s", self.replica_id, home_id, exc
            )
        return self.settings.lease_renew_s

    async def _send_answers(self, home_id: int, event_ids: list[str]) -> None:
        """Tell the VTN the answers another replica changed (a consumer's opt-out, answers
        re-decided from new preferences): that replica has no VEN for the home, so it named
        the events in its re-plan request; each is sent here as stored now, an opt-out through
        the opt-out listeners (oadrCreatedEvent + oadrCreateOpt), any other answer through the
        answer listeners. A send that fails is logged (the VEN's next answer carries it)."""
        if not event_ids:
            return
        events = await asyncio.to_thread(self.store.events, home_id)
        for base in dict.fromkeys(base_event_id(e) for e in event_ids):
            parts = [e for e in events if base_event_id(e.event_id) == base]
            if not parts:
                continue
            try:
                if any(p.response_reason == CONSUMER_OPT_OUT for p in parts):
                    for opt_out in self.service.opt_out_listeners:
                        await opt_out(home_id, base)
                else:  # re-decided answers: every part of the event has the same
                    for listener in self.service.answer_listeners:
                        await listener(home_id, base, parts[0].response, parts[0].response_reason)
            except Exception:
                log.exception("home %s: could not send the answer to %s", home_id, base)

    async def _run_only(self, owned: dict[int, int]) -> None:
        """Run exactly ``owned`` (id -> epoch): stop the homes lost at once, start those gained
        in the background (a home whose epoch changed was lost and claimed again: it starts
        afresh), so a round never waits for plans and renews in time."""
        lost = [h for h, epoch in self.owned.items() if owned.get(h) != epoch]
        gained = [h for h, epoch in owned.items() if self.owned.get(h) != epoch]
        self.store.fencing = Fencing(self.replica_id, dict(owned))  # writes follow at once
        self._starting.update(gained)
        self.service.owned = set(owned) - self._starting  # run once taken over
        self.owned = dict(owned)
        for home_id in lost:  # a plan of it under way is refused by the fencing
            self.service.controllers.pop(home_id, None)
            if self.vens is not None:
                await self.vens.remove(home_id, deregister=False)
        if lost:
            log.info("replica %s: stopped homes %s", self.replica_id, sorted(lost))
        if gained:
            log.info("replica %s: takes homes %s", self.replica_id, sorted(gained))
            task = asyncio.get_running_loop().create_task(self._start_homes(gained))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _start_homes(self, gained: list[int]) -> None:
        """Take each gained home over, then run its cycle now."""
        started = []
        for home_id in gained:
            try:
                await self._take_over(home_id)
            finally:
                self._starting.discard(home_id)
            if home_id in self.owned and self.service.owned is not None:
                self.service.owned.add(home_id)
                started.append(home_id)
                if self.vens is not None:
                    self.vens.add(home_id)
        await self.service.cycle_homes(started)

    async def _take_over(self, home_id: int) -> None:
        """Start running a home another replica may have run: its controller starts from
        the plan stored for it, so a plan made in this slot is dispatched, not made again."""
        latest = await asyncio.to_thread(self.store.latest_plan, home_id)
        self.service.controllers.pop(home_id, None)  # nothing kept from an earlier turn
        ctl = self.service.controller(home_id)
        if latest is not None and len(latest.schedule):
            ctl.last_plan_slot = latest.schedule.index[0].to_pydatetime()
        asked = self._asked.pop(home_id, None)
        if asked is not None:
            ctl.request_replan(asked)

    def start(self) -> None:
        """Run the rounds in the running loop (every ``lease_renew_s``). Until the first
        claims them, the replica runs no home and may write for none."""
        self.service.owned = set()
        self.store.fencing = Fencing(self.replica_id)
        self._task = asyncio.get_running_loop().create_task(self._rounds())

    async def _rounds(self) -> None:
        while True:
            try:
                await self.lease_round()
            except Exception:  # a bug in one round must not end the replica's leases
                log.exception("replica %s: lease round failed", self.replica_id)
            await asyncio.sleep(self.settings.lease_renew_s)

    async def stop(self) -> None:
        """Stop the rounds and give the homes back at once (a clean stop)."""
        for task in [self._task, *self._tasks]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        try:
            await asyncio.to_thread(self.store.leave, self.replica_id)
        except LeasesUnreachableError as exc:  # they run out on their own
            log.warning("replica %s: could not give its homes back: %s", self.replica_id, exc)
        self.store.fencing = Fencing(self.replica_id)
        self.service.owned = set()
