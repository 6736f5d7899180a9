"""The guard in front of XML parsers we do not configure: every hostile body is refused with a
typed error before any parser runs; the messages 2.0b peers send pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.openadr import codec
from adapters.openadr import messages as m
from adapters.openadr.xml_guard import (
    HostileXmlError,
    XmlDoctypeError,
    XmlEncodingError,
    XmlEntityError,
    XmlProcessingInstructionError,
    XmlTooLargeError,
    check_untrusted_xml,
)
from tests.adapters.openadr.hostile_xml import OADR, hostile_bodies
from tests.adapters.openadr.samples import dispatch_event

LIMIT_BYTES = 200_000  # every hostile body but "oversized" is under it
EXPECTED = {
    "billion-laughs": XmlDoctypeError,
    "quadratic-blowup": XmlDoctypeError,
    "xxe-local-file": XmlDoctypeError,
    "external-dtd": XmlDoctypeError,
    "utf16-billion-laughs": XmlEncodingError,
    "processing-instruction": XmlProcessingInstructionError,
    "oversized": XmlTooLargeError,
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_hostile_body_is_refused_with_its_own_error(name, tmp_path):
    body = hostile_bodies(tmp_path / "secret", LIMIT_BYTES)[name]
    with pytest.raises(EXPECTED[name]):
        check_untrusted_xml(body, max_bytes=LIMIT_BYTES)


@pytest.mark.parametrize(
    "body",
    [
        f'<!-- --><a xmlns="{OADR}"/><!doctype a>'.encode(),
        b'<?xml version="1.0" encoding="UTF-7"?><a>+ADw-!DOCTYPE a+AD4-</a>',
        b'<?xml version="1.0" encoding="ISO-8859-1"?><a>\xe9</a>',
        '<?xml version="1.0"?><a/>'.encode("utf-32"),
        "<a/>".encode("utf-16-le"),  # no BOM: NUL bytes between the characters
        '<?xml version="1.0" encoding="cp500"?><a/>'.encode("cp500"),  # EBCDIC
        b"\n<?xml version='1.0'?><a/>",  # a declaration not at the start is a PI
    ],
    ids=["lower-case-doctype", "utf7", "latin1", "utf32", "utf16-no-bom", "ebcdic", "late-decl"],
)
def test_disguised_declarations_and_other_encodings_are_refused(body):
    with pytest.raises(HostileXmlError):
        check_untrusted_xml(body)


def test_what_peers_send_passes():
    ours = codec.render(m.DistributeEvent(request_id="r", vtn_id="v", events=(dispatch_event(),)))
    openleadr_style = (
        b'<?xml version="1.0" encoding="utf-8"?>\n'
        b'<oadr:oadrPayload xmlns:oadr="' + OADR.encode() + b'">\n</oadr:oadrPayload>'
    )
    for body in (ours, openleadr_style, b"\xef\xbb\xbf" + ours, ours.replace(b"'", b'"')):
        check_untrusted_xml(body)
    check_untrusted_xml(ours, max_bytes=len(ours))


def test_the_size_is_checked_before_anything_is_decoded():
    with pytest.raises(XmlTooLargeError):
        check_untrusted_xml(b"\xff" * 11, max_bytes=10)


def test_an_entity_declaration_without_doctype_is_its_own_error():
    with pytest.raises(XmlEntityError):
        check_untrusted_xml(b'<a><!ENTITY x "y"></a>')


def test_the_errors_are_value_errors_with_short_messages(tmp_path: Path):
    with pytest.raises(ValueError, match=r"^DOCTYPE"):
        check_untrusted_xml(hostile_bodies(tmp_path, LIMIT_BYTES)["billion-laughs"])
