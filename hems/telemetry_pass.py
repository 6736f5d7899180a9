"""The telemetry job's pass over every home the replica runs (``CemService.read_all``, every
minute): every home's record read at once, each home's devices read, their readings stored for
all homes in one transaction, then each home's checks (capabilities, drift) and the re-plans
they ask for.

One commit a home was, with the apply job, most of the service's CPU in the fleet benchmark
(docs/performance.md, "Fleet"). Should the one transaction fail (a home deleted meanwhile),
each home's readings are stored on their own, so one home never loses the others' telemetry."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from hems.controller import HomeController
from hems.domain.home import HomeSpec
from hems.kept_home import KeptHome
from hems.storage.store import Store
from hems.storage.tables import TelemetryRow
from kernel.devices import DeviceState

log = logging.getLogger(__name__)

Guarded = Callable[[Awaitable[None], int], Awaitable[None]]
"""Runs one home's work; a failure is logged and stops no other home (``CemService._guarded``)."""


async def read_homes(store: Store, ctls: Sequence[HomeController], guarded: Guarded) -> None:
    """Read every home's devices; store the readings; re-plan the homes where something
    changed (an EV plugged in or out, a device drifting off its setpoint, back online)."""
    checked = await read_and_check(store, ctls, guarded)

    async def replan_one(ctl: HomeController) -> None:
        if ctl.replan_reasons:
            home = checked[ctl.home_id]
            await ctl.replan(", ".join(ctl.replan_reasons), home)
            await ctl.dispatch(home)

    await asyncio.gather(*(guarded(replan_one(c), c.home_id) for c in ctls if c.home_id in checked))


async def read_and_check(
    store: Store, ctls: Sequence[HomeController], guarded: Guarded
) -> dict[int, HomeSpec]:
    """Read every home's devices, store the readings at once, run each home's checks (which
    may ask for a re-plan); each home's record by id, for the homes read and checked (one
    that failed is logged by ``guarded`` and left out). The slot's cycle reads this way too
    (``CemService.cycle_homes``), then plans."""
    read: dict[int, tuple[HomeSpec, list[TelemetryRow], datetime, dict[str, DeviceState]]] = {}

    versions = {c.home_id: store.version("home", c.home_id) for c in ctls}
    records = await asyncio.to_thread(store.home_records, [c.home_id for c in ctls])

    async def read_one(ctl: HomeController) -> None:
        record = records.get(ctl.home_id)  # once for the pass: its steps take it
        if record is None:
            home = await ctl.home()  # gone meanwhile: NotFoundError, as before
        else:  # a broken record fails this home alone, as its own read would
            home = HomeSpec.model_validate(record)
            ctl.kept_home = KeptHome(home, ctl.clock.now(), versions[ctl.home_id])
        now, before = ctl.clock.now(), dict(ctl.states)
        read[ctl.home_id] = (home, await ctl.read_devices(now), now, before)

    await asyncio.gather(*(guarded(read_one(c), c.home_id) for c in ctls))
    await _store(store, {home_id: got[1] for home_id, got in read.items()})
    applied = await asyncio.to_thread(store.last_applied_setpoints, list(read))
    checked: dict[int, HomeSpec] = {}

    async def check_one(ctl: HomeController) -> None:
        home, rows, now, before = read[ctl.home_id]
        await ctl.after_reading(rows, home, now, before, applied.get(ctl.home_id, {}))
        checked[ctl.home_id] = home

    await asyncio.gather(*(guarded(check_one(c), c.home_id) for c in ctls if c.home_id in read))
    return checked


async def _store(store: Store, rows_by_home: dict[int, list[TelemetryRow]]) -> None:
    try:
        await asyncio.to_thread(store.add_telemetry_of_homes, rows_by_home)
    except Exception:
        log.warning("telemetry of %d homes not stored at once; home by home", len(rows_by_home))
        for home_id, rows in rows_by_home.items():
            try:
                await asyncio.to_thread(store.add_telemetry, home_id, _fresh(rows))
            except Exception:
                log.exception("home %s: telemetry not stored", home_id)


def _fresh(rows: list[TelemetryRow]) -> list[TelemetryRow]:
    """The rows again, as new objects (those of the failed transaction are spent)."""
    return [
        TelemetryRow(
            device_name=r.device_name,
            at=r.at,
            online=r.online,
            power_kw=r.power_kw,
            soc=r.soc,
            temperature_c=r.temperature_c,
        )
        for r in rows
    ]
