"""The CEM service: every home's controller, and what happens when something changes.

Changes that need a new plan (a DSR event, new preferences, an override) re-plan the home at
once and dispatch the result; the scheduler (:mod:`hems.scheduler`) runs the regular cycle.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta

from adapters.devices.driver import DeviceDriver
from hems.clock import Clock
from hems.cohort_limit import cohort_batch
from hems.controller import HomeController
from hems.domain.preferences import Preferences
from hems.dsr_events import CONSUMER_OPT_OUT, base_event_id, participation
from hems.market import MarketSource
from hems.planner_backend import PlanFlags, PlannerBackend
from hems.planner_dask import DaskPlanner
from hems.planner_pool import PlanFailedError, PlannerPool, PlanningUnavailableError
from hems.planner_security import dask_security
from hems.principals import PrincipalCache
from hems.replica_handover import answers_reason, handover, opt_out_reason
from hems.send_batch import SendBatch
from hems.settings import Settings
from hems.site_guard import SiteMeterRead
from hems.storage.fencing import LeaseLostError
from hems.storage.store import Store, StoredEvent
from hems.telemetry_pass import read_and_check, read_homes
from kernel.dsr import OptType
from optimiser import Wish, prepare_planner_process

log = logging.getLogger(__name__)

DriverFactory = Callable[[int], Mapping[str, DeviceDriver]]
AnswerListener = Callable[[int, str, str, str], Awaitable[None]]
"""Told when the home's answer to an event changed on its own initiative: home id, the VTN's
event id, the new response (optIn / optOut) and why."""


@dataclass
class CemService:
    settings: Settings
    store: Store
    clock: Clock
    market: MarketSource
    drivers_for: DriverFactory
    seed: int | None = None
    controllers: dict[int, HomeController] = field(default_factory=dict)
    site_meter_for: Callable[[int], SiteMeterRead | None] = lambda _home_id: None
    """A home's site meter, read by its import guard every apply tick (hems/site_guard.py)."""
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _pending: dict[int, list[str]] = field(default_factory=dict)
    planner: PlannerBackend | None = field(init=False, default=None)
    """Where plans run (:mod:`hems.planner_backend`): the Dask cluster at
    ``planner_scheduler``, else the planner's worker processes (:mod:`hems.planner_pool`,
    restarted when a worker dies; none with ``planner_processes = 0``: a thread)."""
    plan_flags: PlanFlags = field(init=False, default_factory=PlanFlags)
    """Homes whose plans were late for their slot or failed, and the last slot's batch."""
    _lost_plans: set[int] = field(default_factory=set)
    """Homes whose plan could not be made because planning was down: re-planned when the
    planner is back (:meth:`heal_planner`)."""
    principals: PrincipalCache = field(init=False)
    """Token look-ups, remembered for a few seconds (one indexed read saved per request)."""
    opt_out_listeners: list[Callable[[int, str], Awaitable[None]]] = field(default_factory=list)
    """Told of a consumer's opt-out (home id, event id): the VEN tells the DSRSP."""
    answer_listeners: list[AnswerListener] = field(default_factory=list)
    """Told when a consent or opt-out window change re-answers an event: the VEN tells the
    DSRSP."""
    forget_listeners: list[Callable[[int], None]] = field(default_factory=list)
    """Told a deleted home's id (:meth:`forget`): its VEN deregisters and stops."""
    added_listeners: list[Callable[[int], None]] = field(default_factory=list)
    """Told a newly registered home's id (:meth:`added`), possibly from the API's worker
    threads: its VEN is made and registers."""
    enrolment_listeners: list[Callable[[int, bool], None]] = field(default_factory=list)
    """Told when a home is withdrawn from the DSRSP's programme (False) or enrolled again
    (True), possibly from the API's worker threads: its VEN deregisters or registers."""
    ven_mode_listeners: list[Callable[[int], None]] = field(default_factory=list)
    """Told when a home's VEN mode changed (possibly from a worker thread): its VEN is made
    again in the new mode and registers."""
    """Told when the service forgets a home (its data deleted): the API drops the JSON it
    built from it."""
    owned: set[int] | None = None
    """The homes this replica runs (:mod:`hems.ownership`, replicas on PostgreSQL); None:
    every home (one process)."""

    def __post_init__(self) -> None:
        self.principals = PrincipalCache(self.store)
        if self.settings.planner_processes > 0:
            self.planner = PlannerPool(
                self.settings.planner_processes,
                initializer=start_planner_worker,
                initargs=(os.getpid(),),
            )
        if self.settings.planner_scheduler:  # this machine's backend is its fallback
            self.planner = DaskPlanner(
                self.settings.planner_scheduler,
                self.planner,
                security=dask_security(self.settings),
            )

    def controller(self, home_id: int) -> HomeController:
        """The home's controller, created on first use (raises NotFoundError for no home)."""
        if home_id not in self.controllers:
            self.store.home(home_id)
            self.controllers[home_id] = HomeController(
                home_id=home_id,
                store=self.store,
                drivers=self.drivers_for(home_id),
                market=self.market,
                clock=self.clock,
                settings=self.settings,
                rng=random.Random(None if self.seed is None else self.seed + home_id),
                planner=self.planner,
                site_meter=self.site_meter_for(home_id),
            )
        return self.controllers[home_id]

    def close(self) -> None:
        """Stop the planner's worker processes."""
        if self.planner is not None:
            self.planner.close()

    def planning_unavailable(self) -> str | None:
        """Why no plan can be made now (the planner's worker died and is being replaced, or
        cannot be started), or None: what ``/ready`` and the API's 503 answers say."""
        return None if self.planner is None else self.planner.unavailable_reason()

    def check_planning(self) -> None:
        """Raise :class:`PlanningUnavailableError` when a plan would fail now (the planner's
        worker cannot be started and waits to try again), so an API call that needs a plan
        refuses before it changes anything. A worker being replaced is not refused: the plan
        waits the few seconds the new one takes."""
        reason = "" if self.planner is None else self.planner.down_reason
        if reason:
            raise PlanningUnavailableError(f"planning is unavailable: {reason}")

    async def heal_planner(self) -> None:
        """Replace a dead planner worker (the scheduler calls this every few seconds), then
        re-plan the homes whose plans were lost meanwhile."""
        if self.planner is None:
            return
        await self.planner.heal()
        if self._lost_plans and self.planning_unavailable() is None:
            lost, self._lost_plans = self._lost_plans, set()
            for home_id in sorted(lost):
                self.replan_soon(home_id, "planning back after its worker stopped")

    def added(self, home_id: int) -> None:
        """A home was registered: tell the listeners (its VEN is made and registers)."""
        for listener in self.added_listeners:
            listener(home_id)

    def enrolment_changed(self, home_id: int, enrolled: bool) -> None:
        """A home was withdrawn from the DSRSP's programme or enrolled again: tell the
        listeners (its VEN deregisters, or registers again)."""
        for listener in self.enrolment_listeners:
            listener(home_id, enrolled)

    def ven_mode_changed(self, home_id: int) -> None:
        """The operator changed how the home's VEN talks: tell the listeners."""
        for listener in self.ven_mode_listeners:
            listener(home_id)

    def forget(self, home_id: int) -> None:
        self.controllers.pop(home_id, None)
        self.plan_flags.forget(home_id)
        self.principals.clear()
        for listener in self.forget_listeners:
            listener(home_id)

    def version(self, kind: str, home_id: int) -> int:
        """How many times a home's ``kind`` of record changed (:meth:`Store.version`): the key
        of what is built from it."""
        return self.store.version(kind, home_id)

    def runs(self, home_id: int) -> bool:
        """Whether this replica runs the home (:attr:`owned`)."""
        return self.owned is None or home_id in self.owned

    def _running(self) -> list[HomeController]:
        return [c for c in self.controllers.values() if self.runs(c.home_id)]

    async def cycle_all(self) -> None:
        """The regular cycle of every home (one at a time per home, homes side by side)."""
        await self.cycle_homes(self.store.home_ids())

    async def cycle_homes(self, home_ids: Sequence[int]) -> None:
        """The cycle of these homes (those this replica runs): the slot's re-plans as one batch
        with a deadline (:mod:`hems.plan_batch`)."""
        ctls = [self.controller(h) for h in home_ids if self.runs(h)]
        read = await read_and_check(self.store, ctls, self._guarded)  # one write, all homes
        now, allowance_s = self.clock.now(), self.settings.plan_deadline_s
        flags = self.plan_flags
        await cohort_batch(self.store, ctls, now, allowance_s, flags, self._plan_lost, read)

    async def apply_due_all(self) -> None:
        """Every home's apply pass (the store asked once which homes have anything due), their
        sends recorded in one transaction when all are done (:mod:`hems.send_batch`)."""
        due = await asyncio.to_thread(self.store.homes_with_due_setpoints, self.clock.now())
        sends = SendBatch(self.store)
        try:
            work = [
                (c.apply_due(maybe_due=c.home_id in due, sends=sends), c.home_id)
                for c in self._running()
            ]
            await asyncio.gather(*(self._guarded(w, h) for w, h in work))
        finally:
            await sends.record()

    async def read_all(self) -> None:
        """Read every home's devices, store the readings at once, re-plan the homes where
        something changed (:mod:`hems.telemetry_pass`)."""
        await read_homes(self.store, self._running(), self._guarded)

    async def refresh_market(self) -> None:
        """Fetch live market data for every home (in a worker thread: the fetches block)."""
        refresh = getattr(self.market, "refresh", None)
        if refresh is None:
            return
        homes = [self.store.home(h) for h in self.store.home_ids()]
        if homes:
            status = await asyncio.to_thread(refresh, homes)
            failed = {k: v for k, v in status.items() if v != "ok"}
            if failed:
                log.warning("market refresh: %d of %d sources failed", len(failed), len(status))

    async def prune(self) -> None:
        """Apply the telemetry retention period."""
        before = self.clock.now() - timedelta(days=self.settings.telemetry_retention_days)
        removed = self.store.prune_telemetry(before)
        if removed:
            log.info("deleted %d telemetry rows older than %s", removed, before.date())

    async def replan_and_dispatch(self, home_id: int, reason: str) -> int:
        """Re-plan one home now and dispatch the new plan; returns the plan's id."""
        if not self.runs(home_id):  # asked of the replica that runs it (hems.ownership)
            owner = self.store.ask_replan(home_id, reason)
            raise handover(home_id, owner, self.settings.lease_renew_s)
        ctl = self.controller(home_id)
        home = await ctl.home()  # once for the pass: its steps take it
        if not ctl.states:
            await ctl.read_states(home)
        try:
            plan_id = await ctl.replan(reason, home)
        except PlanningUnavailableError:
            await ctl.dispatch(home)  # the last plan, with the overrides now in force
            raise
        await ctl.dispatch(home)
        return plan_id

    async def replan_or_defer(self, home_id: int, reason: str) -> PlanningUnavailableError | None:
        """Re-plan and dispatch now, or, while planning is unavailable, log it and re-plan the
        home when planning is back (what was stored before this call stands). Returns the
        reason it was deferred, or None once planned."""
        try:
            await self.replan_and_dispatch(home_id, reason)
        except PlanningUnavailableError as exc:
            log.warning("home %s: not planned yet (%s): %s", home_id, reason, exc)
            self._plan_lost(home_id, exc)
            return exc
        return None

    def replan_soon(self, home_id: int, reason: str) -> None:
        """Re-plan in the background (an API call returns at once). Requests that arrive while
        a re-plan of the home is queued or running are merged into one more re-plan."""
        if not self.runs(home_id):  # asked of the replica that runs it (hems.ownership)
            self.store.ask_replan(home_id, reason)
            return
        if home_id in self._pending:
            self._pending[home_id].append(reason)
            return
        self._pending[home_id] = [reason]

        async def run() -> None:
            try:
                while self._pending.get(home_id):
                    # gather the requests of the next moment into this plan: a consumer
                    # dragging a slider makes one plan a second, not one per request
                    await asyncio.sleep(self.settings.replan_delay_s)
                    reasons = self._pending[home_id]
                    self._pending[home_id] = []
                    await self._guarded(
                        self.replan_and_dispatch(home_id, ", ".join(dict.fromkeys(reasons))),
                        home_id,
                    )
            finally:
                self._pending.pop(home_id, None)

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self) -> None:
        """Wait for background re-plans (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks))

    async def receive_event(self, home_id: int, event: StoredEvent) -> StoredEvent:
        """A DSR event from the DSRSP: store it, decide optIn/optOut, re-plan when it changes
        the plan. Returns the event as stored, with the response."""
        return (await self.receive_event_parts(home_id, [event], event.event_id))[0]

    async def receive_event_parts(
        self, home_id: int, parts: Sequence[StoredEvent], event_id: str
    ) -> list[StoredEvent]:
        """The parts of one DSR event from the DSRSP (one per interval, ``<event>/<n>``, or the
        event itself): store them, answer them together from consent, opt-out windows and
        overrides (a part refused opts the whole event out: no part stays in the plan; a part
        the consumer opted out of stays out when the event is modified), and re-plan the home
        once when any part changed (a repeat with the same modification number changes
        nothing). An opted-in part the new plan cannot meet says by how much and why, read
        from that plan. Returns the parts as stored, with their answers."""
        now = self.clock.now()
        prefs = self.store.preferences(home_id)
        overrides = self.store.active_overrides(home_id, now)
        before = {e.event_id: e for e in self.store.events(home_id)}
        decisions = []
        for part in parts:
            was = before.get(part.event_id)
            if was is not None and was.response_reason == CONSUMER_OPT_OUT:
                decisions.append((OptType.OPT_OUT, CONSUMER_OPT_OUT))  # stays out when modified
            else:
                decisions.append(participation(part, prefs, overrides))
        refused = [d for d in decisions if d[0] != OptType.OPT_IN]
        if refused:  # opted out whole: no part stays in the plan
            out = (OptType.OPT_OUT, refused[0][1])
            decisions = [d if d[0] != OptType.OPT_IN else out for d in decisions]
        changed = False
        for part, (response, reason) in zip(parts, decisions, strict=True):
            decided = replace(part, response=response, response_reason=reason)
            changed |= self.store.upsert_event(home_id, decided, now)  # stores and audits
        if changed and await self.replan_or_defer(home_id, f"DSR event {event_id}") is None:
            made = self.controller(home_id).made
            for part, (response, reason) in zip(parts, decisions, strict=True):
                # Say whether the new plan meets the request, and if not, by how much and why.
                missed = [
                    v.message
                    for v in (made.plan.violations if made is not None else ())
                    if v.wish is Wish.DSR and v.asset == part.event_id
                ]
                if response == OptType.OPT_IN and missed:
                    self.store.set_event_response(
                        home_id, part.event_id, response, f"{reason}; {missed[0]}", now, "cem"
                    )
        stored = {e.event_id: e for e in self.store.events(home_id)}
        return [stored[part.event_id] for part in parts]

    async def update_preferences(self, home_id: int, prefs: Preferences, actor: str) -> None:
        """Store the consumer's new preferences (audited), re-answer the events they change
        (:meth:`reconsider_events`, which plans at once when an answer changed: that plan has
        the new preferences too) or else re-plan soon. One plan either way."""
        # off the event loop: a durable commit waits for the disk
        before = await asyncio.to_thread(
            self.store.set_preferences, home_id, prefs, self.clock.now(), actor
        )
        if (before.dsr_consent, before.dsr_opt_out_windows) != (
            prefs.dsr_consent,
            prefs.dsr_opt_out_windows,
        ) and await self.reconsider_events(home_id, actor):
            return  # planned once, with the new preferences and the new answers
        self.replan_soon(home_id, "preferences changed")

    async def reconsider_events(self, home_id: int, actor: str) -> list[tuple[str, OptType, str]]:
        """Re-decide the answer to every event not yet over (pending or active, not
        cancelled) from the consumer's consent, opt-out windows and overrides as they are
        now. An event the consumer opted out of explicitly stays opted out; the parts of one
        VTN event (``<event>/<n>``) share one answer (optOut if any part is out). Each
        changed answer or reason is stored and audited (``event.optIn`` / ``event.optOut`` by
        ``actor``); when an answer changed, the home re-plans once, with the preferences as
        stored now, and the answer listeners (the VEN) tell the DSRSP.
        Returns (VTN event id, response, reason) for each changed event."""
        now = self.clock.now()
        prefs = self.store.preferences(home_id)
        overrides = self.store.active_overrides(home_id, now)
        groups: dict[str, list[StoredEvent]] = {}
        for e in self.store.events(home_id):
            if e.status != "cancelled" and e.end > now:
                groups.setdefault(base_event_id(e.event_id), []).append(e)
        changed: list[tuple[str, OptType, str]] = []
        for base, parts in groups.items():
            if any(p.response_reason == CONSUMER_OPT_OUT for p in parts):
                continue
            decisions = [participation(p, prefs, overrides) for p in parts]
            refused = [d for d in decisions if d[0] != OptType.OPT_IN]
            response, reason = refused[0] if refused else decisions[0]
            if all((p.response, p.response_reason) == (response, reason) for p in parts):
                continue
            for p in parts:  # stored and audited; a new reason alone is not sent on
                self.store.set_event_response(home_id, p.event_id, response, reason, now, actor)
            if any(p.response != response for p in parts):
                changed.append((base, response, reason))
        if not changed:
            return changed
        # the answers stand either way; planned when planning is back
        await self.replan_or_defer(home_id, answers_reason([(b, r) for b, r, _ in changed]))
        for base, response, reason in changed:
            for listener in self.answer_listeners:
                try:
                    await listener(home_id, base, response, reason)
                except Exception:
                    log.exception("home %s: could not send the new answer to %s", home_id, base)
        return changed

    async def opt_out(self, home_id: int, event_id: str, actor: str) -> None:
        now = self.clock.now()
        self.store.set_event_response(
            home_id, event_id, OptType.OPT_OUT, CONSUMER_OPT_OUT, now, actor
        )
        # the opt-out stands and the DSRSP is told even while planning is unavailable
        unplanned = await self.replan_or_defer(home_id, opt_out_reason(event_id))
        for listener in self.opt_out_listeners:
            try:
                await listener(home_id, event_id)
            except Exception:
                log.exception("home %s: could not pass the opt-out of %s on", home_id, event_id)
        if unplanned is not None:
            raise unplanned

    def _plan_lost(self, home_id: int, exc: PlanningUnavailableError) -> None:
        """Re-plan the home when planning is back; not a plan that kills its worker every
        time (:class:`PlanFailedError`): that waits for the next cycle."""
        if not isinstance(exc, PlanFailedError) and self.runs(home_id):
            self._lost_plans.add(home_id)

    async def _guarded(self, work: object, home_id: int) -> None:
        """Run one home's work; a failure is logged and never stops the other homes."""
        try:
            await work  # type: ignore[misc]
        except PlanFailedError:
            pass  # logged and audited by the controller; tried again at the next cycle
        except LeaseLostError as exc:  # another replica runs the home now
            log.info("home %s: not run here any more: %s", home_id, exc)
        except PlanningUnavailableError as exc:
            log.warning("home %s: not planned: %s", home_id, exc)
            self._plan_lost(home_id, exc)
        except Exception:
            log.exception("home %s: cycle failed; it will run again at the next tick", home_id)


PLANNER_NICENESS = 10
"""How much lower the planner workers' CPU priority is than the service's: on a busy machine
an API request preempts a solve (a plan takes longer; requests keep their latency)."""


def start_planner_worker(parent_pid: int) -> None:
    """Planner worker start-up: lower priority and exit with the service
    (:func:`exit_with_parent`), then warm the solver stack and freeze the start-up heap
    (:func:`optimiser.prepare_planner_process`), so the first plan does not pay for Pyomo's
    plugins and later plans' garbage collections skip the imported modules."""
    exit_with_parent(parent_pid)
    prepare_planner_process()


def exit_with_parent(parent_pid: int, check_every_s: float = 1.0) -> None:
    """Planner worker start-up: run at a lower CPU priority (:data:`PLANNER_NICENESS`), and
    end when the service process is gone (killed, even with SIGKILL), instead of lingering
    with its memory."""
    try:
        os.nice(PLANNER_NICENESS)
    except OSError:  # not permitted here: run at the service's priority
        log.warning("could not lower the planner worker's priority")

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(0)
            time.sleep(check_every_s)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
