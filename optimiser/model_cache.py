"""Persistent models: a re-plan of a home of a known shape updates numbers, not the model.

A plan builds the home's Pyomo model and translates it for HiGHS, which was about half of a
T=96 plan's time (``docs/performance.md``). Between two plans of one home most of that work
repeats: the assets, their hardware and the horizon stay; prices, forecasts, the states
measured (SoC, indoor temperature) and the consumer's wishes change. So a :class:`ModelCache`
keeps, per *shape* (:func:`shape_key`), one built model translated into HiGHS, and a re-plan of
the same shape:

1. restores it to its base state: the binaries and rows the last plan added (its initial
   binaries and the planner's later rounds, :mod:`optimiser.planner`) are deleted from HiGHS,
   from the translator's record and from the Pyomo model; HiGHS's solution and basis are
   cleared and its options put back;
2. writes the new problem's numbers into the HiGHS model in memory
   (:mod:`optimiser.model_numbers`);
3. adds the new problem's initial binaries through the components' own binary adders, which
   read the new problem's data (:meth:`ModelContext.add_binaries`);
4. sets the basis the last plan's first LP ended with as the start of this plan's first LP
   (:meth:`PersistentModel._warm_start`); the planner goes on as for a fresh model.

The shape (:mod:`optimiser.model_shape`) is what decides the model's columns, rows and
matrix entries: which assets a home has and a few switches, not their hardware, so homes of
one asset mix share a model. Shapes not covered get ``None`` and the planner builds a fresh
model, as before. The reference homes of ``benchmarks/bench_optimiser.py`` (PV, battery, EV
with a minimum power, modulating heat pump) and any subset of those assets are covered.

The cache is bounded (least recently used first out) and belongs to one process: a planner
worker process keeps its own (:func:`process_model_cache`); nothing is shared between
processes. A model is taken out of the cache while a plan uses it and put back after
(:meth:`ModelCache.release`), so threads planning at once never share one. Plans through it
equal fresh plans to the solver's gap: the pushed numbers equal a fresh translation bit for
bit, and the column order differs only in where the binaries sit
(``tests/optimiser/test_model_cache.py``).
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import highspy
import numpy as np
import pyomo.environ as pyo

from optimiser.context import BinarySlots, ModelExtension
from optimiser.highs_backend import HighsModel, SolverOptions
from optimiser.model import BuiltModel, build_model
from optimiser.model_numbers import NumberLocations, UncoveredShapeError
from optimiser.model_shape import shape_key
from optimiser.problem import Problem

log = logging.getLogger(__name__)

_NONBASIC = highspy.HighsBasisStatus.kNonbasic
_BASIC = highspy.HighsBasisStatus.kBasic

DEFAULT_MAX_MODELS = 32
"""Models a cache holds: a T=96 reference home's is a few MB of Pyomo objects and HiGHS
arrays; a worker planning many homes of few shapes needs few."""


@dataclass(slots=True)
class _Base:
    """What a persistent model is restored to before each plan."""

    n_cols: int
    n_rows: int
    read_rows: frozenset[int]
    row_of: dict[int, int]
    rows_seen: dict[int, int]
    emptied: list[pyo.Component]  # components empty at base that binaries fill
    option_values: tuple[tuple[str, object], ...]


class PersistentModel:
    """One shape's built model, its HiGHS copy and where the numbers go."""

    def __init__(
        self,
        problem: Problem,
        options: SolverOptions,
        key: Hashable = None,
        extensions: Sequence[ModelExtension] = (),
    ) -> None:
        self.key = key  # its cache's key
        self.built: BuiltModel = build_model(problem, BinarySlots(), extensions, dense_evs=True)
        self.highs = HighsModel(self.built.model, options)
        reader, h = self.highs.reader, self.highs.highs
        columns = {id(v) for v in reader.columns}
        for var in self.built.model.component_data_objects(pyo.Var, active=True):
            if id(var) not in columns:  # its value would be left from an earlier plan
                raise UncoveredShapeError(f"{var.name} is in no row")
        self.locations = NumberLocations.find(self.built, self.highs, extensions)
        later = tuple(name for name, _ in options.later_round_highs_options)
        self._base = _Base(
            n_cols=int(h.getNumCol()),
            n_rows=int(h.getNumRow()),
            read_rows=frozenset(reader.read_rows),
            row_of=dict(reader.row_of),
            rows_seen=dict(reader.rows_seen),
            emptied=[
                c
                for c in self.built.model.component_objects((pyo.Var, pyo.Constraint))
                if c.is_indexed() and len(c) == 0
            ],
            option_values=tuple((name, h.getOptionValue(name)[1]) for name in later),
        )
        self.plans = 0

    def prepare(
        self,
        problem: Problem,
        binaries: BinarySlots,
        extensions: Sequence[ModelExtension] = (),
    ) -> None:
        """Restore the base state, write ``problem``'s numbers (and its slot penalties') and
        add its initial binaries."""
        if self.plans:
            self._restore()
        self.built.context.problem = problem
        self.locations.push(problem, self.highs, extensions)
        ctx = self.built.context
        keys = [k for k in ctx.binary_adders if binaries.get(k)]
        keys += [k for k in binaries.by_key if k not in ctx.binary_adders]
        for key in keys:
            ctx.add_binaries(key, binaries.get(key))
        self.highs.update()
        self._warm_start()
        self.plans += 1

    def _warm_start(self) -> None:
        """Start the plan's first LP (the relaxation, or a home's LP without binaries) from
        the basis the last plan's first LP ended with: its base columns and rows basic as
        they were, the new binaries' rows' slacks basic, everything else nonbasic. HiGHS
        completes such an *alien* basis (the count of basic variables may be off, the
        nonbasic ones are put at a bound) when it is set, and without presolve
        (``SolverOptions.lp_presolve``, off by default) the simplex starts there: a re-plan's
        relaxation took ~85 iterations instead of ~580 on the reference homes. The basic set
        alone (HiGHS's ``getBasicVariables``, a NumPy array) gave the same iterations as the
        full statuses, whose conversion to Python lists cost ~0.5 ms a plan. The LP's optimum
        is the same; only the vertex among equal optima may differ."""
        hm, base = self.highs, self._base
        last, hm.lp_basis, hm.remember_lp_basis = hm.lp_basis, None, True
        if last is None:
            return
        h = hm.highs
        col_status = [_NONBASIC] * int(h.getNumCol())
        for col in last[(last >= 0) & (last < base.n_cols)].tolist():
            col_status[col] = _BASIC
        row_status = [_NONBASIC] * base.n_rows + [_BASIC] * (int(h.getNumRow()) - base.n_rows)
        rows = -1 - last[last < 0]
        for row in rows[rows < base.n_rows].tolist():
            row_status[row] = _BASIC
        basis = highspy.HighsBasis()
        basis.col_status = col_status
        basis.row_status = row_status
        basis.alien = True
        basis.valid = True
        if h.setBasis(basis) == highspy.HighsStatus.kError:  # a cold start, as a fresh model's
            h.clearSolver()

    def _restore(self) -> None:
        base, hm = self._base, self.highs
        h, reader = hm.highs, hm.reader
        n_rows, n_cols = int(h.getNumRow()), int(h.getNumCol())
        if n_rows > base.n_rows:
            h.deleteRows(n_rows - base.n_rows, np.arange(base.n_rows, n_rows, dtype=np.int32))
        if n_cols > base.n_cols:
            h.deleteCols(n_cols - base.n_cols, np.arange(base.n_cols, n_cols, dtype=np.int32))
        for var in reader.columns[base.n_cols :]:
            del reader.column_of[id(var)]
        del reader.columns[base.n_cols :]
        reader.integer_columns[:] = [c for c in reader.integer_columns if c < base.n_cols]
        reader.read_rows = set(base.read_rows)
        reader.row_of = dict(base.row_of)
        reader.rows_seen = dict(base.rows_seen)
        reader.clear_pending()
        hm.forget_columns_from(base.n_cols)
        for component in base.emptied:
            if len(component):
                component.clear()
        ctx = self.built.context
        ctx.binary_slots = BinarySlots()
        ctx.mode_binaries.clear()
        hm.set_options(base.option_values)  # type: ignore[arg-type]
        h.clearSolver()


@dataclass(frozen=True, slots=True)
class CacheStats:
    """A cache's figures since it was made."""

    max_models: int
    models: int
    """Models kept now."""
    hits: int
    """Plans through a kept model."""
    misses: int
    """Plans that built the model they kept."""
    uncovered: int
    """Plans of a shape no model is kept for (planned fresh)."""
    not_kept: int
    """Plans of a shape not (yet) kept: seen fewer than ``keep_after`` times, or refused."""


class ModelCache:
    """Persistent models by shape, the least recently used dropped beyond ``max_models``.

    A shape's model is built and kept from its ``keep_after``-th plan on (default 2: a shape
    planned once, e.g. a one-off what-if or one of more homes than the cache holds, is planned
    fresh and costs nothing more; a kept model's first plan costs a little more than a fresh
    one). The shapes seen but not kept are remembered up to ``SEEN_PER_MODEL`` times
    ``max_models``."""

    SEEN_PER_MODEL = 4

    def __init__(self, max_models: int = DEFAULT_MAX_MODELS, keep_after: int = 2) -> None:
        if max_models < 1:
            raise ValueError(f"max_models must be at least 1, got {max_models}")
        if keep_after < 1:
            raise ValueError(f"keep_after must be at least 1, got {keep_after}")
        self.max_models = max_models
        self.keep_after = keep_after
        self._models: OrderedDict[Hashable, PersistentModel] = OrderedDict()
        self._seen: OrderedDict[Hashable, int] = OrderedDict()  # shape -> plans not kept
        self._lock = threading.Lock()
        self._refused: set[Hashable] = set()  # shapes whose model could not be prepared
        self.hits = 0
        self.misses = 0
        self.uncovered = 0
        self.not_kept = 0

    def __len__(self) -> int:
        return len(self._models)

    def stats(self) -> CacheStats:
        """The models kept and the plans that used them, for the operator."""
        return CacheStats(
            max_models=self.max_models,
            models=len(self._models),
            hits=self.hits,
            misses=self.misses,
            uncovered=self.uncovered,
            not_kept=self.not_kept,
        )

    def resize(self, max_models: int) -> None:
        """Hold up to ``max_models`` from now on, the least recently used dropped."""
        if max_models < 1:
            raise ValueError(f"max_models must be at least 1, got {max_models}")
        with self._lock:
            self.max_models = max_models
            while len(self._models) > max_models:
                self._models.popitem(last=False)

    def clear(self) -> None:
        """Drop every model kept (its figures stay)."""
        with self._lock:
            self._models.clear()

    def lease(
        self,
        problem: Problem,
        binaries: BinarySlots,
        options: SolverOptions,
        extensions: Sequence[ModelExtension] = (),
    ) -> PersistentModel | None:
        """The shape's model ready for ``problem`` (built on a miss), or None for a shape not
        covered or a model that could not be prepared (the caller builds a fresh one)."""
        shape = shape_key(problem, extensions)
        if shape is None:
            self.uncovered += 1
            return None
        key = (shape, options)
        with self._lock:  # taken out while in use: a second plan of the shape meanwhile
            model = self._models.pop(key, None)  # (another thread) builds its own
            if key in self._refused or (model is None and not self._admit(key)):
                self.not_kept += 1
                return None
        try:
            if model is None:
                self.misses += 1
                model = PersistentModel(problem, options, key, extensions)
            else:
                self.hits += 1
            model.prepare(problem, binaries, extensions)
        except Exception as exc:  # never worse than a fresh build: drop the model, build
            if isinstance(exc, UncoveredShapeError):  # afresh, and do not try this shape again
                self.uncovered += 1
                log.debug("no model kept for this shape: %s", exc)
            else:
                log.exception("a persistent model could not be prepared; building a fresh one")
            with self._lock:
                self._refused.add(key)
                while len(self._refused) > self.SEEN_PER_MODEL * self.max_models:
                    self._refused.pop()
            return None
        return model

    def release(self, model: PersistentModel) -> None:
        """Put a leased model back (the most recently used), dropping the least recently used
        beyond ``max_models``."""
        with self._lock:
            self._models.pop(model.key, None)
            self._models[model.key] = model
            while len(self._models) > self.max_models:
                self._models.popitem(last=False)

    def _admit(self, key: Hashable) -> bool:
        """Count a plan of a shape without a model; True from its ``keep_after``-th."""
        seen = self._seen.pop(key, 0) + 1
        if seen >= self.keep_after:
            return True
        self._seen[key] = seen
        while len(self._seen) > self.SEEN_PER_MODEL * self.max_models:
            self._seen.popitem(last=False)
        return False


_process_cache: tuple[int, ModelCache] | None = None


def process_model_cache(max_models: int = DEFAULT_MAX_MODELS) -> ModelCache | None:
    """This process's cache holding up to ``max_models`` shapes (a new one in a forked or
    spawned worker: HiGHS models are not shared between processes); None for 0: no model is
    kept, each plan builds its own. A different ``max_models`` than the cache was made with
    resizes it (the least recently used models dropped)."""
    global _process_cache
    if max_models < 0:
        raise ValueError(f"max_models must be 0 (no cache) or more, got {max_models}")
    pid = os.getpid()
    if max_models == 0:
        if _process_cache is not None and _process_cache[0] == pid:
            _process_cache[1].clear()  # its models freed, its figures kept
        return None
    if _process_cache is None or _process_cache[0] != pid:
        _process_cache = (pid, ModelCache(max_models))
    elif _process_cache[1].max_models != max_models:
        _process_cache[1].resize(max_models)
    return _process_cache[1]


def process_cache_stats() -> CacheStats | None:
    """This process's cache's figures (None before its first plan through one): what a
    planner worker reports to the operator."""
    if _process_cache is None or _process_cache[0] != os.getpid():
        return None
    return _process_cache[1].stats()
