"""Render and parse OpenADR 2.0b messages (oadrPayload envelopes), validated both ways.

``render(message)`` builds the ``oadrSignedObject`` for a message dataclass, signs it when a
signer is given, wraps it in ``oadrPayload`` and validates the result against the 2.0b XSD
before returning bytes: the VEN never sends XML the schema refuses. ``parse(data)`` runs the
hostile-input checks (:mod:`adapters.openadr.schema`), schema validation and, with a verifier,
signature and replay checks (:mod:`adapters.openadr.signatures`), then returns the typed message.
Every failure is a :class:`CodecError` with the OpenADR response code to answer with.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from lxml import etree

from adapters.openadr import wire_events as ev
from adapters.openadr import wire_registration as reg
from adapters.openadr import wire_reports as rep
from adapters.openadr.messages import ELEMENT_NAME, Message
from adapters.openadr.schema import (
    MAX_MESSAGE_BYTES,
    CodecError,
    parse_untrusted,
    trusted_parser,
    validate,
)
from adapters.openadr.vocab import NS, ResponseCode
from adapters.openadr.xmlnodes import CanonicalWriter, Element, Node, q, sub

log = logging.getLogger(__name__)

SIGNED_OBJECT_ID = "oadrSignedObject"
_OBJECT_NSMAP = {k: v for k, v in NS.items() if k not in {"ds", "dsp"}}
_TRUSTED_PARSER = trusted_parser()

_RENDER: dict[str, Callable[[Node, Any], None]] = {
    "oadrQueryRegistration": reg.render_query_registration,
    "oadrCreatePartyRegistration": reg.render_create_party_registration,
    "oadrCreatedPartyRegistration": reg.render_created_party_registration,
    "oadrCancelPartyRegistration": reg.render_cancel_party_registration,
    "oadrCanceledPartyRegistration": reg.render_canceled_party_registration,
    "oadrRequestReregistration": reg.render_request_reregistration,
    "oadrRequestEvent": ev.render_request_event,
    "oadrDistributeEvent": ev.render_distribute_event,
    "oadrCreatedEvent": ev.render_created_event,
    "oadrCreateOpt": reg.render_create_opt,
    "oadrCreatedOpt": reg.render_created_opt,
    "oadrCancelOpt": reg.render_cancel_opt,
    "oadrCanceledOpt": reg.render_canceled_opt,
    "oadrRegisterReport": rep.render_register_report,
    "oadrRegisteredReport": rep.render_registered_report,
    "oadrCreateReport": rep.render_create_report,
    "oadrCreatedReport": rep.render_created_report,
    "oadrUpdateReport": rep.render_update_report,
    "oadrUpdatedReport": rep.render_updated_report,
    "oadrCancelReport": rep.render_cancel_report,
    "oadrCanceledReport": rep.render_canceled_report,
    "oadrPoll": reg.render_poll,
    "oadrResponse": reg.render_response,
}

_PARSE: dict[str, Callable[[Element], Message]] = {
    q("oadr:oadrQueryRegistration"): reg.parse_query_registration,
    q("oadr:oadrCreatePartyRegistration"): reg.parse_create_party_registration,
    q("oadr:oadrCreatedPartyRegistration"): reg.parse_created_party_registration,
    q("oadr:oadrCancelPartyRegistration"): reg.parse_cancel_party_registration,
    q("oadr:oadrCanceledPartyRegistration"): reg.parse_canceled_party_registration,
    q("oadr:oadrRequestReregistration"): reg.parse_request_reregistration,
    q("oadr:oadrRequestEvent"): ev.parse_request_event,
    q("oadr:oadrDistributeEvent"): ev.parse_distribute_event,
    q("oadr:oadrCreatedEvent"): ev.parse_created_event,
    q("oadr:oadrCreateOpt"): reg.parse_create_opt,
    q("oadr:oadrCreatedOpt"): reg.parse_created_opt,
    q("oadr:oadrCancelOpt"): reg.parse_cancel_opt,
    q("oadr:oadrCanceledOpt"): reg.parse_canceled_opt,
    q("oadr:oadrRegisterReport"): rep.parse_register_report,
    q("oadr:oadrRegisteredReport"): rep.parse_registered_report,
    q("oadr:oadrCreateReport"): rep.parse_create_report,
    q("oadr:oadrCreatedReport"): rep.parse_created_report,
    q("oadr:oadrUpdateReport"): rep.parse_update_report,
    q("oadr:oadrUpdatedReport"): rep.parse_updated_report,
    q("oadr:oadrCancelReport"): rep.parse_cancel_report,
    q("oadr:oadrCanceledReport"): rep.parse_canceled_report,
    q("oadr:oadrPoll"): reg.parse_poll,
    q("oadr:oadrResponse"): reg.parse_response,
}


class Signer(Protocol):
    """Signs an oadrSignedObject given in canonical form (C14N 1.0, as :func:`render` writes
    it) and returns the serialised ds:Signature element, written as the first child of an
    oadrPayload that declares only the ``oadr`` namespace (:data:`PAYLOAD_START`)."""

    def sign(self, signed_object_c14n: bytes) -> bytes: ...


class Verifier(Protocol):
    """Checks an oadrPayload's signature and replay protection; returns the oadrSignedObject
    as verified (only signed content is trusted) or raises :class:`CodecError`."""

    required: bool

    def verify(self, payload: Element) -> Element: ...


PAYLOAD_START = (
    f"<?xml version='1.0' encoding='UTF-8'?>\n<oadr:oadrPayload xmlns:oadr=\"{NS['oadr']}\">"
).encode()
PAYLOAD_END = b"</oadr:oadrPayload>"


def message_name(message: Message) -> str:
    return ELEMENT_NAME[type(message)]


def signed_object_c14n(message: Message) -> bytes:
    """The oadrSignedObject in Canonical XML 1.0 form, every namespace declared on it.

    These bytes go into the envelope as they are: inside the oadrPayload (which declares only
    ``oadr``, with the same URI) the element canonicalises to the same bytes, so a signature's
    digest of them holds in the sent message.
    """
    name = message_name(message)
    writer = CanonicalWriter("oadr:oadrSignedObject", _OBJECT_NSMAP)
    writer.root.set("oadr:Id", SIGNED_OBJECT_ID)
    body = sub(writer.root, f"oadr:{name}")
    body.set("ei:schemaVersion", "2.0b")
    _RENDER[name](body, message)
    return writer.finish()


def render(message: Message, *, signer: Signer | None = None, check: bool = True) -> bytes:
    """The message as oadrPayload XML bytes, signed when ``signer`` is given.

    Raises CodecError (454) when the result does not validate (a bug, or a value the schema
    forbids such as an empty id) and when a value cannot be sent (NaN, a control character).
    """
    signed_object = signed_object_c14n(message)
    signature = signer.sign(signed_object) if signer is not None else b""
    data = b"".join((PAYLOAD_START, signature, signed_object, PAYLOAD_END))
    if check:
        try:
            root = etree.fromstring(data, _TRUSTED_PARSER)
        except etree.XMLSyntaxError as exc:  # a bug: what we write is well-formed
            raise CodecError(ResponseCode.INVALID_DATA, f"rendered XML: {exc}") from None
        validate(root)
    return data


def parse(
    data: bytes, *, verifier: Verifier | None = None, max_bytes: int = MAX_MESSAGE_BYTES
) -> Message:
    """Bytes from the network -> a typed message, or CodecError (never another exception)."""
    root = parse_untrusted(data, max_bytes=max_bytes)
    if root.tag != q("oadr:oadrPayload"):
        raise CodecError(ResponseCode.NOT_RECOGNIZED, "root element is not oadrPayload")
    validate(root)
    if verifier is not None:
        signed_object = verifier.verify(root)
    else:
        found = root.find("oadr:oadrSignedObject", NS)
        if found is None:  # the schema makes this unreachable
            raise CodecError(ResponseCode.INVALID_DATA, "no oadrSignedObject")
        signed_object = found
    return parse_signed_object(signed_object)


def parse_signed_object(signed_object: Element) -> Message:
    children = [c for c in signed_object if isinstance(c.tag, str)]
    if len(children) != 1:
        raise CodecError(ResponseCode.INVALID_DATA, "oadrSignedObject must hold one message")
    body = children[0]
    parser = _PARSE.get(body.tag)
    if parser is None:
        raise CodecError(ResponseCode.NOT_RECOGNIZED, f"message {body.tag} not recognised")
    try:
        return parser(body)
    except CodecError:
        raise
    except Exception as exc:  # a trust boundary: a value the schema let through but we cannot use
        log.warning("openadr: unusable %s: %s: %s", body.tag, type(exc).__name__, exc)
        raise CodecError(ResponseCode.INVALID_DATA, f"unusable value: {exc}") from None
