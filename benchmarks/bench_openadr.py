"""OpenADR codec benchmark: parse + validate (+ verify) an oadrDistributeEvent with 5 events,
render (+ sign) an oadrUpdateReport. Prints medians and writes benchmarks/results/openadr.json.

    python -m benchmarks.bench_openadr [--repeat 300]

Test keys are generated at run time (EC P-256 and RSA-2048). One process, one core.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from adapters.openadr import codec
from adapters.openadr import messages as m
from adapters.openadr.events import REAL_POWER_KW, Event, EventSignal, Interval, Target
from adapters.openadr.reports import ReportData, ReportInterval, ReportPoint
from adapters.openadr.signatures import XmlSigner, XmlVerifier
from adapters.openadr.tls import fingerprint_pem
from adapters.openadr.vocab import EventStatus

RESULTS = Path(__file__).parent / "results"
T0 = datetime.now(UTC).replace(microsecond=0)


def _identity(kind: str) -> tuple[bytes, bytes]:
    key = (
        ec.generate_private_key(ec.SECP256R1())
        if kind == "ec"
        else rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"bench-{kind}")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(T0 - timedelta(days=1))
        .not_valid_after(T0 + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return (
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def distribute_event() -> m.DistributeEvent:
    events = []
    for k in range(5):
        start = T0 + timedelta(hours=k)
        intervals = tuple(
            Interval(
                uid=i,
                duration_s=300,
                value=3.0 - 0.1 * i,
                start_utc=start + timedelta(minutes=5 * i),
            )
            for i in range(12)
        )
        events.append(
            Event(
                event_id=f"ev-{k}",
                modification_number=k,
                status=EventStatus.FAR,
                market_context="http://dsrsp.example/programme",
                created_utc=T0,
                start_utc=start,
                duration_s=3600,
                signals=(
                    EventSignal(
                        signal_id=f"s-{k}",
                        name="LOAD_DISPATCH",
                        type="setpoint",
                        unit=REAL_POWER_KW,
                        intervals=intervals,
                    ),
                ),
                target=Target(ven_ids=("ven-1",)),
                start_after_s=600,
            )
        )
    return m.DistributeEvent(request_id="dist-1", vtn_id="vtn-1", events=tuple(events))


def update_report() -> m.UpdateReport:
    """Fast DR telemetry: 5 samples (2 s) of site + 3 devices, one payload per interval."""
    intervals = tuple(
        ReportInterval(
            start_utc=T0 + timedelta(seconds=2 * s),
            duration_s=2,
            points=(ReportPoint(r_id=f"{res}.power", value=1.0 + s),),
        )
        for s in range(5)
        for res in ("site", "ev", "battery", "heat-pump")
    )
    data = ReportData(
        report_id="rep-1",
        report_request_id="rr-1",
        report_specifier_id="TELEMETRY_USAGE",
        report_name="TELEMETRY_USAGE",
        created_utc=T0,
        start_utc=T0,
        duration_s=10,
        intervals=intervals,
    )
    return m.UpdateReport(request_id="up-1", reports=(data,), ven_id="ven-1")


def _parse_next(signed: Iterator[bytes], verifier: XmlVerifier) -> object:
    """Parse, validate and verify the next of ``signed``: a fresh message each call, as the
    verifier refuses a replayed one."""
    return codec.parse(next(signed), verifier=verifier)


def _median_ms(fn: Callable[[], object], repeat: int) -> dict[str, float]:
    """Wall-clock median and minimum [ms], and the median CPU time of this thread [ms] (less
    sensitive to other processes on a shared machine; "per core" is about CPU time)."""
    fn()
    times, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.thread_time()
        fn()
        cpu.append((time.thread_time() - c) * 1000)
        times.append((time.perf_counter() - t) * 1000)
    med = statistics.median(times)
    return {
        "median_ms": round(med, 3),
        "min_ms": round(min(times), 3),
        "cpu_median_ms": round(statistics.median(cpu), 3),
        "per_s": round(1000 / med),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()
    dist, report = distribute_event(), update_report()
    results: dict[str, dict[str, float]] = {}
    load_1min = os.getloadavg()[0]
    plain = codec.render(dist)
    results["parse+validate distribute (5 events)"] = _median_ms(
        lambda: codec.parse(plain), args.repeat
    )
    results["render+validate update report"] = _median_ms(lambda: codec.render(report), args.repeat)
    results["render update report (no validation)"] = _median_ms(
        lambda: codec.render(report, check=False), args.repeat
    )
    for kind in ("ec", "rsa"):
        cert, key = _identity(kind)
        signer = XmlSigner(cert, key)
        signed = [codec.render(dist, signer=signer) for _ in range(args.repeat + 1)]
        verifier = XmlVerifier(fingerprint=fingerprint_pem(cert), window_s=3600)
        it = iter(signed)
        results[f"parse+validate+verify distribute ({kind})"] = _median_ms(
            partial(_parse_next, it, verifier), args.repeat
        )
        results[f"render+sign+validate update report ({kind})"] = _median_ms(
            partial(codec.render, report, signer=signer), args.repeat
        )
    width = max(map(len, results))
    print(f"load average (1 min) at start {load_1min:.2f} on {os.cpu_count()} CPUs")
    for name, r in results.items():
        line = f"{name:<{width}}  median {r['median_ms']:7.3f} ms  min {r['min_ms']:7.3f} ms"
        print(f"{line}  cpu {r['cpu_median_ms']:7.3f} ms  {r['per_s']:6d}/s")
    RESULTS.mkdir(exist_ok=True)
    out = {
        "when_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "repeat": args.repeat,
        "load_average_1min_at_start": round(load_1min, 2),
        "cpus": os.cpu_count(),
        "distribute_bytes": len(plain),
        "update_report_bytes": len(codec.render(report)),
        "results": results,
    }
    (RESULTS / "openadr.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    with tempfile.TemporaryDirectory():
        main()
