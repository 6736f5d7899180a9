"""The import guard (:mod:`hems.import_guard`) in the service: each apply tick a home with a
site meter (a real one, :mod:`hems.measured_load`, or the demo's simulated one) has its meter
read and, when the import nears the home's limit or a device is held down, the guard's changes
stored as setpoints (reason :data:`~hems.import_guard.TURN_DOWN_REASON` or
:data:`~hems.import_guard.RESTORE_REASON`, seen by the consumer in the home's history) and
audited; the apply pass that follows sends them (a turn-down at once, a restore ramped).

What a device was last sent is what the guard turns down from; what the plan (or an override)
wants of it is its last decision, kept as it was when the guard capped it
(``HomeController.guard_wanted``), so a restore gives back the plan's power, not the cap.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from hems.dispatch import OverridesInForce, setpoint_for
from hems.domain.home import HomeSpec
from hems.import_guard import TURN_DOWN_REASON, GuardChange
from hems.kept_home import recent_home
from kernel.devices import Setpoint

if TYPE_CHECKING:
    from hems.controller import HomeController

log = logging.getLogger(__name__)

SiteMeterRead = Callable[[], Awaitable[float | None]]
"""Reads a home's site meter now: its net power [kW, import positive], or None unread."""


async def guard_tick(ctl: HomeController, home: HomeSpec | None) -> bool:
    """Read the home's meter and store the guard's changes (nothing without a meter, or while
    the import is clear of the limit and nothing is held down: no store read then, the home's
    record as last read, :func:`hems.kept_home.recent_home`). True when it may have stored
    a change."""
    if ctl.site_meter is None:
        return False
    try:
        site_kw = await ctl.site_meter()
    except Exception:  # a meter that fails leaves the home as it is: the next tick reads again
        log.exception("home %s: the site meter was not read for the import guard", ctl.home_id)
        return False
    if site_kw is None:
        return False
    home = home or await recent_home(ctl)
    if not ctl.guard.caps and site_kw <= home.import_limit_kw + ctl.guard.margins.trip_above_kw:
        return False
    await asyncio.to_thread(_store_changes, ctl, home, ctl.clock.now(), site_kw)
    return True


def with_wanted(ctl: HomeController, last: dict[str, Setpoint]) -> dict[str, Setpoint]:
    """Each device's last decision, the power the plan wants for one the guard holds down (its
    decision stored is the cap): the plan's next decision is compared with that."""
    return {
        name: replace(sp, power_kw=ctl.guard_wanted[name])
        if name in ctl.guard.caps and name in ctl.guard_wanted
        else sp
        for name, sp in last.items()
    }


def _store_changes(ctl: HomeController, home: HomeSpec, now: datetime, site_kw: float) -> None:
    store, home_id = ctl.store, ctl.home_id
    commanded, wanted = {}, {}
    for d in home.devices:
        sent = store.last_applied_setpoint(home_id, d.name)
        commanded[d.name] = 0.0 if sent is None else sent.power_kw
        decided = store.last_decided_setpoint(home_id, d.name)
        wanted[d.name] = 0.0 if decided is None else decided.setpoint.power_kw
    wanted.update({n: kw for n, kw in ctl.guard_wanted.items() if n in ctl.guard.caps})
    ctl.guard_wanted = wanted
    overrides = OverridesInForce.of(home, store.active_overrides(home_id, now))
    changes = ctl.guard.update(
        home,
        now,
        site_kw,
        commanded,
        wanted,
        boosted=overrides.boosted,
        following=ctl.follow_site | ctl.store_surplus,
    )
    plan_id = store.latest_plan_id(home_id)
    for change in changes:
        _store_change(ctl, change, plan_id, now)
    if changes:
        store.record_audit(
            home_id,
            now,
            "cem",
            "import_limit.turn_down"
            if changes[0].reason == TURN_DOWN_REASON
            else "import_limit.restore",
            {
                "site_kw": round(site_kw, 3),
                "limit_kw": home.import_limit_kw,
                "devices": {c.device: c.power_kw for c in changes},
                "reason": changes[0].reason,
            },
        )
        log.info(
            "home %s: import %.2f kW against %.1f kW: %s",
            home_id,
            site_kw,
            home.import_limit_kw,
            ", ".join(f"{c.device} -> {c.power_kw} kW ({c.reason})" for c in changes),
        )


def _store_change(
    ctl: HomeController, change: GuardChange, plan_id: int | None, now: datetime
) -> None:
    setpoint = setpoint_for(change.device, change.power_kw, ctl.follow_site, ctl.store_surplus)
    ctl.store.add_setpoint(
        ctl.home_id,
        change.device,
        setpoint.power_kw,
        change.reason,
        plan_id,
        now,
        now,
        follow_site=setpoint.follow_site,
        store_surplus=setpoint.store_surplus,
    )
