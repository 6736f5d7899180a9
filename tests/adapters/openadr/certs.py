"""Test certificates, generated at run time (never committed): a CA, a VTN and a VEN, built
with the product's throwaway-PKI code (``adapters.openadr.conformance.pki``)."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from adapters.openadr.conformance.pki import Party, PrivateKey, issue, make_authority

__all__ = ["Party", "make_pki"]


def _key(kind: str) -> PrivateKey:
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def make_pki(directory: Path, kind: str = "ec") -> tuple[Path, Party, Party]:
    """(CA file, VTN, VEN) under ``directory``; ``kind`` is "ec" (P-256) or "rsa" (2048)."""
    ca = make_authority(directory, "test-ca", _key(kind))
    return (
        ca.file,
        issue(directory, ca, "vtn", key=_key(kind)),
        issue(directory, ca, "ven", key=_key(kind)),
    )
