"""A plan's flexible loads read back from its dispatch, as the model declared them.

Each asset block declares its shiftable power with ``ModelContext.add_flexible_load`` (a
battery's and an EV's charging, a heat pump's space heating), and extensions such as the
service's peak hours (:class:`optimiser.extensions.SlotPenalty`) put costs on those columns.
The planner checks every plan's objective against its dispatch's replayed cost
(``optimiser.planner``); to include an extension's terms the replay needs the same powers, in
the same units [kW], from the dispatch: this module is that one mapping, so the two cannot part
(``tests/optimiser/test_flexible_power.py`` compares it with the model's columns).
"""

from __future__ import annotations

from optimiser.checks import FloatArray
from optimiser.components.battery import BatteryDispatch
from optimiser.components.ev_spec import EvDispatch
from optimiser.components.heat_pump import HeatPumpDispatch
from optimiser.plan import Dispatch


def flexible_power_kw(dispatch: Dispatch, asset_name: str) -> FloatArray | None:
    """The power [kW] per slot that ``asset_name``'s block declared as its flexible load, read
    from ``dispatch``; None for an asset that declares none (PV, an appliance) or is absent."""
    for by_name in dispatch.by_kind.values():
        decided = by_name.get(asset_name)
        if isinstance(decided, BatteryDispatch | EvDispatch):
            return decided.charge_kw
        if isinstance(decided, HeatPumpDispatch):
            return decided.space_kw
    return None
