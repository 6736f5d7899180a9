"""The conformance runner against its own reference VTN (openleadr's, mutual TLS, signatures):
every case passes, the JUnit XML parses and counts them, each case's tracelog holds the signed
XML exactly as sent; a VTN signing with the wrong key makes the cases fail, in the JUnit too."""

from __future__ import annotations

import asyncio
import re
import xml.etree.ElementTree as ET

import pytest
from aiohttp import web

from adapters.openadr import codec
from adapters.openadr import messages as m
from adapters.openadr.conformance.catalogue import ALL_CASES, select
from adapters.openadr.conformance.pki import Pki, make_pki
from adapters.openadr.conformance.reference_vtn import ReferenceVtn
from adapters.openadr.conformance.report import RunResult
from adapters.openadr.conformance.runner import VtnTarget, run_against, run_self
from adapters.openadr.conformance.tracelog import IN, OUT, TraceLog
from adapters.openadr.hooks import Resource
from adapters.openadr.signatures import XmlSigner, XmlVerifier
from adapters.openadr.tls import TlsSettings, client_context, fingerprint_pem
from adapters.openadr.transport import HttpTransport
from adapters.openadr.ven import VenSettings
from tests.adapters.openadr.crafted_vtn import CraftedVtn

pytestmark = [pytest.mark.interop]

HEADER = re.compile(rb"^--- \S+  (VEN -> VTN|VTN -> VEN)  .*\((\d+) bytes\)\n", re.MULTILINE)


def _bodies(tracelog: bytes, direction: bytes) -> list[bytes]:
    """The XML bodies of one direction, cut from the tracelog by the sizes its headers give."""
    found = []
    for match in HEADER.finditer(tracelog):
        if match.group(1) == direction:
            start = match.end()
            found.append(tracelog[start : start + int(match.group(2))])
    return found


@pytest.fixture(scope="module")
def self_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("self-run")
    return out, asyncio.run(run_self(out))


def test_every_case_passes_against_the_reference_vtn(self_run):
    _out, run = self_run
    assert [(r.case_id, r.outcome, r.message) for r in run.results] == [
        (case.case_id, "passed", "") for case in ALL_CASES
    ]
    assert run.duration_s < 30


def test_the_junit_xml_parses_and_counts_the_cases(self_run):
    out, _run = self_run
    suite = ET.parse(out / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    assert suite.get("tests") == str(len(ALL_CASES))
    assert (suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("0", "0", "0")
    names = [case.get("name") for case in suite.iter("testcase")]
    assert names == [case.case_id for case in ALL_CASES]
    assert "tracelog: tracelogs/registration.log" in (suite.find("testcase/system-out").text or "")
    assert "replay_refused" in (out / "summary.html").read_text()


def test_each_case_has_a_tracelog_with_the_signed_xml_as_sent(self_run):
    out, _ = self_run
    ven_cert = (out / "pki" / "ven.pem").read_bytes()
    vtn_cert = (out / "pki" / "vtn.pem").read_bytes()
    for case in ALL_CASES:
        tracelog = (out / "tracelogs" / f"{case.case_id}.log").read_bytes()
        sent, received = _bodies(tracelog, b"VEN -> VTN"), _bodies(tracelog, b"VTN -> VEN")
        assert len(sent) >= 5, case.case_id
        assert received, case.case_id
        # the bytes as sent: each signature still verifies against the VEN's certificate
        ven_verifier = XmlVerifier(fingerprint=fingerprint_pem(ven_cert), window_s=3600)
        for body in sent:
            assert b"<ds:Signature" in body
            assert b"ReplayProtect" in body
            codec.parse(body, verifier=ven_verifier)
        vtn_verifier = XmlVerifier(fingerprint=fingerprint_pem(vtn_cert), window_s=3600)
        codec.parse(received[0], verifier=vtn_verifier)  # and the VTN's as received


def test_a_vtn_signing_with_a_wrong_key_fails_the_cases_in_the_junit(tmp_path):
    class RogueVtn(ReferenceVtn):
        async def start(self) -> None:
            await super().start()
            self.sign_with(self.pki.rogue)

    def rogue(pki: Pki) -> ReferenceVtn:
        return RogueVtn(pki)

    cases = select(["registration", "event_opt_in"])
    run = asyncio.run(run_self(tmp_path, cases=cases, vtn_factory=rogue))
    assert [r.outcome for r in run.results] == ["failed", "failed"]
    assert "signed by" in run.results[0].message
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    assert suite.get("failures") == "2"
    failure = suite.find("testcase/failure")
    assert failure is not None
    assert "signed by" in (failure.get("message") or "")
    tracelog = (tmp_path / "tracelogs" / "registration.log").read_text()
    assert "no usable answer: answer refused: 463 signed by" in tracelog


def test_a_case_over_its_time_is_failed_and_the_run_bounded(tmp_path):
    class SilentVtn(ReferenceVtn):
        def add_event(self, event: object) -> None:  # the event never leaves the VTN
            pass

    cases = select(["event_opt_in", "event_opt_out"])
    run = asyncio.run(
        run_self(
            tmp_path, cases=cases, vtn_factory=SilentVtn, case_timeout_s=2.0, max_duration_s=3.0
        )
    )
    assert run.results[0].outcome == "failed"
    assert "did not finish within 2 s" in run.results[0].message
    assert run.results[1].outcome in {"failed", "skipped"}
    assert run.duration_s < 10


def test_the_tracer_records_the_bytes_on_the_wire_and_changes_nothing():
    seen: list[bytes] = []
    answer = codec.render(m.Response(response=m.ok_response("r-1"), ven_id="ven-1"))

    async def reply(request: web.Request) -> web.StreamResponse:
        seen.append(await request.read())
        return web.Response(body=answer, content_type="application/xml")

    async def scenario() -> tuple[m.Message | None, TraceLog]:
        trace = TraceLog("wire")
        async with CraftedVtn(reply) as vtn:
            transport = HttpTransport(vtn.url, tracer=trace)
            try:
                return await transport.send(m.Poll(ven_id="ven-1")), trace
            finally:
                await transport.aclose()

    parsed, trace = asyncio.run(scenario())
    assert parsed == m.Response(response=m.ok_response("r-1"), ven_id="ven-1")
    assert [(e.direction, e.body) for e in trace.entries] == [(OUT, seen[0]), (IN, answer)]
    assert trace.entries[1].status == 200


def test_against_a_vtn_the_operator_free_cases_run_and_the_others_are_skipped(tmp_path):
    """``--vtn URL``: openleadr's VTN stands for the real one (mutual TLS, signatures)."""

    async def scenario() -> RunResult:
        pki = make_pki(tmp_path / "pki")
        vtn = ReferenceVtn(pki, report_period_s=2.0)  # the VEN's default shortest period
        await vtn.start()
        tls = TlsSettings(
            cert_file=pki.ven.cert_file, key_file=pki.ven.key_file, ca_file=pki.ca_file
        )
        target = VtnTarget(
            url=vtn.url,
            ven=VenSettings(
                manufacturer="ACME",
                serial_number="SN-1",
                resources=(Resource(resource_id="ev-charger", has_soc=True),),
            ),
            ssl_context=client_context(tls),
            signer=XmlSigner(pki.ven.cert_pem, pki.ven.key_pem),
            verifier=XmlVerifier(fingerprint=fingerprint_pem(pki.vtn.cert_pem)),
            ven_cert_pem=pki.ven.cert_pem,
        )
        try:
            return await run_against(target, tmp_path / "out")
        finally:
            await vtn.stop()

    run = asyncio.run(scenario())
    outcomes = {r.case_id: (r.outcome, r.message) for r in run.results}
    operator_free = {"registration", "signatures", "reports", "eiopt_schedule"}
    assert {k for k, (o, _) in outcomes.items() if o == "passed"} == operator_free
    skipped = {k: why for k, (o, why) in outcomes.items() if o == "skipped"}
    assert set(skipped) == {c.case_id for c in ALL_CASES} - operator_free
    assert "send events on cue" in skipped["event_opt_in"]
    assert "misbehaves on purpose" in skipped["replay_refused"]
    assert run.ok
    suite = ET.parse(tmp_path / "out" / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    assert suite.get("skipped") == str(len(skipped))
    assert not (tmp_path / "out" / "tracelogs" / "event_opt_in.log").exists()
    registration = (tmp_path / "out" / "tracelogs" / "registration.log").read_text()
    assert "oadrCanceledPartyRegistration" in registration


def test_a_ven_that_checks_no_event_fails_the_rule_cases(tmp_path, monkeypatch):
    """The rule cases read the VEN's answers on the wire: a VEN taking every event (no rule
    2, 8, 9 or target check) fails them."""
    monkeypatch.setattr("adapters.openadr.inbound.check_event", lambda *a, **k: None)
    cases = select(["rule_2_interval_uids", "rule_8_interval_durations", "event_opt_in"])
    run = asyncio.run(run_self(tmp_path, cases=cases))
    outcomes = [(r.outcome, r.message) for r in run.results]
    assert outcomes[0] == ("failed", "uids 1, 2: answered 200 optIn, expected 454 optOut")
    assert outcomes[1][0] == "failed"
    assert outcomes[2] == ("passed", "")


def test_an_unreachable_vtn_fails_the_cases_saying_why(tmp_path):
    """Nothing listens at the URL: each operator-free case fails at once, naming the
    connection error, and its tracelog holds the message sent and the failure."""
    from adapters.openadr.conformance.reference_vtn import free_port

    target = VtnTarget(
        url=f"http://127.0.0.1:{free_port()}/OpenADR2/Simple/2.0b",
        ven=VenSettings(manufacturer="ACME", serial_number="SN-1"),
    )
    run = asyncio.run(run_against(target, tmp_path, cases=select(["registration", "reports"])))
    assert [r.outcome for r in run.results] == ["failed", "failed"]
    assert all("ConnectError" in r.message for r in run.results), run.results
    tracelog = (tmp_path / "tracelogs" / "registration.log").read_text()
    assert "VEN -> VTN  EiRegisterParty oadrQueryRegistration" in tracelog
    assert "EiRegisterParty: no usable answer: ConnectError" in tracelog


def test_a_ven_registering_again_after_the_vtn_cancelled_fails(tmp_path, monkeypatch):
    """Before issue 26's fix the VEN forgot the registration and registered again at once."""
    from adapters.openadr.ven import Registration, Ven

    async def forget(self: Ven) -> None:
        self.registration = Registration()

    monkeypatch.setattr(Ven, "registration_cancelled_by_vtn", forget)
    run = asyncio.run(run_self(tmp_path, cases=select(["registration_cancelled_by_vtn"])))
    (result,) = run.results
    assert result.outcome == "failed"
    assert "new registrations after the VTN cancelled" in result.message
