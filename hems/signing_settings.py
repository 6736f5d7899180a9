"""The VEN's OpenADR security profile settings checked together at start-up: a VEN that signs
with no key, or that requires the VTN's signatures with nothing to verify them with, would
fail on every message instead."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hems.signing_files import certificates_problem, fingerprint_problem, signing_pair_problem

if TYPE_CHECKING:
    from hems.settings import Settings


def signing_problem(s: Settings) -> str | None:
    """What is missing or wrong in a half-configured security profile; None when it is
    complete (or not used)."""
    own = (s.ven_signing_cert_file, s.ven_signing_key_file)
    if (own[0] is None) != (own[1] is None):
        return "ven_signing_cert_file and ven_signing_key_file go together (both or none)"
    if own[0] is not None and not s.ven_sign_messages:
        return (
            "ven_signing_cert_file and ven_signing_key_file are set but ven_sign_messages "
            "is false: set it true to sign, or remove them"
        )
    if s.ven_sign_messages:
        files = s.ven_signing_files
        if files is None:
            return (
                "ven_sign_messages needs a signing key: ven_signing_cert_file and "
                "ven_signing_key_file, or ven_cert_file and ven_key_file (then used for both)"
            )
        problem = signing_pair_problem(*files)
        if problem:
            names = "ven_signing_cert_file, ven_signing_key_file"
            if own[0] is None:
                names = "ven_cert_file, ven_key_file (signing with the TLS key)"
            return f"{names}: {problem}"
    for name in ("vtn_signing_cert_file", "vtn_signing_ca_file"):
        path = getattr(s, name)
        problem = certificates_problem(path) if path is not None else None
        if problem:
            return f"{name}: {problem}"
    if s.vtn_signing_cert_file is not None and s.vtn_signing_fingerprint:
        problem = fingerprint_problem(s.vtn_signing_cert_file, s.vtn_signing_fingerprint)
        if problem:
            return f"vtn_signing_fingerprint: {problem}"
    if s.vtn_signatures_required and not s.verifies_vtn_signatures:
        return (
            "vtn_signatures_required needs what to verify the VTN's signatures with: "
            "vtn_signing_cert_file, vtn_signing_fingerprint or vtn_signing_ca_file"
        )
    return None
