"""The service's side of the OpenADR conformance runner (:mod:`adapters.openadr.conformance`):
a run against the reference VTN (``self``) or against the configured VTN with the settings'
security profile (``vtn``), used by ``hems conformance run`` and ``POST /admin/conformance/runs``.
"""

from __future__ import annotations

import asyncio
import importlib.util
import ssl
from dataclasses import dataclass
from pathlib import Path

from adapters.openadr.conformance.catalogue import select
from adapters.openadr.conformance.report import RunResult
from adapters.openadr.conformance.runner import VtnTarget, run_against, run_self
from adapters.openadr.hooks import Resource
from adapters.openadr.tls import TlsSettings, client_context
from adapters.openadr.ven import VenSettings
from hems.settings import Settings
from hems.vens import signatures

MODES = ("self", "vtn")
MAX_DURATION_S = 300.0
"""A run's bound [s]: the cases not started by then are skipped, saying so."""


@dataclass(frozen=True, slots=True)
class RunRequest:
    """What to run.

    Attributes:
        mode: ``self`` (the reference VTN) or ``vtn`` (``vtn_url``, the settings' profile).
        vtn_url: the VTN (``vtn`` mode; default: the settings' ``vtn_url``).
        cases: case ids (empty: all).
        manufacturer, serial_number: the VEN's identity at a real VTN (venName).
        max_duration_s: the run's bound [s].
    """

    mode: str = "self"
    vtn_url: str = ""
    cases: tuple[str, ...] = ()
    manufacturer: str = "CEM-conformance"
    serial_number: str = "CONFORMANCE-0001"
    max_duration_s: float = MAX_DURATION_S


def check_request(request: RunRequest, settings: Settings) -> str | None:
    """Why ``request`` cannot run (None: it can)."""
    if request.mode not in MODES:
        return f"mode must be one of {', '.join(MODES)}, not {request.mode!r}"
    if request.mode == "self" and importlib.util.find_spec("openleadr") is None:
        return "--self needs openleadr, the reference VTN (install the openadr extra)"
    try:
        select(list(request.cases))
    except ValueError as exc:
        return str(exc)
    if request.mode == "vtn":
        url = request.vtn_url or settings.vtn_url
        if not url.startswith(("http://", "https://")):
            return "a vtn run needs the VTN's http(s) URL (--vtn URL or the vtn_url setting)"
        if url.startswith("https") and not (settings.ven_cert_file and settings.ven_key_file):
            return "an https VTN needs ven_cert_file and ven_key_file (mutual TLS) in the settings"
        if url.startswith("https") and not (settings.vtn_ca_file or settings.vtn_fingerprint):
            return "an https VTN needs vtn_ca_file or vtn_fingerprint in the settings"
    return None


def vtn_target(request: RunRequest, settings: Settings) -> VtnTarget:
    """The configured VTN as the settings' VENs would talk to it (check_request first)."""
    url = request.vtn_url or settings.vtn_url
    context: ssl.SSLContext | None = None
    if url.startswith("https"):
        assert settings.ven_cert_file is not None
        assert settings.ven_key_file is not None
        context = client_context(
            TlsSettings(
                cert_file=settings.ven_cert_file,
                key_file=settings.ven_key_file,
                ca_file=settings.vtn_ca_file,
                vtn_fingerprint=settings.vtn_fingerprint or None,
            )
        )
    signer, verifier = signatures(settings)
    files = settings.ven_signing_files if settings.ven_sign_messages else None
    ven = VenSettings(
        manufacturer=request.manufacturer,
        serial_number=request.serial_number,
        resources=(Resource(resource_id="ev-charger", has_soc=True),),
    )
    return VtnTarget(
        url=url,
        ven=ven,
        ssl_context=context,
        signer=signer,
        verifier=verifier,
        ven_cert_pem=files[0].read_bytes() if files is not None else None,
    )


async def run(request: RunRequest, settings: Settings, out_dir: Path) -> RunResult:
    """Run ``request`` (checked with :func:`check_request`) and write its files to
    ``out_dir``."""
    cases = select(list(request.cases))
    if request.mode == "self":
        return await run_self(out_dir, cases=cases, max_duration_s=request.max_duration_s)
    target = vtn_target(request, settings)
    return await run_against(target, out_dir, cases=cases, max_duration_s=request.max_duration_s)


def run_blocking(request: RunRequest, settings: Settings, out_dir: Path) -> RunResult:
    """:func:`run` in its own event loop (the CLI, a worker thread)."""
    return asyncio.run(run(request, settings, out_dir))
