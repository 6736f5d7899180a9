"""Re-plans on a moving grid (benchmarks/bench_replan_moving.py): every home planned both ways
at each consecutive slot, each kept plan counted once by its cache outcome."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.bench_replan_moving import OUTCOMES, main


def test_every_plan_is_counted_once_with_both_ways_equal(tmp_path: Path) -> None:
    out = main(["--homes", "4", "--slots", "2", "--results", str(tmp_path)])
    assert json.loads((tmp_path / "replan_moving.json").read_text()) == json.loads(
        json.dumps(out, default=str)
    )
    assert len(out["rows"]) == 8
    assert out["ev"]["plans"] + out["no_ev"]["plans"] == 8
    for part in (out["ev"], out["no_ev"]):
        assert set(part["outcomes"]) <= set(OUTCOMES)
        assert sum(part["outcomes"].values()) == part["plans"]
    assert out["all_same_status"]
    assert out["max_objective_diff_over_gap"] <= 2.0


def test_bad_arguments_are_refused_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--slots", "0"])
    assert exc.value.code == 2
    assert "--slots >= 1" in capsys.readouterr().err
