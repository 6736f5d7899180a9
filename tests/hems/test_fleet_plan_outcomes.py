"""The fleet cohort's plans by outcome (benchmarks/fleet_plan_outcomes.py): every home planned
fresh and through a kept model at each slot, each counted once by how its plan ended."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.fleet_plan_outcomes import main


def test_every_home_is_counted_once_each_way_at_each_slot(tmp_path: Path) -> None:
    out = main(["--homes", "3", "--slots", "2", "--results", str(tmp_path)])
    assert json.loads((tmp_path / "fleet_plan_outcomes.json").read_text()) == out
    assert len(out["outcomes_by_slot"]) == 2
    for counts in out["outcomes_by_slot"]:
        assert set(counts) == {"fresh", "kept"}
        for by_status in counts.values():
            assert set(by_status) == {"optimal", "time_limit", "fallback"}
            assert sum(by_status.values()) == 3
    not_optimal = sum(
        c[h]["time_limit"] + c[h]["fallback"] for c in out["outcomes_by_slot"] for h in c
    )
    assert len(out["not_optimal"]) == not_optimal


def test_bad_arguments_are_refused_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--homes", "0"], ["--start", "2026-12-06T22:40:00+00:00"], ["--start", "x"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
    assert "--start must be a slot's start" in capsys.readouterr().err
