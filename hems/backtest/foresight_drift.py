"""When the perfect-foresight bound's plan no longer holds: its building colder than planned.

The bound plans on the actuals, so its plan's indoor temperatures are what the simulated
building does when the dispatch sends exactly the planned powers (the plan and the simulation
share the 1R1C exact step). The dispatch does not: the heat pump's ramp limit (1 kW/min by
default) loses heat at every rise, and the dispatch keeps a setpoint within 0.05 kW of the last
one. The building's time constant (capacity / loss, 50 h for the reference home) keeps each
loss for days, and a plan that holds comfort at the band's edge, as a cost-optimal one does,
then runs below the band until its next plan: on 6-12 January 2020 the bound planned daily left
1.027 K·h of comfort deficit, 0.100 with the safeguards off, 0.110 re-planned hourly (168
plans) and 0.104 every slot (336), against the planner's 0.099. The planner with forecasts
re-plans every slot from the measured temperature, so its losses never outlast a slot. The
bound re-plans as soon as its building is colder than its plan said: 0.108 K·h, 36 plans.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from hems.domain.devices import HeatPumpSpec
from hems.domain.home import HomeSpec
from kernel.devices import DeviceState

DRIFT_TOLERANCE_K = 0.001
"""How far below its plan a building may be before the bound re-plans [K]: far above the
plan's own error (its prediction is exact to ~1e-9 K when the dispatch sends the planned
powers), far below a thermostat's resolution. On 6-12 January 2020: 36 plans, 0.108 K·h,
13.242 GBP; at 0.01 K 22 plans, 0.109 K·h, 13.280 GBP (a later re-plan recovers the lost heat
at dearer prices)."""


def building_colder_than_planned(
    home: HomeSpec,
    schedule: pd.DataFrame,
    states: dict[str, DeviceState],
    now_utc: datetime,
    slot: timedelta,
    tolerance_k: float = DRIFT_TOLERANCE_K,
) -> bool:
    """Whether a heat pump's building at ``now_utc`` (a slot start) is more than
    ``tolerance_k`` colder than ``schedule`` planned (its ``<name>.indoor_c`` at the end of the
    slot before ``now_utc``). A slot the plan does not hold (the plan's first, or past its end)
    is never a drift."""
    previous = pd.Timestamp(now_utc - slot)
    if previous not in schedule.index:
        return False
    for spec in home.devices:
        if not isinstance(spec, HeatPumpSpec):
            continue
        column = f"{spec.name}.indoor_c"
        state = states.get(spec.name)
        if column not in schedule.columns or state is None or state.temperature_c is None:
            continue
        planned_c = float(schedule[column].loc[previous])
        if state.temperature_c < planned_c - tolerance_k:
            return True
    return False
