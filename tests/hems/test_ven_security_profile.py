"""The service's VENs with the OpenADR security profile from its settings: mutual TLS, every
message signed with the CEM's key, every message from the VTN verified (issue 26, defect 1)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.openadr import codec
from adapters.openadr.messages import Poll
from adapters.openadr.signatures import SecurityError, XmlVerifier
from adapters.openadr.tls import fingerprint_pem
from hems.clock import ManualClock
from hems.runtime import build_runtime
from hems.settings import Settings
from tests.adapters.openadr.certs import Party, make_pki

VTN_PATH = "/OpenADR2/Simple/2.0b"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


def _settings(tmp_path, port: int, ca_file, vtn: Party, ven: Party, **profile: object) -> Settings:
    return Settings(
        state_dir=tmp_path,
        demo=True,
        planner_processes=0,
        vtn_url=f"https://127.0.0.1:{port}{VTN_PATH}",
        ven_cert_file=ven.cert_file,
        ven_key_file=ven.key_file,
        vtn_ca_file=ca_file,
        **profile,  # type: ignore[arg-type]
    )


def test_the_vens_sign_and_verify_as_the_settings_say(tmp_path, pki):
    ca_file, vtn, ven = pki
    settings = _settings(
        tmp_path,
        8443,
        ca_file,
        vtn,
        ven,
        ven_sign_messages=True,
        vtn_signing_cert_file=vtn.cert_file,
        vtn_signatures_required=True,
    )
    runtime = build_runtime(settings, ManualClock(datetime.now(UTC)), seed=2)
    assert runtime.vens is not None
    (transport,) = runtime.vens._transports
    assert transport.signer is not None
    assert transport.verifier is not None
    assert isinstance(transport.verifier, XmlVerifier)
    assert transport.verifier.required
    assert transport.verifier.fingerprint == fingerprint_pem(vtn.cert_pem)
    # signed with the TLS pair: what it signs verifies against the CEM's certificate only
    signed = codec.render(Poll(ven_id="v"), signer=transport.signer)
    pinned_ven = XmlVerifier(fingerprint=fingerprint_pem(ven.cert_pem))
    assert isinstance(codec.parse(signed, verifier=pinned_ven), Poll)
    with pytest.raises(SecurityError):  # and not as the VTN's
        codec.parse(
            codec.render(Poll(ven_id="v"), signer=transport.signer), verifier=transport.verifier
        )


def test_without_a_profile_nothing_is_signed_or_verified(tmp_path, pki):
    ca_file, vtn, ven = pki
    runtime = build_runtime(
        _settings(tmp_path, 8443, ca_file, vtn, ven), ManualClock(datetime.now(UTC)), seed=2
    )
    assert runtime.vens is not None
    (transport,) = runtime.vens._transports
    assert (transport.signer, transport.verifier) == (None, None)


def test_a_ca_verifies_signatures_without_requiring_them(tmp_path, pki):
    ca_file, vtn, ven = pki
    settings = _settings(tmp_path, 8443, ca_file, vtn, ven, vtn_signing_ca_file=ca_file)
    runtime = build_runtime(settings, ManualClock(datetime.now(UTC)), seed=2)
    assert runtime.vens is not None
    (transport,) = runtime.vens._transports
    assert transport.signer is None
    assert isinstance(transport.verifier, XmlVerifier)
    assert (transport.verifier.ca_pem_file, transport.verifier.required) == (str(ca_file), False)
