"""Our strict verifier for pinned signing certificates (``XmlVerifier`` without a CA file):
it accepts the profile's signatures (ours, openleadr's) and refuses altered digests and
content, another key, moved or extra references, algorithm substitution and signature
wrapping; and it never accepts a message that signxml's verifier refuses."""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from openleadr import messaging as ol_messaging
from signxml.verifier import SignatureConfiguration, XMLVerifier

from adapters.openadr import codec
from adapters.openadr import messages as m
from adapters.openadr.signatures import SecurityError, XmlSigner, XmlVerifier
from adapters.openadr.tls import fingerprint_pem
from adapters.openadr.vocab import NS
from tests.adapters.openadr.certs import make_pki
from tests.adapters.openadr.samples import dispatch_event

MESSAGE = m.DistributeEvent(request_id="r", vtn_id="v", events=(dispatch_event(),))
DS = f"{{{NS['ds']}}}"
OADR = f"{{{NS['oadr']}}}"


@pytest.fixture(scope="module", params=["ec", "rsa"])
def parties(request, tmp_path_factory):
    _, vtn, ven = make_pki(tmp_path_factory.mktemp(f"pki-{request.param}"), kind=request.param)
    return vtn, ven


def _signed(party, message=MESSAGE) -> etree._Element:
    return etree.fromstring(codec.render(message, signer=XmlSigner(party.cert_pem, party.key_pem)))


def _verifier(party) -> XmlVerifier:
    return XmlVerifier(fingerprint=fingerprint_pem(party.cert_pem))


def _refused(root: etree._Element, party) -> str:
    with pytest.raises(SecurityError) as info:
        _verifier(party).verify(root)
    return info.value.description


def test_accepts_our_signature_and_returns_the_signed_object(parties):
    vtn, _ = parties
    root = _signed(vtn)
    signed_object = _verifier(vtn).verify(root)
    assert signed_object is root.find("oadr:oadrSignedObject", NS)
    assert codec.parse_signed_object(signed_object) == MESSAGE


def test_accepts_openleadrs_signature(parties):
    vtn, _ = parties
    data = ol_messaging.create_message(
        "oadrRequestReregistration", cert=vtn.cert_pem, key=vtn.key_pem, ven_id="ven-1"
    )
    signed_object = _verifier(vtn).verify(etree.fromstring(data.encode()))
    assert codec.parse_signed_object(signed_object) == m.RequestReregistration(ven_id="ven-1")


def test_refuses_a_tampered_digest_value(parties):
    vtn, _ = parties
    root = _signed(vtn)
    digest = root.find(".//ds:DigestValue", NS)
    digest.text = ("A" if digest.text[0] != "A" else "B") + digest.text[1:]
    assert "digest" in _refused(root, vtn)


def test_refuses_altered_content_and_altered_replay_protection(parties):
    vtn, _ = parties
    root = _signed(vtn)
    root.find(".//ei:eventID", NS).text = "forged"
    assert "digest" in _refused(root, vtn)
    root = _signed(vtn)
    root.find(".//dsp:nonce", NS).text = "0" * 32
    assert "digest" in _refused(root, vtn)


def test_refuses_a_signature_by_another_key_under_the_pinned_certificate(parties):
    vtn, ven = parties
    root = _signed(ven)  # signed with the VEN's key...
    pinned = _signed(vtn).find(".//ds:X509Certificate", NS).text
    root.find(".//ds:X509Certificate", NS).text = pinned  # ...presenting the VTN's certificate
    assert "signature value" in _refused(root, vtn)


def test_refuses_a_certificate_other_than_the_pinned_one(parties):
    vtn, ven = parties
    assert "expected" in _refused(_signed(ven), vtn)


@pytest.mark.parametrize(
    "edit",
    [
        "dangling-uri",
        "both-to-signed-object",
        "third-reference",
        "no-replay-reference",
    ],
)
def test_refuses_wrong_references(parties, edit):
    vtn, _ = parties
    root = _signed(vtn)
    refs = root.findall(".//ds:Reference", NS)
    if edit == "dangling-uri":
        refs[1].set("URI", "#elsewhere")
    elif edit == "both-to-signed-object":
        refs[1].set("URI", "#oadrSignedObject")
    elif edit == "third-reference":
        refs[1].addnext(copy.deepcopy(refs[1]))
    else:
        refs[1].getparent().remove(refs[1])
    _refused(root, vtn)


@pytest.mark.parametrize(
    ("xpath", "algorithm"),
    [
        (".//ds:SignatureMethod", "http://www.w3.org/2000/09/xmldsig#hmac-sha1"),
        (".//ds:SignatureMethod", "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"),
        (".//ds:CanonicalizationMethod", "http://www.w3.org/2001/10/xml-exc-c14n#"),
        (".//ds:DigestMethod", "http://www.w3.org/2000/09/xmldsig#sha1"),
        (".//ds:Transform", "http://www.w3.org/2000/09/xmldsig#enveloped-signature"),
    ],
)
def test_refuses_algorithm_substitution(parties, xpath, algorithm):
    vtn, _ = parties
    root = _signed(vtn)
    root.find(xpath, NS).set("Algorithm", algorithm)
    assert "unsupported" in _refused(root, vtn)


def test_refuses_the_key_type_the_signature_method_does_not_name(parties):
    vtn, _ = parties
    root = _signed(vtn)
    method = root.find(".//ds:SignatureMethod", NS)
    other = (
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
        if method.get("Algorithm").endswith("ecdsa-sha256")
        else "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
    )
    method.set("Algorithm", other)
    assert "unsupported" in _refused(root, vtn)


def test_refuses_signature_wrapping_with_the_original_moved_into_an_object(parties):
    """The signed original moves into a ds:Object of the Signature (keeping its Id); a forged
    oadrSignedObject without that Id takes its place in the payload."""
    vtn, _ = parties
    root = _signed(vtn)
    original = root.find("oadr:oadrSignedObject", NS)
    forged = copy.deepcopy(original)
    forged.attrib.pop(f"{OADR}Id")
    forged.find(".//ei:eventID", NS).text = "forged"
    wrapper = etree.SubElement(root.find("ds:Signature", NS), f"{DS}Object")
    root.replace(original, forged)
    wrapper.append(original)
    _refused(root, vtn)  # an extra ds:Object is refused; so is a reference off the payload


@pytest.mark.parametrize("forged_first", [False, True])
def test_refuses_signature_wrapping_with_a_duplicate_id(parties, forged_first):
    """A forged oadrSignedObject carrying the same Id sits next to the signed one."""
    vtn, _ = parties
    root = _signed(vtn)
    original = root.find("oadr:oadrSignedObject", NS)
    forged = copy.deepcopy(original)
    forged.find(".//ei:eventID", NS).text = "forged"
    if forged_first:
        original.addprevious(forged)
    else:
        original.addnext(forged)
    assert "exactly one element" in _refused(root, vtn)


def test_refuses_a_reference_to_an_element_off_the_payload(parties):
    """The oadrSignedObject reference must name the payload's own oadrSignedObject child: here
    the Id moves to another (unsigned) element and the reference follows it."""
    vtn, _ = parties
    root = _signed(vtn)
    root.find("oadr:oadrSignedObject", NS).attrib.pop(f"{OADR}Id")
    root.find(".//ds:KeyInfo", NS).set("Id", "oadrSignedObject")
    _refused(root, vtn)


def test_refuses_a_replay_protect_outside_the_referenced_object(parties):
    """A second ds:Object with a fresh (unsigned) ReplayProtect must not be read."""
    vtn, _ = parties
    root = _signed(vtn)
    signed_props = root.find(".//ds:Object", NS)
    decoy = copy.deepcopy(signed_props)
    decoy.set("Id", "decoy")
    decoy.find(".//dsp:nonce", NS).text = "f" * 32
    signed_props.addprevious(decoy)
    _refused(root, vtn)


_SIGNXML = XMLVerifier()


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_never_accepts_what_signxml_refuses(parties, data):
    """Differential check: flip one character anywhere in a signed message (still parseable
    XML); whenever our verifier accepts the result, signxml accepts it too, and both read the
    same signed object."""
    vtn, _ = parties
    text = bytearray(
        codec.render(m.Poll(ven_id="ven-1"), signer=XmlSigner(vtn.cert_pem, vtn.key_pem))
    )
    at = data.draw(st.integers(min_value=0, max_value=len(text) - 1))
    text[at] = data.draw(st.sampled_from(b"A0=/+\"' x#:<>"))
    try:
        root = etree.fromstring(bytes(text))
    except etree.XMLSyntaxError:
        return
    try:
        ours = _verifier(vtn).verify(root)
    except SecurityError:
        return
    results = _SIGNXML.verify(
        bytes(text),
        x509_cert=vtn.cert_pem.decode(),
        expect_config=SignatureConfiguration(expect_references=2),
    )
    theirs = next(r.signed_xml for r in results if r.signed_xml.tag == f"{OADR}oadrSignedObject")
    assert etree.tostring(ours, method="c14n") == etree.tostring(theirs, method="c14n")
