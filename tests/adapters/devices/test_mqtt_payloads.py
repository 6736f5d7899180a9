"""The topic scheme's payloads, without a broker: what a device's state must hold to be taken,
and the plan the CEM leaves for a device."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from adapters.devices.mqtt import BrokerSettings, MqttCem, MqttDeviceDriver
from adapters.devices.mqtt.payloads import (
    MAX_PAYLOAD_BYTES,
    InvalidPayloadError,
    PlanStep,
    parse_ack,
    parse_state,
    plan_payload,
)

AT = "2026-12-06T12:00:00+00:00"
T0 = datetime(2026, 12, 6, 12, tzinfo=UTC)


def test_a_full_state_is_read() -> None:
    body = {"at": "2026-12-06T13:00:00+01:00", "power_kw": -1.5, "temperature_c": 20.5,
            "soc": 0.4, "manual_override": True, "extra": "ignored"}  # fmt: skip
    state = parse_state(json.dumps(body).encode())
    assert state.at_utc == datetime(2026, 12, 6, 12, tzinfo=UTC)
    assert (state.power_kw, state.temperature_c, state.soc) == (-1.5, 20.5, 0.4)
    assert state.manual_override is True


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "not JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[]", "not a JSON object but list"),
        (json.dumps({"power_kw": 1}).encode(), "'at' is missing"),
        (json.dumps({"at": "2026-12-06T12:00:00", "power_kw": 1}).encode(), "no time zone"),
        (json.dumps({"at": AT, "power_kw": True}).encode(), "'power_kw' is not a finite"),
        (b'{"at": "' + AT.encode() + b'", "power_kw": NaN}', "'power_kw' is not a finite"),
        (json.dumps({"at": AT, "power_kw": 1, "soc": 1.5}).encode(), "'soc' is not within 0-1"),
        (json.dumps({"at": AT, "power_kw": 1, "manual_override": "yes"}).encode(),
         "'manual_override' is not true or false"),
        (b" " * (MAX_PAYLOAD_BYTES + 1), "over"),
    ],
)  # fmt: skip
def test_a_bad_state_says_what_is_wrong(payload: bytes, reason: str) -> None:
    with pytest.raises(InvalidPayloadError, match=reason):
        parse_state(payload)


def test_acks() -> None:
    assert parse_ack(b'{"seq": 5}').accepted is True
    refused = parse_ack(b'{"seq": 5, "accepted": false, "reason": "too much"}')
    assert (refused.accepted, refused.reason) == (False, "too much")
    with pytest.raises(InvalidPayloadError, match="'seq' is not an integer"):
        parse_ack(b'{"seq": "5"}')


def test_the_plan_payload_has_each_step_s_start() -> None:
    t0 = datetime(2026, 12, 6, 12, tzinfo=UTC)
    steps = [PlanStep(t0, 1.0), PlanStep(t0 + timedelta(minutes=30), 0.0)]
    plan = json.loads(plan_payload(7, steps, t0 + timedelta(hours=1), t0))
    assert plan == {
        "seq": 7,
        "sent_at": "2026-12-06T12:00:00+00:00",
        "end": "2026-12-06T13:00:00+00:00",
        "steps": [
            {"start": "2026-12-06T12:00:00+00:00", "power_kw": 1.0},
            {"start": "2026-12-06T12:30:00+00:00", "power_kw": 0.0},
        ],
    }


@pytest.mark.parametrize(
    ("steps", "reason"),
    [
        ([], "at least one step"),
        ([PlanStep(T0 + timedelta(hours=1), 1.0), PlanStep(T0, 1.0)], "in order"),
        ([PlanStep(T0 + timedelta(hours=3), 1.0)], "before the plan's end"),
        ([PlanStep(T0, float("inf"))], "finite"),
    ],
)
def test_a_bad_plan_is_refused_before_anything_is_sent(steps: list[PlanStep], reason: str) -> None:
    settings = BrokerSettings(host="127.0.0.1", port=1, home="h", username="u", password="p")
    driver = MqttDeviceDriver("heat pump", MqttCem(settings), "hp1")
    with pytest.raises(ValueError, match=reason):
        asyncio.run(driver.send_plan(steps, T0 + timedelta(hours=2)))
