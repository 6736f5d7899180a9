"""Mutual TLS for the VEN and OpenADR certificate fingerprints.

OpenADR identifies a party by the fingerprint of its certificate: the last 10 bytes of the
SHA-256 of the DER certificate, as colon-separated upper-case hex (``AB:CD:...``, 29 chars).
The VEN's client context presents the CEM's certificate and key (files named in settings) and
checks the VTN against a CA file and/or a pinned fingerprint. The pin is part of the context
itself: its SSL objects and sockets run :func:`check_pinned` at the end of every TLS handshake,
so every new connection (not only the first; httpx opens new ones when the VTN closes a
keep-alive connection) is checked before a single byte of HTTP is sent on it, whatever client
library uses the context.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

log = logging.getLogger(__name__)


def fingerprint_der(der: bytes) -> str:
    """The OpenADR fingerprint of a DER certificate."""
    tail = hashlib.sha256(der).digest()[-10:]
    return ":".join(f"{b:02X}" for b in tail)


def fingerprint_pem(pem: bytes | str) -> str:
    data = pem.encode() if isinstance(pem, str) else pem
    cert = x509.load_pem_x509_certificate(data)
    return fingerprint_der(cert.public_bytes(serialization.Encoding.DER))


def fingerprint_file(path: str | Path) -> str:
    """The fingerprint of a PEM or DER certificate file (what ``hems openadr-fingerprint``
    prints)."""
    data = Path(path).read_bytes()
    if b"-----BEGIN CERTIFICATE-----" in data:
        return fingerprint_pem(data)
    return fingerprint_der(data)


def normalise(fingerprint: str) -> str:
    return fingerprint.strip().upper().replace("-", ":")


class FingerprintMismatchError(ssl.SSLError):
    """The VTN presented a certificate other than the pinned one."""


def check_pinned(peer_der: bytes | None, pinned: str | None) -> None:
    if pinned is None:
        return
    if peer_der is None:
        raise FingerprintMismatchError("the VTN presented no certificate")
    actual = fingerprint_der(peer_der)
    if not hmac.compare_digest(actual, normalise(pinned)):
        raise FingerprintMismatchError(f"VTN fingerprint {actual}, pinned {normalise(pinned)}")


def _pinned_classes(
    pinned: str, what: str = "connection"
) -> tuple[type[ssl.SSLObject], type[ssl.SSLSocket]]:
    """SSLObject / SSLSocket classes that check the peer's fingerprint after each handshake
    (``what`` names the connection in the log)."""

    def check(peer_der: bytes | None) -> None:
        try:
            check_pinned(peer_der, pinned)
        except FingerprintMismatchError as exc:
            log.warning("openadr tls: refused the VTN's %s: %s", what, exc)
            raise

    class PinnedSSLObject(ssl.SSLObject):  # asyncio / anyio streams (httpx async)
        def do_handshake(self) -> None:
            super().do_handshake()
            check(self.getpeercert(binary_form=True))

    class PinnedSSLSocket(ssl.SSLSocket):  # blocking sockets (httpx sync, urllib)
        def do_handshake(self, block: bool = False) -> None:
            super().do_handshake(block)
            check(self.getpeercert(binary_form=True))

    return PinnedSSLObject, PinnedSSLSocket


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsSettings:
    """Files for mutual TLS.

    Attributes:
        cert_file, key_file: the CEM's certificate (chain) and private key (PEM).
        key_password: the key's passphrase, if any.
        ca_file: CA bundle the VTN's certificate must chain to; None with a pinned fingerprint
            means "trust exactly the pinned certificate".
        vtn_fingerprint: the VTN's pinned OpenADR fingerprint, if any.
        check_hostname: verify the VTN's host name against its certificate (with ca_file).
    """

    cert_file: Path
    key_file: Path
    key_password: str | None = None
    ca_file: Path | None = None
    vtn_fingerprint: str | None = None
    check_hostname: bool = True

    def __post_init__(self) -> None:
        if self.ca_file is None and self.vtn_fingerprint is None:
            raise ValueError("TLS needs a CA file, a pinned VTN fingerprint, or both")


def client_context(settings: TlsSettings) -> ssl.SSLContext:
    """A TLS 1.2+ client context presenting the CEM's certificate; with a pinned fingerprint,
    every handshake it makes fails with :class:`FingerprintMismatchError` (logged) when the
    VTN's certificate is not the pinned one."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(settings.cert_file, settings.key_file, settings.key_password)
    if settings.ca_file is not None:
        ctx.load_verify_locations(cafile=str(settings.ca_file))
        ctx.check_hostname = settings.check_hostname
        ctx.verify_mode = ssl.CERT_REQUIRED
    else:
        # Pinned only: the chain is not checked here, the fingerprint is (check_pinned) before
        # any message is sent.
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if settings.vtn_fingerprint is not None:
        ctx.sslobject_class, ctx.sslsocket_class = _pinned_classes(settings.vtn_fingerprint)
    return ctx


def server_context(
    cert_file: Path,
    key_file: Path,
    ca_file: Path,
    key_password: str | None = None,
    *,
    vtn_fingerprint: str | None = None,
) -> ssl.SSLContext:
    """A TLS 1.2+ server context that requires client certificates chaining to ``ca_file``
    (push mode endpoint); with ``vtn_fingerprint``, every handshake also fails (logged) when
    the client's certificate is not the VTN's pinned one, so another party holding a
    certificate from the same CA cannot push."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert_file, key_file, key_password)
    ctx.load_verify_locations(cafile=str(ca_file))
    ctx.verify_mode = ssl.CERT_REQUIRED
    if vtn_fingerprint is not None:
        classes = _pinned_classes(vtn_fingerprint, "push connection")
        ctx.sslobject_class, ctx.sslsocket_class = classes
    return ctx
