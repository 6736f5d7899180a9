"""Runs the conformance cases against the VEN and writes the tracelogs, JUnit XML and HTML.

Each case gets a fresh VEN (its own transport, whose tracer is the case's tracelog) and, with
``--self`` (:func:`run_self`), a fresh reference VTN on 127.0.0.1 with mutual TLS and
signatures both ways (throwaway certificates under ``<out>/pki``). :func:`run_against` drives
the cases a real VTN can take part in without an operator (registration, signatures, reports);
the others are skipped, each with the reason. Every case is bounded (``case_timeout_s``) and so
is the run (``max_duration_s``: the cases left when it is spent are skipped, saying so).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from adapters.openadr import codec
from adapters.openadr.conformance.case import ANY_VTN, Case
from adapters.openadr.conformance.catalogue import ALL_CASES
from adapters.openadr.conformance.context import (
    CaseContext,
    CaseFailedError,
    CaseSkippedError,
    VenHooks,
)
from adapters.openadr.conformance.pki import Pki, make_pki
from adapters.openadr.conformance.reference_vtn import ReferenceVtn
from adapters.openadr.conformance.report import CaseResult, RunResult, write_reports
from adapters.openadr.conformance.tracelog import TraceLog
from adapters.openadr.hooks import Resource
from adapters.openadr.signatures import XmlSigner, XmlVerifier
from adapters.openadr.tls import TlsSettings, client_context, fingerprint_pem
from adapters.openadr.transport import HttpTransport, TransportError
from adapters.openadr.ven import RegistrationError, Ven, VenSettings

log = logging.getLogger(__name__)

TRACELOG_DIR = "tracelogs"
SELF_VEN = VenSettings(
    manufacturer="CEM-conformance",
    serial_number="SELF-0001",
    resources=(Resource(resource_id="ev-charger", has_soc=True),),
    xml_signature=True,
    report_min_period_s=1.0,
)


@dataclass(frozen=True, slots=True)
class VtnTarget:
    """A real VTN and how the VEN talks to it (``--vtn URL``).

    Attributes:
        url: the VTN's base URL (``.../OpenADR2/Simple/2.0b``).
        ven: the VEN's identity and resources.
        ssl_context: mutual TLS (None: plain HTTP).
        signer, verifier: XML signatures (None: not used).
        ven_cert_pem: the certificate the signer signs with (the signature case checks it).
    """

    url: str
    ven: VenSettings
    ssl_context: ssl.SSLContext | None = None
    signer: codec.Signer | None = None
    verifier: codec.Verifier | None = None
    ven_cert_pem: bytes | None = None


class VtnFactory(Protocol):
    def __call__(self, pki: Pki) -> ReferenceVtn: ...


@dataclass
class _Plan:
    """What every case of one run shares."""

    out_dir: Path
    mode: str
    target: str
    case_timeout_s: float
    deadline: float
    results: list[CaseResult] = field(default_factory=list)


async def run_self(
    out_dir: Path,
    *,
    cases: Sequence[Case] = ALL_CASES,
    vtn_factory: VtnFactory = ReferenceVtn,
    case_timeout_s: float = 20.0,
    max_duration_s: float = 300.0,
) -> RunResult:
    """Every case against a fresh reference VTN each (openleadr's, mutual TLS, signatures)."""
    pki = make_pki(out_dir / "pki")
    plan = _plan(out_dir, "self", "reference VTN (openleadr)", case_timeout_s, max_duration_s)

    @contextlib.asynccontextmanager
    async def environment(case: Case, trace: TraceLog) -> AsyncIterator[CaseContext]:
        vtn = vtn_factory(pki)
        await vtn.start()
        transport = _self_transport(vtn, pki, trace)
        hooks = VenHooks()
        ven = _ven(SELF_VEN, transport, hooks)
        try:
            yield CaseContext(ven, trace, hooks, vtn=vtn, ven_cert_pem=pki.ven.cert_pem)
        finally:
            await transport.aclose()
            await vtn.stop()

    return await _run(plan, cases, environment)


async def run_against(
    target: VtnTarget,
    out_dir: Path,
    *,
    cases: Sequence[Case] = ALL_CASES,
    case_timeout_s: float = 20.0,
    max_duration_s: float = 300.0,
) -> RunResult:
    """The cases a real VTN can drive (:data:`~adapters.openadr.conformance.case.ANY_VTN`);
    the others skipped with their reason. The VEN deregisters after each case."""
    plan = _plan(out_dir, "vtn", target.url, case_timeout_s, max_duration_s)
    settings = replace(target.ven, xml_signature=target.signer is not None)

    @contextlib.asynccontextmanager
    async def environment(case: Case, trace: TraceLog) -> AsyncIterator[CaseContext]:
        if case.self_only != ANY_VTN:
            raise CaseSkippedError(case.self_only)
        transport = HttpTransport(
            target.url,
            ssl_context=target.ssl_context,
            signer=target.signer,
            verifier=target.verifier,
            tracer=trace,
        )
        hooks = VenHooks()
        ven = _ven(settings, transport, hooks)
        try:
            yield CaseContext(ven, trace, hooks, ven_cert_pem=target.ven_cert_pem)
        finally:
            with contextlib.suppress(TransportError):
                if ven.ven_id is not None:
                    trace.note("cleanup: deregistering")
                    await ven.deregister()
            await transport.aclose()

    return await _run(plan, cases, environment)


Environment = Callable[[Case, TraceLog], contextlib.AbstractAsyncContextManager[CaseContext]]


def _plan(out_dir: Path, mode: str, target: str, case_s: float, max_s: float) -> _Plan:
    (out_dir / TRACELOG_DIR).mkdir(parents=True, exist_ok=True)
    return _Plan(out_dir, mode, target, case_s, time.monotonic() + max_s)


async def _run(plan: _Plan, cases: Sequence[Case], environment: Environment) -> RunResult:
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    for case in cases:
        plan.results.append(await _run_case(plan, case, environment))
    run = RunResult(
        mode=plan.mode,
        target=plan.target,
        started_utc=started,
        duration_s=time.perf_counter() - t0,
        results=tuple(plan.results),
    )
    write_reports(run, plan.out_dir)
    return run


async def _run_case(plan: _Plan, case: Case, environment: Environment) -> CaseResult:
    trace = TraceLog(case.case_id)
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    left_s = min(plan.case_timeout_s, plan.deadline - time.monotonic())
    try:
        if left_s <= 0:
            raise CaseSkippedError("the run's time limit was spent before this case")
        async with environment(case, trace) as ctx:
            await asyncio.wait_for(case.run(ctx), timeout=left_s)
        outcome, message = "passed", ""
    except CaseSkippedError as exc:
        outcome, message = "skipped", str(exc)
    except CaseFailedError as exc:
        outcome, message = "failed", str(exc)
    except TimeoutError:
        outcome, message = "failed", f"did not finish within {left_s:.0f} s"
    except (TransportError, RegistrationError) as exc:
        outcome, message = "failed", f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # a bug in the case or the VEN: reported, the run goes on
        outcome, message = "error", f"{type(exc).__name__}: {exc}"
        log.warning("conformance case %s crashed: %s", case.case_id, message)
        log.debug("conformance case %s crashed", case.case_id, exc_info=True)
    tracelog = None
    if trace.entries:
        tracelog = f"{TRACELOG_DIR}/{case.case_id}.log"
        trace.write(plan.out_dir / tracelog)
    return CaseResult(
        case_id=case.case_id,
        rules=case.rules,
        checks=case.checks,
        outcome=outcome,
        message=message,
        started_utc=started,
        duration_s=time.perf_counter() - t0,
        tracelog=tracelog,
    )


def _self_transport(vtn: ReferenceVtn, pki: Pki, trace: TraceLog) -> HttpTransport:
    tls = TlsSettings(
        cert_file=pki.ven.cert_file,
        key_file=pki.ven.key_file,
        ca_file=pki.ca_file,
        vtn_fingerprint=fingerprint_pem(pki.vtn.cert_pem),
    )
    return HttpTransport(
        vtn.url,
        ssl_context=client_context(tls),
        signer=XmlSigner(pki.ven.cert_pem, pki.ven.key_pem),
        verifier=XmlVerifier(fingerprint=fingerprint_pem(pki.vtn.cert_pem), required=True),
        tracer=trace,
    )


def _ven(settings: VenSettings, transport: HttpTransport, hooks: VenHooks) -> Ven:
    return Ven(
        settings,
        transport,
        decide=hooks.decide,
        telemetry=hooks.telemetry,
        cancelled=hooks.on_cancelled,
    )
