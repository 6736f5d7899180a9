"""The CEM drives a simulated battery behind an S2 resource manager (s2-python, separate
process) with FRBC instructions: a setpoint applied and acknowledged, a plan carried out at its
times, a new plan revoking the old, refused and unanswered instructions, the RM going away and
coming back, and the RM's fallback when the CEM goes away."""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.devices.driver import DeviceUnavailableError, Setpoint
from adapters.devices.s2 import PlanStep, S2Cem, S2FrbcDriver
from tests.adapters.devices.s2_peer import (
    RM_ID,
    Event,
    ResourceManagerProcess,
    cem_settings,
    resource_manager,
    rm_args,
    until,
)


async def _ready(cem: S2Cem, peer: ResourceManagerProcess) -> S2FrbcDriver:
    await cem.wait_ready(RM_ID, 10)
    await peer.wait_for("tick", lambda e: e["active"], since=0)
    return S2FrbcDriver("battery", cem, RM_ID)


def at_power(power_kw: float) -> Callable[[Event], bool]:
    """An event's condition: its power is ``power_kw``."""
    return lambda e: bool(e["power_kw"] == pytest.approx(power_kw))


def _at(event_time: str) -> datetime:
    return datetime.fromisoformat(event_time)


def test_a_setpoint_is_carried_out_and_the_state_follows(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with (
            S2Cem(cem_settings()) as cem,
            resource_manager(rm_args(cem, "--capacity-kwh", "0.05"), tmp_path / "rm.log") as peer,
        ):
            driver = await _ready(cem, peer)
            soc_before = (await driver.read_state()).soc
            assert soc_before is not None
            mark = peer.mark()
            await driver.apply(Setpoint(power_kw=2.5))
            started = await peer.wait_for("started", since=mark)
            assert started["power_kw"] == pytest.approx(2.5)
            await until(lambda: cem.session(RM_ID) is not None and _power(cem) == 2.5)
            state = await driver.read_state()
            assert state.power_kw == pytest.approx(2.5)
            await asyncio.sleep(0.5)
            charged = await driver.read_state()
            assert charged.soc is not None
            assert charged.soc > soc_before
            mark = peer.mark()
            await driver.apply(Setpoint(power_kw=-2.0))
            started = await peer.wait_for("started", since=mark)
            assert started["power_kw"] == pytest.approx(-2.0)
            await until(lambda: _power(cem) == pytest.approx(-2.0))
            discharged_from = (await driver.read_state()).soc
            await asyncio.sleep(0.5)
            later = (await driver.read_state()).soc
            assert later is not None
            assert discharged_from is not None
            assert later < discharged_from
            # beyond the battery's 5 kW: held at its limit
            mark = peer.mark()
            await driver.apply(Setpoint(power_kw=9.0))
            assert (await peer.wait_for("started", since=mark))["power_kw"] == pytest.approx(5.0)
            with pytest.raises(ValueError, match="finite"):
                await driver.apply(Setpoint(power_kw=math.nan))

    asyncio.run(scenario())


async def until_raises(driver: S2FrbcDriver, timeout_s: float = 5.0) -> None:
    """Poll read_state until it raises (re-raised); AssertionError if it never does."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        await driver.read_state()
        await asyncio.sleep(0.02)
    raise AssertionError("read_state kept answering")


def _power(cem: S2Cem) -> float | None:
    session = cem.session(RM_ID)
    return None if session is None else session.power_kw


def test_apply_to_acceptance_latency_median_of_50(tmp_path: Path) -> None:
    """apply() -> the RM's InstructionStatusUpdate ACCEPTED; printed with -s."""

    async def scenario() -> None:
        async with (
            S2Cem(cem_settings()) as cem,
            resource_manager(rm_args(cem), tmp_path / "rm.log") as peer,
        ):
            driver = await _ready(cem, peer)
            latencies_ms = []
            for i in range(50):
                started = time.perf_counter()
                await driver.apply(Setpoint(power_kw=1.0 if i % 2 else -1.0))
                latencies_ms.append((time.perf_counter() - started) * 1000)
            median = statistics.median(latencies_ms)
            print(f"\nS2 apply() -> ACCEPTED: median {median:.1f} ms of 50")
            assert median < 1000

    asyncio.run(scenario())


def test_a_plan_is_carried_out_at_its_times(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with (
            S2Cem(cem_settings()) as cem,
            resource_manager(rm_args(cem), tmp_path / "rm.log") as peer,
        ):
            driver = await _ready(cem, peer)
            start = datetime.now(UTC) + timedelta(seconds=1)
            steps = [
                PlanStep(start, 2.0),
                PlanStep(start + timedelta(seconds=1), 2.0),  # no change: no instruction
                PlanStep(start + timedelta(seconds=2), -1.0),
            ]
            end = start + timedelta(seconds=3)
            mark = peer.mark()
            assert await driver.send_plan(steps, end)
            expected = [(start, 2.0), (start + timedelta(seconds=2), -1.0), (end, 0.0)]
            for when, power_kw in expected:
                started = await peer.wait_for(
                    "started", lambda e, p=power_kw: e["power_kw"] == pytest.approx(p), since=mark
                )
                assert _at(started["execution_time"]) == when
                late_s = (_at(started["at"]) - when).total_seconds()
                assert 0 <= late_s < 1.0
            assert len(peer.of("started", since=mark)) == 3
            # the same plan is not sent again
            assert not await driver.send_plan(steps, end)

    asyncio.run(scenario())


def test_a_new_plan_revokes_the_instructions_of_the_last_still_to_come(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with (
            S2Cem(cem_settings()) as cem,
            resource_manager(rm_args(cem), tmp_path / "rm.log") as peer,
        ):
            driver = await _ready(cem, peer)
            start = datetime.now(UTC) + timedelta(seconds=30)
            mark = peer.mark()
            await driver.send_plan(
                [PlanStep(start, 3.0), PlanStep(start + timedelta(hours=1), 1.0)]
            )
            await until(lambda: len(peer.of("instruction", since=mark)) == 2)
            old = [e["id"] for e in peer.of("instruction", since=mark)]
            await driver.send_plan([PlanStep(datetime.now(UTC), -1.0)])
            await until(lambda: len(peer.of("revoked", since=mark)) == 2)
            assert sorted(e["id"] for e in peer.of("revoked", since=mark)) == sorted(old)
            await peer.wait_for("started", at_power(-1.0), since=mark)
            # a setpoint revokes a plan too
            mark = peer.mark()
            await driver.send_plan([PlanStep(start, 3.0)])
            await driver.apply(Setpoint(power_kw=0.5))
            await peer.wait_for("revoked", since=mark)
            # the RM's REVOKED statuses for the CEM's own revocations are no failure
            assert (await driver.read_state()).power_kw is not None

    asyncio.run(scenario())


def test_a_rejected_instruction_raises_and_marks_the_device_unavailable(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with (
            S2Cem(cem_settings()) as cem,
            resource_manager(rm_args(cem), tmp_path / "rm.log") as peer,
        ):
            driver = await _ready(cem, peer)
            peer.send("reject")
            await asyncio.sleep(0.1)
            with pytest.raises(DeviceUnavailableError, match="REJECTED"):
                await driver.apply(Setpoint(power_kw=1.0))
            with pytest.raises(DeviceUnavailableError, match="REJECTED"):
                await driver.read_state()
            peer.send("normal")
            await asyncio.sleep(0.1)
            await driver.apply(Setpoint(power_kw=1.0))
            assert (await driver.read_state()).power_kw is not None
            # a plan's instructions are not awaited one by one: a rejection shows in read_state
            peer.send("reject")
            await asyncio.sleep(0.1)
            assert await driver.send_plan([PlanStep(datetime.now(UTC), 2.0)])
            with pytest.raises(DeviceUnavailableError, match="REJECTED"):
                await until_raises(driver)

    asyncio.run(scenario())


def test_an_unanswered_instruction_raises_after_the_response_timeout(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with (
            S2Cem(cem_settings(response_timeout_s=0.5)) as cem,
            resource_manager(rm_args(cem), tmp_path / "rm.log") as peer,
        ):
            driver = await _ready(cem, peer)
            peer.send("mute")
            await asyncio.sleep(0.1)
            started = time.monotonic()
            with pytest.raises(DeviceUnavailableError, match="did not answer"):
                await driver.apply(Setpoint(power_kw=1.0))
            assert time.monotonic() - started < 2.0

    asyncio.run(scenario())


def test_the_rm_going_away_raises_and_it_is_driven_again_when_it_comes_back(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with S2Cem(cem_settings()) as cem:
            log_file = tmp_path / "rm.log"
            async with resource_manager(rm_args(cem), log_file) as peer:
                driver = await _ready(cem, peer)
                await driver.apply(Setpoint(power_kw=1.0))
                peer.kill()  # a power cut: no close frame
                await until(lambda: cem.session(RM_ID) is None)
                with pytest.raises(DeviceUnavailableError, match="not connected"):
                    await driver.read_state()
                with pytest.raises(DeviceUnavailableError, match="not connected"):
                    await driver.apply(Setpoint(power_kw=1.0))
            async with resource_manager(rm_args(cem), log_file) as peer:
                driver = await _ready(cem, peer)
                mark = peer.mark()
                await driver.apply(Setpoint(power_kw=1.5))
                await peer.wait_for("started", at_power(1.5), since=mark)
                # a dropped connection: the RM reconnects by itself, the plan is sent again
                plan = [PlanStep(datetime.now(UTC), 2.0)]
                assert await driver.send_plan(plan)
                mark = peer.mark()
                peer.send("drop")
                await peer.wait_for("connected", since=mark)
                await peer.wait_for("activated", since=mark)
                await cem.wait_ready(RM_ID, 10)
                assert await driver.send_plan(plan)
                await peer.wait_for("started", at_power(2.0), since=mark)

    asyncio.run(scenario())


def test_a_call_waiting_on_a_connection_that_is_lost_fails_at_once(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with (
            S2Cem(cem_settings(response_timeout_s=30)) as cem,
            resource_manager(rm_args(cem), tmp_path / "rm.log") as peer,
        ):
            driver = await _ready(cem, peer)
            peer.send("mute")
            await asyncio.sleep(0.1)
            waiting = asyncio.create_task(driver.apply(Setpoint(power_kw=1.0)))
            await asyncio.sleep(0.3)
            started = time.monotonic()
            peer.kill()
            with pytest.raises(DeviceUnavailableError):
                await waiting
            assert time.monotonic() - started < 5

    asyncio.run(scenario())


def test_when_the_cem_goes_away_the_rm_drops_the_plan_and_runs_its_own_mode(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        cem = S2Cem(cem_settings())
        await cem.start()
        try:
            async with resource_manager(rm_args(cem), tmp_path / "rm.log") as peer:
                driver = await _ready(cem, peer)
                later = datetime.now(UTC) + timedelta(seconds=2)
                await driver.send_plan([PlanStep(datetime.now(UTC), 3.0), PlanStep(later, -3.0)])
                await peer.wait_for("tick", at_power(3.0), since=0)
                mark = peer.mark()
                await cem.stop()
                await peer.wait_for("deactivated", since=mark)
                await peer.wait_for("tick", lambda e: e["power_kw"] == 0.0, since=mark)
                await asyncio.sleep(2.5)  # past the plan's second step
                assert not peer.of("started", since=mark)
                assert peer.of("tick")[-1]["power_kw"] == 0.0
        finally:
            await cem.stop()

    asyncio.run(scenario())
