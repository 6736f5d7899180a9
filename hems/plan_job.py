"""What a planner worker runs for a home's plan, wherever it runs (a process of this machine's
pool, a Dask worker, a thread): build the problem, plan it through the worker's kept models,
and the rule-based baseline the savings are measured against."""

from __future__ import annotations

from dataclasses import dataclass

from hems.plan_causes import with_cohort_causes, with_pause_causes
from hems.problem_builder import PlanInputs, build_problem
from optimiser import (
    ModelExtension,
    ModeMemory,
    Plan,
    Problem,
    SolverOptions,
    optimise,
    process_model_cache,
    rule_based_plan,
)
from optimiser.model_cache import DEFAULT_MAX_MODELS


@dataclass(frozen=True, slots=True)
class PlannedHome:
    """What a planner worker sends back: the problem it built, its extensions, the plan and
    the rule-based baseline the savings are measured against."""

    problem: Problem
    extensions: list[ModelExtension]
    plan: Plan
    baseline: Plan
    memory: ModeMemory


def plan_home(
    inputs: PlanInputs,
    options: SolverOptions,
    memory: ModeMemory | None = None,
    model_shapes: int = DEFAULT_MAX_MODELS,
) -> PlannedHome:
    """Build and plan the home and its baseline in a worker process (off the API's interpreter);
    ``memory`` (the modes tried first) comes back. ``model_shapes``: how many home shapes the
    worker keeps a model for (:func:`optimiser.process_model_cache`; 0: none, each plan builds
    its model), carried by each job so every kind of worker gets the service's setting."""
    problem, extensions = build_problem(inputs)
    memory = memory if memory is not None else ModeMemory()
    models = process_model_cache(model_shapes)
    plan = optimise(problem, options, extensions, memory, models=models)
    plan = with_cohort_causes(with_pause_causes(plan, inputs.paused_until))
    return PlannedHome(problem, list(extensions), plan, rule_based_plan(problem), memory)
