"""Waiting in async tests for what a peer does on its own time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def until(
    condition: Callable[[], bool], timeout_s: float = 10.0, poll_s: float = 0.05
) -> None:
    """Return once ``condition()`` holds (checked every ``poll_s`` [s]); AssertionError after
    ``timeout_s`` [s]."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(poll_s)
