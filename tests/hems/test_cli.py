"""`cem plan` (what `make run` calls) plans the demo home and writes the plan."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from hems.cli import app
from hems.demo import demo_problem, read_demo_series
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
    assert {"grid_import_kw", "Battery.soc_pct", "Heat pump.indoor_c", "cost_gbp"} <= set(
        frame.columns
    )


def test_hems_plan_plans_the_services_demo_home_from_now(tmp_path):
    """Issue 28: `hems plan` planned demo_problem (a hot-water tank the service's demo home
    lacks, on the sample's own dates); it now plans the home `hems run --demo` plans, from
    now, with the states the service's simulation starts in."""
    from datetime import UTC, datetime, timedelta

    from hems.cli_plan import DEMO_SERIAL, demo_home_problem
    from hems.demo import demo_home_spec
    from hems.runtime import DEMO_SERIAL as SERVICE_DEMO_SERIAL

    assert DEMO_SERIAL == SERVICE_DEMO_SERIAL
    out = tmp_path / "plan.csv"
    before = datetime.now(UTC)
    result = CliRunner().invoke(app, ["plan", "--out", str(out)])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out, index_col=0, parse_dates=True)
    first = frame.index[0].to_pydatetime()
    assert before - timedelta(minutes=30) <= first <= before  # the slot holding now
    assert not [c for c in frame.columns if "tank" in c]  # no hot-water tank in the service
    # a morning when the commuter's car is at home: the car is in the plan, as in the service
    morning = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
    problem, _ = demo_home_problem(read_demo_series(), 0.2, now=morning)
    names = {d.name for d in demo_home_spec().devices}
    planned = {b.name for b in problem.batteries} | {h.name for h in problem.heat_pumps}
    assert planned | {e.name for e in problem.evs} | {p.name for p in problem.pv} == names
    assert problem.heat_pumps[0].tank is None
    assert problem.batteries[0].initial_soc == pytest.approx(0.3)
    # planned for the service's default safeguards: the car's rises lose their delay and ramp
    from hems.problem_builder import ev_dispatch_lag
    from hems.slot_setpoints import Safeguards

    assert problem.ev_dispatch_lag == ev_dispatch_lag(Safeguards())
    assert problem.ev_dispatch_lag.active


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
    assert "no home 99" in missing.stderr


# --- failures are one line on stderr and an exit code, never a traceback (hems/cli_errors.py)


def _fails_cleanly(result, code: int, *words: str) -> str:
    """The command ended by its own exit (no exception escaped), with ``code`` and a message
    on stderr that holds ``words``; returns that message (typer's usage errors fold long lines
    in a box: the words are looked for in the unfolded text)."""
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output
    message = " ".join(result.stderr.replace("│", " ").split())  # typer boxes usage errors
    for word in words:
        assert word in message, result.stderr
    return message


@pytest.fixture
def state(tmp_path, monkeypatch):
    """A state directory for the commands that open the database."""
    monkeypatch.setenv("HEMS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("HEMS_DATABASE_URL", raising=False)
    return tmp_path / "state"


def test_invalid_toml_in_config_is_a_message(tmp_path, state):
    bad = tmp_path / "hems.toml"
    bad.write_text("api_port = = 3\n")
    result = CliRunner().invoke(app, ["token", "create", "--config", str(bad)])
    _fails_cleanly(result, 2, str(bad), "not valid TOML")


def test_a_binary_home_file_is_a_message(tmp_path):
    home = tmp_path / "home.json"
    home.write_bytes(bytes(range(256)))
    result = CliRunner().invoke(app, ["plan", "--home", str(home), "--out", str(tmp_path / "p")])
    _fails_cleanly(result, 2, str(home), "Invalid JSON")


def test_an_unwritable_out_is_refused_before_planning(tmp_path, monkeypatch):
    import hems.cli

    monkeypatch.setattr(hems.cli, "optimise", lambda *a: pytest.fail("planned anyway"))
    (tmp_path / "afile").write_text("")
    result = CliRunner().invoke(app, ["plan", "--out", str(tmp_path / "afile" / "plan.csv")])
    _fails_cleanly(result, 2, "--out", "cannot create")


def test_a_missing_or_malformed_data_file_is_a_message(tmp_path):
    out = str(tmp_path / "plan.csv")
    missing = CliRunner().invoke(app, ["plan", "--data", str(tmp_path / "no.csv"), "--out", out])
    _fails_cleanly(missing, 2, "--data", "does not exist")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    result = CliRunner().invoke(app, ["plan", "--data", str(bad), "--out", out])
    _fails_cleanly(result, 2, str(bad), "lacks the column(s) slot_start_utc")
    short = tmp_path / "short.csv"
    read_demo_series().head(10).to_csv(short)
    result = CliRunner().invoke(app, ["plan", "--data", str(short), "--out", out])
    _fails_cleanly(result, 2, "at least 96 consecutive 30-minute slots")


def test_a_state_dir_that_is_a_file_is_a_message(tmp_path, monkeypatch):
    (tmp_path / "afile").write_text("")
    monkeypatch.setenv("HEMS_STATE_DIR", str(tmp_path / "afile"))
    result = CliRunner().invoke(app, ["token", "create"])
    _fails_cleanly(result, 2, "state_dir", "is not a directory")


def test_an_unreachable_postgresql_is_a_message(state, monkeypatch):
    with socket.socket() as s:  # a port on 127.0.0.1 that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HEMS_DATABASE_URL", f"postgresql+psycopg://hems@127.0.0.1:{port}/hems")
    result = CliRunner().invoke(app, ["token", "create"])
    _fails_cleanly(result, 1, "database error", f"port {port} failed")


def test_an_https_vtn_without_ca_or_pin_stops_run_at_once(tmp_path, state, monkeypatch):
    for name in ("cem.pem", "cem.key"):
        (tmp_path / name).write_text("")
    monkeypatch.setenv("HEMS_VTN_URL", "https://127.0.0.1:9/OpenADR2/Simple/2.0b")
    monkeypatch.setenv("HEMS_VEN_CERT_FILE", str(tmp_path / "cem.pem"))
    monkeypatch.setenv("HEMS_VEN_KEY_FILE", str(tmp_path / "cem.key"))
    result = CliRunner().invoke(app, ["run"])
    _fails_cleanly(result, 2, "needs vtn_ca_file", "vtn_fingerprint")
    assert not state.exists()  # nothing started


def test_the_api_port_in_use_is_a_message_before_anything_starts(state):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        result = CliRunner().invoke(app, ["run", "--port", str(port)])
    _fails_cleanly(result, 1, f"cannot listen on 127.0.0.1:{port}", "in use")
    assert not state.exists()  # no database, no tokens printed


def test_a_home_id_beyond_any_row_id_is_a_usage_error(state):
    result = CliRunner().invoke(app, ["token", "create", "--home", "99999999999999999999"])
    _fails_cleanly(result, 2, "--home")


def test_a_bug_says_how_to_get_the_traceback(tmp_path, monkeypatch):
    import hems.cli

    def broken(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(hems.cli, "optimise", broken)
    args = ["plan", "--out", str(tmp_path / "p.csv")]
    result = CliRunner().invoke(app, args)
    _fails_cleanly(result, 1, "unexpected RuntimeError: boom", "--debug", "HEMS_DEBUG=1")
    debug = CliRunner().invoke(app, ["--debug", *args])
    assert isinstance(debug.exception, RuntimeError)
    monkeypatch.setenv("HEMS_DEBUG", "1")
    assert isinstance(CliRunner().invoke(app, args).exception, RuntimeError)


def test_the_installed_command_prints_no_traceback(tmp_path):
    """The real entry point (the `hems` script), not only typer's test runner."""
    bad = tmp_path / "hems.toml"
    bad.write_text("[[[\n")
    env = {**os.environ, "HEMS_STATE_DIR": str(tmp_path / "state"), "COLUMNS": "200"}
    env.pop("HEMS_DEBUG", None)
    hems = Path(sys.executable).with_name("hems")
    done = subprocess.run(
        [str(hems), "token", "create", "--config", str(bad)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().count("\n") == 0  # one line
    assert "not valid TOML" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_next_trip_in_the_past_is_refused_naming_the_file(tmp_path):
    from hems.demo import demo_home_spec

    home = tmp_path / "home.json"
    home.write_text(demo_home_spec().model_dump_json())
    prefs = tmp_path / "prefs.json"
    prefs.write_text('{"ev_next_trip": {"leave_at": "1970-01-01T07:30:00Z", "target_soc": 0.8}}')
    args = ["plan", "--home", str(home), "--preferences", str(prefs)]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "p.csv")])
    _fails_cleanly(result, 2, str(prefs), "ev_next_trip.leave_at", "must leave in the future")


@pytest.mark.parametrize(
    ("server", "device", "message"),
    [
        ("ocpp", 'EV]\nprotocol = "ocpp"\nidentity = "CP-1"', "the CSMS (devices.ocpp)"),
        ("s2", 'Battery]\nprotocol = "s2"\nrm_id = "battery-1"', "the S2 server (devices.s2)"),
    ],
    ids=["ocpp", "s2"],
)
def test_a_device_server_port_in_use_is_a_message_before_anything_starts(
    state, tmp_path, server, device, message
):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        config = tmp_path / "hems.toml"
        config.write_text(
            f"[devices.{server}]\nport = {port}\n[devices.homes.CEM-1.devices.{device}\n"
        )
        result = CliRunner().invoke(app, ["run", "--config", str(config)])
    _fails_cleanly(result, 1, f"{message} cannot listen on 127.0.0.1:{port}")
    assert not state.exists()  # no database, no tokens printed and lost
