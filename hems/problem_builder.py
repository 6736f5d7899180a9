"""Turn a home's description, the consumer's preferences, device states, market series,
overrides and accepted DSR requests into the optimiser's :class:`~optimiser.Problem`.

Decisions made here (documented in docs/service.md):

* An EV is planned while it is plugged in, or from when it is expected home
  (``PlanInputs.expected_arrivals``, learnt by :mod:`hems.ev_arrivals`) with the SoC it is
  expected to bring; its departure is the next one-off trip if set, else the next weekly
  departure (after the arrival); a car with no departure in the next 7 days is planned to the
  horizon's end with no target beyond its SoC. A car away with no expected arrival in the
  horizon is not planned.
* The battery keeps the consumer's reserve as its minimum SoC; energy left at the end is valued
  at the horizon's median import price times the round-trip efficiency, so the plan does not
  empty the battery just because the horizon ends.
* The Smart Charge Points default hours are a soft rule (:class:`PeakHoursRule`): charging in
  weekday 08:00-11:00 and 16:00-22:00 costs an extra 1 GBP/kWh, which outweighs any price but not
  a missed departure target (5 GBP/kWh), so the car charges at peak only when the target needs it.
* A paused device (consumer override) gets no flexible load in the paused slots
  (:class:`PauseRule`); dispatch holds it at zero as well.
* A device that reports a lower limit than the consumer entered (max power, capacity) is
  planned with the device's (:mod:`hems.device_capabilities`).
* With the dispatch's safeguards on, the plan counts the energy an EV's setpoint rise loses to
  them (:func:`ev_dispatch_lag`): half the randomised delay's bound in expectation, the whole
  bound for the departure target, and the EV ramp rate; a car charging now keeps its power in
  the first slot without a new delay.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from hems.device_capabilities import capped_home
from hems.domain.devices import BatterySpec, DeviceKind, EvChargerSpec, HeatPumpSpec, PvSpec
from hems.domain.home import HomeSpec
from hems.domain.preferences import WEEKDAYS, Preferences
from hems.ev_arrivals import ExpectedArrival
from hems.market import BASE_LOAD_P90
from hems.slot_setpoints import Safeguards
from hems.tariff_prices import tariff_prices
from kernel.devices import DeviceCapabilities, DeviceState
from optimiser import (
    Battery,
    Building,
    DsrRequest,
    ElectricVehicle,
    EvDispatchLag,
    HeatPump,
    HplibCop,
    ImportReward,
    ModelContext,
    ModelExtension,
    PlugInSession,
    Problem,
    PvArray,
    SlotPenalty,
    TimeGrid,
    carbon_weight_from_preference,
)

UK = ZoneInfo("Europe/London")
PEAK_PENALTY_GBP_PER_KWH = 1.0
"""Extra cost of EV charging in the default peak hours [GBP/kWh] (below the EV shortfall
penalty, above any tariff)."""
WEEKDAY_PEAKS_LOCAL = ((8, 11), (16, 22))
"""Smart Charge Points Regulations default peak hours on weekdays, local time [h, h)."""


@dataclass(frozen=True, slots=True)
class PeakHoursRule(SlotPenalty):
    """Charge the named EVs in weekday peak hours only when a wish needs it
    (``gbp_per_kwh``: :data:`PEAK_PENALTY_GBP_PER_KWH`). Its costs are numbers for a home's
    kept model (:class:`optimiser.extensions.SlotPenalty`): its slots move with the grid at
    every re-plan, the model stays (docs/optimiser.md)."""


@dataclass(frozen=True, slots=True)
class PauseRule:
    """Hold a device's flexible load at zero in the given slots."""

    asset: str
    slots: tuple[int, ...]

    def __call__(self, ctx: ModelContext) -> None:
        chosen = set(self.slots)
        for load in ctx.flexible_loads:
            if load.asset_name == self.asset:
                for t in load.slots:
                    if t in chosen:
                        load.power_kw[t].setub(0.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanInputs:
    """Everything one plan of one home needs.

    Attributes:
        home: the home's description.
        preferences: the consumer's preferences.
        states: the latest state of each device by name (a missing device = unknown state).
        market: per-slot prices, carbon, base load, weather (:data:`hems.market.COLUMNS`).
        grid: the planning grid (its first slot holds ``now``).
        now_utc: the planning moment.
        ev_boost: EV names with an active "boost now" override.
        paused_until: device name -> end of its pause (UTC).
        dsr_requests: accepted DSR requests.
        import_rewards: the consumer's DSR sessions on the grid (:mod:`hems.saving_sessions`).
        safeguards: the dispatch's safeguards the plan will run under (the EV's randomised
            delay and ramp, :func:`ev_dispatch_lag`); None: none (the backtest's
            perfect-foresight bound, which dispatches without them).
        capabilities: what each device reported it can do, by name: a limit it reports
            below the consumer's caps the spec (:func:`hems.device_capabilities.capped_spec`).
        expected_arrivals: EV name -> when its car, away now, is expected home and with what
            SoC (the service's; none: a car away is not planned, as in the backtest).
        load_spread_cover: plan on the expected base load plus this share of its spread up
            to the P90 where ``market`` has the P90 column (:data:`hems.market.BASE_LOAD_P90`;
            ``optimiser.Problem.load_spread_cover``); 0: the expected load.
    """

    home: HomeSpec
    preferences: Preferences
    states: Mapping[str, DeviceState]
    market: pd.DataFrame
    grid: TimeGrid
    now_utc: datetime
    ev_boost: frozenset[str] = frozenset()
    paused_until: Mapping[str, datetime] | None = None
    dsr_requests: Sequence[DsrRequest] = ()
    safeguards: Safeguards | None = None
    capabilities: Mapping[str, DeviceCapabilities] | None = None
    import_rewards: Sequence[ImportReward] = ()
    expected_arrivals: Mapping[str, ExpectedArrival] = field(default_factory=dict)
    load_spread_cover: float = 0.0


def ev_dispatch_lag(safeguards: Safeguards | None) -> EvDispatchLag:
    """How a rise of an EV's setpoint reaches the car under ``safeguards``: after the
    randomised delay's expected wait, half its bound (uniform in [0, bound]), then at the EV
    ramp rate; the departure target is planned against the bound (a kWh short costs more
    than a kWh of margin, which the next plan, made every slot, takes back)."""
    if safeguards is None:
        return EvDispatchLag()
    return EvDispatchLag(
        rise_delay_s=safeguards.rules.max_delay_s / 2,
        ramp_kw_per_min=safeguards.ramps.limit_kw_per_min(DeviceKind.EV_CHARGER),
        longest_delay_s=safeguards.rules.max_delay_s,
    )


def build_problem(inputs: PlanInputs) -> tuple[Problem, list[ModelExtension]]:
    """The optimiser problem and the extensions (peak-hours and pause rules) for one plan; the
    devices as they report themselves where that is less than the consumer entered."""
    home = capped_home(inputs.home, inputs.capabilities or {})
    prefs, grid, m = inputs.preferences, inputs.grid, inputs.market
    imp, exp = tariff_prices(
        home.tariff,
        grid,
        m["import_price_gbp_per_kwh"].to_numpy(),
        m["export_price_gbp_per_kwh"].to_numpy(),
    )
    outdoor = m["outdoor_temperature_c"].to_numpy()
    pv = tuple(
        PvArray(name=d.name, forecast_kw=_pv_forecast(d, m))
        for d in home.devices
        if isinstance(d, PvSpec)
    )
    batteries = tuple(
        _battery(d, inputs.states.get(d.name), prefs, float(np.median(imp)))
        for d in home.devices
        if isinstance(d, BatterySpec)
    )
    evs = tuple(
        ev
        for d in home.devices
        if isinstance(d, EvChargerSpec)
        and (ev := _ev(d, inputs.states.get(d.name), prefs, inputs)) is not None
    )
    heat_pumps = tuple(
        _heat_pump(d, inputs.states.get(d.name), prefs, grid)
        for d in home.devices
        if isinstance(d, HeatPumpSpec)
    )
    problem = Problem(
        grid=grid,
        import_price_gbp_per_kwh=imp,
        export_price_gbp_per_kwh=exp,
        carbon_intensity_g_per_kwh=m["carbon_intensity_g_per_kwh"].to_numpy(),
        carbon_weight_gbp_per_kg=carbon_weight_from_preference(prefs.carbon_preference),
        base_load_kw=m["base_load_kw"].to_numpy(),
        outdoor_temperature_c=outdoor,
        import_limit_kw=home.import_limit_kw,
        export_limit_kw=home.export_limit_kw,
        pv=pv,
        batteries=batteries,
        evs=evs,
        heat_pumps=heat_pumps,
        dsr_requests=tuple(inputs.dsr_requests),
        import_rewards=tuple(inputs.import_rewards),
        # the battery and heat pump run from now in the current slot (as an EV arriving now)
        plan_start_utc=inputs.now_utc
        if grid.start_utc <= inputs.now_utc < grid.slot_start(1)
        else None,
        ev_dispatch_lag=ev_dispatch_lag(inputs.safeguards),
        **_load_spread(inputs),
    )
    extensions: list[ModelExtension] = []
    if evs and not prefs.ev_allow_peak_charging:
        extensions.append(
            PeakHoursRule(
                slots=peak_slots(grid),
                assets={e.name for e in evs},
                gbp_per_kwh=PEAK_PENALTY_GBP_PER_KWH,
            )
        )
    for name, until in (inputs.paused_until or {}).items():
        paused = tuple(t for t, s in enumerate(grid.index) if s.to_pydatetime() < until)
        if paused:
            extensions.append(PauseRule(asset=name, slots=paused))
    return problem, extensions


def _load_spread(inputs: PlanInputs) -> dict[str, Any]:
    """The problem's P90 load and the share of its spread to plan on, where the market gives
    the P90 and the cover is on (else nothing: the expected load)."""
    if inputs.load_spread_cover <= 0 or BASE_LOAD_P90 not in inputs.market.columns:
        return {}
    return {
        "base_load_p90_kw": inputs.market[BASE_LOAD_P90].to_numpy(),
        "load_spread_cover": inputs.load_spread_cover,
    }


def peak_slots(grid: TimeGrid) -> tuple[int, ...]:
    """Slots starting in the weekday default peak hours (local time)."""
    local = grid.local_index()
    return tuple(
        t
        for t, s in enumerate(local)
        if s.weekday() < 5 and any(a <= s.hour < b for a, b in WEEKDAY_PEAKS_LOCAL)
    )


def next_departure(prefs: Preferences, now_utc: datetime) -> tuple[datetime, float] | None:
    """The next departure after ``now_utc`` (UTC) and its target SoC, or None within 7 days."""
    if prefs.ev_next_trip is not None and prefs.ev_next_trip.leave_at > now_utc:
        return prefs.ev_next_trip.leave_at.astimezone(now_utc.tzinfo), prefs.ev_next_trip.target_soc
    local_now = now_utc.astimezone(UK)
    for days in range(8):
        day = (local_now + timedelta(days=days)).date()
        departure = prefs.ev_departures.get(WEEKDAYS[day.weekday()])
        if departure is None:
            continue
        leave = datetime.combine(day, departure.leave_at, tzinfo=UK)
        if leave > local_now:
            return leave.astimezone(now_utc.tzinfo), departure.target_soc
    return None


def _pv_forecast(d: PvSpec, m: pd.DataFrame) -> np.ndarray:
    kw = d.peak_kw * m["pv_kw_per_kwp"].to_numpy()
    return np.clip(kw, 0.0, d.inverter_limit_kw or None)


def _battery(
    d: BatterySpec, state: DeviceState | None, prefs: Preferences, median_price: float
) -> Battery:
    soc = state.soc if state is not None and state.soc is not None else d.min_soc
    # The true SoC, even below the reserve (just after the consumer raised it) or the device's
    # minimum: the plan recovers it and says so (optimiser.components.battery).
    soc = float(np.clip(soc, 0.0, 1.0))
    return Battery(
        name=d.name,
        capacity_kwh=d.capacity_kwh,
        initial_soc=soc,
        min_soc=max(d.min_soc, prefs.battery_reserve_soc),
        max_charge_kw=d.max_charge_kw,
        max_discharge_kw=d.max_discharge_kw,
        charge_efficiency=d.charge_efficiency,
        discharge_efficiency=d.discharge_efficiency,
        degradation_gbp_per_kwh=d.degradation_gbp_per_kwh,
        end_value_gbp_per_kwh=max(0.0, median_price * d.charge_efficiency * d.discharge_efficiency),
    )


def _ev(
    d: EvChargerSpec, state: DeviceState | None, prefs: Preferences, inputs: PlanInputs
) -> ElectricVehicle | None:
    grid = inputs.grid
    expected = inputs.expected_arrivals.get(d.name)
    if state is not None and state.plugged_in:
        soc = float(np.clip(state.soc if state.soc is not None else 0.0, 0.0, 1.0))
        # the car is here from now (a plan made mid-slot has the rest of the slot)
        arrival = max(grid.start_utc, inputs.now_utc)
    elif expected is not None and expected.at_utc < grid.end_utc:
        soc, arrival = float(np.clip(expected.soc, 0.0, 1.0)), expected.at_utc
    else:
        return None
    departure = next_departure(prefs, arrival)
    if departure is None:
        leave, target = grid.end_utc, soc
    else:
        leave, target = departure
    # a departure inside the first slot is kept: the slot's energy must fit in the minutes left
    leave = max(leave, arrival + timedelta(minutes=1))
    session = PlugInSession(
        arrival_utc=arrival,
        departure_utc=leave,
        arrival_soc=soc,
        target_soc=max(target, soc),
        charge_now=d.name in inputs.ev_boost,
    )
    return ElectricVehicle(
        name=d.name,
        battery_capacity_kwh=d.vehicle_capacity_kwh,
        min_charge_kw=d.min_charge_kw,
        max_charge_kw=d.max_charge_kw,
        charge_efficiency=d.charge_efficiency,
        sessions=(session,),
        # what it runs at now: a plan that keeps it in the first slot sets off no new delay
        charging_kw=max(0.0, state.power_kw) if state is not None and state.plugged_in else 0.0,
    )


def _heat_pump(
    d: HeatPumpSpec, state: DeviceState | None, prefs: Preferences, grid: TimeGrid
) -> HeatPump:
    indoor = state.temperature_c if state is not None and state.temperature_c is not None else 20.0
    comfort_min = [prefs.comfort_min_at(s.to_pydatetime()) for s in grid.local_index()]
    return HeatPump(
        name=d.name,
        max_power_kw=d.max_power_kw,
        min_power_kw=d.min_power_kw,
        modulating=d.modulating,
        min_run_minutes=d.min_run_minutes,
        min_off_minutes=d.min_off_minutes,
        cop=HplibCop(p1=d.hplib_p1, p2=d.hplib_p2, p3=d.hplib_p3, p4=d.hplib_p4),
        building=Building(
            heat_loss_kw_per_k=d.heat_loss_kw_per_k,
            thermal_capacity_kwh_per_k=d.thermal_capacity_kwh_per_k,
            initial_indoor_temperature_c=indoor,
            internal_gain_kw=d.internal_gain_kw,
        ),
        comfort_min_c=comfort_min,
        comfort_max_c=prefs.comfort_max_c,
    )
