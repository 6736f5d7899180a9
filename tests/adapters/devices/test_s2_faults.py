"""Hostile input to the S2 CEM, sent as raw WebSocket frames by a client on 127.0.0.1:
malformed JSON, wrong types, unknown messages, messages out of place, a non-finite power, a
version the CEM does not speak, a run of garbage and a huge frame. Each is answered with the
ReceptionStatus S2 prescribes and one log line, or closes that connection; the server and a
real RM's session (a separate process) go on."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from adapters.devices.driver import DeviceUnavailableError, Setpoint
from adapters.devices.s2 import PlanStep, ResourceManagerSettings, S2Cem, S2FrbcDriver, hash_token
from adapters.devices.s2.messages import NIL_ID
from tests.adapters.devices.s2_peer import (
    RM_ID,
    TOKEN,
    cem_settings,
    resource_manager,
    rm_args,
    until,
)
from tests.adapters.devices.s2_resource_manager import system_description

RAW_ID = "raw-rm"
RAW_TOKEN = "raw-client-token-0123456789"
Message = dict[str, Any]


def _settings(**overrides: Any) -> Any:
    rms = (
        ResourceManagerSettings(rm_id=RM_ID, token_hash=hash_token(TOKEN)),
        ResourceManagerSettings(rm_id=RAW_ID, token_hash=hash_token(RAW_TOKEN)),
    )
    return cem_settings(resource_managers=rms, **overrides)


@asynccontextmanager
async def raw_client(cem: S2Cem) -> AsyncIterator[ClientConnection]:
    async with connect(
        f"ws://127.0.0.1:{cem.port}/{RAW_ID}",
        additional_headers={"Authorization": f"Bearer {RAW_TOKEN}"},
        max_size=None,
    ) as ws:
        yield ws


async def expect(
    ws: ClientConnection, condition: Callable[[Message], bool], timeout_s: float = 5
) -> Message:
    """The next message from the CEM that meets ``condition`` (others are skipped)."""
    async with asyncio.timeout(timeout_s):
        while True:
            message: Message = json.loads(await ws.recv())
            if condition(message):
                return message


def status_for(subject: uuid.UUID) -> Callable[[Message], bool]:
    return lambda m: (
        m["message_type"] == "ReceptionStatus" and m["subject_message_id"] == str(subject)
    )


def handshake(versions: list[str] | None = None) -> Message:
    return {
        "message_type": "Handshake",
        "message_id": str(uuid.uuid4()),
        "role": "RM",
        "supported_protocol_versions": versions or ["0.0.2-beta"],
    }


async def shake_hands(ws: ClientConnection) -> None:
    """The handshake, answering the CEM's Handshake and HandshakeResponse with OK."""
    mine = handshake()
    await ws.send(json.dumps(mine))
    assert (await expect(ws, status_for(uuid.UUID(mine["message_id"]))))["status"] == "OK"
    for kind in ("Handshake", "HandshakeResponse"):
        theirs = await expect(ws, lambda m, k=kind: m["message_type"] == k)
        await ws.send(
            json.dumps(
                {
                    "message_type": "ReceptionStatus",
                    "subject_message_id": theirs["message_id"],
                    "status": "OK",
                }
            )
        )


def test_malformed_frames_are_answered_and_the_connection_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        async with S2Cem(_settings()) as cem, raw_client(cem) as ws:
            for frame in ("{not json", "[1, 2]", b"\xff\xfe", '{"message_type": "Bogus"}'):
                await ws.send(frame)
                answer = await expect(ws, status_for(NIL_ID))
                assert answer["status"] == "INVALID_DATA"
            wrong_type = {**handshake(), "role": 5}
            await ws.send(json.dumps(wrong_type))
            answer = await expect(ws, status_for(uuid.UUID(wrong_type["message_id"])))
            assert answer["status"] == "INVALID_MESSAGE"
            assert "role" in answer["diagnostic_label"]
            # not yet shaken hands: a valid report is out of place
            early = _power_measurement(1000.0)
            await ws.send(json.dumps(early))
            answer = await expect(ws, status_for(uuid.UUID(early["message_id"])))
            assert answer["status"] == "INVALID_CONTENT"
            assert "handshake" in answer["diagnostic_label"]
            # still connected: the handshake goes through, once
            await shake_hands(ws)
            again = handshake()
            await ws.send(json.dumps(again))
            answer = await expect(ws, status_for(uuid.UUID(again["message_id"])))
            assert answer["status"] == "INVALID_CONTENT"
            # a CEM's message from an RM, and a power that is not a number
            instruction = {
                "message_type": "SelectControlType",
                "message_id": str(uuid.uuid4()),
                "control_type": "FILL_RATE_BASED_CONTROL",
            }
            for message in (instruction, _power_measurement(float("nan"))):
                await ws.send(json.dumps(message))
                answer = await expect(ws, status_for(uuid.UUID(message["message_id"])))
                assert answer["status"] == "INVALID_CONTENT"
            fine = _power_measurement(1500.0)
            await ws.send(json.dumps(fine))
            assert (await expect(ws, status_for(uuid.UUID(fine["message_id"]))))["status"] == "OK"
            session = cem.session(RAW_ID)
            assert session is not None
            assert session.power_kw == 1.5

    with caplog.at_level(logging.WARNING, logger="adapters.devices.s2"):
        asyncio.run(scenario())
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        "raw-rm sent an invalid message, answered INVALID_DATA: not JSON" in w for w in warnings
    )
    assert any("answered INVALID_MESSAGE: invalid Handshake: role" in w for w in warnings)
    assert not [r for r in caplog.records if r.exc_info]  # no traceback


def _power_measurement(watts: float) -> Message:
    return {
        "message_type": "PowerMeasurement",
        "message_id": str(uuid.uuid4()),
        "measurement_timestamp": datetime.now(UTC).isoformat(),
        "values": [{"commodity_quantity": "ELECTRIC.POWER.3_PHASE_SYMMETRIC", "value": watts}],
    }


def test_a_version_the_cem_does_not_speak_is_refused_and_closed() -> None:
    async def scenario() -> None:
        async with S2Cem(_settings()) as cem, raw_client(cem) as ws:
            mine = handshake(["9.9.9"])
            await ws.send(json.dumps(mine))
            answer = await expect(ws, status_for(uuid.UUID(mine["message_id"])))
            assert answer["status"] == "INVALID_CONTENT"
            assert "no common S2 version" in answer["diagnostic_label"]
            with pytest.raises(ConnectionClosed) as closed:
                await expect(ws, lambda m: False)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1008

    asyncio.run(scenario())


def test_a_run_of_invalid_frames_closes_that_connection() -> None:
    async def scenario() -> None:
        async with S2Cem(_settings(max_invalid_messages=5)) as cem, raw_client(cem) as ws:
            for _ in range(4):
                await ws.send("garbage")
                await expect(ws, status_for(NIL_ID))
            await ws.send("garbage")
            with pytest.raises(ConnectionClosed) as closed:
                await expect(ws, lambda m: False)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1008
            async with raw_client(cem) as again:  # the server goes on
                await shake_hands(again)

    asyncio.run(scenario())


def test_a_huge_frame_closes_that_connection_and_a_real_rm_goes_on(tmp_path: Path) -> None:
    async def scenario() -> None:
        settings = _settings(max_message_bytes=64 * 1024)
        async with (
            S2Cem(settings) as cem,
            resource_manager(rm_args(cem), tmp_path / "rm.log") as peer,
        ):
            await cem.wait_ready(RM_ID, 10)
            await peer.wait_for("activated", since=0)
            driver = S2FrbcDriver("battery", cem, RM_ID)
            async with raw_client(cem) as ws:
                await shake_hands(ws)
                huge = {**_power_measurement(1.0), "pad": "x" * (100 * 1024)}
                await ws.send(json.dumps(huge))
                with pytest.raises(ConnectionClosed) as closed:
                    await expect(ws, lambda m: False)
                assert closed.value.rcvd is not None
                assert closed.value.rcvd.code == 1009
            await driver.apply(Setpoint(power_kw=1.0))
            assert (await driver.read_state()).power_kw is not None

    asyncio.run(scenario())


async def frbc_ready(cem: S2Cem, ws: ClientConnection) -> None:
    """Take the raw client through the set-up to FRBC with the test battery's description."""
    await shake_hands(ws)
    details = {
        "message_type": "ResourceManagerDetails",
        "message_id": str(uuid.uuid4()),
        "resource_id": str(uuid.uuid4()),
        "roles": [{"role": "ENERGY_STORAGE", "commodity": "ELECTRICITY"}],
        "instruction_processing_delay": 100,
        "available_control_types": ["FILL_RATE_BASED_CONTROL"],
        "provides_forecast": False,
        "provides_power_measurement_types": ["ELECTRIC.POWER.3_PHASE_SYMMETRIC"],
    }
    await ws.send(json.dumps(details))
    select = await expect(ws, lambda m: m["message_type"] == "SelectControlType")
    assert select["control_type"] == "FILL_RATE_BASED_CONTROL"
    await ws.send(
        json.dumps(
            {
                "message_type": "ReceptionStatus",
                "subject_message_id": select["message_id"],
                "status": "OK",
            }
        )
    )
    await ws.send(system_description(5000.0).to_json())
    await ws.send(json.dumps(_power_measurement(500.0)))
    await cem.wait_ready(RAW_ID, 5)


def test_garbage_is_no_sign_of_life_for_read_state() -> None:
    async def scenario() -> None:
        async with S2Cem(_settings(stale_after_s=0.5)) as cem, raw_client(cem) as ws:
            await frbc_ready(cem, ws)
            driver = S2FrbcDriver("raw", cem, RAW_ID)
            await until(lambda: (s := cem.session(RAW_ID)) is not None and s.power_kw == 0.5)
            assert (await driver.read_state()).power_kw == 0.5
            for _ in range(8):
                await ws.send("garbage")
                await expect(ws, status_for(NIL_ID))
                await asyncio.sleep(0.1)
            with pytest.raises(DeviceUnavailableError, match="silent"):
                await driver.read_state()
            fresh = _power_measurement(700.0)
            await ws.send(json.dumps(fresh))
            await expect(ws, status_for(uuid.UUID(fresh["message_id"])))
            assert (await driver.read_state()).power_kw == 0.7

    asyncio.run(scenario())


def test_an_instruction_the_rm_refuses_raises_with_its_status_and_reason() -> None:
    async def scenario() -> None:
        async with S2Cem(_settings()) as cem, raw_client(cem) as ws:
            await frbc_ready(cem, ws)
            driver = S2FrbcDriver("raw", cem, RAW_ID)
            applying = asyncio.create_task(driver.apply(Setpoint(power_kw=1.0)))
            instruction = await expect(ws, lambda m: m["message_type"] == "FRBC.Instruction")
            refusal = {
                "message_type": "ReceptionStatus",
                "subject_message_id": instruction["message_id"],
                "status": "TEMPORARY_ERROR",
                "diagnostic_label": "inverter busy",
            }
            await ws.send(json.dumps(refusal))
            with pytest.raises(DeviceUnavailableError, match=r"TEMPORARY_ERROR \(inverter busy\)"):
                await applying

    asyncio.run(scenario())


def test_an_rm_that_refuses_the_control_type_is_closed_not_left_half_set_up() -> None:
    async def scenario() -> None:
        async with S2Cem(_settings()) as cem, raw_client(cem) as ws:
            await shake_hands(ws)
            details = {
                "message_type": "ResourceManagerDetails",
                "message_id": str(uuid.uuid4()),
                "resource_id": str(uuid.uuid4()),
                "roles": [{"role": "ENERGY_STORAGE", "commodity": "ELECTRICITY"}],
                "instruction_processing_delay": 100,
                "available_control_types": ["FILL_RATE_BASED_CONTROL"],
                "provides_forecast": False,
                "provides_power_measurement_types": ["ELECTRIC.POWER.L1"],
            }
            await ws.send(json.dumps(details))
            select = await expect(ws, lambda m: m["message_type"] == "SelectControlType")
            refusal = {
                "message_type": "ReceptionStatus",
                "subject_message_id": select["message_id"],
                "status": "PERMANENT_ERROR",
            }
            await ws.send(json.dumps(refusal))
            with pytest.raises(ConnectionClosed) as closed:
                await expect(ws, lambda m: False)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1008

    asyncio.run(scenario())


def test_a_plan_to_an_rm_that_sends_no_instruction_statuses_leaves_nothing_waiting() -> None:
    async def scenario() -> None:
        async with S2Cem(_settings()) as cem, raw_client(cem) as ws:
            await frbc_ready(cem, ws)
            driver = S2FrbcDriver("raw", cem, RAW_ID)
            start = datetime.now(UTC) + timedelta(minutes=5)
            steps = [PlanStep(start + timedelta(minutes=30 * i), i % 3 - 1.0) for i in range(6)]
            sending = asyncio.create_task(driver.send_plan(steps))
            for _ in range(6):  # received (OK), and never a status
                instruction = await expect(ws, lambda m: m["message_type"] == "FRBC.Instruction")
                ok = {
                    "message_type": "ReceptionStatus",
                    "subject_message_id": instruction["message_id"],
                    "status": "OK",
                }
                await ws.send(json.dumps(ok))
            assert await sending
            session = cem.session(RAW_ID)
            assert session is not None
            assert not session._outcomes  # no waiter per instruction left behind

    asyncio.run(scenario())


@pytest.mark.parametrize("status", ["REVOKED", "ABORTED", "REJECTED"])
def test_an_instruction_the_rm_revokes_aborts_or_rejects_raises(status: str) -> None:
    async def scenario() -> None:
        async with S2Cem(_settings()) as cem, raw_client(cem) as ws:
            await frbc_ready(cem, ws)
            driver = S2FrbcDriver("raw", cem, RAW_ID)
            applying = asyncio.create_task(driver.apply(Setpoint(power_kw=1.0)))
            instruction = await expect(ws, lambda m: m["message_type"] == "FRBC.Instruction")
            ok = {
                "message_type": "ReceptionStatus",
                "subject_message_id": instruction["message_id"],
                "status": "OK",
            }
            update = {
                "message_type": "InstructionStatusUpdate",
                "message_id": str(uuid.uuid4()),
                "instruction_id": instruction["id"],
                "status_type": status,
                "timestamp": datetime.now(UTC).isoformat(),
            }
            await ws.send(json.dumps(ok))
            await ws.send(json.dumps(update))
            with pytest.raises(DeviceUnavailableError, match=f"{instruction['id']} {status}"):
                await applying
            with pytest.raises(DeviceUnavailableError, match=status):
                await driver.read_state()

    asyncio.run(scenario())
