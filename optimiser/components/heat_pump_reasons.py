"""A heat pump's comfort misses in words, each with its cause found from the plan.

Below the band: the heat pump at full power (too small for the cold), or something else
limiting heating (the import limit, a DSR request). Above it: the building replayed without
the heat pump (and without its free gains) says whether the plan's heating, the weather, a
warm start or the gains put the home there (:func:`why_too_warm`).
"""

from __future__ import annotations

import numpy as np

from kernel.timegrid import TimeGrid
from optimiser.checks import FloatArray
from optimiser.components.heat_pump_spec import HeatPump, HeatPumpInputs
from optimiser.components.thermal import simulate_first_order
from optimiser.results import AssetResult, Wish, runs, site_cause, slot_violation


def add_comfort_violations(
    hp: HeatPump,
    grid: TimeGrid,
    inp: HeatPumpInputs,
    outdoor_temperature_c: FloatArray,
    indoor: FloatArray,
    full: np.ndarray,
    result: AssetResult,
) -> None:
    """The comfort band's misses, each with its cause (``full``: slots at full power)."""
    dt = grid.step_hours
    lo, hi = np.asarray(hp.comfort_min_c), np.asarray(hp.comfort_max_c)
    below = np.clip(lo - indoor, 0.0, None)
    above = np.clip(indoor - hi, 0.0, None)
    for first, last in runs(below > 0.05):
        worst = int(first + np.argmax(below[first : last + 1]))
        reason = (
            f"the heat pump's {hp.max_power_kw:g} kW (COP {inp.cop[worst]:.1f} at "
            f"{outdoor_temperature_c[worst]:.0f} °C outside) cannot hold it"
            if full[first : last + 1].all() or full[max(0, first - 2) : first + 1].any()
            else site_cause(max(0, first - 2), last)
        )
        result.violations.append(
            slot_violation(
                wish=Wish.COMFORT,
                asset=hp.name,
                grid=grid,
                first=first,
                last=last,
                amount=float(dt * below[first : last + 1].sum()),
                unit="K·h",
                what=f"Indoor temperature falls to {indoor[first : last + 1].min():.1f} °C, "
                f"below the {lo[worst]:.1f} °C minimum",
                why=reason,
            )
        )
    for first, last in runs(above > 0.05):
        result.violations.append(
            slot_violation(
                wish=Wish.COMFORT,
                asset=hp.name,
                grid=grid,
                first=first,
                last=last,
                amount=float(dt * above[first : last + 1].sum()),
                unit="K·h",
                what=f"Indoor temperature rises to {indoor[first : last + 1].max():.1f} °C, "
                f"above the {hi[first]:.1f} °C maximum",
                why=why_too_warm(hp, inp, outdoor_temperature_c, indoor, (first, last)),
            )
        )


def why_too_warm(
    hp: HeatPump,
    inp: HeatPumpInputs,
    outdoor_temperature_c: FloatArray,
    indoor_c: FloatArray,
    run: tuple[int, int],
) -> str:
    """Why the home is above its comfort maximum over ``run`` (first, last slot): found by
    replaying the building without the heat pump (and then without its free gains too) and
    comparing, at the run's warmest slot, what each part adds above the maximum."""
    first, last = run
    hi = np.asarray(hp.comfort_max_c)
    worst = int(first + np.argmax(indoor_c[first : last + 1] - hi[first : last + 1]))
    step, start_c = inp.building_step, hp.building.initial_indoor_temperature_c
    step0 = inp.first_building_step
    unheated_c = simulate_first_order(step, start_c, outdoor_temperature_c, inp.gains_kw, step0)
    heating_k = float(indoor_c[worst] - unheated_c[worst])
    unheated_excess_k = float(unheated_c[worst] - hi[worst])
    if heating_k > max(unheated_excess_k, 0.0):
        if not hp.modulating:
            return (
                f"the heat pump runs only at its full {hp.max_power_kw:g} kW: a run overshoots, "
                "or the plan heats ahead of dearer hours"
            )
        return (
            "the plan heats ahead of dearer hours: storing heat in the building costs less "
            "than heating then"
        )
    if float(outdoor_temperature_c[worst]) >= hi[worst]:
        return f"it is {outdoor_temperature_c[worst]:.0f} °C outside and the heat pump cannot cool"
    no_gains_kw = np.zeros(len(indoor_c))
    ungained_c = simulate_first_order(step, start_c, outdoor_temperature_c, no_gains_kw, step0)
    if ungained_c[worst] > hi[worst] and start_c > hi[first]:
        return f"the home starts at {start_c:.1f} °C and cools slowly"
    return "free gains (sun, occupants) exceed the building's losses"
