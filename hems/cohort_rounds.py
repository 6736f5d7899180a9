"""A coordination's rounds on the planner backend (docs/cohort.md).

:func:`hems.cohort.coordination.coordinate` plans the cohort round by round; here each round's
plans go to the service's planner backend together (the local process pool or the Dask
cluster, :mod:`hems.planner_backend`), each home's with its affinity key, the one its slot's
re-plans use, so on a cluster it lands on the worker that keeps its model. Each plan must be
back by the coordination's deadline: one late or failed ends the coordination unconverged (the
callers keep the homes' last shares and flag them). Without a backend the plans are made one
after another in the coordination's thread, as before.

Whichever runs them, a plan is the same job (:func:`plan_share`: the home's extensions, the
worker's kept models), so the in-thread and the backend's coordinations are the same
(tests/hems/test_cohort_rounds.py compares them on a real pool and a LocalCluster).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from hems.cohort.coordination import Coordination, CoordinationOptions, coordinate
from hems.cohort.measures import FloatArray
from hems.planner_backend import FlagKind, PlannerBackend, by_deadline
from hems.planner_pool import PlanLateError
from optimiser import ModelExtension, Plan, Problem, SolverOptions, optimise, process_model_cache

log = logging.getLogger(__name__)


def plan_share(
    problem: Problem,
    options: SolverOptions,
    extensions: Sequence[ModelExtension],
    model_shapes: int,
) -> Plan:
    """One home's plan in a coordination, wherever it runs: with its own extensions (its
    peak-hour and pause rules) through the worker's kept models (``model_shapes``: how many
    shapes it keeps, :func:`optimiser.process_model_cache`)."""
    return optimise(problem, options, extensions, models=process_model_cache(model_shapes))


@dataclass(slots=True)
class RoundFailure:
    """Why a home's plan in a coordination round did not come back."""

    kind: FlagKind
    reason: str


@dataclass(slots=True, kw_only=True)
class BackendRounds:
    """A :data:`hems.cohort.coordination.RoundPlanner` whose rounds run on ``planner`` (None:
    in the calling thread, one plan after another), called from the coordination's thread
    while ``loop`` (the service's) runs the backend's jobs."""

    planner: PlannerBackend | None
    loop: asyncio.AbstractEventLoop | None
    home_ids: Sequence[int]
    extensions: Sequence[Sequence[ModelExtension]]
    options: SolverOptions
    model_shapes: int
    deadline_s: float | None = None
    """A ``time.monotonic()`` each plan must be back by (None: none)."""
    failures: dict[int, RoundFailure] = field(default_factory=dict)
    """By home index: why its plan did not come back (the round the coordination stopped)."""

    def __call__(self, homes: Sequence[int], problems: Sequence[Problem]) -> list[Plan | None]:
        if self.planner is None or self.loop is None:
            return [self._here(h, p) for h, p in zip(homes, problems, strict=True)]
        job = self._round(homes, problems)
        return asyncio.run_coroutine_threadsafe(job, self.loop).result()

    def _here(self, home: int, problem: Problem) -> Plan | None:
        try:
            return plan_share(problem, self.options, self.extensions[home], self.model_shapes)
        except Exception as exc:  # one home's broken data: it fails, the others were planned
            self._failed(home, "failed", f"{type(exc).__name__}: {exc}")
            return None

    async def _round(self, homes: Sequence[int], problems: Sequence[Problem]) -> list[Plan | None]:
        jobs = (self._on_backend(h, p) for h, p in zip(homes, problems, strict=True))
        return list(await asyncio.gather(*jobs))

    async def _on_backend(self, home: int, problem: Problem) -> Plan | None:
        assert self.planner is not None
        args = (problem, self.options, self.extensions[home], self.model_shapes)
        affinity = f"home{self.home_ids[home]}"  # the slot's re-plans' key: its kept model
        try:
            return await by_deadline(
                self.deadline_s, self.planner.run(plan_share, *args, affinity=affinity)
            )
        except PlanLateError as exc:
            self._failed(home, "late", str(exc))
        except Exception as exc:  # a worker died, planning down, broken data
            self._failed(home, "failed", f"{type(exc).__name__}: {exc}")
        return None

    def _failed(self, home: int, kind: FlagKind, reason: str) -> None:
        home_id = self.home_ids[home]
        log.warning("home %s: its plan in the cohort's coordination %s: %s", home_id, kind, reason)
        self.failures[home] = RoundFailure(kind, reason)


async def coordinate_on(
    rounds: BackendRounds,
    problems: Sequence[Problem],
    limit_kw: float | FloatArray,
    options: CoordinationOptions | None = None,
) -> Coordination:
    """``problems`` coordinated under ``limit_kw`` with each round planned by ``rounds``; the
    coordination runs in a worker thread, its plans on ``rounds.planner``."""
    rounds.loop = asyncio.get_running_loop()
    return await asyncio.to_thread(coordinate, problems, limit_kw, options=options, batch=rounds)
