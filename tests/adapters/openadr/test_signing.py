"""The outbound signer of our own (a ds:Signature written from a template, in canonical form)
and the canonical writer behind it: what they produce is what C14N 1.0 and independent
verifiers (signxml, openleadr) compute, for EC P-256 and RSA-2048 keys."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from openleadr import messaging as ol_messaging
from signxml.verifier import SignatureConfiguration, XMLVerifier

from adapters.openadr import codec
from adapters.openadr import messages as m
from adapters.openadr.schema import CodecError
from adapters.openadr.signatures import SecurityError, XmlSigner, XmlVerifier
from adapters.openadr.tls import fingerprint_pem
from adapters.openadr.vocab import NS, ResponseCode
from adapters.openadr.xmlnodes import CanonicalWriter, leaf, sub
from tests.adapters.openadr.certs import make_pki
from tests.adapters.openadr.samples import every_message

MESSAGES = every_message()
IDS = [type(msg).__name__ for msg in MESSAGES]
DS = "{http://www.w3.org/2000/09/xmldsig#}"


@pytest.fixture(scope="module", params=["ec", "rsa"])
def party(request, tmp_path_factory):
    _, _, ven = make_pki(tmp_path_factory.mktemp(f"pki-{request.param}"), kind=request.param)
    return ven


def _c14n(element: etree._Element) -> bytes:
    return bytes(etree.tostring(element, method="c14n"))


@pytest.mark.parametrize("message", MESSAGES, ids=IDS)
def test_signed_object_is_written_in_canonical_form(message):
    data = codec.signed_object_c14n(message)
    assert _c14n(etree.fromstring(data)) == data
    # ... and keeps that form inside the envelope it is sent in (what a verifier digests).
    payload = etree.fromstring(codec.render(message))
    assert _c14n(payload.find("oadr:oadrSignedObject", NS)) == data


_XML_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30
).filter(lambda s: all(c in "\t\n\r" or ord(c) >= 0x20 for c in s) and "\ufffe" not in s)


@settings(max_examples=200, deadline=None)
@given(text=_XML_TEXT, attr=_XML_TEXT)
def test_text_and_attributes_are_escaped_as_c14n_escapes_them(text, attr):
    writer = CanonicalWriter("oadr:a", {"oadr": NS["oadr"], "ei": NS["ei"]})
    child = sub(writer.root, "ei:b", text)
    child.set("ei:z", attr)
    child.set("oadr:y", "1")
    child.set("x", attr)
    leaf(child, "ei:c", text)
    leaf(writer.root, "ei:d")
    data = writer.finish()
    assert _c14n(etree.fromstring(data)) == data


@pytest.mark.parametrize("bad", ["\x00", "\x1b", "\ufffe", "\ud800"])
def test_characters_xml_cannot_carry_are_refused(bad):
    with pytest.raises(CodecError) as info:
        codec.render(m.Poll(ven_id=f"ven{bad}"))
    assert info.value.code == ResponseCode.INVALID_DATA


def test_rendering_out_of_document_order_is_refused():
    writer = CanonicalWriter("oadr:a", {"oadr": NS["oadr"]})
    first = sub(writer.root, "oadr:b")
    sub(writer.root, "oadr:c")
    with pytest.raises(ValueError, match="document order"):
        sub(first, "oadr:d")


def test_an_undeclared_prefix_is_refused():
    writer = CanonicalWriter("oadr:a", {"oadr": NS["oadr"]})
    with pytest.raises(ValueError, match="not declared"):
        leaf(writer.root, "ei:b", "x")


@pytest.mark.parametrize("message", MESSAGES, ids=IDS)
def test_signxml_verifies_every_signed_message(party, message):
    """The independent check: signxml's verifier (not our code) recomputes both digests and the
    signature, and finds the oadrSignedObject and the ReplayProtect signed (rule 514)."""
    data = codec.render(message, signer=XmlSigner(party.cert_pem, party.key_pem))
    results = XMLVerifier().verify(
        data,
        x509_cert=party.cert_pem.decode(),
        expect_config=SignatureConfiguration(expect_references=2),
    )
    signed = [etree.QName(r.signed_xml).localname for r in results]
    assert signed == ["oadrSignedObject", "Object"]
    assert results[1].signed_xml.find(".//dsp:ReplayProtect/dsp:nonce", NS) is not None


def test_openleadr_verifies_our_signature_with_either_key_type(party):
    data = codec.render(m.Poll(ven_id="v"), signer=XmlSigner(party.cert_pem, party.key_pem))
    tree = ol_messaging.validate_xml_schema(data)
    ol_messaging.validate_xml_signature(tree, cert_fingerprint=fingerprint_pem(party.cert_pem))


def test_each_signature_has_a_fresh_nonce(party):
    signer = XmlSigner(party.cert_pem, party.key_pem)
    nonces = {
        etree.fromstring(codec.render(m.Poll(ven_id="v"), signer=signer)).findtext(
            ".//dsp:nonce", namespaces=NS
        )
        for _ in range(5)
    }
    assert len(nonces) == 5


@pytest.mark.parametrize(
    ("find", "replace"),
    [
        (b"<ei:venID>v</ei:venID>", b"<ei:venID>w</ei:venID>"),  # signed content
        (b"<dsp:nonce>", b"<dsp:nonce>0"),  # replay protection
        (b'URI="#prop"', b'URI="#oadrSignedObject"'),  # a reference moved
    ],
)
def test_our_verifier_refuses_what_was_altered_after_signing(party, find, replace):
    data = codec.render(m.Poll(ven_id="v"), signer=XmlSigner(party.cert_pem, party.key_pem))
    assert find in data
    verifier = XmlVerifier(fingerprint=fingerprint_pem(party.cert_pem))
    with pytest.raises(SecurityError):
        codec.parse(data.replace(find, replace, 1), verifier=verifier)
