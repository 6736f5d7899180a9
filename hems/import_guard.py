"""The site's import limit enforced on the metered import, as a charger's dynamic load
management does: the plan keeps the import under the home's limit on its *forecast* load, and
this guard keeps it under the limit on the *measured* one.

Each apply tick (every ``apply_interval_s``, 15 s) the controller (:mod:`hems.controller`) and
the backtest's dispatch (:mod:`hems.backtest.service_dispatch`) pass the site's metered power
to :meth:`ImportGuard.update`:

* **Turn-down.** When the import exceeds the limit (by more than ``trip_above_kw``, the
  dispatch's rounding: a plan may use the whole limit) the flexible loads are turned down
  until it is ``target_margin_kw`` below it, in this order: the EVs, the
  heat pumps, the batteries charging from the grid (a battery that follows the site never
  imports on its own and is left alone), then a car the consumer boosted. Each is turned
  down only as far as needed, to 0 below the least power it runs at (an EV charger's
  minimum, a heat pump's ``min_power_kw``, an on/off heat pump's full power: it stops). A
  lowering applies at once (no ramp), so the import is back under the limit at the next tick.
* **Restore, with hysteresis.** A device turned down is given back its power (the plan's, or
  the override's) only when the import *plus that power* stays ``restore_margin_kw`` below
  the limit, and not before ``hold_s`` after its turn-down; the last one turned down is
  restored first, one per tick, partly where the room allows (at least the least power it
  runs at).
  The rise is ramped like any other.
* **The consumer's override.** The limit is physical (the main fuse, the DNO's connection
  agreement): a blown fuse cuts the whole home, boost included. So the guard acts during an
  override too, but a boosted car is turned down last; a paused device is at 0 already.

Every change is a setpoint whose reason says why (:data:`TURN_DOWN_REASON`,
:data:`RESTORE_REASON`), which the consumer sees in the home's history. The guard keeps its
state (the caps) in memory: after a restart it finds the import again within a tick.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hems.domain.devices import DeviceKind, DeviceSpec, least_running_kw
from hems.domain.home import HomeSpec

TURN_DOWN_REASON = "import limit: load above forecast"
RESTORE_REASON = "import limit: cleared"


@dataclass(frozen=True, slots=True, kw_only=True)
class GuardMargins:
    """The guard's thresholds (documented choices: a charger's dynamic load management trips
    at the fuse's rating and leaves a margin before raising again; a fuse carries a short
    overload, so one apply tick above the limit is safe).

    Attributes:
        trip_above_kw: act when the import exceeds the limit by more than this [kW].
        target_margin_kw: turn down until the import is this far below the limit [kW].
        restore_margin_kw: restore only when the import with the device's power back stays
            this far below the limit [kW] (the hysteresis).
        hold_s: a device turned down stays so at least this long [s].
    """

    trip_above_kw: float = 0.01
    target_margin_kw: float = 0.3
    restore_margin_kw: float = 1.0
    hold_s: float = 60.0


@dataclass(frozen=True, slots=True, kw_only=True)
class GuardChange:
    """A setpoint the guard decides: ``power_kw`` for ``device`` now, and why."""

    device: str
    power_kw: float
    reason: str


@dataclass
class ImportGuard:
    """One home's guard: the caps it holds on its devices [kW] and since when (UTC)."""

    margins: GuardMargins = field(default_factory=GuardMargins)
    caps: dict[str, float] = field(default_factory=dict)
    since: dict[str, datetime] = field(default_factory=dict)

    def capped(self, device: str, power_kw: float) -> float:
        """``power_kw`` within the device's cap (a decision the plan makes while it holds)."""
        cap = self.caps.get(device)
        return power_kw if cap is None or power_kw <= cap else cap

    def update(
        self,
        home: HomeSpec,
        now: datetime,
        site_kw: float,
        commanded_kw: Mapping[str, float],
        wanted_kw: Mapping[str, float],
        *,
        boosted: frozenset[str] = frozenset(),
        following: frozenset[str] = frozenset(),
    ) -> list[GuardChange]:
        """The changes at ``now`` for a metered site power ``site_kw`` [kW, import positive].

        ``commanded_kw``: what each device was last sent [kW]; ``wanted_kw``: what the plan
        (or an override) wants of it now, the power a restore gives back; ``boosted``: cars
        the consumer boosted (turned down last); ``following``: batteries following the site
        (never turned down: they do not import on their own)."""
        for name in [n for n, cap in self.caps.items() if wanted_kw.get(n, 0.0) <= cap]:
            self._release(name)  # the plan wants no more than the cap now: nothing held
        limit = home.import_limit_kw
        if site_kw > limit + self.margins.trip_above_kw:
            excess = site_kw - (limit - self.margins.target_margin_kw)
            return self._turn_down(home, now, excess, commanded_kw, boosted, following)
        return self._restore(home, now, limit - self.margins.restore_margin_kw - site_kw, wanted_kw)

    def _turn_down(
        self,
        home: HomeSpec,
        now: datetime,
        excess_kw: float,
        commanded_kw: Mapping[str, float],
        boosted: frozenset[str],
        following: frozenset[str],
    ) -> list[GuardChange]:
        changes = []
        for spec in turn_down_order(home, boosted, following):
            if excess_kw <= 1e-9:
                break
            power = commanded_kw.get(spec.name, 0.0)
            if power <= 1e-9:
                continue
            new = max(0.0, power - excess_kw)
            if new < least_running_kw(spec):  # it cannot run lower: stopped
                new = 0.0
            new = round(new, 3)
            excess_kw -= power - new
            self.caps[spec.name], self.since[spec.name] = new, now
            changes.append(GuardChange(device=spec.name, power_kw=new, reason=TURN_DOWN_REASON))
        return changes

    def _restore(
        self, home: HomeSpec, now: datetime, room_kw: float, wanted_kw: Mapping[str, float]
    ) -> list[GuardChange]:
        """Give back power to the device turned down last, as far as ``room_kw`` allows."""
        hold = timedelta(seconds=self.margins.hold_s)
        specs = {d.name: d for d in home.devices}
        for name in reversed(list(self.caps)):  # the last turned down first
            if now - self.since[name] < hold:
                continue
            cap, wanted = self.caps[name], wanted_kw.get(name, 0.0)
            spec = specs.get(name)
            if spec is None:
                self._release(name)
                continue
            if wanted - cap <= room_kw:
                self._release(name)
                return [GuardChange(device=name, power_kw=wanted, reason=RESTORE_REASON)]
            new = cap + max(0.0, room_kw)
            if new < least_running_kw(spec):
                return []  # not room for its least running power yet
            if new - cap < 0.1:
                return []
            self.caps[name], self.since[name] = round(new, 3), now
            return [GuardChange(device=name, power_kw=round(new, 3), reason=RESTORE_REASON)]
        return []

    def _release(self, name: str) -> None:
        self.caps.pop(name, None)
        self.since.pop(name, None)


def turn_down_order(
    home: HomeSpec, boosted: frozenset[str], following: frozenset[str]
) -> list[DeviceSpec]:
    """The home's flexible loads in the order the guard turns them down: EVs (not boosted),
    heat pumps, batteries (not following the site), boosted EVs."""
    devices = home.devices
    evs = [d for d in devices if d.kind is DeviceKind.EV_CHARGER]
    return [
        *(d for d in evs if d.name not in boosted),
        *(d for d in devices if d.kind is DeviceKind.HEAT_PUMP),
        *(d for d in devices if d.kind is DeviceKind.BATTERY and d.name not in following),
        *(d for d in evs if d.name in boosted),
    ]
