"""Inbound XML is hostile until validated: no DTD, no entities, no network, a size limit, the
schema; every failure is a CodecError carrying an OpenADR response code, never a crash."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.openadr import codec
from adapters.openadr import messages as m
from adapters.openadr.schema import CodecError
from adapters.openadr.vocab import ResponseCode
from tests.adapters.openadr.hostile_xml import HOSTILE_NAMES, hostile_bodies
from tests.adapters.openadr.samples import dispatch_event

VALID = codec.render(
    m.DistributeEvent(request_id="r", vtn_id="v", events=(dispatch_event(), dispatch_event("e2")))
)

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<oadrPayload xmlns="http://openadr.org/oadr-2.0b/2012/07">&lol3;</oadrPayload>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<oadr:oadrPayload xmlns:oadr="http://openadr.org/oadr-2.0b/2012/07">&xxe;</oadr:oadrPayload>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE oadrPayload SYSTEM "http://127.0.0.1:9/evil.dtd">
<oadr:oadrPayload xmlns:oadr="http://openadr.org/oadr-2.0b/2012/07"/>"""

UTF16_DOCTYPE = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'


def _outcome(data: bytes) -> int:
    """200 when the bytes parse, else the response code of the CodecError (any other
    exception fails the test)."""
    try:
        codec.parse(data)
    except CodecError as exc:
        return exc.code
    return 200


def _code(data: bytes, **kwargs: int) -> ResponseCode:
    with pytest.raises(CodecError) as info:
        codec.parse(data, **kwargs)
    return info.value.code


@pytest.mark.parametrize(
    "data",
    [BILLION_LAUGHS, XXE, EXTERNAL_DTD, UTF16_DOCTYPE.encode("utf-16")],
    ids=["billion-laughs", "xxe", "external-dtd", "utf16-doctype"],
)
def test_doctype_and_entities_are_refused(data):
    assert _code(data) == ResponseCode.INVALID_DATA


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_every_hostile_body_is_invalid_data_and_leaks_nothing(name, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("TOPSECRET")
    body = hostile_bodies(secret, 200_000)[name]
    with pytest.raises(CodecError) as info:
        codec.parse(body, max_bytes=200_000)
    assert info.value.code == ResponseCode.INVALID_DATA
    assert "TOPSECRET" not in info.value.description


def test_a_message_over_the_size_limit_is_refused_before_parsing():
    assert _code(VALID, max_bytes=len(VALID) - 1) == ResponseCode.INVALID_DATA


@pytest.mark.parametrize("data", [b"", b"   ", b"not xml", b"<a>", b"\x00\xff\xfe"])
def test_garbage_is_invalid_data(data):
    assert _code(data) == ResponseCode.INVALID_DATA


def test_another_root_element_is_not_recognised():
    assert _code(b"<html xmlns='http://www.w3.org/1999/xhtml'/>") == ResponseCode.NOT_RECOGNIZED


def test_a_schema_invalid_message_is_invalid_data():
    broken = VALID.replace(b"<ei:vtnID>v</ei:vtnID>", b"")
    assert _code(broken) == ResponseCode.INVALID_DATA


def test_an_unknown_signal_name_fails_the_schema():
    broken = VALID.replace(b">LOAD_DISPATCH<", b">NOT_A_SIGNAL<")
    assert _code(broken) == ResponseCode.INVALID_DATA


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_random_bytes_never_crash(data):
    assert _outcome(data) in {200, *ResponseCode}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(min_value=0, max_value=len(VALID) - 1),
    st.integers(min_value=0, max_value=255),
    st.integers(min_value=0, max_value=len(VALID)),
)
def test_mutated_messages_never_crash(position, byte, cut):
    mutated = (VALID[:position] + bytes([byte]) + VALID[position + 1 :])[: max(cut, 1)]
    assert _outcome(mutated) in {200, *ResponseCode}


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=40))
def test_hostile_text_in_values_never_crashes(value):
    safe = value.replace("&", "&amp;").replace("<", "&lt;").encode("utf-8", "surrogatepass")
    mutated = VALID.replace(b"<ei:modificationNumber>0<", b"<ei:modificationNumber>" + safe + b"<")
    mutated = mutated.replace(b">PT30M<", b">" + safe + b"<", 1)
    assert _outcome(mutated) in {200, *ResponseCode}
