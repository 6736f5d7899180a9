"""Conformance runs over REST: an admin starts one (a child process running ``hems conformance
run --self``), a second while it runs is refused with 409, the verdicts, the JUnit XML, the
HTML summary and each tracelog are read back; home tokens get 403, no token 401."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import pytest

from adapters.openadr.conformance.catalogue import ALL_CASES

pytestmark = [pytest.mark.interop]
PREFIX = "/admin/conformance/runs"


def _wait_finished(client, demo, run_id: str, timeout_s: float = 90.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        body = client.get(f"{PREFIX}/{run_id}", headers=demo.auth(demo.admin_token)).json()
        if body["status"] != "running" or time.monotonic() > deadline:
            return body
        time.sleep(0.5)


def test_an_admin_runs_the_cases_and_reads_the_junit_and_tracelogs(client, demo):
    admin = demo.auth(demo.admin_token)
    cases = ["registration", "signatures", "wrong_signature_refused"]
    started = client.post(PREFIX, json={"mode": "self", "cases": cases}, headers=admin)
    assert started.status_code == 202, started.text
    run = started.json()
    assert run["status"] == "running"
    again = client.post(PREFIX, json={"mode": "self"}, headers=admin)
    assert again.status_code == 409
    assert f"conformance run {run['id']} is still running" in again.json()["detail"]

    done = _wait_finished(client, demo, run["id"])
    assert done["status"] == "finished", done
    assert done["counts"] == {"passed": 3, "failed": 0, "error": 0, "skipped": 0}
    assert [c["case_id"] for c in done["cases"]] == cases
    junit = client.get(done["junit"], headers=admin)
    assert junit.headers["content-type"].startswith("application/xml")
    suite = ET.fromstring(junit.content).find("testsuite")
    assert suite is not None
    assert suite.get("tests") == "3"
    assert [c.get("name") for c in suite.iter("testcase")] == cases
    tracelog = client.get(done["cases"][2]["tracelog"], headers=admin)
    assert tracelog.status_code == 200
    assert "no usable answer: answer refused: 463 signed by" in tracelog.text
    assert "<ds:Signature" in tracelog.text
    linked = client.get(f"{PREFIX}/{run['id']}/tracelogs/registration.log", headers=admin)
    assert linked.content.startswith(b"# tracelog of conformance case registration")
    page = client.get(done["summary_html"], headers=admin)
    assert page.headers["content-type"].startswith("text/html")
    assert "wrong_signature_refused" in page.text
    # the next run may start once this one is over
    assert client.post(PREFIX, json={"cases": ["signatures"]}, headers=admin).status_code == 202
    # a restarted service still serves the finished run from its files
    from hems.usecases.conformance import ConformanceRuns

    client.app.state.conformance_runs.stop()
    client.app.state.conformance_runs = ConformanceRuns(demo.runtime.settings)
    after = client.get(f"{PREFIX}/{run['id']}", headers=admin).json()
    assert (after["status"], after["counts"]) == ("finished", done["counts"])
    listed = client.get(PREFIX, headers=admin).json()
    assert [r["id"] for r in listed if r["status"] == "finished"] == [run["id"]]
    assert client.get(after["junit"], headers=admin).content == junit.content


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", PREFIX),
        ("get", PREFIX),
        ("get", f"{PREFIX}/0123456789ab"),
        ("get", f"{PREFIX}/0123456789ab/junit.xml"),
        ("get", f"{PREFIX}/0123456789ab/tracelogs/registration"),
    ],
)
def test_home_tokens_get_403_and_no_token_401(client, demo, method, path):
    kwargs = {"json": {"mode": "self"}} if method == "post" else {}
    home = getattr(client, method)(path, headers=demo.auth(demo.home_token), **kwargs)
    assert home.status_code == 403
    anonymous = getattr(client, method)(path, **kwargs)
    assert anonymous.status_code == 401
    assert not (demo.runtime.settings.state_dir / "conformance").exists()


def test_bad_requests_are_422_and_unknown_runs_404(client, demo):
    admin = demo.auth(demo.admin_token)
    unknown_case = client.post(PREFIX, json={"cases": ["nope"]}, headers=admin)
    assert unknown_case.status_code == 422
    assert "unknown case(s) nope" in unknown_case.text
    no_vtn = client.post(PREFIX, json={"mode": "vtn"}, headers=admin)
    assert no_vtn.status_code == 422
    assert "needs the VTN's http(s) URL" in no_vtn.text
    assert client.post(PREFIX, json={"mode": "x"}, headers=admin).status_code == 422
    # no URL of the caller's choosing: the service's client certificate is not lent out
    elsewhere = {"mode": "vtn", "vtn_url": "https://elsewhere.example/OpenADR2/Simple/2.0b"}
    assert client.post(PREFIX, json=elsewhere, headers=admin).status_code == 422
    assert client.get(f"{PREFIX}/0123456789ab", headers=admin).status_code == 404
    assert client.get(f"{PREFIX}/../../etc", headers=admin).status_code in (404, 422)
    tracelog = f"{PREFIX}/0123456789ab/tracelogs/..%2Fjunit"
    assert client.get(tracelog, headers=admin).status_code in (404, 422)


def test_a_run_is_killed_when_the_service_stops(demo):
    from fastapi.testclient import TestClient

    from hems.app import create_app

    app = create_app(demo.runtime.settings, demo.runtime, run_scheduler=False)
    with TestClient(app) as client:
        started = client.post(PREFIX, json={}, headers=demo.auth(demo.admin_token))
        assert started.status_code == 202
        run = app.state.conformance_runs.get(started.json()["id"])
    deadline = time.monotonic() + 10
    while run.status == "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert run.status == "crashed"
    assert len(ALL_CASES) > 3
