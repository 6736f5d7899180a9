"""The event -> answer / new setpoints benchmark runs (two events a mode) and measures something
(benchmarks/bench_event_setpoints.py; its figures are in docs/performance.md)."""

from __future__ import annotations

import json

import pytest
from openleadr.service.vtn_service import VTNService

from benchmarks.bench_event_setpoints import MODES, main

pytestmark = [pytest.mark.interop]


def test_the_benchmark_measures_both_modes(tmp_path, capsys):
    out = main(["--events", "2", "--results", str(tmp_path)])
    assert json.loads((tmp_path / "event_setpoints.json").read_text()) == out
    for mode in MODES:
        figures = out["results"][mode]
        assert figures["events"] == 2
        assert figures["events_without_new_setpoints"] == 0
        for key in ("answer", "stored", "applied"):
            assert 0 < figures[key]["median_s"] <= figures[key]["p95_s"] < 30
        # the setpoint is stored before it is sent, and both before the answer leaves
        assert figures["stored"]["min_s"] <= figures["applied"]["min_s"]
        for sample in figures["samples"]:
            assert sample["stored_s"] <= sample["applied_s"] <= sample["answer_s"]
    assert "signed     event -> answer" in capsys.readouterr().out


def test_the_benchmark_refuses_no_events(capsys):
    with pytest.raises(SystemExit):
        main(["--events", "0"])
    assert "--events must be at least 1" in capsys.readouterr().err


def test_the_benchmark_leaves_openleadrs_class_as_it_found_it(tmp_path):
    before = dict(VTNService.__dict__)
    main(["--events", "1", "--results", str(tmp_path)])
    assert dict(VTNService.__dict__) == before
