"""The home energy optimiser: a :class:`Problem` in, a :class:`Plan` out (Pyomo + HiGHS).

Quick start::

    from optimiser import Problem, TimeGrid, Battery, optimise
    plan = optimise(Problem(grid=TimeGrid(...), import_price_gbp_per_kwh=[...], batteries=(...)))
    plan.schedule        # per-slot DataFrame (UTC index)
    plan.totals          # cost, carbon, shortfalls
    plan.violations      # wishes not met, with reasons
    plan.solver.status   # optimal / time_limit / fallback

This package knows nothing of storage, HTTP or devices: it imports only numpy, pandas, Pyomo,
highspy and ``kernel`` (the time grid and the errors it shares with the other packages).
Sign convention: positive power flows into the home's devices or from the grid.
"""

from kernel.dsr import DsrKind
from kernel.errors import ProblemError
from kernel.timegrid import TimeGrid
from optimiser.components.appliance import DeferrableAppliance
from optimiser.components.battery import Battery
from optimiser.components.cop import CopCurve, HplibCop
from optimiser.components.ev_dispatch_lag import EvDispatchLag
from optimiser.components.ev_spec import ElectricVehicle, PlugInSession
from optimiser.components.heat_pump import Building, HeatPump, HotWaterTank
from optimiser.components.pv import PvArray
from optimiser.context import ModelContext, ModelExtension
from optimiser.dsr import DsrRequest
from optimiser.extensions import FlexibilityProfile, SlotPenalty, Timing
from optimiser.fallback import rule_based_plan
from optimiser.highs_backend import SolverOptions
from optimiser.import_rewards import ImportReward
from optimiser.mode_memory import ModeMemory
from optimiser.model import build_model
from optimiser.model_cache import (
    CacheStats,
    ModelCache,
    process_cache_stats,
    process_model_cache,
)
from optimiser.plan import Plan, PlanStatus, SolverReport, Totals
from optimiser.planner import optimise
from optimiser.problem import Penalties, Problem, carbon_weight_from_preference
from optimiser.process import collection_deferred, prepare_planner_process
from optimiser.results import Violation, Wish
from optimiser.termination import SolveStatus

__all__ = [
    "Battery",
    "Building",
    "CacheStats",
    "CopCurve",
    "DeferrableAppliance",
    "DsrKind",
    "DsrRequest",
    "ElectricVehicle",
    "EvDispatchLag",
    "FlexibilityProfile",
    "HeatPump",
    "HotWaterTank",
    "HplibCop",
    "ImportReward",
    "ModeMemory",
    "ModelCache",
    "ModelContext",
    "ModelExtension",
    "Penalties",
    "Plan",
    "PlanStatus",
    "PlugInSession",
    "Problem",
    "ProblemError",
    "PvArray",
    "SlotPenalty",
    "SolveStatus",
    "SolverOptions",
    "SolverReport",
    "TimeGrid",
    "Timing",
    "Totals",
    "Violation",
    "Wish",
    "build_model",
    "carbon_weight_from_preference",
    "collection_deferred",
    "optimise",
    "prepare_planner_process",
    "process_cache_stats",
    "process_model_cache",
    "rule_based_plan",
]
