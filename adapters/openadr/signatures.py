"""XML signatures for the OpenADR high-security profile.

Rule 514: the ds:Signature references both the ``oadrSignedObject`` and a ds:Object holding the
``dsp:ReplayProtect`` element (timestamp and nonce). :class:`XmlSigner` produces exactly that
(detached, inclusive C14N 1.0, SHA-256, the signing certificate in KeyInfo), written from a
template with hashlib and ``cryptography``. :class:`XmlVerifier` accepts a message only when

- it is signed (when signatures are required), by a certificate whose OpenADR fingerprint is
  the pinned one (and/or that chains to the CA file),
- the signature covers the oadrSignedObject and the ReplayProtect (two references; only what
  was verified is read afterwards: "see what is signed"); with a pinned certificate our own
  strict verifier checks it, with a CA file signxml does (it checks the chain too),
- the timestamp lies within the replay window and the (timestamp, nonce) pair is new.

Every refusal is logged and raised as a :class:`SecurityError` (463).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import uuid
import warnings
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.utils import CryptographyDeprecationWarning
from lxml import etree

with warnings.catch_warnings():
    # signxml 4.5.1 names cryptography's DSA key types in its type hints, which cryptography 51
    # deprecates on access: `import signxml` would print a CryptographyDeprecationWarning at
    # every start of the service. Nothing here uses DSA. Remove with the pytest filter of the
    # same name once signxml stops touching `dsa` (docs/dependencies.md).
    warnings.filterwarnings(
        "ignore", message="DSA is deprecated", category=CryptographyDeprecationWarning
    )
    from signxml.exceptions import SignXMLException
    from signxml.verifier import SignatureConfiguration, XMLVerifier

from adapters.openadr.codec import SIGNED_OBJECT_ID
from adapters.openadr.schema import CodecError, trusted_parser
from adapters.openadr.tls import fingerprint_der, normalise
from adapters.openadr.vocab import NS, ResponseCode
from adapters.openadr.xmlnodes import Element, q
from adapters.openadr.xmltime import format_datetime, parse_datetime

log = logging.getLogger(__name__)

C14N_1_0 = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"


class SecurityError(CodecError):
    """A message refused for security reasons (unsigned, wrong key, stale, replayed)."""

    def __init__(self, description: str) -> None:
        super().__init__(ResponseCode.NOT_REGISTERED_OR_AUTHORIZED, description)


_DS = NS["ds"]
_SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
_RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
_ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
# In the sent message ds:Signature declares ds and sits in an oadrPayload declaring oadr, so
# inclusive C14N gives the apex of each signed fragment exactly these two declarations.
_CONTEXT_DECLS = f' xmlns:ds="{_DS}" xmlns:oadr="{NS["oadr"]}"'
_PROPERTIES_ID = "prop"


def _reference(uri: str, digest_b64: str) -> str:
    return (
        f'<ds:Reference URI="{uri}"><ds:Transforms><ds:Transform Algorithm="{C14N_1_0}">'
        f'</ds:Transform></ds:Transforms><ds:DigestMethod Algorithm="{_SHA256}">'
        f"</ds:DigestMethod><ds:DigestValue>{digest_b64}</ds:DigestValue></ds:Reference>"
    )


class XmlSigner:
    """Signs oadrSignedObjects with the CEM's key and certificate (PEM files or bytes).

    The ds:Signature is written from a template, in canonical form, instead of being built and
    canonicalised element by element (what signxml does, ~3 ms a message): detached, two
    references (``#oadrSignedObject`` and the ds:Object ``#prop`` holding ``dsp:ReplayProtect``
    with a timestamp and a fresh nonce, rule 514), inclusive C14N 1.0 and SHA-256 digests,
    ECDSA-SHA256 (P-256, raw r||s as XML-DSig wants) or RSA-SHA256 (PKCS#1 v1.5), the signing
    certificate in KeyInfo. The canonical bytes of the signed object come from the codec; the
    ds:Object and ds:SignedInfo are written in canonical form with the namespace context they
    have in the sent message (see :data:`codec.PAYLOAD_START`). signxml's and openleadr's
    verifiers accept the result (``tests/adapters/openadr/test_security.py``).
    """

    def __init__(
        self,
        cert_pem: bytes,
        key_pem: bytes,
        *,
        password: bytes | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        key = serialization.load_pem_private_key(key_pem, password=password)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            self._coordinate_bytes = (key.curve.key_size + 7) // 8
            method = _ECDSA_SHA256
        elif isinstance(key, rsa.RSAPrivateKey):
            method = _RSA_SHA256
        else:
            raise ValueError("OpenADR signatures need an RSA or EC private key")
        self._key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey = key
        cert = x509.load_pem_x509_certificate(cert_pem)
        cert_b64 = base64.encodebytes(cert.public_bytes(serialization.Encoding.DER)).decode()
        self._signed_info_head = (
            f'<ds:CanonicalizationMethod Algorithm="{C14N_1_0}"></ds:CanonicalizationMethod>'
            f'<ds:SignatureMethod Algorithm="{method}"></ds:SignatureMethod>'
        )
        self._key_info = (
            "<ds:KeyInfo><ds:X509Data><ds:X509Certificate>"
            f"{cert_b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"
        )
        self._clock = clock

    @classmethod
    def from_files(cls, cert_file: Path, key_file: Path, password: str | None = None) -> XmlSigner:
        return cls(
            cert_file.read_bytes(),
            key_file.read_bytes(),
            password=password.encode() if password else None,
        )

    def sign(self, signed_object_c14n: bytes) -> bytes:
        """The ds:Signature (bytes) over a canonical oadrSignedObject and a new ReplayProtect."""
        stamp = format_datetime(self._clock())
        properties = (
            "<ds:SignatureProperties>"
            '<ds:SignatureProperty Id="sigprop0" Target="#sigproptarget0">'
            f'<dsp:ReplayProtect xmlns:dsp="{NS["dsp"]}">'
            f"<dsp:timestamp>{stamp}</dsp:timestamp><dsp:nonce>{uuid.uuid4().hex}</dsp:nonce>"
            "</dsp:ReplayProtect></ds:SignatureProperty></ds:SignatureProperties></ds:Object>"
        )
        object_c14n = f'<ds:Object{_CONTEXT_DECLS} Id="{_PROPERTIES_ID}">{properties}'
        signed_info = (
            self._signed_info_head
            + _reference(f"#{SIGNED_OBJECT_ID}", _digest(signed_object_c14n))
            + _reference(f"#{_PROPERTIES_ID}", _digest(object_c14n.encode()))
            + "</ds:SignedInfo>"
        )
        value = self._signature_value(f"<ds:SignedInfo{_CONTEXT_DECLS}>{signed_info}".encode())
        return (
            f'<ds:Signature xmlns:ds="{_DS}"><ds:SignedInfo>{signed_info}'
            f"<ds:SignatureValue>{value}</ds:SignatureValue>{self._key_info}"
            f'<ds:Object Id="{_PROPERTIES_ID}">{properties}</ds:Signature>'
        ).encode()

    def _signature_value(self, signed_info_c14n: bytes) -> str:
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            der = self._key.sign(signed_info_c14n, ec.ECDSA(hashes.SHA256()))
            r, s = decode_dss_signature(der)
            size = self._coordinate_bytes
            raw = r.to_bytes(size, "big") + s.to_bytes(size, "big")
        else:
            raw = self._key.sign(signed_info_c14n, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(raw).decode()


_SIGNATURE_CHILDREN = [q("ds:SignedInfo"), q("ds:SignatureValue"), q("ds:KeyInfo"), q("ds:Object")]
_SIGNED_INFO_CHILDREN = [
    q("ds:CanonicalizationMethod"),
    q("ds:SignatureMethod"),
    q("ds:Reference"),
    q("ds:Reference"),
]
_REFERENCE_CHILDREN = [q("ds:Transforms"), q("ds:DigestMethod"), q("ds:DigestValue")]
_ID_NAMES = frozenset({"Id", "ID", "id"})


def _elements_by_id(root: Element) -> dict[str, list[Element]]:
    """Every element of the document under each value of an ID-like attribute (``Id``, ``ID``,
    ``id`` in any namespace, ``xml:id``): a reference must resolve to exactly one."""
    found: dict[str, list[Element]] = {}
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        for name, value in el.attrib.items():
            local = name.rsplit("}", 1)[-1]
            if local in _ID_NAMES:
                found.setdefault(value, []).append(el)
    return found


def _digest(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


class XmlVerifier:
    """Verifies inbound signatures and replay protection.

    Args:
        fingerprint: the peer's pinned OpenADR fingerprint; the signing certificate must match.
        ca_pem_file: alternatively (or too), the CA the signing certificate must chain to.
        required: refuse unsigned messages.
        window_s: how far a ReplayProtect timestamp may lie from now [s] (either way).
        nonce_cache_size: (timestamp, nonce) pairs remembered within the window.
    """

    def __init__(
        self,
        *,
        fingerprint: str | None = None,
        ca_pem_file: str | None = None,
        required: bool = True,
        window_s: float = 30.0,
        nonce_cache_size: int = 100_000,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if fingerprint is None and ca_pem_file is None:
            raise ValueError("a verifier needs the peer's fingerprint or a CA file")
        self.fingerprint = normalise(fingerprint) if fingerprint else None
        self.ca_pem_file = ca_pem_file
        self.required = required
        self.window = timedelta(seconds=window_s)
        self._seen: OrderedDict[tuple[str, str], datetime] = OrderedDict()
        self._cache_size = nonce_cache_size
        self._clock = clock
        self._config = SignatureConfiguration(expect_references=2)

    def verify(self, payload: Element) -> Element:
        signature = payload.find("ds:Signature", NS)
        if signature is None:
            signed = payload.find("oadr:oadrSignedObject", NS)
            if self.required or signed is None:
                raise self._refuse("unsigned message where a signature is required")
            return signed
        cert = self._signing_cert(signature)
        if self.ca_pem_file is None:  # pinned certificate: our strict verifier (fast)
            signed_object, replay = self._check_profile_signature(payload, signature, cert)
            self._check_replay(replay)
            return signed_object
        try:  # chain to a CA: signxml (it checks the chain too)
            results = XMLVerifier().verify(
                payload,
                x509_cert=cert if self.ca_pem_file is None else None,
                ca_pem_file=self.ca_pem_file,
                expect_config=self._config,
                # signxml re-parses what it checks: with our parser (no DTD, no entities, no
                # network, no huge trees), whatever signxml's own default becomes
                parser=trusted_parser(),
            )
        except (SignXMLException, ValueError) as exc:
            raise self._refuse(f"bad signature: {exc}") from None
        assert isinstance(results, list)
        signed_object = replay = None
        for result in results:
            tree = result.signed_xml
            if tree is None:
                continue
            if tree.tag == q("oadr:oadrSignedObject"):
                signed_object = tree
            elif tree.find(".//dsp:ReplayProtect", NS) is not None:
                replay = tree.find(".//dsp:ReplayProtect", NS)
        if signed_object is None or replay is None:
            raise self._refuse("signature must cover oadrSignedObject and ReplayProtect (514)")
        self._check_replay(replay)
        return signed_object

    def _check_profile_signature(
        self, payload: Element, signature: Element, cert: x509.Certificate
    ) -> tuple[Element, Element]:
        """Verify a signature of the OpenADR profile's exact shape; return the oadrSignedObject
        and the ReplayProtect it covers, or raise SecurityError.

        Only this shape is accepted (what our signer, signxml and openleadr produce): children
        SignedInfo, SignatureValue, KeyInfo, Object; SignedInfo with C14N 1.0, ECDSA-SHA256 or
        RSA-SHA256 (matching the key) and exactly two References, each with exactly one C14N 1.0
        Transform and a SHA-256 digest. One must point at the oadrPayload's own
        oadrSignedObject child and the other at a ds:Object child of this Signature holding
        SignatureProperties/SignatureProperty/ReplayProtect; each URI must match exactly one
        element in the document (so a second element carrying the same Id, the usual
        signature-wrapping move, is refused). Digests are of the canonical form of exactly the
        elements returned, so what is read afterwards is what was signed.
        """
        children = [c for c in signature if isinstance(c.tag, str)]
        if [c.tag for c in children] != _SIGNATURE_CHILDREN:
            raise self._refuse("unexpected ds:Signature structure")
        signed_info, signature_value, _, _ = children
        info = [c for c in signed_info if isinstance(c.tag, str)]
        if [c.tag for c in info] != _SIGNED_INFO_CHILDREN:
            raise self._refuse("SignedInfo must hold C14N, SignatureMethod and two References")
        c14n_method, method, *references = info
        key = cert.public_key()
        expected_method = (
            _ECDSA_SHA256 if isinstance(key, ec.EllipticCurvePublicKey) else _RSA_SHA256
        )
        if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
            raise self._refuse("signing key is neither EC nor RSA")
        if (
            c14n_method.get("Algorithm") != C14N_1_0
            or len(c14n_method)
            or method.get("Algorithm") != expected_method
            or len(method)
        ):
            raise self._refuse("unsupported canonicalisation or signature method")
        ids = _elements_by_id(payload)
        signed_object = payload.find("oadr:oadrSignedObject", NS)
        targets: dict[int, Element] = {}
        for reference in references:
            target = self._reference_target(reference, ids)
            if id(target) in targets:
                raise self._refuse("two References to the same element")
            targets[id(target)] = target
            expected = reference.findtext("ds:DigestValue", namespaces=NS) or ""
            actual = base64.b64encode(hashlib.sha256(self._c14n(target)).digest()).decode()
            if not hmac.compare_digest(actual, "".join(expected.split())):
                raise self._refuse("digest mismatch: the signed content was altered")
        objects = [c for c in children[3:] if c.tag == q("ds:Object")]
        if signed_object is None or id(signed_object) not in targets:
            raise self._refuse("signature must cover the oadrSignedObject (514)")
        covered = [o for o in objects if id(o) in targets]
        replay = (
            covered[0].find("ds:SignatureProperties/ds:SignatureProperty/dsp:ReplayProtect", NS)
            if covered
            else None
        )
        if replay is None:
            raise self._refuse("signature must cover the ReplayProtect (514)")
        try:
            raw = _b64(signature_value.text or "")
            data = self._c14n(signed_info)
            if isinstance(key, ec.EllipticCurvePublicKey):
                size = (key.curve.key_size + 7) // 8
                if len(raw) != 2 * size:
                    raise InvalidSignature
                der = encode_dss_signature(
                    int.from_bytes(raw[:size], "big"), int.from_bytes(raw[size:], "big")
                )
                key.verify(der, data, ec.ECDSA(hashes.SHA256()))
            else:
                key.verify(raw, data, padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            raise self._refuse("bad signature value") from None
        return signed_object, replay

    def _c14n(self, element: Element) -> bytes:
        try:
            return bytes(etree.tostring(element, method="c14n"))
        except etree.Error:  # e.g. a relative namespace URI, which C14N 1.0 refuses
            raise self._refuse("the signed content cannot be canonicalised") from None

    def _reference_target(self, reference: Element, ids: dict[str, list[Element]]) -> Element:
        parts = [c for c in reference if isinstance(c.tag, str)]
        if [c.tag for c in parts] != _REFERENCE_CHILDREN:
            raise self._refuse("unexpected Reference structure")
        transforms, digest_method, _ = parts
        steps = [c for c in transforms if isinstance(c.tag, str)]
        if (
            len(steps) != 1
            or steps[0].tag != q("ds:Transform")
            or steps[0].get("Algorithm") != C14N_1_0
            or len(steps[0])
            or digest_method.get("Algorithm") != _SHA256
            or len(digest_method)
        ):
            raise self._refuse("unsupported transform or digest method")
        uri = reference.get("URI") or ""
        matches = ids.get(uri[1:], []) if uri.startswith("#") else []
        if len(matches) != 1:
            raise self._refuse(f"reference {uri!r} must name exactly one element")
        return matches[0]

    def _signing_cert(self, signature: Element) -> x509.Certificate:
        text = signature.findtext("ds:KeyInfo/ds:X509Data/ds:X509Certificate", namespaces=NS)
        if not text:
            raise self._refuse("no signing certificate in KeyInfo")
        try:
            der = _b64(text)
        except ValueError:
            raise self._refuse("unreadable signing certificate") from None
        # The pin is checked on the bytes first: a certificate other than the pinned one is
        # never parsed.
        if self.fingerprint is not None and fingerprint_der(der) != self.fingerprint:
            raise self._refuse(f"signed by {fingerprint_der(der)}, expected {self.fingerprint}")
        try:
            with warnings.catch_warnings():
                # e.g. a non-positive serial number: not RFC 5280, refused like a parse error
                warnings.simplefilter("error", CryptographyDeprecationWarning)
                return x509.load_der_x509_certificate(der)
        except (ValueError, CryptographyDeprecationWarning):
            raise self._refuse("unreadable signing certificate") from None

    def _check_replay(self, replay: Element) -> None:
        stamp_text = replay.findtext("dsp:timestamp", namespaces=NS)
        nonce = replay.findtext("dsp:nonce", namespaces=NS)
        if not stamp_text or not nonce:
            raise self._refuse("ReplayProtect without timestamp or nonce")
        try:
            stamp = parse_datetime(stamp_text)
        except ValueError:
            raise self._refuse("unreadable ReplayProtect timestamp") from None
        now = self._clock()
        if abs(now - stamp) > self.window:
            raise self._refuse(f"stale message: signed at {stamp_text}")
        while self._seen and (
            len(self._seen) > self._cache_size
            or next(iter(self._seen.values())) < now - self.window
        ):
            self._seen.popitem(last=False)
        key = (stamp_text, nonce)
        if key in self._seen:
            raise self._refuse(f"replayed message (nonce {nonce})")
        self._seen[key] = stamp

    @staticmethod
    def _refuse(reason: str) -> SecurityError:
        log.warning("openadr security: refused a message: %s", reason)
        return SecurityError(reason)


def _b64(text: str) -> bytes:
    return base64.b64decode("".join(text.split()), validate=True)
