"""`hems backtest` writes its KPIs per strategy and per day as CSV."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from typer.testing import CliRunner

from hems.cli import app


def test_hems_backtest_writes_the_csv(tmp_path):
    out = tmp_path / "results.csv"
    result = CliRunner().invoke(
        app,
        [
            "backtest",
            "--days",
            "1",
            "--strategies",
            "planner,naive",
            "--slot-minutes",
            "60",
            "--horizon-hours",
            "24",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out, index_col="strategy")
    assert list(frame.index) == ["planner", "naive"]
    assert {"bill_gbp", "carbon_kg", "ev_short_kwh", "plans_per_s"} <= set(frame.columns)
    daily = pd.read_csv(tmp_path / "results_daily.csv")
    assert len(daily) == 2


def test_hems_backtest_refuses_an_unknown_strategy(tmp_path):
    result = CliRunner().invoke(
        app, ["backtest", "--strategies", "magic", "--out", str(tmp_path / "r.csv")]
    )
    assert result.exit_code == 2


def test_hems_backtest_on_a_data_folder_writes_csv_and_parquet(tmp_path, monkeypatch):
    from tests.hems.backtest.synthetic import write_data_folder

    monkeypatch.delenv("HEMS_DATA_DIR", raising=False)
    folder = write_data_folder(tmp_path / "data")
    out = tmp_path / "o" / "r.csv"
    args = ["backtest", "--data", str(folder), "--start", "2020-03-02", "--end", "2020-03-03"]
    args += ["--strategies", "naive,battery_timer", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = pd.read_parquet(out.with_suffix(".parquet"))
    assert list(summary["strategy"]) == ["naive", "battery_timer"]
    assert pd.read_csv(out)["bill_gbp"].tolist() == pytest.approx(summary["bill_gbp"].tolist())
    slots = pd.read_parquet(tmp_path / "o" / "r_slots.parquet")
    assert len(slots) == 2 * 48
    report = pd.read_csv(tmp_path / "o" / "r_data_report.csv")
    assert "base_load_kwh" in set(report["name"])
    assert "ev_sessions" in set(report["name"])


def test_hems_backtest_says_when_the_data_folder_is_missing(tmp_path, monkeypatch):
    monkeypatch.delenv("HEMS_DATA_DIR", raising=False)
    result = CliRunner().invoke(
        app, ["backtest", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "r.csv")]
    )
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_hems_backtest_in_chunks_counts_every_day_once(tmp_path, monkeypatch):
    from tests.hems.backtest.synthetic import write_data_folder

    monkeypatch.delenv("HEMS_DATA_DIR", raising=False)
    folder = write_data_folder(tmp_path / "data")
    out = tmp_path / "o" / "r.csv"
    args = ["backtest", "--data", str(folder), "--start", "2020-03-02", "--end", "2020-03-05"]
    args += ["--strategies", "naive,ev_window_battery_timer", "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--chunk-days", "2", "--workers", "1"])
    assert result.exit_code == 0, result.output
    summary = pd.read_csv(out, index_col="strategy")
    assert list(summary.index) == ["naive", "ev_window_battery_timer"]
    daily = pd.read_csv(tmp_path / "o" / "r_daily.csv")
    assert sorted(set(daily["day"])) == ["2020-03-02", "2020-03-03", "2020-03-04"]
    assert len(daily) == 2 * 3
    slots = pd.read_csv(tmp_path / "o" / "r_slots.csv")
    assert len(slots) == 2 * 3 * 48
    # two homes cannot share one split
    home = tmp_path / "home.json"
    from hems.backtest import reference_home

    home.write_text(reference_home().model_dump_json())
    two = [*args, "--home", str(home), "--home", str(home), "--chunk-days", "2"]
    refused = CliRunner().invoke(app, two)
    assert refused.exit_code == 2
    assert "one --home" in refused.output


def test_hems_backtest_passes_the_warm_up_cadence_to_the_chunks(tmp_path, monkeypatch):
    import hems.backtest.request as request
    from tests.hems.backtest.synthetic import write_data_folder

    monkeypatch.delenv("HEMS_DATA_DIR", raising=False)
    folder = write_data_folder(tmp_path / "data")
    args = ["backtest", "--data", str(folder), "--start", "2020-03-02", "--end", "2020-03-05"]
    args += ["--strategies", "naive", "--out", str(tmp_path / "r.csv"), "--chunk-days", "2"]
    refused = CliRunner().invoke(app, [*args, "--warmup-cadence", "sometimes"])
    assert refused.exit_code == 2
    assert "warm-up cadence" in refused.output
    seen = []

    def recording(config, names, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(kwargs["warmup_cadence"])
        raise SystemExit(0)  # the split is what this test is about, not the run

    monkeypatch.setattr(request, "run_chunked", recording)
    CliRunner().invoke(app, [*args, "--warmup-cadence", "slot"])
    CliRunner().invoke(app, args)
    assert seen == ["slot", "daily"]


def test_hems_backtest_input_errors_are_one_line_on_stderr(tmp_path, monkeypatch):
    """Bad input to `hems backtest` is one line on stderr and exit 2, never stdout or a
    traceback (the command used to print pydantic's multi-line text to stdout)."""
    monkeypatch.delenv("HEMS_DATA_DIR", raising=False)
    bad_home = tmp_path / "home.json"
    bad_home.write_text('{"cem_serial": 5}')
    runner = CliRunner()
    for args in (
        ["backtest", "--home", str(bad_home)],
        ["backtest", "--home", str(tmp_path / "missing.json")],
        ["backtest", "--start", "yesterday"],
        ["backtest", "--strategies", "magic"],
        ["backtest", "--data", str(tmp_path / "no-such-folder")],
    ):
        result = runner.invoke(app, [*args, "--out", str(tmp_path / "r.csv")])
        assert result.exit_code == 2, (args, result.output)
        assert result.stdout == ""
        assert result.stderr.startswith("Error: ")
        assert result.stderr.count("\n") == 1
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_hems_backtest_with_only_a_data_folder_runs_and_prints_the_headline(tmp_path, monkeypatch):
    """Issue 28: `hems backtest` with HEMS_DATA_DIR set and nothing else started on
    2026-01-12, outside the data, and failed with "no value for 192 slot(s)". It now starts a
    few days into the data and says what the planner saves against the best baseline."""
    from tests.hems.backtest.synthetic import write_data_folder

    folder = write_data_folder(tmp_path / "data")  # 2020-02-06 to 2020-03-07
    monkeypatch.setenv("HEMS_DATA_DIR", str(folder))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["backtest"])
    assert result.exit_code == 0, result.output
    assert "2 d from 2020-02-11 00:00 UTC" in result.output
    assert "The planner's bill" in result.output
    assert "than the best baseline's (naive, £" in result.output
    assert "add perfect_foresight to --strategies for the capture ratio" in result.output
    assert pd.read_csv(tmp_path / "out" / "backtest.csv")["strategy"].tolist() == [
        "planner",
        "naive",
    ]


def test_hems_backtest_outside_the_data_says_which_dates_they_cover(tmp_path, monkeypatch):
    from tests.hems.backtest.synthetic import write_data_folder

    folder = write_data_folder(tmp_path / "data")
    monkeypatch.setenv("HEMS_DATA_DIR", str(folder))
    result = CliRunner().invoke(
        app, ["backtest", "--start", "2026-01-12", "--out", str(tmp_path / "r.csv")]
    )
    assert result.exit_code == 2
    assert "no value for" not in result.stderr
    assert "which cover 2020-02-06 to 2020-03-06 (UTC)" in result.stderr
    assert "without --start: 2020-02-11" in result.stderr


def test_hems_backtest_plots_bills_soc_and_prices_offline(tmp_path, monkeypatch):
    from tests.hems.backtest.synthetic import write_data_folder

    monkeypatch.delenv("HEMS_DATA_DIR", raising=False)
    folder = write_data_folder(tmp_path / "data")
    plot = tmp_path / "charts" / "run.html"
    args = ["backtest", "--data", str(folder), "--start", "2020-03-02", "--days", "1"]
    args += ["--strategies", "naive,battery_timer", "--out", str(tmp_path / "r.csv")]
    refused = CliRunner().invoke(app, [*args, "--plot", str(tmp_path / "run.png")])
    assert refused.exit_code == 2
    assert "name it FILE.html" in refused.stderr
    result = CliRunner().invoke(app, [*args, "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    html = plot.read_text()
    assert re.findall(r"<(?:script|link)\b[^>]*\b(?:src|href)=", html) == []  # plotly.js inside
    assert "Plotly.newPlot" in html
    for title in ("Running bill", "Battery state of charge (%)", "Import price"):
        assert title in html
    assert '"name":"battery_timer"' in html
    slots = pd.read_csv(tmp_path / "r_slots.csv")
    timer = slots[slots["strategy"] == "battery_timer"]
    assert timer["battery_soc_pct"].between(0, 100).all()
    assert timer["battery_soc_pct"].nunique() > 1  # the timer charges and discharges
    assert slots["import_price_gbp_per_kwh"].gt(0).all()


@pytest.mark.parametrize(
    ("scheduler", "expected"),
    [
        ("tcp://10.1.2.3:8786", "or set --planner-network-private if"),
        ("tls://127.0.0.1:8786", "needs --planner-tls-ca-file"),
        ("10.1.2.3", "not a tcp://host:port"),
    ],
)
def test_hems_backtest_refuses_a_scheduler_reached_unsafely(tmp_path, scheduler, expected):
    """Checked as the service's planner_scheduler, before any data loads or Dask connects."""
    result = CliRunner().invoke(
        app, ["backtest", "--scheduler", scheduler, "--out", str(tmp_path / "r.csv")]
    )
    assert result.exit_code == 2, result.output
    assert "--scheduler" in result.output
    assert expected in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_hems_backtest_passes_the_model_cache_shapes_to_the_run(tmp_path, monkeypatch):
    import hems.backtest.request as request
    from tests.hems.backtest.synthetic import write_data_folder

    monkeypatch.delenv("HEMS_DATA_DIR", raising=False)
    folder = write_data_folder(tmp_path / "data")
    demo = ["backtest", "--days", "1", "--strategies", "planner", "--out", str(tmp_path / "r.csv")]
    real = [*demo, "--data", str(folder), "--start", "2020-03-02"]
    seen = []

    def recording(config, names, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(config.model_cache_shapes)
        raise SystemExit(0)  # the config is what this test is about, not the run

    monkeypatch.setattr(request, "run_backtest", recording)
    for args in (demo, real):
        CliRunner().invoke(app, [*args, "--model-cache-shapes", "0"])
        CliRunner().invoke(app, args)
    assert seen == [0, 32, 0, 32]
    refused = CliRunner().invoke(app, [*demo, "--model-cache-shapes", "-1"])
    assert refused.exit_code == 2
    assert seen == [0, 32, 0, 32]
