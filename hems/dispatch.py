"""From the plan, overrides and DSR events to one setpoint per device, with the safeguards.

Safeguards (PAS 1879 and the Electric Vehicles (Smart Charge Points) Regulations 2021):

* **Randomised delay.** An EV charge start or rate change takes effect after a random delay,
  uniform in [0, ``max_delay_s``] (default 600 s, at most 1,800 s), so that homes following the
  same price signal do not switch together. No delay during a DSR event the home responds to,
  nor for a consumer override, nor to stop charging.
* **Consumer overrides win.** "Boost" charges the EV at full power now; "pause" holds a device
  at zero; both apply whatever the plan or the DSRSP says, and are reported to the DSRSP
  (manual override in TELEMETRY_STATUS).
* **Ramp limits.** A setpoint that *raises* a device's power (in the sign convention of
  ``docs/architecture.md``: more consumption, or less supply from a battery) is walked towards
  its target at the apply job (:meth:`RampLimits.next_step`): each step at most the kind's rate
  [kW/min] times the time since the previous step, and never more than one apply interval's
  worth, so 0 -> 7.4 kW on an EV at 2 kW/min is 1.4 kW (the charger's minimum: it cannot run
  lower) then 12 steps of 0.5 kW, 3 min. A setpoint
  that *lowers* the power applies at once: stopping or reducing a device is the safe direction,
  and a DSR turn-down or a consumer's pause must not wait. A consumer's boost is ramped like
  any increase (it reaches full power within ``max_kw / rate`` minutes plus one interval). PV
  setpoints are generation caps, not demands, and are not ramped.
* The default off-peak EV hours are applied by the planner (``hems.problem_builder``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pandas as pd

from hems.domain.devices import DeviceKind, EvChargerSpec
from hems.domain.home import HomeSpec
from hems.domain.preferences import OverrideKind
from kernel.devices import Setpoint

if TYPE_CHECKING:  # the storage stack (SQLAlchemy, Alembic: ~0.6 s to import) is not needed to
    # decide setpoints, and a backtest worker imports this module
    from hems.storage.store import ActiveOverride


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """A setpoint decided for a device and when it takes effect (UTC)."""

    device: str
    power_kw: float
    reason: str
    effective_at: datetime


@dataclass(frozen=True, slots=True)
class OverridesInForce:
    """The consumer's device overrides in force: boosted EVs, and paused devices with the end
    of their pause (UTC)."""

    boosted: frozenset[str]
    paused_until: Mapping[str, datetime]

    @classmethod
    def of(cls, home: HomeSpec, overrides: Iterable[ActiveOverride]) -> OverridesInForce:
        """From the active overrides; a boost with no target boosts every EV of the home."""
        overrides = list(overrides)
        targets = {o.target for o in overrides if o.kind is OverrideKind.EV_BOOST}
        evs = frozenset(d.name for d in home.devices if isinstance(d, EvChargerSpec))
        paused = {o.target: o.expires_at for o in overrides if o.kind is OverrideKind.PAUSE_DEVICE}
        return cls(boosted=evs if "" in targets else evs & targets, paused_until=paused)

    @property
    def devices(self) -> frozenset[str]:
        """Every device the consumer overrides (reported as manual override to the DSRSP)."""
        return self.boosted | frozenset(self.paused_until)


@dataclass(frozen=True, slots=True, kw_only=True)
class RampLimits:
    """Ramp-up limits: the fastest rise of a device's setpoint [kW/min] per device kind
    (a kind absent, or 0, is not limited) and the apply job's period [s]."""

    kw_per_min: Mapping[DeviceKind, float]
    apply_interval_s: float = 15.0

    def __post_init__(self) -> None:
        if self.apply_interval_s <= 0:
            raise ValueError(f"apply_interval_s must be > 0 s, got {self.apply_interval_s}")
        for kind, rate in self.kw_per_min.items():
            if rate < 0:
                raise ValueError(f"ramp rate for {kind} must be >= 0 kW/min, got {rate}")

    def limit_kw_per_min(self, kind: DeviceKind) -> float:
        """The kind's ramp-up rate [kW/min]; 0 = no limit (PV is never ramped)."""
        return 0.0 if kind is DeviceKind.PV else float(self.kw_per_min.get(kind, 0.0))

    def next_step(
        self,
        kind: DeviceKind,
        previous_kw: float,
        target_kw: float,
        elapsed_s: float | None,
        min_running_kw: float = 0.0,
    ) -> float:
        """The setpoint to send now [kW], on the way from ``previous_kw`` (the last one sent)
        to ``target_kw``. A lowering applies whole; a rise by at most the rate times
        ``elapsed_s`` (the time since the previous setpoint was sent [s]; None = unknown),
        capped at one apply interval, so no single step exceeds ``rate * interval``. A device
        that cannot run below ``min_running_kw`` [kW] (an EV charger's 6 A minimum) starts at
        that power: the step from off to it is unavoidable, the ramp goes on from there."""
        rate = self.limit_kw_per_min(kind)
        if rate == 0 or target_kw <= previous_kw:
            return target_kw
        window_s = self.apply_interval_s if elapsed_s is None else elapsed_s
        window_s = max(0.0, min(window_s, self.apply_interval_s))
        step = previous_kw + rate * window_s / 60.0
        if min_running_kw > 0 and previous_kw < min_running_kw <= target_kw:
            step = max(step, min_running_kw)
        return target_kw if step >= target_kw - 1e-9 else step

    def time_to_reach_s(self, kind: DeviceKind, delta_kw: float) -> float:
        """Longest time a rise of ``delta_kw`` [kW] takes to be delivered with the apply job
        running every interval [s]: the ramp's duration rounded up to whole intervals, plus one
        interval for the first tick to come round (a start at a minimum running power only
        shortens it)."""
        rate = self.limit_kw_per_min(kind)
        if rate == 0 or delta_kw <= 0:
            return self.apply_interval_s
        per_step = rate * self.apply_interval_s / 60.0
        steps = math.ceil(delta_kw / per_step - 1e-9)
        return (steps + 1) * self.apply_interval_s


@dataclass(frozen=True, slots=True, kw_only=True)
class DispatchRules:
    """Safeguard settings: the EV randomised delay's upper bound [s]."""

    max_delay_s: int = 600


def slot_row(schedule: pd.DataFrame, now: datetime) -> pd.Series:
    """The plan's row for the slot holding ``now`` (the first or last row outside the plan)."""
    pos = int(schedule.index.searchsorted(pd.Timestamp(now), side="right")) - 1
    return schedule.iloc[max(0, min(pos, len(schedule) - 1))]


def planned_powers(schedule: pd.DataFrame, home: HomeSpec, now: datetime) -> dict[str, float]:
    """Each device's planned power in the slot holding ``now`` [kW], signed as in the driver
    interface (PV as negative generation): its ``<name>.setpoint_kw`` where the plan has one
    (an EV: the power while the car is plugged in), else ``<name>.power_kw`` (the slot's
    average). Devices absent from the plan get 0 (e.g. an unplugged EV)."""
    if schedule.empty:
        return {}
    row = slot_row(schedule, now)
    out: dict[str, float] = {}
    for d in home.devices:
        # a device that runs for part of the slot (a car that arrives or leaves in it) is told
        # its power while it runs, so that the slot gets the energy the plan counts
        column = f"{d.name}.setpoint_kw"
        if column not in row.index:
            column = f"{d.name}.power_kw"
        value = float(row[column]) if column in row.index else 0.0
        if d.kind is DeviceKind.PV:
            # A PV setpoint is a generation cap (negative); 0 = no cap, unless curtailed.
            curtailed = float(row.get(f"{d.name}.curtailed_kw", 0.0))
            value = -value if curtailed > 0.01 else 0.0
        out[d.name] = value
    return out


SITE_FLOW_TOL_KW = 0.01
"""Below this a planned grid import or export counts as none [kW]."""


def site_following_batteries(
    schedule: pd.DataFrame, home: HomeSpec, now: datetime
) -> frozenset[str]:
    """Batteries whose setpoint in the slot holding ``now`` is sent to follow the site
    (:class:`~kernel.devices.Setpoint`'s ``follow_site``): a planned discharge in a
    slot that plans no export (the battery is there to cover the home's load), and a planned
    charge, or no planned power, in a slot that plans no import (the PV covers the home; the
    battery stores the surplus, or is not needed).

    Holding such a power regardless of the actual load exports energy the plan meant to keep
    (when the load is below its forecast) or imports it (when the PV surplus is), which the
    real-data backtest measured as most of the gap to the perfect-foresight bound. A planned
    charge from the PV also covers a deficit the plan did not foresee (a cloud, a kettle),
    and an idle battery where the PV covers the home covers one, rather than the grid at the
    slot's price: over the reference home's year the planner's bill fell 241.52 -> 236.60
    GBP and the bound's 226.21 -> 223.85 (docs/performance.md, ninth run). An idle battery does not
    store a surplus the plan chose to export: the plan may keep room for cheaper energy
    later (midday Agile below the export price; storing it cost the bound 6.4 GBP a year). A
    battery charging from the grid or exporting on purpose keeps a fixed power; one held idle
    while the home imports (its energy kept for dearer slots) is not in this set but follows
    the site to store a surplus only (:func:`surplus_storing_batteries`)."""
    tol = SITE_FLOW_TOL_KW
    return frozenset(
        name
        for name, planned, imports, exports in _planned_battery_flows(schedule, home, now)
        if (planned < -tol and exports <= tol) or (planned >= -tol and imports <= tol)
    )


def surplus_storing_batteries(
    schedule: pd.DataFrame, home: HomeSpec, now: datetime
) -> frozenset[str]:
    """Batteries that, in the slot holding ``now``, follow the site and store a net surplus
    the plan did not foresee (:class:`~kernel.devices.Setpoint`'s ``store_surplus``):
    a planned discharge for the home's load (no planned export), and a battery held idle
    while the home imports (its energy kept for dearer slots; sent no power, following the
    site, so it stores a surplus and covers nothing).

    Either way the plan expected the home to import, so a surplus is PV it did not foresee,
    and the grid pays only the export price for it. A battery idle while the PV covers the
    home does not store one: the plan may keep room for cheaper energy later."""
    tol = SITE_FLOW_TOL_KW
    return frozenset(
        name
        for name, planned, imports, exports in _planned_battery_flows(schedule, home, now)
        if (planned < -tol and exports <= tol)  # discharging for the home's load
        or (abs(planned) <= tol and imports > tol)  # held while the home imports
    )


def _planned_battery_flows(
    schedule: pd.DataFrame, home: HomeSpec, now: datetime
) -> Iterator[tuple[str, float, float, float]]:
    """Each battery's name, planned power, and the planned grid import and export [kW] in the
    slot holding ``now`` (nothing for an empty schedule)."""
    if schedule.empty:
        return
    row = slot_row(schedule, now)
    imports = float(row.get("grid_import_kw", 0.0))
    exports = float(row.get("grid_export_kw", 0.0))
    for d in home.devices:
        if d.kind is DeviceKind.BATTERY:
            column = f"{d.name}.power_kw"
            planned = float(row[column]) if column in row.index else 0.0
            yield d.name, planned, imports, exports


def setpoint_for(
    name: str, power_kw: float, following: frozenset[str], storing: frozenset[str]
) -> Setpoint:
    """What device ``name`` is sent for ``power_kw`` [kW]: a battery in ``following``
    (:func:`site_following_batteries`) or ``storing`` (:func:`surplus_storing_batteries`)
    follows the site, one in ``storing`` also stores a surplus; any other device holds it."""
    return Setpoint(
        power_kw=power_kw,
        follow_site=name in following or name in storing,
        store_surplus=name in storing,
    )


def with_following_caps(
    planned_kw: Mapping[str, float], following: frozenset[str], home: HomeSpec
) -> dict[str, float]:
    """``planned_kw`` with each site-following battery's setpoint raised to its full power in
    the planned direction (a discharge for an idle one): the cap within which it follows the
    site.

    Capped at the planned power, a battery covering the evening load left every kW the load
    came above its forecast to the grid at the peak price, though the plan had set energy
    aside for that slot. At full power it runs as an inverter's self-consumption mode does
    while the plan has it discharge for the home's load (or store the PV surplus), and the
    next re-plan (every slot) sets the rest of the day's discharge against what is left.
    Measured on the real-data backtest of the reference home (planner, re-planning every
    slot): 6-13 January 2020 bill 14.00 -> 12.87 GBP, 1-8 June -0.10 -> -0.21 GBP
    (docs/backtest.md)."""
    out = dict(planned_kw)
    for d in home.devices:
        if d.kind is not DeviceKind.BATTERY or d.name not in following:
            continue
        kw = out.get(d.name, 0.0)
        if kw > SITE_FLOW_TOL_KW:
            out[d.name] = float(d.max_charge_kw)
        else:  # a discharge, or idle while the PV covers the home: covers a deficit only
            out[d.name] = -float(d.max_discharge_kw)
    return out


def decide(
    *,
    home: HomeSpec,
    planned_kw: Mapping[str, float],
    last_kw: Mapping[str, float],
    boosted: frozenset[str],
    paused: frozenset[str],
    dsr_active: bool,
    now: datetime,
    rules: DispatchRules,
    rng: random.Random,
    no_car: frozenset[str] = frozenset(),
) -> list[Decision]:
    """Setpoints that differ from what each device was last told (``last_kw``). An EV
    charger in ``no_car`` (no car plugged in) is sent no charging power, whatever the plan
    expected of the car or a boost asks; only a 0 that cancels a rate it was told while its
    car was here (else the charger would start at it when a car comes)."""
    decisions: list[Decision] = []
    for d in home.devices:
        target = planned_kw.get(d.name, 0.0)
        reason = "plan"
        if d.name in no_car:
            target, reason = 0.0, "no car"
        elif d.name in paused:
            target, reason = 0.0, "override:pause"
        elif isinstance(d, EvChargerSpec) and d.name in boosted:
            target, reason = d.max_charge_kw, "override:boost"
        target = round(target, 3)
        previous = last_kw.get(d.name)
        if previous is not None and abs(previous - target) < 0.05:
            continue
        if previous is None and d.name in no_car:
            continue
        delay_s = 0.0
        starts_or_changes = target > 0 and previous != target
        if (
            isinstance(d, EvChargerSpec)
            and starts_or_changes
            and reason == "plan"
            and not dsr_active
        ):
            delay_s = rng.uniform(0, rules.max_delay_s)
        decisions.append(
            Decision(
                device=d.name,
                power_kw=target,
                reason=reason if delay_s == 0 else f"{reason}+delay {delay_s:.0f}s",
                effective_at=now + timedelta(seconds=delay_s),
            )
        )
    return decisions
