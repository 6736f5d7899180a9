"""Runs the simulated S2 battery (``s2_resource_manager.py``) as a child process for a test
and collects its events; the CEM's settings the S2 tests share."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from adapters.devices.s2 import CemSettings, ResourceManagerSettings, S2Cem, hash_token
from tests.adapters.devices.peer_process import Event as Event  # re-exported for the tests
from tests.adapters.devices.peer_process import PeerProcess
from tests.adapters.devices.peer_process import until as until  # re-exported for the tests

RM_ID = "battery-1"
TOKEN = "s2-test-token-0123456789"
RESOURCE_ID = "00000000-0000-4000-8000-000000000b01"


class ResourceManagerProcess(PeerProcess):
    """One simulated battery RM; its stdout events are collected as they come."""

    def __init__(self, args: list[str], stderr_file: Path) -> None:
        super().__init__("tests.adapters.devices.s2_resource_manager", "RM", args, stderr_file)


@asynccontextmanager
async def resource_manager(
    args: list[str], stderr_file: Path
) -> AsyncIterator[ResourceManagerProcess]:
    """The simulated battery RM, stopped on leaving."""
    peer = ResourceManagerProcess(args, stderr_file)
    try:
        yield peer
    finally:
        await peer.stop()


def cem_settings(**overrides: Any) -> CemSettings:
    """A CEM on a free loopback port with one paired RM (token, resource id) and short
    timeouts."""
    fields: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": 0,
        "resource_managers": (
            ResourceManagerSettings(
                rm_id=RM_ID, token_hash=hash_token(TOKEN), resource_id=uuid.UUID(RESOURCE_ID)
            ),
        ),
        "response_timeout_s": 2.0,
        "stale_after_s": 3.0,
    }
    return CemSettings(**(fields | overrides))


def rm_args(cem: S2Cem, *extra: str, rm_id: str = RM_ID, scheme: str = "ws") -> list[str]:
    """The simulated RM's command line for ``cem`` (with the paired token unless
    ``extra`` gives another)."""
    url = f"{scheme}://127.0.0.1:{cem.port}/{rm_id}"
    token = [] if "--token" in extra else ["--token", TOKEN]
    return ["--url", url, *token, *extra]
