"""Throwaway PKI for the OCPP, S2 and MQTT tests (generated at run time, never committed): a
CA, the server's certificate and clients' certificates whose common name is their identity
(OCPP security profile 3), built with the product's throwaway-PKI code."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.x509.oid import ExtendedKeyUsageOID

from adapters.openadr.conformance.pki import issue, make_authority


@dataclass(frozen=True)
class Pki:
    ca_file: Path
    server_cert: Path
    server_key: Path
    clients: dict[str, tuple[Path, Path]]  # identity -> (cert, key)


def make_pki(directory: Path, client_identities: tuple[str, ...]) -> Pki:
    ca = make_authority(directory, "ocpp-test-ca")
    server = issue(directory, ca, "csms", usages=(ExtendedKeyUsageOID.SERVER_AUTH,))
    clients = {
        cn: issue(directory, ca, cn, usages=(ExtendedKeyUsageOID.CLIENT_AUTH,))
        for cn in client_identities
    }
    return Pki(
        ca.file,
        server.cert_file,
        server.key_file,
        {cn: (party.cert_file, party.key_file) for cn, party in clients.items()},
    )
