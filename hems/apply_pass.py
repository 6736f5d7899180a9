"""One home's apply pass (:meth:`HomeController.apply_due`): send every setpoint whose time has
come, a rise walked in ramp steps (one step per device per pass, at least half an apply
interval apart), a device that does not answer retried with exponential backoff (10 s, 20 s,
40 s ...) and reported offline after ``device_retry_max`` failures.

The pass's writes are batched (issue 29): the home's ramp steps are stored in one transaction
before anything is sent (every setpoint is written before it is sent), and what became of each
send goes to the pass's :class:`~hems.send_batch.SendBatch`, recorded once for all homes of the
apply job. The store is used from worker threads: a durable commit waits for the disk, and the
event loop serves the API meanwhile."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from hems.device_health import DeviceHealth
from hems.dispatch import setpoint_for
from hems.domain.home import HomeSpec
from hems.kept_home import recent_home
from hems.plan_schedules import hold
from hems.send_batch import SendBatch
from hems.slot_setpoints import SentSetpoint, ramp_move
from hems.storage.setpoint_records import SendOutcome, StoredSetpoint
from kernel.devices import DeviceUnavailableError

if TYPE_CHECKING:
    from hems.controller import HomeController

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Send:
    """One setpoint to send this pass: the due decision and the power [kW] to send, the
    decision's own or, when ``step``, a ramp step's towards it (stored before the sends)."""

    decision: StoredSetpoint
    power_kw: float
    step: bool = False


async def apply_pass(ctl: HomeController, home: HomeSpec | None, batch: SendBatch) -> None:
    """Send the home's due setpoints, their outcomes into ``batch``."""
    now = ctl.clock.now()
    due = await asyncio.to_thread(ctl.store.due_setpoints, ctl.home_id, now)
    if not due:
        ctl.ramping.clear()
        return
    home = home or await recent_home(ctl)
    specs = {d.name: d for d in home.devices}
    ramps = ctl.ramp_limits()
    ramping, sends = set(), []
    for sp in due:
        spec = specs.get(sp.device_name)
        if sp.device_name not in ctl.drivers or spec is None:  # a device gone: never sent
            await asyncio.to_thread(ctl.store.supersede_setpoint, sp.id)
            continue
        last = await asyncio.to_thread(ctl.store.last_applied_setpoint, ctl.home_id, sp.device_name)
        sent: SentSetpoint | None = None
        if last is not None and last.applied_at is not None:  # a sent row has its time
            sent = SentSetpoint(power_kw=last.power_kw, applied_at=last.applied_at)
        state = ctl.states.get(sp.device_name)
        move = ramp_move(ramps, spec, sp.power_kw, sent, state.power_kw if state else 0.0, now)
        if move is not None and move.reaches_target:
            sends.append(Send(sp, sp.power_kw))
            continue
        ramping.add(sp.device_name)
        if move is not None:  # None: a step was just sent; the next comes at the next pass
            sends.append(Send(sp, move.power_kw, step=True))
    steps = [(s.decision.id, s.power_kw) for s in sends if s.step]
    stored = []  # the home's steps in one commit; a home whose lease is lost sends nothing
    if steps:
        stored = await asyncio.to_thread(ctl.store.add_ramp_steps, ctl.home_id, steps, now)
    step_ids = iter(stored)
    for s in sends:
        await send_setpoint(ctl, s, next(step_ids) if s.step else None, now, batch)
    ctl.ramping = ramping


async def send_setpoint(
    ctl: HomeController, send: Send, step_id: int | None, now: datetime, batch: SendBatch
) -> bool:
    """Send one stored setpoint (the decision, or the ramp step ``step_id`` towards it); True
    when the device accepted it. A failure puts the decision on its backoff and drops the
    step."""
    sp = send.decision
    device, row_id = sp.device_name, sp.id if step_id is None else step_id
    health = ctl.health.setdefault(device, DeviceHealth())
    try:
        setpoint = setpoint_for(device, send.power_kw, ctl.follow_site, ctl.store_surplus)
        await asyncio.wait_for(
            hold(ctl.drivers[device], setpoint, ctl.schedules.get(device), now),
            timeout=ctl.settings.device_timeout_s,
        )
    except (DeviceUnavailableError, TimeoutError) as exc:
        health.failed(str(exc) or "timeout", ctl.settings.device_retry_max)
        retry = now + timedelta(seconds=10 * 2 ** min(sp.attempts, 6))
        if step_id is not None:  # the step is dropped; the decision waits its retry
            dropped = SendOutcome(
                home_id=ctl.home_id, setpoint_id=step_id, applied_at=None, dropped=True
            )
            batch.add(dropped)
        batch.add(
            SendOutcome(
                home_id=ctl.home_id,
                setpoint_id=sp.id,
                applied_at=None,
                error=health.last_error,
                retry_at=retry,
            )
        )
        log.warning("setpoint for %s not applied: %s", device, health.last_error)
        return False
    health.failures = 0
    batch.add(SendOutcome(home_id=ctl.home_id, setpoint_id=row_id, applied_at=now))
    return True
