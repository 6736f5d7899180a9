"""Every frame an RM sends is validated with s2-python's models: what is not an S2 message,
or breaks its type's schema, is an InvalidS2MessageError with the ReceptionStatus to answer
and a reason short enough for a log line."""

from __future__ import annotations

import json
import uuid

import pytest
from s2python.common import Handshake, ReceptionStatusValues

from adapters.devices.s2 import InvalidS2MessageError, parse_message
from adapters.devices.s2.messages import NIL_ID

ID = str(uuid.uuid4())


def _refusal(frame: str | bytes) -> InvalidS2MessageError:
    with pytest.raises(InvalidS2MessageError) as caught:
        parse_message(frame)
    assert len(caught.value.reason) < 500
    return caught.value


def test_a_valid_handshake_parses() -> None:
    frame = json.dumps(
        {
            "message_type": "Handshake",
            "message_id": ID,
            "role": "RM",
            "supported_protocol_versions": ["0.0.2-beta"],
        }
    )
    message = parse_message(frame)
    assert isinstance(message, Handshake)
    assert message.message_id == uuid.UUID(ID)


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ("{not json", "not JSON"),
        (b"\xff\xfe", "not UTF-8"),
        ("[" * 100_000, "not JSON"),
        ("1" * 5000, "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('"Handshake"', "not a JSON object"),
        ("{}", "unknown message_type None"),
        ('{"message_type": 7}', "unknown message_type 7"),
        ('{"message_type": "Bogus"}', "unknown message_type 'Bogus'"),
    ],
    ids=["broken", "binary", "deep", "huge-int", "array", "string", "empty", "int-type", "unknown"],
)
def test_what_is_not_an_s2_message_is_invalid_data(frame: str | bytes, reason: str) -> None:
    refusal = _refusal(frame)
    assert refusal.status == ReceptionStatusValues.INVALID_DATA
    assert refusal.subject_id == NIL_ID
    assert reason in refusal.reason


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"role": "KING"}, "role: Input should be 'CEM' or 'RM'"),
        ({"role": "RM", "extra": 1}, "extra: Extra inputs are not permitted"),
        ({"role": ["RM"]}, "role:"),
        ({"role": "RM", "supported_protocol_versions": "1"}, "supported_protocol_versions"),
        ({}, "role: Field required"),
    ],
    ids=["wrong-enum", "extra-field", "wrong-type", "string-for-list", "missing"],
)
def test_a_message_that_breaks_its_schema_is_invalid_message_naming_the_field(
    fields: dict[str, object], reason: str
) -> None:
    frame = json.dumps({"message_type": "Handshake", "message_id": ID, **fields})
    refusal = _refusal(frame)
    assert refusal.status == ReceptionStatusValues.INVALID_MESSAGE
    assert refusal.subject_id == uuid.UUID(ID)
    assert refusal.reason.startswith("invalid Handshake: ")
    assert reason in refusal.reason


def test_a_message_id_that_is_not_a_uuid_is_answered_against_the_nil_id() -> None:
    frame = json.dumps({"message_type": "Handshake", "message_id": "x" * 10, "role": "RM"})
    refusal = _refusal(frame)
    assert refusal.subject_id == NIL_ID
    assert "message_id" in refusal.reason


def test_many_errors_are_summed_up_not_listed() -> None:
    values = [{"commodity_quantity": "NOPE", "value": "x"}] * 10
    frame = json.dumps(
        {
            "message_type": "PowerMeasurement",
            "message_id": ID,
            "measurement_timestamp": "2026-12-06T12:00:00",
            "values": values,
        }
    )
    refusal = _refusal(frame)
    assert "(+" in refusal.reason
    assert "more)" in refusal.reason
