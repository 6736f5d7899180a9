"""The naive home the CEM must beat: the EV charges at full power as soon as it is plugged in
(up to the departure target), a thermostat keeps the comfort minimum, the battery stays idle
and PV runs uncapped. Driven through the same simulated devices as the CEM."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np

from hems.simulation.devices import SimulatedEvCharger, SimulatedHeatPump
from hems.simulation.home import SimulatedHome
from kernel.devices import Setpoint
from optimiser.components.thermal import FirstOrderStep, heat_needed_kw

THERMOSTAT_MARGIN_K = 0.3
"""The thermostat aims this far above the comfort minimum [K]."""


async def run_naive(
    sim: SimulatedHome,
    until_utc: datetime,
    *,
    tick: timedelta,
    ev_target_soc: float,
    comfort_min_c: Callable[[datetime], float],
) -> None:
    """Drive ``sim`` with the naive rules until ``until_utc``, one decision per ``tick``."""
    while sim.now_utc < until_utc:
        await apply_naive(sim, tick=tick, ev_target_soc=ev_target_soc, comfort_min_c=comfort_min_c)
        sim.advance(min(until_utc, sim.now_utc + tick))


async def apply_naive(
    sim: SimulatedHome,
    *,
    tick: timedelta,
    ev_target_soc: float,
    comfort_min_c: Callable[[datetime], float],
) -> None:
    """Set the EV and heat pump by the naive rules for the next ``tick`` (no time passes)."""
    hours = tick.total_seconds() / 3600
    env = sim.environment(sim.now_utc)
    for device in sim.devices.values():
        if isinstance(device, SimulatedEvCharger):
            state = await device.read_state()
            # a charger with no car waits at full power: a car that comes before the next
            # decision charges from the minute it plugs in (the charger keeps its setpoint)
            want = (state.soc or 0.0) < ev_target_soc if state.plugged_in else ev_target_soc > 0
            await device.apply(Setpoint(power_kw=device.max_kw if want else 0.0))
        elif isinstance(device, SimulatedHeatPump):
            step = FirstOrderStep.of(
                device.heat_loss_kw_per_k, device.thermal_capacity_kwh_per_k, hours
            )
            goal = comfort_min_c(sim.now_utc + tick) + THERMOSTAT_MARGIN_K
            heat = heat_needed_kw(step, device.indoor_c, env.outdoor_temperature_c, goal)
            cop = float(device.cop.cop_at(np.array([env.outdoor_temperature_c]))[0])
            electric = (heat - device.internal_gain_kw) / cop
            await device.apply(Setpoint(power_kw=float(np.clip(electric, 0, device.max_power_kw))))
