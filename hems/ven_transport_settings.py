"""The VEN's transport settings checked together at start-up: the mutual TLS to the VTN
(``vtn_url`` over https) and the listener the VTN pushes to (``ven_push_*``). Half-configured,
they would fail at the first poll or push instead (or accept pushes from anyone), so the
service refuses to start, naming what is missing."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hems.settings import Settings

WILDCARD_HOSTS = ("0.0.0.0", "::", "")


def vtn_tls_problem(s: Settings) -> str | None:
    """The checks :class:`adapters.openadr.tls.TlsSettings` makes when the VENs start; None
    when they pass (or ``vtn_url`` is not https)."""
    if not s.vtn_url.startswith("https"):
        return None
    if not (s.ven_cert_file and s.ven_key_file):
        return "an https vtn_url needs ven_cert_file and ven_key_file (mutual TLS)"
    if not (s.vtn_ca_file or s.vtn_fingerprint):
        return (
            "an https vtn_url needs vtn_ca_file (the CA the VTN's certificate chains "
            "to), vtn_fingerprint (the VTN's pinned certificate) or both"
        )
    return None


def push_problem(s: Settings) -> str | None:
    """What a half-configured push listener misses; None when complete (or not used)."""
    given = [
        name
        for name in ("ven_push_cert_file", "ven_push_key_file", "ven_push_url")
        if getattr(s, name)
    ]
    if not s.ven_push_port:
        if given:
            return (
                f"{', '.join(given)} set but ven_push_port is 0: set the port to serve the "
                "VENs' push endpoint, or remove them"
            )
        return None
    needed = {
        "ven_push_cert_file": s.ven_push_cert_file,
        "ven_push_key_file": s.ven_push_key_file,
        "vtn_url": s.vtn_url,
        "vtn_ca_file (the CA the VTN's client certificate chains to)": s.vtn_ca_file,
        "vtn_fingerprint (the VTN's certificate, compared on each push)": s.vtn_fingerprint,
    }
    missing = [name for name, value in needed.items() if not value]
    if missing:
        return f"ven_push_port needs {', '.join(missing)}"
    if not s.ven_push_url and s.ven_push_host in WILDCARD_HOSTS:
        return (
            f"ven_push_host {s.ven_push_host!r} is a wildcard address: set ven_push_url "
            "to the address the VTN reaches the push endpoint at"
        )
    return None


def push_base_url(s: Settings) -> str:
    """The push endpoint's address as the VTN reaches it (empty: no push listener)."""
    if not s.ven_push_port:
        return ""
    if s.ven_push_url:
        return s.ven_push_url.rstrip("/")
    host = s.ven_push_host
    host = f"[{host}]" if ":" in host else host
    return f"https://{host}:{s.ven_push_port}"
