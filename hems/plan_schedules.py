"""The plan's next hours for the devices that can hold a schedule (docs/devices.md, "Plans, not
just powers").

An OCPP charger takes a charging profile and follows it on its own clock; an MQTT device reads
the retained ``plan`` topic and follows it once the CEM is gone. Both then keep to the plan
through a loss of communications. An S2 resource manager takes the plan as FRBC instructions
with execution times and carries them out on its own clock between the CEM's messages (not
through an outage: it drops them when the connection ends, docs/devices.md).
:func:`device_schedules` turns the latest plan into each such device's steps (each EV rise
placed after the CEM's own randomised delay and ramp, with a randomised delay of its own:
:class:`EvRises`); :func:`hold` sends a setpoint to a device, as
the first step of its schedule where it holds one; :func:`send_schedule`
(:func:`leave_schedules` for a controller's devices) leaves a new plan's schedule on the device.

A device under a consumer override (boost, pause) gets no schedule: it holds the override's
setpoint, which dispatch sends.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pandas as pd

from adapters.devices import mqtt, ocpp, s2
from adapters.devices.driver import DeviceDriver
from hems.dispatch import planned_powers
from hems.domain.devices import EvChargerSpec
from hems.domain.home import HomeSpec
from hems.dsr_events import is_active_response
from hems.storage.store import StoredEvent
from kernel.devices import DeviceUnavailableError, Setpoint

if TYPE_CHECKING:
    from hems.controller import HomeController

log = logging.getLogger(__name__)

SCHEDULE_HOURS = 12
"""How much of the plan a device is left to follow on its own [h]: half a day of outage."""


@dataclass(frozen=True, slots=True)
class DeviceSchedule:
    """A device's plan from ``steps[0].start_utc`` to ``end_utc``: (start, power [kW]) pairs,
    each power held until the next start."""

    steps: tuple[tuple[datetime, float], ...]
    end_utc: datetime

    def after(self, at: datetime) -> list[tuple[datetime, float]]:
        """The steps that start after ``at``."""
        return [step for step in self.steps if step[0] > at]


def holds_schedules(driver: DeviceDriver) -> bool:
    """Whether the device can be left the plan's next hours."""
    return isinstance(driver, ocpp.OcppChargerDriver | mqtt.MqttDeviceDriver | s2.S2FrbcDriver)


def device_schedules(
    ctl: HomeController,
    schedule: pd.DataFrame,
    home: HomeSpec,
    now: datetime,
    overridden: frozenset[str],
) -> dict[str, DeviceSchedule]:
    """The schedules of the controller's devices that hold one and are not overridden (called
    from dispatch, in a worker thread: it reads the home's events)."""
    return steps_per_device(
        schedule,
        home,
        now,
        schedule_holders(ctl.drivers, overridden),
        events=ctl.store.events(ctl.home_id),
        rises=EvRises(
            max_delay_s=ctl.settings.ev_random_delay_max_s,
            ramp_kw_per_min=ctl.settings.ev_ramp_kw_per_min,
            apply_interval_s=ctl.settings.apply_interval_s,
        ),
        rng=ctl.rng,
    )


@dataclass(frozen=True, slots=True)
class EvRises:
    """Where an EV's rise (a start or a higher rate) is put in its schedule.

    While the CEM runs, it makes each rise itself: after the randomised delay (up to
    ``max_delay_s``, none in a DSR event the home takes part in) and walked up at
    ``ramp_kw_per_min`` (:mod:`hems.dispatch`), each step sent as the charger's profile with the
    schedule after it. A schedule step at full power must not come before that is done, or the
    charger would jump to it: so a rise is placed after the CEM's longest delay, the ramp and
    an apply interval, plus a randomised delay of its own for when the CEM is gone (the charger
    then starts later, at full power, at a time of its own: the safe side of the Smart Charge
    Points Regulations). Never past the next step."""

    max_delay_s: float
    ramp_kw_per_min: float
    apply_interval_s: float

    def delay_s(self, from_kw: float, to_kw: float, in_event: bool, rng: random.Random) -> float:
        ramp_s = 0.0
        if self.ramp_kw_per_min > 0:
            ramp_s = (to_kw - from_kw) / self.ramp_kw_per_min * 60.0
        if in_event:
            return ramp_s + self.apply_interval_s
        return self.max_delay_s + ramp_s + self.apply_interval_s + rng.uniform(0, self.max_delay_s)


def steps_per_device(
    schedule: pd.DataFrame,
    home: HomeSpec,
    now: datetime,
    devices: Sequence[str],
    *,
    events: Sequence[StoredEvent],
    rises: EvRises,
    rng: random.Random,
) -> dict[str, DeviceSchedule]:
    """Each of ``devices``' powers per slot from the slot after ``now`` for
    :data:`SCHEDULE_HOURS` (as :func:`hems.dispatch.planned_powers` gives them), equal neighbours
    merged; an EV's rise placed by ``rises`` (:class:`EvRises`)."""
    if schedule.empty:
        return {}
    starts = [t.to_pydatetime() for t in schedule.index if t > pd.Timestamp(now)]
    horizon = now + timedelta(hours=SCHEDULE_HOURS)
    starts = [t for t in starts if t < horizon]
    if not starts:
        return {}
    step = schedule.index[1] - schedule.index[0] if len(schedule.index) > 1 else timedelta(0)
    end = starts[-1] + pd.Timedelta(step).to_pytimedelta()
    powers = [planned_powers(schedule, home, t) for t in starts]
    evs = {d.name for d in home.devices if isinstance(d, EvChargerSpec)}
    out = {}
    for name in devices:
        steps: list[tuple[datetime, float]] = []
        for i, (start, kw) in enumerate(
            zip(starts, (p.get(name, 0.0) for p in powers), strict=True)
        ):
            kw = round(kw, 3)
            if steps and abs(steps[-1][1] - kw) < 0.05:
                continue
            before = steps[-1][1] if steps else 0.0
            if name in evs and kw > 0 and kw > before:
                until = starts[i + 1] if i + 1 < len(starts) else end
                room_s = (until - start).total_seconds() - 1
                delay_s = rises.delay_s(before, kw, is_active_response(events, start), rng)
                start += timedelta(seconds=min(delay_s, max(room_s, 0)))
            steps.append((start, kw))
        out[name] = DeviceSchedule(tuple(steps), end)
    return out


async def hold(
    driver: DeviceDriver, setpoint: Setpoint, schedule: DeviceSchedule | None, now: datetime
) -> None:
    """Send ``setpoint``: to a charger with a schedule, as a profile that holds it from now and
    then follows the plan (a charger has one profile: a lone limit would drop the plan); to an
    S2 RM with a schedule, as an instruction (awaited until accepted) followed by the plan's
    later steps again (a setpoint revokes the RM's pending plan); to any other device, as its
    setpoint."""
    live = schedule is not None and schedule.end_utc > now
    if isinstance(driver, ocpp.OcppChargerDriver) and schedule is not None and live:
        steps = [ocpp.PlanStep(now, setpoint.power_kw)]
        steps += [ocpp.PlanStep(t, kw) for t, kw in schedule.after(now)]
        await driver.send_plan(steps, schedule.end_utc, force=True)
        return
    await driver.apply(setpoint)
    if isinstance(driver, s2.S2FrbcDriver) and schedule is not None and live:
        later = [s2.PlanStep(t, kw) for t, kw in schedule.after(now)]
        if later:
            await driver.send_plan(later, schedule.end_utc, force=True)


async def send_schedule(
    driver: DeviceDriver, schedule: DeviceSchedule, current_kw: float, now: datetime
) -> None:
    """Leave a new plan's schedule on the device: ``current_kw`` (what it was last told) until
    the schedule's first step, then the steps."""
    later = schedule.after(now)
    if isinstance(driver, ocpp.OcppChargerDriver):
        ocpp_steps = [ocpp.PlanStep(now, current_kw), *(ocpp.PlanStep(t, kw) for t, kw in later)]
        await driver.send_plan(ocpp_steps, schedule.end_utc)
    elif isinstance(driver, mqtt.MqttDeviceDriver):
        mqtt_steps = [mqtt.PlanStep(now, current_kw), *(mqtt.PlanStep(t, kw) for t, kw in later)]
        await driver.send_plan(mqtt_steps, schedule.end_utc)
    elif isinstance(driver, s2.S2FrbcDriver):
        s2_steps = [s2.PlanStep(now, current_kw), *(s2.PlanStep(t, kw) for t, kw in later)]
        await driver.send_plan(s2_steps, schedule.end_utc)


def schedule_holders(drivers: Mapping[str, DeviceDriver], overridden: frozenset[str]) -> list[str]:
    """The devices to leave a schedule on: those that hold one and are not overridden."""
    return [n for n, d in drivers.items() if holds_schedules(d) and n not in overridden]


async def leave_schedules(ctl: HomeController, now: datetime) -> None:
    """Send each of the controller's devices its new schedule (bounded by the device
    timeout), from what it was last told; one that does not take it is logged: it keeps its
    last one, and gets this one with its next setpoint (a charger) or the next plan."""
    for name, schedule in ctl.schedules.items():
        driver = ctl.drivers.get(name)
        if driver is None:
            continue
        last = await asyncio.to_thread(ctl.store.last_applied_setpoint, ctl.home_id, name)
        current_kw = 0.0 if last is None else last.power_kw
        try:
            await asyncio.wait_for(
                send_schedule(driver, schedule, current_kw, now), ctl.settings.device_timeout_s
            )
        except (DeviceUnavailableError, TimeoutError, ValueError) as exc:
            log.warning("the plan's schedule for %s was not sent: %s", name, exc or "timeout")
