"""Bulk reads and writes of solution values (optimiser.var_values) agree with Pyomo's own."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyomo.environ as pyo
import pytest

from optimiser.plan import _schedule_frame
from optimiser.var_values import (
    indexed_values,
    load_values,
    slot_values,
    slot_values_or_zero,
    unset_variables,
)


def _model() -> pyo.ConcreteModel:
    m = pyo.ConcreteModel()
    m.slots = pyo.Set(initialize=range(4), ordered=True)
    m.x = pyo.Var(m.slots)
    m.y = pyo.Var([5, 2, 7])  # an EV's plugged-in slots, as built
    return m


def test_loaded_values_read_back_in_slot_order() -> None:
    m = _model()
    load_values(list(m.x.values()), [1.5, -2.0, 0.0, 3.25])
    assert slot_values(m.x, 4).tolist() == [1.5, -2.0, 0.0, 3.25]
    assert [pyo.value(m.x[t]) for t in range(4)] == [1.5, -2.0, 0.0, 3.25]


def test_a_missing_value_is_an_error_or_zero() -> None:
    m = _model()
    m.x[1].set_value(2.0)
    with pytest.raises(ValueError, match="no value in slot 0"):
        slot_values(m.x, 4)
    assert slot_values_or_zero(m.x, 4).tolist() == [0.0, 2.0, 0.0, 0.0]


def test_a_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="has 4 slots, not 5"):
        slot_values(_model().x, 5)


def test_indexed_values_keep_their_indices() -> None:
    m = _model()
    load_values([m.y[5], m.y[2], m.y[7]], [1.0, 2.0, 3.0])
    slots, values = indexed_values(m.y)
    assert dict(zip(slots, values.tolist(), strict=True)) == {5: 1.0, 2: 2.0, 7: 3.0}


def test_schedule_frame_is_the_frame_pandas_makes() -> None:
    index = pd.date_range("2026-01-15", periods=3, freq="30min", tz="UTC")
    floats = {"a": np.array([1.0, 2.0, 3.0]), "b": np.array([0.5, 0.0, -1.0])}
    pd.testing.assert_frame_equal(_schedule_frame(floats, index), pd.DataFrame(floats, index=index))
    renamed = _schedule_frame(floats, index)
    renamed.columns.name = "renamed"  # one plan's labels, not the next one's
    assert _schedule_frame(floats, index).columns.name is None
    mixed = floats | {"c": np.array([1, 0, 1])}  # not all floats: pandas' own path, dtypes kept
    frame = _schedule_frame(mixed, index)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(frame, pd.DataFrame(mixed, index=index))
    assert frame["c"].dtype == np.int64


def test_unset_variables_are_found_in_blocks_too() -> None:
    m = _model()
    m.b = pyo.Block()
    m.b.z = pyo.Var(range(2))
    load_values(list(m.x.values()), [1.0, 2.0, 3.0, 4.0])
    m.b.z[1].set_value(0.5)
    m.y[2].set_value(1.0)
    assert {v.name for v in unset_variables(m)} == {"y[5]", "y[7]", "b.z[0]"}
