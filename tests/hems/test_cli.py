"""`cem plan` (what `make run` calls) plans the demo home and writes the plan."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from hems.cli import app
from hems.demo import demo_problem
from optimiser import PlanStatus, optimise


def test_the_demo_home_plans_optimally_and_meets_every_wish():
    plan = optimise(demo_problem())
    assert plan.status is PlanStatus.OPTIMAL
    assert plan.violations == ()
    assert len(plan.schedule) == 96
    # both overnight sessions end at 80 %
    soc = plan.schedule["EV.soc_pct"].dropna()
    assert soc.max() >= 80.0 - 1e-3


def test_cem_plan_prints_a_summary_and_writes_the_csv(tmp_path):
    out = tmp_path / "plan.csv"
    result = CliRunner().invoke(app, ["plan", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Totals" in result.output
    assert "Solver: optimal" in result.output
    frame = pd.read_csv(out, index_col=0)
    assert len(frame) == 96
    assert {"grid_import_kw", "EV.power_kw", "Heat pump.indoor_c", "cost_gbp"} <= set(frame.columns)


def test_cem_plan_rejects_an_out_of_range_preference(tmp_path):
    result = CliRunner().invoke(
        app, ["plan", "--out", str(tmp_path / "p.csv"), "--carbon-preference", "2"]
    )
    assert result.exit_code != 0


def test_hems_plan_plans_a_home_file_from_now(tmp_path):
    from hems.demo import demo_home_spec

    home = tmp_path / "home.json"
    home.write_text(demo_home_spec().model_dump_json())
    out = tmp_path / "plan.csv"
    result = CliRunner().invoke(
        app, ["plan", "--home", str(home), "--ev-soc", "0.3", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out, index_col=0)
    assert len(frame) == 96
    assert frame["EV.power_kw"].sum() > 0  # the plugged-in car is charged


def test_a_bad_home_file_is_refused_with_the_field(tmp_path):
    home = tmp_path / "home.json"
    home.write_text('{"name": "x"}')
    result = CliRunner().invoke(app, ["plan", "--home", str(home)])
    assert result.exit_code == 2
    assert "cem_serial" in result.output


def test_token_create_prints_a_token_once_and_stores_only_its_hash(tmp_path, monkeypatch):
    monkeypatch.setenv("HEMS_STATE_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["token", "create"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("hems_")
    for db_file in tmp_path.glob("hems.sqlite3*"):  # the database and its write-ahead log
        assert token.encode() not in db_file.read_bytes()
    missing = CliRunner().invoke(app, ["token", "create", "--home", "99"])
    assert missing.exit_code == 1
    assert "no home 99" in missing.output
