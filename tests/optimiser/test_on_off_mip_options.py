"""An on/off unit's branch and bound runs with HiGHS's restarts (``ON_OFF_HIGHS_OPTIONS``,
issue 27 rough edge 1), its window search's small MIPs without them, and the model's options
are put back after it (a kept model's next plan starts from ``SolverOptions``'s)."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.onoff_heat_pump import on_off_home
from optimiser import SolverOptions, optimise
from optimiser.highs_backend import HighsModel
from optimiser.round_solver import RoundSolver


def _restart(hm: HighsModel) -> bool:
    return bool(hm.highs.getOptionValue("mip_allow_restart")[1])


def test_an_on_off_units_branch_and_bound_restarts(monkeypatch: pytest.MonkeyPatch) -> None:
    in_mip: list[bool] = []
    in_windows: list[bool] = []
    models: list[HighsModel] = []
    mip, fixed = RoundSolver._mip, HighsModel.solve_with_columns_fixed

    def spy_mip(self: RoundSolver, *args: Any) -> Any:
        in_mip.append(_restart(self.highs))
        models.append(self.highs)
        return mip(self, *args)

    def spy_window(self: HighsModel, *args: Any) -> Any:
        in_windows.append(_restart(self))
        return fixed(self, *args)

    monkeypatch.setattr(RoundSolver, "_mip", spy_mip)
    monkeypatch.setattr(HighsModel, "solve_with_columns_fixed", spy_window)
    optimise(on_off_home(1), SolverOptions(time_limit_s=1.5))
    assert in_mip == [True]
    assert in_windows
    assert not any(in_windows)
    assert not _restart(models[0])  # put back
