"""Runs the simulated charge point (:mod:`hems.simulation.protocols.ocpp_charge_point`) as a
child process for a test and reads its events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from adapters.devices.ocpp import ChargerSettings, Csms, CsmsSettings
from tests.adapters.devices.peer_process import Event as Event  # re-exported for the tests
from tests.adapters.devices.peer_process import PeerProcess
from tests.adapters.devices.peer_process import until as until  # re-exported for the tests


class ChargePointProcess(PeerProcess):
    """One simulated charge point; its stdout events are collected as they come."""

    def __init__(self, args: list[str], stderr_file: Path) -> None:
        super().__init__(
            "hems.simulation.protocols.ocpp_charge_point", "charge point", args, stderr_file
        )


@asynccontextmanager
async def charge_point(args: list[str], stderr_file: Path) -> AsyncIterator[ChargePointProcess]:
    """The simulated charge point, stopped on leaving."""
    peer = ChargePointProcess(args, stderr_file)
    try:
        yield peer
    finally:
        await peer.stop()


IDENTITY = "CP-1"
VERSIONS = ("1.6", "2.0.1")


def csms_settings(**overrides: Any) -> CsmsSettings:
    """A CSMS on a free loopback port with one paired charger, CP-1, and short intervals."""
    fields: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": 0,
        "chargers": (ChargerSettings(identity=IDENTITY),),
        "heartbeat_interval_s": 1,
        "stale_after_s": 3.0,
        "response_timeout_s": 5.0,
    }
    return CsmsSettings(**(fields | overrides))


def peer_args(
    csms: Csms, version: str, *extra: str, identity: str = IDENTITY, scheme: str = "ws"
) -> list[str]:
    """The simulated charge point's command line for ``csms``."""
    url = f"{scheme}://127.0.0.1:{csms.port}/{identity}"
    return ["--url", url, "--version", version, *extra]
