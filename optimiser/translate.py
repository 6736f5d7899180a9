"""Read a linear Pyomo model into HiGHS's column-wise arrays, fast, and incrementally.

The model is built with Pyomo (components and analysts' extensions write ordinary Pyomo
expressions); this module only reads it. Pyomo's ``LinearStandardFormCompiler`` walks every
expression with its general visitor and took ~25 ms of a T=96 home's ~60 ms build + translate
(``docs/performance.md``). The expressions a linear model is made of are a handful of node
types (variables, monomials, linear sums, sums, negations, products and divisions by
constants), so :func:`_linear_terms` reads those directly and hands anything else to Pyomo's
``LinearRepnVisitor`` (so any linear Pyomo expression still works, and a nonlinear one is an
error, as before).

:class:`LinearReader` remembers which constraints and variables it has read: after the planner
adds binaries and linking constraints to a solved model, :meth:`LinearReader.read_new` returns
only the new columns and rows, which the backend appends to the HiGHS model already in memory
instead of re-reading everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyomo.environ as pyo
from pyomo.core.base.var import VarData
from pyomo.core.expr.numeric_expr import (
    DivisionExpression,
    LinearExpression,
    MonomialTermExpression,
    NegationExpression,
    ProductExpression,
    SumExpression,
)
from pyomo.core.expr.relational_expr import (
    EqualityExpression,
    InequalityExpression,
    RangedExpression,
)
from pyomo.repn.linear import LinearRepnVisitor

_NATIVE = (int, float)
_INF = float("inf")

# Active components a linear model may hold; anything else (SOS constraints, disjunctions, ...)
# is refused rather than silently dropped.
_KNOWN = (
    pyo.Block,
    pyo.Var,
    pyo.Constraint,
    pyo.Objective,
    pyo.Param,
    pyo.Expression,
    pyo.Set,
    pyo.RangeSet,
    pyo.Suffix,
)


class NonlinearError(ValueError):
    """A constraint or objective the reader cannot write as a linear row."""


@dataclass(slots=True)
class LinearPart:
    """New columns and rows read from a model, in HiGHS's terms.

    ``rows`` hold column indices into the reader's whole column list (old and new columns)."""

    columns: list[VarData] = field(default_factory=list)
    col_lower: list[float] = field(default_factory=list)
    col_upper: list[float] = field(default_factory=list)
    col_integer: list[bool] = field(default_factory=list)
    row_lower: list[float] = field(default_factory=list)
    row_upper: list[float] = field(default_factory=list)
    row_start: list[int] = field(default_factory=lambda: [0])
    row_index: list[int] = field(default_factory=list)
    row_value: list[float] = field(default_factory=list)

    @property
    def n_rows(self) -> int:
        return len(self.row_lower)


class LinearReader:
    """Reads a Pyomo model's active constraints and objective into column and row arrays."""

    def __init__(self) -> None:
        self.columns: list[VarData] = []
        self.column_of: dict[int, int] = {}  # id(var) -> column
        self.read_rows: set[int] = set()  # id(ConstraintData) already written
        self.row_of: dict[int, int] = {}  # id(ConstraintData) -> its HiGHS row (rows with terms)
        # id(Constraint component) -> how many rows it held when last read: rows are only
        # ever added to a model (a persistent model's restore puts this back with the rows
        # it deletes), so a component holding as many is skipped without walking its rows
        self.rows_seen: dict[int, int] = {}
        self._visitor: LinearRepnVisitor | None = None
        self._pending: dict[int, VarData] = {}  # id(var) -> var, for variables seen in terms
        self.integer_columns: list[int] = []  # columns of integer (binary) variables
        # id(domain) -> (domain, its lower and upper bound, integer?)
        self._domains: dict[int, tuple[Any, Any, Any, bool]] = {}
        # the model's blocks as last read (_layout) and the constraint components of its
        # active blocks then: a later read walks the model's components again only when a
        # component or block was added or a block (de)activated since
        self._layout: tuple[tuple[int, int, bool], ...] | None = None
        self._constraints: list[Any] = []

    # -- public -------------------------------------------------------------------------
    def clear_pending(self) -> None:
        """Forget the variables met in terms (a persistent model's restore: some are gone)."""
        self._pending.clear()

    def read_objective(
        self, model: pyo.ConcreteModel, part: LinearPart
    ) -> tuple[dict[int, float], float, bool]:
        """The objective's coefficients per column, its constant and whether it maximises."""
        objectives = list(model.component_data_objects(pyo.Objective, active=True))
        if len(objectives) != 1:
            raise ValueError(f"the model has {len(objectives)} active objectives, not one")
        obj = objectives[0]
        terms: dict[int, float] = {}
        const = self._add_terms(obj.expr, 1.0, terms, obj)
        cost = {self._column(var_id, part): c for var_id, c in terms.items()}
        return cost, const, obj.sense == pyo.maximize

    def read_new(self, model: pyo.ConcreteModel) -> LinearPart:
        """Columns and rows not read before (all of them on the first call)."""
        part = LinearPart()
        layout = _layout(model)
        if layout != self._layout:
            self._check_components(model)
            self._constraints = [
                component
                for block in model.block_data_objects(active=True)
                for component in block.component_objects(pyo.Constraint, descend_into=False)
            ]
            self._layout = layout
        read_rows, rows_seen = self.read_rows, self.rows_seen
        for component in self._constraints:
            if not component.active:
                continue
            held = len(component)
            if rows_seen.get(id(component)) == held:
                continue  # nothing added since it was read (a later round's update)
            for con in component.values():
                key = id(con)
                if key in read_rows or not con.active:
                    continue
                read_rows.add(key)
                self._read_row(con, part)
            rows_seen[id(component)] = held
        return part

    # -- rows ---------------------------------------------------------------------------
    def row_numbers(self, expr: Any, where: Any) -> tuple[dict[int, float], float, float]:
        """A relational expression's terms (``id(var)`` -> coefficient) and bounds, as a row of
        it would be read (a persistent model re-reads a row written anew with new data,
        :mod:`optimiser.model_numbers`); ``where`` names it in errors."""
        terms: dict[int, float] = {}
        lower, upper = self._terms_and_bounds(expr, where, terms)
        return terms, lower, upper

    def _terms_and_bounds(
        self, expr: Any, con: Any, terms: dict[int, float]
    ) -> tuple[float, float]:
        cls = expr.__class__
        if cls is EqualityExpression or cls is InequalityExpression:
            lhs, rhs = expr.args
            const = self._add_terms(lhs, 1.0, terms, con)
            const += self._add_terms(rhs, -1.0, terms, con)
            # lhs - rhs (=, <=) 0  ->  terms (=, <=) -const
            upper = -const
            lower = upper if cls is EqualityExpression else -_INF
            if cls is InequalityExpression and expr.strict:
                raise ValueError(f"constraint {con.name} is a strict inequality")
        elif cls is RangedExpression:
            lo, body, hi = expr.args
            const = self._add_terms(body, 1.0, terms, con)
            lower = -_INF if lo is None else pyo.value(lo) - const
            upper = _INF if hi is None else pyo.value(hi) - const
        else:  # anything else Pyomo can put in bounded form
            lo, body, hi = con.to_bounded_expression(evaluate_bounds=True)
            const = self._add_terms(body, 1.0, terms, con)
            lower = -_INF if lo is None else lo - const
            upper = _INF if hi is None else hi - const
        return lower, upper

    def _read_row(self, con: Any, part: LinearPart) -> None:
        terms: dict[int, float] = {}
        lower, upper = self._terms_and_bounds(con.expr, con, terms)
        column_of = self.column_of
        row_index, row_value = part.row_index, part.row_value
        first = len(row_index)
        for v, c in terms.items():
            if c != 0.0:
                col = column_of.get(v)
                row_index.append(self._column(v, part) if col is None else col)
                row_value.append(c)
        if len(row_index) == first:
            if lower > 1e-9 or upper < -1e-9:
                raise ValueError(f"constraint {con.name} is infeasible: no variables left")
            return
        self.row_of[id(con)] = len(self.row_of)
        part.row_lower.append(lower)
        part.row_upper.append(upper)
        part.row_start.append(len(row_index))

    def _column(self, var_id: int, part: LinearPart) -> int:
        col = self.column_of.get(var_id)
        if col is None:
            var = self._pending[var_id]
            col = len(self.columns)
            self.column_of[var_id] = col
            self.columns.append(var)
            lb, ub, integer = self._column_bounds(var)
            part.columns.append(var)
            part.col_lower.append(lb)
            part.col_upper.append(ub)
            part.col_integer.append(integer)
            if integer:
                self.integer_columns.append(col)
        return col

    def _column_bounds(self, var: VarData) -> tuple[float, float, bool]:
        """A variable's bounds (infinite when absent) and integrality.

        Reads the numeric bounds a variable was built with directly and caches what each
        domain implies; ``VarData.bounds`` and ``is_integer`` re-derive both on every call,
        which was a fifth of the reader's time. Bounds given as expressions or parameters take
        Pyomo's own path."""
        domain = var._domain
        known = self._domains.get(id(domain))
        if known is None:
            d_lb, d_ub = domain.bounds()
            known = (domain, d_lb, d_ub, var.is_integer())
            self._domains[id(domain)] = known
        _, d_lb, d_ub, integer = known
        lb, ub = var._lb, var._ub
        if (lb is None or lb.__class__ in _NATIVE) and (ub is None or ub.__class__ in _NATIVE):
            if d_lb is not None:
                lb = d_lb if lb is None else max(lb, d_lb)
            if d_ub is not None:
                ub = d_ub if ub is None else min(ub, d_ub)
        else:
            lb, ub = var.bounds
        return (
            -_INF if lb is None else float(lb),
            _INF if ub is None else float(ub),
            integer,
        )

    # -- expressions --------------------------------------------------------------------
    def _add_terms(self, expr: Any, mult: float, terms: dict[int, float], where: Any) -> float:
        """Add ``mult * expr``'s linear terms to ``terms``; return its constant part."""
        return _linear_terms(expr, mult, terms, self._pending, self, where)

    def fallback(self, expr: Any, mult: float, terms: dict[int, float], where: Any) -> float:
        """Pyomo's general linear visitor, for node types the fast path does not know."""
        if self._visitor is None:
            self._visitor = LinearRepnVisitor({})
        repn = self._visitor.walk_expression(expr)
        if repn.nonlinear is not None:
            raise NonlinearError(f"{where.name} is not linear")
        var_map = self._visitor.var_map
        for var_id, c in repn.linear.items():
            self._pending[var_id] = var_map[var_id]
            terms[var_id] = terms.get(var_id, 0.0) + mult * float(c)
        return mult * float(pyo.value(repn.constant))

    def _check_components(self, model: pyo.ConcreteModel) -> None:
        for comp in model.component_objects(active=True, descend_into=True):
            if not isinstance(comp, _KNOWN):
                raise ValueError(
                    f"the model holds {comp.name} ({type(comp).__name__}), which a linear "
                    "model cannot"
                )


def _layout(model: pyo.ConcreteModel) -> tuple[tuple[int, int, bool], ...]:
    """Each block of ``model`` with how many components it has declared and whether it is
    active. Pyomo appends every new component to its block's declaration order (a deleted
    one leaves its place), so this changes when a component or a block is added or a block
    is (de)activated: the reader's walk over every component (~0.1 ms of a small home's
    re-plan, repeated at each update) is needed only then. A component deleted alone leaves
    the count as it was: the reader keeps it in its list, whose rows it has read."""
    return tuple((id(b), len(b._decl_order), bool(b.active)) for b in model.block_data_objects())


def _linear_terms(
    expr: Any,
    mult: float,
    terms: dict[int, float],
    pending: dict[int, VarData],
    reader: LinearReader,
    where: Any,
) -> float:
    cls = expr.__class__
    if cls in _NATIVE:
        return mult * float(expr)
    if cls is MonomialTermExpression:
        coef, var = expr.args
        c = coef if coef.__class__ in _NATIVE else pyo.value(coef)
        return _add_var(var, mult * c, terms, pending)
    if cls is LinearExpression or cls is SumExpression:
        const = 0.0
        for arg in expr.args:
            acls = arg.__class__
            if acls in _NATIVE:
                const += mult * arg
            elif acls is MonomialTermExpression:
                coef, var = arg.args
                c = coef if coef.__class__ in _NATIVE else pyo.value(coef)
                const += _add_var(var, mult * c, terms, pending)
            else:
                const += _linear_terms(arg, mult, terms, pending, reader, where)
        return const
    if isinstance(expr, VarData):
        return _add_var(expr, mult, terms, pending)
    if cls is NegationExpression:
        return _linear_terms(expr.args[0], -mult, terms, pending, reader, where)
    if cls is ProductExpression:
        a, b = expr.args
        if a.__class__ in _NATIVE or not a.is_potentially_variable():
            return _linear_terms(b, mult * pyo.value(a), terms, pending, reader, where)
        if b.__class__ in _NATIVE or not b.is_potentially_variable():
            return _linear_terms(a, mult * pyo.value(b), terms, pending, reader, where)
    elif cls is DivisionExpression:
        a, b = expr.args
        if b.__class__ in _NATIVE or not b.is_potentially_variable():
            return _linear_terms(a, mult / pyo.value(b), terms, pending, reader, where)
    elif not expr.is_potentially_variable():  # parameters, fixed-value expressions
        return mult * float(pyo.value(expr))
    return reader.fallback(expr, mult, terms, where)


def _add_var(var: Any, coef: float, terms: dict[int, float], pending: dict[int, VarData]) -> float:
    if var._fixed:
        return coef * float(var._value)
    key = id(var)
    pending[key] = var
    terms[key] = terms.get(key, 0.0) + coef
    return 0.0


def column_arrays(part: LinearPart) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower and upper bounds and the integer flags of ``part``'s new columns."""
    return (
        np.asarray(part.col_lower, dtype=np.float64),
        np.asarray(part.col_upper, dtype=np.float64),
        np.asarray(part.col_integer, dtype=bool),
    )
