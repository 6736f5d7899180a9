"""Conformance runs against a VTN given by the service's settings (``--vtn``, and ``vtn`` runs
over REST, which run as a child process with those settings): openleadr's VTN over mutual TLS
with signatures stands for the DSRSP's. A run outliving its bound is killed."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.openadr.conformance.catalogue import ALL_CASES
from adapters.openadr.conformance.pki import Pki, make_pki
from adapters.openadr.conformance.reference_vtn import ReferenceVtn
from hems.conformance import RunRequest, check_request, run
from hems.settings import Settings
from hems.usecases import conformance as uc

pytestmark = [pytest.mark.interop]
OPERATOR_FREE = {"registration", "signatures", "reports", "eiopt_schedule"}


def _settings(state_dir: Path, pki: Pki, url: str) -> Settings:
    """The full security profile: mutual TLS, signing, the VTN's signatures required."""
    return Settings(
        state_dir=state_dir,
        vtn_url=url,
        ven_cert_file=pki.ven.cert_file,
        ven_key_file=pki.ven.key_file,
        vtn_ca_file=pki.ca_file,
        ven_sign_messages=True,
        vtn_signing_cert_file=pki.vtn.cert_file,
        vtn_signatures_required=True,
    )


def test_the_settings_profile_passes_the_operator_free_cases(tmp_path):
    async def scenario() -> dict[str, str]:
        pki = make_pki(tmp_path / "pki")
        vtn = ReferenceVtn(pki, report_period_s=2.0)  # the VEN's default shortest period
        await vtn.start()
        try:
            settings = _settings(tmp_path, pki, vtn.url)
            request = RunRequest(mode="vtn")
            assert check_request(request, settings) is None
            result = await run(request, settings, tmp_path / "out")
        finally:
            await vtn.stop()
        return {r.case_id: r.outcome for r in result.results}

    outcomes = asyncio.run(scenario())
    assert {k for k, o in outcomes.items() if o == "passed"} == OPERATOR_FREE
    assert {k for k, o in outcomes.items() if o == "skipped"} == {
        c.case_id for c in ALL_CASES
    } - OPERATOR_FREE


@pytest.fixture
def vtn_in_a_thread(tmp_path) -> Iterator[ReferenceVtn]:
    """The reference VTN in its own thread's loop, for a child process to reach."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    vtn = ReferenceVtn(make_pki(tmp_path / "pki"), report_period_s=2.0)
    asyncio.run_coroutine_threadsafe(vtn.start(), loop).result(10)
    yield vtn
    asyncio.run_coroutine_threadsafe(vtn.stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def _wait(run: uc.ConformanceRun, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while run.status == "running" and time.monotonic() < deadline:
        time.sleep(0.2)


def test_a_vtn_run_in_the_background_uses_the_services_settings(tmp_path, vtn_in_a_thread):
    """The child process gets the profile as HEMS_* variables: without the signing settings the
    signatures case would fail, without the TLS ones nothing would connect."""
    vtn = vtn_in_a_thread
    runs = uc.ConformanceRuns(_settings(tmp_path, vtn.pki, vtn.url))
    started = runs.start(RunRequest(mode="vtn", cases=("registration", "signatures")))
    _wait(started, 90)
    assert started.status == "finished", started.problem
    summary = started.summary()
    assert summary is not None
    assert summary["counts"]["passed"] == 2, summary
    assert summary["target"] == vtn.url
    assert len(vtn.record.registrations) == 2  # the VTN saw the runs' VEN register twice


def test_a_run_outliving_its_bound_is_killed(tmp_path, monkeypatch):
    monkeypatch.setattr(uc, "START_MARGIN_S", -9.5)  # bound 10 s - 9.5 s: killed at 0.5 s
    runs = uc.ConformanceRuns(Settings(state_dir=tmp_path))
    started = runs.start(RunRequest(mode="self", max_duration_s=10.0))
    _wait(started, 10)
    assert started.status == "crashed"
    assert started.problem == "killed after 0.5 s (its bound)"
    assert started.summary() is None
    again = runs.start(RunRequest(mode="self", max_duration_s=10.0))  # the slot is free again
    assert again.status == "running"
    runs.stop()
