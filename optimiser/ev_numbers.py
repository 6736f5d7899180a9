"""A persistent model's EV numbers: where an EV's sessions sit in the dense form, and pushing them.

A kept model lays each EV over every slot (:mod:`optimiser.components.ev_dense`), so a re-plan
on a grid moved by a slot, a car that left or a new arrival in the horizon change numbers, not
the structure, and so does another home's car (its hardware): the charging bounds
``P̄ f_t``, the energy columns' bound (the capacity), each slot's balance row (the arrival
energy on the right-hand side, the link to the slot before and the efficiency's
``-Δ η`` on charging and ``η`` on the lag's loss as coefficients), which energy and loss
columns each target row reads (coefficients), the targets' bounds and the dispatch lag's
rise rows (their chords and the previous slot's setpoint as coefficients, the charger's
power now on the right). Every coefficient the form can hold is an entry of a fixed list
(row, column); a push computes the list's values for the new problem, as the reader
(:mod:`optimiser.translate`) would read the rows, and calls ``changeCoeff`` only where a value
differs from the last one written (0 removes an entry): at the next slot most of an EV's
rows are as they were.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from optimiser.components.ev_dense import DenseEvNumbers, chord_rows, has_longest_losses
from optimiser.components.ev_spec import ElectricVehicle
from optimiser.problem import Problem

_I32 = np.int32


@dataclass(frozen=True, slots=True)
class EvPlaces:
    """One EV's columns and rows in a dense-form model, and its coefficients last written."""

    charge_cols: np.ndarray  # every slot
    balance_rows: np.ndarray  # every slot
    target_rows: np.ndarray  # the sessions with a target, in order
    rise_rows: np.ndarray  # (slots, rows a slot), in the order the form writes them
    entries: tuple[np.ndarray, np.ndarray]  # (rows, columns) of every coefficient pushed
    written: np.ndarray  # their values in HiGHS now (updated by each push)
    cols: tuple[np.ndarray, np.ndarray, np.ndarray]  # energy, loss, longest-delay loss
    per_loss: int  # rise rows a loss column has in a slot (the lag's chords)

    @classmethod
    def find(
        cls, block: Any, ev: ElectricVehicle, problem: Problem, col: Any, row: Any
    ) -> EvPlaces:
        """Locate them in a model built in the dense form for ``problem``; ``col`` and ``row``
        map a Pyomo variable or constraint to its HiGHS index."""
        n = problem.grid.n_steps
        energy = np.array([col(block.energy_kwh[t]) for t in range(n)], dtype=_I32)
        lag = problem.ev_dispatch_lag
        loss = longest = np.zeros(0, dtype=_I32)
        rise_rows = np.zeros((n, 0), dtype=_I32)
        if lag.active:
            loss = np.array([col(block.rise_loss_kwh[t]) for t in range(n)], dtype=_I32)
            if has_longest_losses(lag):
                longest = np.array([col(block.longest_loss_kwh[t]) for t in range(n)], dtype=_I32)
            rows = [row(c) for c in block.rise_loss.values()]
            rise_rows = np.array(rows, dtype=_I32).reshape(n, -1)
        charge = np.array([col(block.charge_kw[t]) for t in range(n)], dtype=_I32)
        balance = np.array([row(block.energy_balance[t]) for t in range(n)], dtype=_I32)
        targets = np.array([row(block.target[i]) for i in sorted(block.target)], dtype=_I32)
        places = cls(
            charge_cols=charge,
            balance_rows=balance,
            target_rows=targets,
            rise_rows=rise_rows,
            entries=(np.zeros(0, dtype=_I32), np.zeros(0, dtype=_I32)),
            written=np.zeros(0),
            cols=(energy, loss, longest),
            per_loss=chord_rows(lag),
        )
        nums = DenseEvNumbers.of(ev, problem)
        dt = problem.grid.step_hours
        rows_, cols_, values = places._coefficients(ev, dt, nums, places._rises(nums))
        return replace(places, entries=(rows_, cols_), written=values)

    def _rises(self, nums: DenseEvNumbers) -> _RiseNumbers | None:
        if not self.rise_rows.size:
            return None
        return _rise_numbers(nums, self.rise_rows, self.charge_cols, self.per_loss)

    def push(self, highs: Any, ev: ElectricVehicle, problem: Problem, check: Any) -> None:
        """Write ``problem``'s numbers for ``ev``; ``check`` raises on a HiGHS error."""
        nums = DenseEvNumbers.of(ev, problem)
        if len(nums.targets) != len(self.target_rows):  # the shape key guards this
            raise RuntimeError(f"{ev.name}: {len(nums.targets)} targets in a model for others")
        n = len(self.charge_cols)
        check(highs.changeColsBounds(n, self.charge_cols, np.zeros(n), nums.upper_kw))
        energy = self.cols[0]
        cap = np.full(n, ev.battery_capacity_kwh)
        check(highs.changeColsBounds(n, energy, np.zeros(n), cap))
        check(highs.changeRowsBounds(n, self.balance_rows, nums.start_kwh, nums.start_kwh))
        if len(self.target_rows):
            need = np.array([-t.required_kwh for t in nums.targets])
            lo = np.full(len(need), -np.inf)
            check(highs.changeRowsBounds(len(need), self.target_rows, lo, need))
        rises = self._rises(nums)
        if rises is not None:
            upper = rises[0]
            rows = np.ascontiguousarray(self.rise_rows.ravel())
            check(highs.changeRowsBounds(len(rows), rows, np.full(len(rows), -np.inf), upper))
        _, _, values = self._coefficients(ev, problem.grid.step_hours, nums, rises)
        rows_, cols_ = self.entries
        for i in np.flatnonzero(values != self.written).tolist():
            check(highs.changeCoeff(int(rows_[i]), int(cols_[i]), float(values[i])))
        self.written[:] = values

    def _coefficients(
        self, ev: ElectricVehicle, dt: float, nums: DenseEvNumbers, rises: _RiseNumbers | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every coefficient the form's numbers set, as (rows, columns, values): each slot's
        link to the previous energy, its charging and loss columns (the car's efficiency),
        each target row's energy and loss columns, each rise row's setpoint columns; signs
        as the reader writes ``lhs - rhs``."""
        n = len(self.charge_cols)
        energy, loss, longest = self.cols
        eta = ev.charge_efficiency
        rows: list[np.ndarray] = [self.balance_rows[1:], self.balance_rows]
        cols: list[np.ndarray] = [energy[:-1], self.charge_cols]
        values: list[np.ndarray] = [np.where(nums.linked[1:], -1.0, 0.0), np.full(n, -(dt * eta))]
        if len(loss):  # e_t = ... + Δ η p_t - η l_t
            rows.append(self.balance_rows)
            cols.append(loss)
            values.append(np.full(n, eta))
        for row, target in zip(self.target_rows.tolist(), nums.targets, strict=True):
            chosen = np.zeros(n)
            chosen[target.slot] = -1.0
            rows.append(np.full(n, row, dtype=_I32))
            cols.append(energy)
            values.append(chosen)
            if len(longest):
                margin = np.zeros(n, dtype=bool)
                margin[list(target.margin_slots)] = True
                rows += [np.full(n, row, dtype=_I32)] * 2
                cols += [longest, loss]
                values += [np.where(margin, eta, 0.0), np.where(margin, -eta, 0.0)]
        if rises is not None:
            r, c, v = rises[1]
            rows.append(r)
            cols.append(c)
            values.append(v)
        return np.concatenate(rows), np.concatenate(cols), np.concatenate(values)


_RiseNumbers = tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]
"""The rise rows' right-hand sides, and their coefficients as (rows, columns, values)."""


def _rise_numbers(
    nums: DenseEvNumbers, rise_rows: np.ndarray, charge_cols: np.ndarray, per_loss: int
) -> _RiseNumbers:
    """The rise rows' right-hand sides and their setpoint columns' coefficients, as the
    reader reads ``loss >= slope * (p_t / f - before) + intercept``: ``slope (1 / f)`` on
    ``p_t``, ``-slope (1 / f')`` on ``p_{t-1}`` (0 at a session's first slot, whose ``before``
    is the charger's power now or 0: ``slope * start - intercept`` on the right, else
    ``-intercept``); away from the charger ``-loss <= 0``, both coefficients 0."""
    n, per_slot = rise_rows.shape
    upper = np.full(n * per_slot, -0.0)
    this = np.zeros(n * per_slot)
    before = np.zeros(n * per_slot)
    for t, r in nums.rises.items():
        lines = r.lines + r.longest_lines if per_slot > per_loss else r.lines
        for q, (slope, intercept) in enumerate(lines):
            i = t * per_slot + q
            this[i] = slope * (1.0 / r.fraction)  # Pyomo writes p / f as (1 / f) * p
            if r.previous is None:
                upper[i] = slope * r.start_kw - intercept
            else:
                before[i] = -(slope * (1.0 / r.previous_fraction))
                upper[i] = -intercept
    rows = rise_rows.ravel()
    slot_cols = np.repeat(charge_cols, per_slot)
    later = per_slot  # rows of slot 0 have no previous setpoint column
    coefficients = (
        np.concatenate([rows, rows[later:]]),
        np.concatenate([slot_cols, slot_cols[: len(slot_cols) - later]]),
        np.concatenate([this, before[later:]]),
    )
    return upper, coefficients
