"""Throwaway certificates for a ``--self`` run: a CA, the reference VTN, the VEN, and a rogue
party (another key under the same CA) that the wrong-signature case signs with.

Generated at run time into the run's directory (EC P-256 unless a key is given, two days'
validity, 127.0.0.1 and localhost as names), so a run needs no key material from the operator
and leaves none behind that matters. ``make_authority`` and ``issue`` are public so the tests
build their own throwaway PKIs (RSA keys, server- or client-only certificates) from the same
code rather than a copy of it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = timedelta(days=2)
BACKDATED = timedelta(hours=1)  # tolerate a little clock skew between the parties

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
BOTH_USAGES = (ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH)


@dataclass(frozen=True, slots=True)
class Party:
    """A certificate and its key, as PEM bytes and as files."""

    cert_pem: bytes
    key_pem: bytes
    cert_file: Path
    key_file: Path


@dataclass(frozen=True, slots=True)
class Authority:
    """A self-signed CA that ``issue`` signs parties with; ``file`` holds its certificate."""

    cert: x509.Certificate
    key: PrivateKey
    file: Path


@dataclass(frozen=True, slots=True)
class Pki:
    ca_file: Path
    vtn: Party
    ven: Party
    rogue: Party


def make_pki(directory: Path) -> Pki:
    """A CA and three parties under ``directory`` (created if missing)."""
    ca = make_authority(directory, "conformance-ca")
    parties = {cn: issue(directory, ca, cn) for cn in ("vtn", "ven", "rogue")}
    return Pki(ca.file, parties["vtn"], parties["ven"], parties["rogue"])


def make_authority(directory: Path, common_name: str, key: PrivateKey | None = None) -> Authority:
    """A CA (EC P-256 unless ``key`` is given) written to ``directory/ca.pem``."""
    directory.mkdir(parents=True, exist_ok=True)
    key = key or ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    name = _name(common_name)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATED)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    ca_file = directory / "ca.pem"
    ca_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Authority(cert, key, ca_file)


def issue(
    directory: Path,
    ca: Authority,
    common_name: str,
    *,
    usages: Sequence[x509.ObjectIdentifier] = BOTH_USAGES,
    key: PrivateKey | None = None,
) -> Party:
    """A certificate for ``common_name`` (127.0.0.1 and localhost) signed by ``ca``, written
    with its key (mode 0600) to ``directory/<common_name>.pem`` and ``.key``."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATED)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
        .sign(ca.key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    cert_file, key_file = directory / f"{common_name}.pem", directory / f"{common_name}.key"
    cert_file.write_bytes(cert_pem)
    key_file.write_bytes(key_pem)
    key_file.chmod(0o600)
    return Party(cert_pem, key_pem, cert_file, key_file)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
