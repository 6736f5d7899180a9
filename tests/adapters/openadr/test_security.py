"""Security profile: fingerprints, XML signatures over oadrSignedObject and ReplayProtect
(rule 514), replay window and nonce cache, refusal of unsigned / wrong-key / stale / replayed
messages."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree
from openleadr import messaging as ol_messaging
from openleadr import utils as ol_utils

from adapters.openadr import codec
from adapters.openadr import messages as m
from adapters.openadr.signatures import SecurityError, XmlSigner, XmlVerifier
from adapters.openadr.tls import (
    FingerprintMismatchError,
    TlsSettings,
    check_pinned,
    client_context,
    fingerprint_file,
    fingerprint_pem,
)
from adapters.openadr.vocab import ResponseCode
from tests.adapters.openadr.samples import dispatch_event

MESSAGE = m.DistributeEvent(request_id="r", vtn_id="v", events=(dispatch_event(),))


def _verifier(party, **kwargs):
    return XmlVerifier(fingerprint=fingerprint_pem(party.cert_pem), **kwargs)


def test_fingerprint_is_the_last_10_bytes_of_sha256_as_openleadr_computes_it(pki):
    _, vtn, _ = pki
    fp = fingerprint_file(vtn.cert_file)
    assert fp == ol_utils.certificate_fingerprint(vtn.cert_pem.decode())
    assert len(fp) == 29
    assert fp.count(":") == 9


def test_pinning_refuses_another_certificate(pki):
    _, vtn, ven = pki
    der = ssl.PEM_cert_to_DER_cert(vtn.cert_pem.decode())
    check_pinned(der, fingerprint_pem(vtn.cert_pem))
    with pytest.raises(FingerprintMismatchError):
        check_pinned(der, fingerprint_pem(ven.cert_pem))


def test_client_context_is_mutual_tls_1_2_or_later(pki):
    ca_file, _, ven = pki
    ctx = client_context(
        TlsSettings(cert_file=ven.cert_file, key_file=ven.key_file, ca_file=ca_file)
    )
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2
    assert ctx.verify_mode == ssl.CERT_REQUIRED


def test_rule_514_signature_covers_signed_object_and_replay_protect(pki):
    """Rule 514: "a signed message's XML signature references both the oadrSignedObject and
    the ReplayProtect element (timestamp and nonce); stale or replayed messages are refused"."""
    _, vtn, _ = pki
    data = codec.render(MESSAGE, signer=XmlSigner(vtn.cert_pem, vtn.key_pem))
    root = etree.fromstring(data)
    uris = [r.get("URI") for r in root.iter("{http://www.w3.org/2000/09/xmldsig#}Reference")]
    assert "#oadrSignedObject" in uris
    assert len(uris) == 2
    assert b"ReplayProtect" in data
    assert b"nonce" in data
    assert codec.parse(data, verifier=_verifier(vtn)) == MESSAGE


def test_openleadr_verifies_our_signature(pki):
    _, _, ven = pki
    data = codec.render(m.Poll(ven_id="v"), signer=XmlSigner(ven.cert_pem, ven.key_pem))
    tree = ol_messaging.validate_xml_schema(data)
    ol_messaging.validate_xml_signature(tree, cert_fingerprint=fingerprint_pem(ven.cert_pem))


def test_we_verify_openleadrs_signature(pki):
    _, vtn, _ = pki
    data = ol_messaging.create_message(
        "oadrRequestReregistration", cert=vtn.cert_pem, key=vtn.key_pem, ven_id="ven-1"
    )
    assert codec.parse(data.encode(), verifier=_verifier(vtn)) == m.RequestReregistration(
        ven_id="ven-1"
    )


def _refusal(data, verifier) -> SecurityError:
    with pytest.raises(SecurityError) as info:
        codec.parse(data, verifier=verifier)
    assert info.value.code == ResponseCode.NOT_REGISTERED_OR_AUTHORIZED
    return info.value


def test_unsigned_message_is_refused_when_signatures_are_required(pki):
    _, vtn, _ = pki
    _refusal(codec.render(MESSAGE), _verifier(vtn))
    assert codec.parse(codec.render(MESSAGE), verifier=_verifier(vtn, required=False)) == MESSAGE


def test_message_signed_by_the_wrong_key_is_refused(pki):
    _, vtn, ven = pki
    data = codec.render(MESSAGE, signer=XmlSigner(ven.cert_pem, ven.key_pem))
    assert "expected" in _refusal(data, _verifier(vtn)).description


def test_tampered_message_is_refused(pki):
    _, vtn, _ = pki
    data = codec.render(MESSAGE, signer=XmlSigner(vtn.cert_pem, vtn.key_pem))
    _refusal(data.replace(b">3<", b">9<"), _verifier(vtn))


def test_stale_message_is_refused(pki):
    _, vtn, _ = pki
    old = datetime.now(UTC) - timedelta(minutes=5)
    data = codec.render(MESSAGE, signer=XmlSigner(vtn.cert_pem, vtn.key_pem, clock=lambda: old))
    assert "stale" in _refusal(data, _verifier(vtn)).description


def test_replayed_message_is_refused(pki):
    _, vtn, _ = pki
    verifier = _verifier(vtn)
    data = codec.render(MESSAGE, signer=XmlSigner(vtn.cert_pem, vtn.key_pem))
    codec.parse(data, verifier=verifier)
    assert "replayed" in _refusal(data, verifier).description


def test_signature_chained_to_the_ca_is_accepted(pki):
    ca_file, vtn, _ = pki
    data = codec.render(MESSAGE, signer=XmlSigner(vtn.cert_pem, vtn.key_pem))
    assert codec.parse(data, verifier=XmlVerifier(ca_pem_file=str(ca_file))) == MESSAGE
