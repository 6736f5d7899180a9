"""The home's own meter: its readings kept as the home's telemetry, and the base-load forecast
learnt from the measured load once there is enough of it.

Each telemetry tick (:func:`record_site_meters`) the configured meter's net power is stored
under :data:`SITE_METER` (positive importing), and, when every device of the home answered its
last read, the base load under :data:`BASE_LOAD`: the meter's power net of the devices the CEM
plans (grid = base load + sum of device powers, in the drivers' sign convention, so PV's
negative generation is added back). :class:`MeteredMarket` then plans a home on its own load:
with at least :data:`MIN_HISTORY_HOURS` of measured base load, ``base_load_kw`` is
:func:`forecasts.base_load.expected_base_load_quantiles`' expected value of that history,
instead of the market source's profile (a typical home's in the live market), with its P90
(:data:`hems.market.BASE_LOAD_P90`, for ``Settings.planner_load_spread_cover``).

Both names are outside the device names' alphabet (:class:`hems.domain.devices.PvSpec`'s
``name`` pattern), so they never collide with a device's telemetry.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd

from adapters.devices.sunspec import MeterReading
from forecasts.base_load import expected_base_load_quantiles
from hems.domain.home import HomeSpec
from hems.market import BASE_LOAD_P90, MarketSource
from hems.storage.store import Store
from hems.storage.tables import TelemetryRow
from kernel.devices import DeviceUnavailableError
from optimiser import TimeGrid

if TYPE_CHECKING:
    from hems.device_runtime import DeviceRuntime
    from hems.service import CemService

log = logging.getLogger(__name__)

SITE_METER = "(site meter)"
BASE_LOAD = "(base load)"
ACCOUNT_IMPORT = "(octopus import)"
"""The home's half-hourly import from its Octopus account, one reading at each half-hour's
start with the half-hour's mean power [kW] (:mod:`hems.account_refresh`)."""
MIN_HISTORY_HOURS = 24
"""Measured base load needed before the forecast uses it instead of the profile [h] (the
forecast scales a domestic profile to the home's mean up to 3 days, then uses its own days)."""
HISTORY_DAYS = 30
SLOT_MINUTES = 30


def base_load_kw(grid_kw: float, device_kw: dict[str, float] | None) -> float | None:
    """The home's load net of its devices [kW], or None when a device's power is unknown."""
    if device_kw is None:
        return None
    return grid_kw - sum(device_kw.values())


def _device_powers(service: CemService, home_id: int) -> dict[str, float] | None:
    """Each of the home's devices' last power, or None when one is offline, not read yet or
    has no driver (its power is behind the meter but unknown)."""
    ctl = service.controllers.get(home_id)
    if ctl is None:
        return None
    out = {}
    for name in (d.name for d in service.store.home(home_id).devices):
        health, state = ctl.health.get(name), ctl.states.get(name)
        if health is None or not health.online or state is None:
            return None
        out[name] = state.power_kw
    return out


async def record_site_meters(service: CemService, devices: DeviceRuntime) -> None:
    """Read every configured site meter and store its power (and the base load it gives) as the
    home's telemetry; a meter that does not answer is stored offline and logged, never
    raised."""
    now = service.clock.now()
    for home_id, meter in devices.meters().items():
        try:
            reading = await asyncio.wait_for(
                meter.read_meter(), timeout=service.settings.device_timeout_s
            )
        except (DeviceUnavailableError, TimeoutError) as exc:
            log.warning("home %s: site meter not read: %s", home_id, exc or "timeout")
            devices.site_kw.pop(home_id, None)
            reading = None
        try:
            rows = await asyncio.to_thread(_meter_rows, service, home_id, now, reading)
            await asyncio.to_thread(service.store.add_telemetry, home_id, rows)
        except Exception:  # the home deleted meanwhile: its next tick has no meter
            log.exception("home %s: the site meter's reading was not stored", home_id)
            continue
        if reading is not None:
            devices.site_kw[home_id] = reading.grid_kw


async def read_site_kw(devices: DeviceRuntime, home_id: int, timeout_s: float) -> float | None:
    """The home's site meter read now [kW, import positive] for the import guard
    (:mod:`hems.site_guard`), kept as its last good reading too; None when it does not
    answer (the guard then waits for the next tick)."""
    meter = devices.meter_for(home_id)
    if meter is None:
        return None
    try:
        reading = await asyncio.wait_for(meter.read_meter(), timeout=timeout_s)
    except (DeviceUnavailableError, TimeoutError):
        return None
    devices.site_kw[home_id] = reading.grid_kw
    return reading.grid_kw


def _meter_rows(
    service: CemService, home_id: int, now: datetime, reading: MeterReading | None
) -> list[TelemetryRow]:
    """The meter's row (offline without a reading) and, when it can be told, the base load's."""
    if reading is None:
        return [TelemetryRow(device_name=SITE_METER, at=now, online=False)]
    rows = [TelemetryRow(device_name=SITE_METER, at=now, online=True, power_kw=reading.grid_kw)]
    base = base_load_kw(reading.grid_kw, _device_powers(service, home_id))
    if base is not None:
        rows.append(TelemetryRow(device_name=BASE_LOAD, at=now, online=True, power_kw=base))
    return rows


def measured_history_kwh(store: Store, home_id: int, now: datetime) -> pd.Series | None:
    """The measured base load as energy per 30-minute slot [kWh] (the slots' mean power x
    0.5 h), or None with less than :data:`MIN_HISTORY_HOURS` of it (read whole; the market
    keeps a :class:`MeasuredHistory` that reads only what is new)."""
    return MeasuredHistory(store).kwh(home_id, now)


@dataclass
class _Slots:
    """A home's measured base load so far: per slot, the sum and count of its readings, and
    the time of the last reading read."""

    until: datetime
    sums: pd.Series
    counts: pd.Series


class MeasuredHistory:
    """Each home's measured base load per slot, kept between plans: a plan reads only the
    readings since the last. A month of minute readings on SQLite took ~230-310 ms to read
    whole at every plan; kept, the market's series took ~30 ms (shared 2-core machine).

    The half-hours the meter did not cover are filled from the consumer's Octopus account
    (:data:`ACCOUNT_IMPORT`, :mod:`hems.account_refresh`) where it gave them: the smart
    meter's import for the whole home, devices included, so the measured base load wins
    wherever there is some."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._slots: dict[tuple[int, str], _Slots] = {}

    def kwh(self, home_id: int, now: datetime) -> pd.Series | None:
        """As :func:`measured_history_kwh`."""
        measured = self._mean_kw(home_id, BASE_LOAD, now)
        account = self._mean_kw(home_id, ACCOUNT_IMPORT, now)
        if account is not None and measured is None:
            measured = account
        elif account is not None and measured is not None:
            filled = account.drop(measured.index, errors="ignore")
            measured = pd.concat([measured, filled]).sort_index()
        if measured is None or len(measured) * SLOT_MINUTES < MIN_HISTORY_HOURS * 60:
            return None
        return measured.clip(lower=0.0) * (SLOT_MINUTES / 60)

    def _mean_kw(self, home_id: int, name: str, now: datetime) -> pd.Series | None:
        """The mean power [kW] of ``name``'s readings per slot of the last
        :data:`HISTORY_DAYS`, slots without readings left out (None: no reading)."""
        start = now - timedelta(days=HISTORY_DAYS)
        kept = self._slots.get((home_id, name))
        since = start if kept is None or kept.until < start else kept.until
        rows = [r for r in self.store.telemetry_powers(home_id, name, since) if r[0] > since]
        if rows:
            samples = pd.Series(
                [kw for _, kw in rows],
                index=pd.DatetimeIndex([at for at, _ in rows]).tz_convert("UTC"),
            )
            slots = samples.resample(f"{SLOT_MINUTES}min")
            sums, counts = slots.sum(), slots.count()
            if kept is not None and kept.until >= start:
                sums = kept.sums.add(sums, fill_value=0.0)
                counts = kept.counts.add(counts, fill_value=0)
            kept = _Slots(rows[-1][0], sums, counts)
            self._slots[(home_id, name)] = kept
        if kept is None:
            return None
        recent = kept.counts.index >= pd.Timestamp(start).floor(f"{SLOT_MINUTES}min")
        counts = kept.counts[recent & (kept.counts > 0)]
        return kept.sums[counts.index] / counts


class MeteredMarket:
    """A :class:`~hems.market.MarketSource` whose base load is the home's own, learnt from its
    measured load where there is enough of it (else the wrapped source's)."""

    def __init__(
        self,
        inner: MarketSource,
        store: Store,
        now: Callable[[], datetime],
        applies: Callable[[int], bool] | None = None,
    ) -> None:
        self.inner = inner
        self.store = store
        self._now = now  # the service's clock's
        self._applies = applies  # which homes have a history to read (None: all)
        self._home_ids: dict[str, int] = {}
        self._history = MeasuredHistory(store)

    def series(self, grid: TimeGrid, home: HomeSpec) -> pd.DataFrame:
        out = self.inner.series(grid, home)
        home_id = self._home_id(home.cem_serial)
        if home_id is None or (self._applies is not None and not self._applies(home_id)):
            return out
        history = self._history.kwh(home_id, self._now())
        if history is not None:
            out = out.copy()
            load = expected_base_load_quantiles(history, grid, self._now())
            out["base_load_kw"] = load.p50.to_numpy()
            out[BASE_LOAD_P90] = load.p90.to_numpy()
        return out

    def _home_id(self, cem_serial: str) -> int | None:
        if cem_serial not in self._home_ids:  # every home's serial in two queries, not two each
            records = self.store.home_records(self.store.home_ids())
            self._home_ids = {str(r["cem_serial"]): h for h, r in records.items()}
        return self._home_ids.get(cem_serial)

    def __getattr__(self, name: str) -> Any:
        """The wrapped source's other parts (the live market's ``refresh``, ``sources``)."""
        return getattr(self.inner, name)
