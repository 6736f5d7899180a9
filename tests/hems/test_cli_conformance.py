"""``hems conformance run``: CI runs ``--self`` as a user would (a child process), and the
command refuses bad input in one line (exit 2)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.openadr.conformance.catalogue import ALL_CASES
from hems.cli import app

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.interop
def test_hems_conformance_run_self_passes_and_writes_junit_and_tracelogs(tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "HEMS_STATE_DIR": str(tmp_path / "state"), "COLUMNS": "200"}
    env.pop("HEMS_VTN_URL", None)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "hems.cli", "conformance", "run", "--self", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    elapsed_s = time.perf_counter() - started
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(ALL_CASES)} passed, 0 failed, 0 error, 0 skipped" in done.stdout
    assert "Warning" not in done.stderr
    suite = ET.parse(out / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    assert suite.get("tests") == str(len(ALL_CASES))
    assert suite.get("failures") == "0"
    for case in ALL_CASES:
        assert b"<ds:Signature" in (out / "tracelogs" / f"{case.case_id}.log").read_bytes()
    assert (out / "summary.html").read_text().startswith("<!doctype html>")
    assert elapsed_s < 60


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], "exactly one of --self and --vtn"),
        (["--self", "--vtn", "http://127.0.0.1:9/x"], "exactly one of --self and --vtn"),
        (["--self", "--case", "nope"], "unknown case(s) nope"),
        (["--vtn", "ftp://vtn.example"], "needs the VTN's http(s) URL"),
        (["--vtn", "https://vtn.example/OpenADR2/Simple/2.0b"], "needs ven_cert_file"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, monkeypatch, args, expected):
    monkeypatch.setenv("HEMS_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("HEMS_VTN_URL", raising=False)
    result = CliRunner().invoke(app, ["conformance", "run", *args, "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert not (tmp_path / "o").exists()


def test_without_openleadr_self_says_what_is_missing(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "openleadr" else real(name)
    )
    monkeypatch.setenv("HEMS_STATE_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["conformance", "run", "--self", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "--self needs openleadr" in result.output
