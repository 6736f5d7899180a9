"""The asset kinds the optimiser knows, in the order their blocks are built and their columns
appear in a plan. A new kind is its component module (ending in its
:class:`~optimiser.asset_kind.AssetKind`) and one line here, plus its field on
:class:`~optimiser.problem.Problem`."""

from __future__ import annotations

from typing import Any

from optimiser.asset_kind import AssetKind
from optimiser.components.appliance import APPLIANCES
from optimiser.components.battery import BATTERIES
from optimiser.components.ev import EVS
from optimiser.components.heat_pump import HEAT_PUMPS
from optimiser.components.pv import PV_ARRAYS

ASSET_KINDS: tuple[AssetKind[Any, Any], ...] = (
    PV_ARRAYS,
    BATTERIES,
    EVS,
    HEAT_PUMPS,
    APPLIANCES,
)
"""Every asset kind. The order is the build order (and so the solver's column order) and the
plan's column order: changing it may move an optimum within the solver's gap."""
