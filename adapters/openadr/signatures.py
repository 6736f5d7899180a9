"""XML signatures for the OpenADR high-security profile (signxml).

Rule 514: the ds:Signature references both the ``oadrSignedObject`` and a ds:Object holding the
``dsp:ReplayProtect`` element (timestamp and nonce). :class:`XmlSigner` produces exactly that
(detached, inclusive C14N 1.0, SHA-256, the signing certificate in KeyInfo).
:class:`XmlVerifier` accepts a message only when

- it is signed (when signatures are required), by a certificate whose OpenADR fingerprint is
  the pinned one (and/or that chains to the CA file),
- the signature covers the oadrSignedObject and the ReplayProtect (two references; only the
  verified bytes are parsed afterwards: "see what is signed"),
- the timestamp lies within the replay window and the (timestamp, nonce) pair is new.

Every refusal is logged and raised as a :class:`SecurityError` (463).
"""

from __future__ import annotations

import logging
import uuid
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree
from signxml import methods
from signxml.algorithms import SignatureMethod
from signxml.exceptions import SignXMLException
from signxml.signer import XMLSigner
from signxml.verifier import SignatureConfiguration, XMLVerifier

from adapters.openadr.schema import CodecError
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


def replay_protect(now: datetime, nonce: str) -> Element:
    el = etree.Element(q("dsp:ReplayProtect"), nsmap={"dsp": NS["dsp"]})
    etree.SubElement(el, q("dsp:timestamp")).text = format_datetime(now)
    etree.SubElement(el, q("dsp:nonce")).text = nonce
    return el


class XmlSigner:
    """Signs oadrSignedObjects with the CEM's key and certificate (PEM files or bytes)."""

    def __init__(
        self,
        cert_pem: bytes,
        key_pem: bytes,
        *,
        password: bytes | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        key = serialization.load_pem_private_key(key_pem, password=password)
        if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise ValueError("OpenADR signatures need an RSA or EC private key")
        self._key = key
        self._cert = [x509.load_pem_x509_certificate(cert_pem)]
        algorithm = (
            SignatureMethod.ECDSA_SHA256
            if isinstance(self._key, ec.EllipticCurvePrivateKey)
            else SignatureMethod.RSA_SHA256
        )
        self._signer = XMLSigner(
            method=methods.detached, signature_algorithm=algorithm, c14n_algorithm=C14N_1_0
        )
        # The envelope (oadrPayload) declares the oadr prefix; declaring it on ds:Signature too
        # makes SignedInfo canonicalise the same inside the envelope as when it was signed.
        self._signer.namespaces["oadr"] = NS["oadr"]
        self._clock = clock

    @classmethod
    def from_files(cls, cert_file: Path, key_file: Path, password: str | None = None) -> XmlSigner:
        return cls(
            cert_file.read_bytes(),
            key_file.read_bytes(),
            password=password.encode() if password else None,
        )

    def sign(self, signed_object: Element) -> Element:
        props = replay_protect(self._clock(), uuid.uuid4().hex)
        signature: Element = self._signer.sign(
            signed_object,
            key=self._key,
            cert=self._cert,
            reference_uri="#oadrSignedObject",
            signature_properties=props,
        )
        return signature


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
        try:
            results = XMLVerifier().verify(
                payload,
                x509_cert=cert if self.ca_pem_file is None else None,
                ca_pem_file=self.ca_pem_file,
                expect_config=self._config,
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

    def _signing_cert(self, signature: Element) -> x509.Certificate:
        text = signature.findtext("ds:KeyInfo/ds:X509Data/ds:X509Certificate", namespaces=NS)
        if not text:
            raise self._refuse("no signing certificate in KeyInfo")
        try:
            der = _b64(text)
            cert = x509.load_der_x509_certificate(der)
        except ValueError:
            raise self._refuse("unreadable signing certificate") from None
        if self.fingerprint is not None and fingerprint_der(der) != self.fingerprint:
            raise self._refuse(f"signed by {fingerprint_der(der)}, expected {self.fingerprint}")
        return cert

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
    import base64

    return base64.b64decode("".join(text.split()), validate=True)
