"""Solution values in and out of Pyomo variables, in bulk.

A plan reads every asset's powers back from the solved model (and the planner's checks read
the grid's), and each solver round writes HiGHS's solution into every column's variable. Through
Pyomo's public paths (``pyo.value(block.x[t])``, ``VarData.set_value``) that cost ~1 ms of
reading and ~0.4 ms of writing per solve of a T=96 home with PV and a battery: more than
HiGHS's own time on a re-plan of a small home (``benchmarks/bench_overhead.py``). These
helpers go to the variables' data directly, as :mod:`optimiser.translate` already reads their
bounds: an indexed variable's data dict (built in its index set's order when the model is
built) and each variable's stored value. Pyomo's stale flags are not kept (nothing here reads
them).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import pyomo.environ as pyo

from optimiser.checks import FloatArray


def slot_values(var: Any, n_steps: int) -> FloatArray:
    """The values of a variable indexed by the model's slots ``0 .. n_steps-1``, in slot
    order; a variable without a value is a ``ValueError``, as for Pyomo's ``value``."""
    data = var._data
    if len(data) != n_steps:
        raise ValueError(f"{var.name} has {len(data)} slots, not {n_steps}")
    out = np.fromiter((v._value for v in data.values()), dtype=np.float64, count=n_steps)
    if np.isnan(out).any():  # numpy reads None as NaN
        raise ValueError(f"{var.name} has no value in slot {int(np.argmax(np.isnan(out)))}")
    return out


def slot_values_or_zero(var: Any, n_steps: int) -> FloatArray:
    """:func:`slot_values`, with 0 for a variable without a value."""
    data = var._data
    if len(data) != n_steps:
        raise ValueError(f"{var.name} has {len(data)} slots, not {n_steps}")
    return np.fromiter(
        (0.0 if v._value is None else v._value for v in data.values()),
        dtype=np.float64,
        count=n_steps,
    )


def indexed_values(var: Any) -> tuple[list[Any], FloatArray]:
    """The indices of an indexed variable and their values (in the data's order)."""
    data = var._data
    return list(data), np.fromiter(
        (v._value for v in data.values()), dtype=np.float64, count=len(data)
    )


def load_values(columns: Sequence[Any], values: Iterable[float]) -> None:
    """Store ``values`` in the variables ``columns``, one each (a solver's solution; no
    bound or domain check, as ``set_value(..., skip_validation=True)``)."""
    for var, x in zip(columns, values, strict=True):
        var._value = x


def unset_variables(model: pyo.ConcreteModel) -> Iterator[Any]:
    """The variables of ``model`` (in its active blocks) that hold no value."""
    for component in model.component_objects(pyo.Var, active=True, descend_into=True):
        for var in component._data.values():
            if var._value is None:
                yield var
