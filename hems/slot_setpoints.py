"""The step from a plan to the current slot's setpoints, and from a decided setpoint to what is
sent now: pure functions that the service's controller (:mod:`hems.controller`) and the
backtest (:mod:`hems.backtest.service_dispatch`) both run, so that a backtest measures the
dispatch the service does, its safeguards and ramps included (:mod:`hems.dispatch`).

The controller keeps what they need in the store (the last decision per device, the last
setpoint sent); the backtest keeps it in memory.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import pandas as pd

from hems.dispatch import (
    DispatchRules,
    OverridesInForce,
    RampLimits,
    decide,
    planned_powers,
    setpoint_for,
    site_following_batteries,
    surplus_storing_batteries,
    with_following_caps,
)
from hems.domain.devices import (
    DeviceKind,
    DeviceSpec,
    HeatPumpSpec,
    least_running_kw,
)
from hems.domain.home import HomeSpec
from kernel.devices import Setpoint

if TYPE_CHECKING:  # the settings import SQLAlchemy's URL parser; a backtest worker need not
    from hems.settings import Settings

NO_OVERRIDES = OverridesInForce(boosted=frozenset(), paused_until={})
"""No consumer override in force (the backtest's consumer never overrides)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Safeguards:
    """The dispatch's safeguards as switched in the service: the EV randomised delay and the
    ramp-up limits. The defaults are the service's (:class:`hems.settings.Settings`), and
    :meth:`of` reads a configured service's."""

    rules: DispatchRules = field(default_factory=DispatchRules)
    ramps: RampLimits = field(
        default_factory=lambda: RampLimits(
            kw_per_min={
                DeviceKind.EV_CHARGER: 2.0,
                DeviceKind.BATTERY: 5.0,
                DeviceKind.HEAT_PUMP: 1.0,
            },
            apply_interval_s=15.0,
        )
    )

    @classmethod
    def off(cls) -> Safeguards:
        """No randomised delay and no ramp limits (the backtest's perfect-foresight bound)."""
        return cls(rules=DispatchRules(max_delay_s=0), ramps=RampLimits(kw_per_min={}))

    @classmethod
    def of(cls, settings: Settings) -> Safeguards:
        """The safeguards ``settings`` switch on."""
        return cls(
            rules=DispatchRules(max_delay_s=settings.ev_random_delay_max_s),
            ramps=RampLimits(
                kw_per_min={
                    DeviceKind.EV_CHARGER: settings.ev_ramp_kw_per_min,
                    DeviceKind.BATTERY: settings.battery_ramp_kw_per_min,
                    DeviceKind.HEAT_PUMP: settings.heat_pump_ramp_kw_per_min,
                },
                apply_interval_s=settings.apply_interval_s,
            ),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class DecidedSetpoint:
    """A setpoint decided for a device: what to send (power and mode), why, and from when
    (UTC; later than the decision by an EV's randomised delay)."""

    device: str
    setpoint: Setpoint
    reason: str
    effective_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class SlotSetpoints:
    """What the dispatch decided for the slot: the setpoints that change (a device whose
    power and mode are those it was last told is left out), and the batteries that follow the
    site or store a surplus in this slot (the modes every send of the slot uses)."""

    decisions: tuple[DecidedSetpoint, ...]
    follow_site: frozenset[str]
    store_surplus: frozenset[str]


def slot_setpoints(
    schedule: pd.DataFrame,
    home: HomeSpec,
    now: datetime,
    *,
    last: Mapping[str, Setpoint],
    overrides: OverridesInForce,
    dsr_active: bool,
    rules: DispatchRules,
    rng: random.Random,
    unplugged: frozenset[str] = frozenset(),
) -> SlotSetpoints:
    """The setpoints of the slot holding ``now`` from the plan's ``schedule``: the planned
    powers, a site-following battery at its cap (:func:`~hems.dispatch.with_following_caps`),
    the consumer's overrides first, an EV's randomised delay (none while ``dsr_active``),
    and only what differs from ``last`` (each device's last decision). A paused battery
    neither follows the site nor stores a surplus. A battery whose mode changes is told
    again at the same power: +5 kW storing the PV surplus is not +5 kW from the grid. An EV
    charger in ``unplugged`` (no car) is held at 0, whatever the plan expected of the car or
    a boost asks: a charge planned for a car expected home is never sent before it is."""
    paused = frozenset(overrides.paused_until)
    following = site_following_batteries(schedule, home, now) - paused
    storing = surplus_storing_batteries(schedule, home, now) - paused
    modes = {d.name: setpoint_for(d.name, 0.0, following, storing) for d in home.devices}
    mode_changed = {n for n, sp in last.items() if n in modes and _mode(sp) != _mode(modes[n])}
    decisions = decide(
        home=home,
        planned_kw=with_following_caps(planned_powers(schedule, home, now), following, home),
        last_kw={name: sp.power_kw for name, sp in last.items() if name not in mode_changed},
        boosted=overrides.boosted,
        paused=paused,
        no_car=unplugged,
        dsr_active=dsr_active,
        now=now,
        rules=rules,
        rng=rng,
    )
    return SlotSetpoints(
        decisions=tuple(
            DecidedSetpoint(
                device=d.device,
                setpoint=setpoint_for(d.device, d.power_kw, following, storing),
                reason=d.reason,
                effective_at=d.effective_at,
            )
            for d in decisions
        ),
        follow_site=following,
        store_surplus=storing,
    )


def _mode(setpoint: Setpoint) -> tuple[bool, bool]:
    return setpoint.follow_site, setpoint.store_surplus


@dataclass(frozen=True, slots=True, kw_only=True)
class SentSetpoint:
    """The power a device was last sent and accepted [kW], and when (UTC)."""

    power_kw: float
    applied_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class RampMove:
    """What to send a device now on its way to a decided setpoint [kW]; ``reaches_target``:
    the decided power itself (else one ramp step towards it)."""

    power_kw: float
    reaches_target: bool


def _ramp_start_kw(spec: DeviceSpec, target_kw: float) -> float:
    """Where a ramp towards ``target_kw`` starts [kW] (the step from off to it is
    unavoidable): the device's least running power, and an on/off heat pump's target itself
    (it runs at full power or not at all, whatever full power the plan has for it now)."""
    if isinstance(spec, HeatPumpSpec) and not spec.modulating:
        return target_kw
    return least_running_kw(spec)


def ramp_move(
    ramps: RampLimits,
    spec: DeviceSpec,
    target_kw: float,
    sent: SentSetpoint | None,
    state_kw: float,
    now: datetime,
) -> RampMove | None:
    """The next send towards ``target_kw`` at ``now``: the target (a lowering, an unlimited
    kind, or the ramp's end), a ramp step (:meth:`RampLimits.next_step`, from the last power
    ``sent``, or from what the device does now, ``state_kw``, when it was never sent any),
    or None while a step was sent less than half an apply interval ago (the next comes at
    the next apply)."""
    if sent is not None:
        previous_kw = sent.power_kw
        elapsed_s: float | None = (now - sent.applied_at).total_seconds()
    else:
        previous_kw, elapsed_s = state_kw, None
    step_kw = ramps.next_step(
        spec.kind,
        previous_kw,
        target_kw,
        elapsed_s,
        min_running_kw=_ramp_start_kw(spec, target_kw),
    )
    if abs(step_kw - target_kw) < 1e-9:
        return RampMove(power_kw=target_kw, reaches_target=True)
    if elapsed_s is not None and elapsed_s < ramps.apply_interval_s / 2:
        return None
    return RampMove(power_kw=round(step_kw, 3), reaches_target=False)
