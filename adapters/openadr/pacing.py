"""Pacing a fleet of VENs' requests to one VTN, so N homes do not poll in the same second.

Two parts. Each VEN's first poll after it registers waits a random part of its poll period
(:func:`first_poll_delay_s`), so VENs started together (a service start, a replica taking
over a share of homes) spread their polls over the period instead of polling in step. And one
:class:`PollPacer` shared by every VEN of a process caps the polls (and registrations) per
second: each request takes the next free turn, turns ``1 / max_per_s`` apart, and waits for
it. When the fleet asks for more than the cap (10,000 homes polling every 10 s is 1,000/s), the
polls come less often than the VTN's period rather than all at once: the cap protects the VTN
and the DSRSP sets it to what the VTN takes (push mode needs no polling at all).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable


def first_poll_delay_s(rng: random.Random, period_s: float) -> float:
    """A VEN's wait before its first poll: uniform over one poll period [s]."""
    return rng.uniform(0.0, max(period_s, 0.0))


class PollPacer:
    """At most ``max_per_s`` turns per second across every VEN that shares it: turns are handed
    out ``1 / max_per_s`` apart in the order they are asked for (a leaky bucket with no
    burst). ``clock`` and ``sleep`` are the loop's time and sleep (tests give their own)."""

    def __init__(
        self,
        max_per_s: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not max_per_s > 0:
            raise ValueError(f"max_per_s must be above 0, not {max_per_s}")
        self.spacing_s = 1.0 / max_per_s
        self._clock = clock
        self._sleep = sleep
        self._next_free = float("-inf")

    def reserve(self) -> float:
        """Take the next free turn; returns how long to wait for it [s] (0: now)."""
        now = self._clock()
        at = max(now, self._next_free)
        self._next_free = at + self.spacing_s
        return at - now

    async def turn(self) -> None:
        """Wait for this caller's turn."""
        wait_s = self.reserve()
        if wait_s > 0:
            await self._sleep(wait_s)
