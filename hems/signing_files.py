"""Start-up checks of the OpenADR security profile's PEM files (the settings' signing key and
certificates), so a file the VEN could not use stops the service at once with its name instead
of failing when the first message is signed or verified."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from adapters.openadr.tls import fingerprint_pem, normalise


def certificates_problem(path: Path) -> str | None:
    """Why ``path`` holds no PEM certificate, or None."""
    try:
        x509.load_pem_x509_certificates(path.read_bytes())
    except (OSError, ValueError):
        return f"{path} holds no PEM certificate"
    return None


def signing_pair_problem(cert_file: Path, key_file: Path) -> str | None:
    """Why the certificate and key cannot sign OpenADR messages (what
    :class:`adapters.openadr.signatures.XmlSigner` needs: an unencrypted PEM RSA or EC key and
    the PEM certificate of that key), or None."""
    try:
        cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    except (OSError, ValueError):
        return f"{cert_file} is not a PEM certificate"
    try:
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):  # TypeError: the key is encrypted
        return f"{key_file} is not an unencrypted PEM private key"
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        return f"{key_file} is neither an RSA nor an EC key (OpenADR signs with one of those)"
    if cert.public_key() != key.public_key():
        return f"{key_file} is not the key of the certificate {cert_file}"
    return None


def fingerprint_problem(cert_file: Path, fingerprint: str) -> str | None:
    """Why ``fingerprint`` is not the OpenADR fingerprint of the PEM certificate, or None."""
    actual = fingerprint_pem(cert_file.read_bytes())
    if actual != normalise(fingerprint):
        return f"{cert_file} has the fingerprint {actual}, not {fingerprint}"
    return None
