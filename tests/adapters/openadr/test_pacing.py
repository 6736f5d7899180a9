"""A fleet's VENs do not poll the VTN in the same second (``adapters/openadr/pacing.py``): the
shared cap hands out turns ``1 / max_per_s`` apart, the first poll waits a random part of the
period, and 30 VENs started together poll at the cap (one more in a window when a wake-up is
late), where without them all 30 poll in the same moment (the control case)."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import pytest

from adapters.openadr import messages as m
from adapters.openadr.hooks import Reading
from adapters.openadr.pacing import PollPacer, first_poll_delay_s
from adapters.openadr.ven import Ven, VenSettings


class FakeClock:
    def __init__(self) -> None:
        self.now_s = 100.0

    def __call__(self) -> float:
        return self.now_s


def test_turns_are_spaced_by_the_cap_and_free_again_after_a_pause():
    clock = FakeClock()
    pacer = PollPacer(10.0, clock=clock)
    waits = [pacer.reserve() for _ in range(50)]  # 50 VENs asking at once
    assert waits == pytest.approx([i * 0.1 for i in range(50)])
    per_second = Counter(int(w + 1e-9) for w in waits)  # whole seconds from now
    assert max(per_second.values()) == 10
    clock.now_s += 10.0  # quiet for longer than the queue: the next turn is now
    assert pacer.reserve() == 0.0
    assert pacer.reserve() == pytest.approx(0.1)


def test_a_cap_of_zero_is_refused():
    with pytest.raises(ValueError, match="above 0"):
        PollPacer(0.0)


def test_first_polls_spread_evenly_over_the_period():
    rng = random.Random(3)
    delays = [first_poll_delay_s(rng, 10.0) for _ in range(2000)]
    assert all(0.0 <= d <= 10.0 for d in delays)
    per_second = Counter(int(d) for d in delays)
    assert len(per_second) == 10
    assert all(140 <= n <= 260 for n in per_second.values())  # 200 expected in each


class PollClock:
    """The VTN side: when each VEN polled (loop time)."""

    def __init__(self) -> None:
        self.polls: list[tuple[str, float]] = []

    async def send(self, message: m.Message) -> m.Message | None:
        if isinstance(message, m.Poll):
            self.polls.append((message.ven_id, asyncio.get_running_loop().time()))
        return None


async def _polls_of_a_fleet(n: int, pacer: PollPacer | None, jitter: bool) -> list[float]:
    """Start ``n`` registered VENs together (poll period 2 s), run them 3 s; the poll times
    from the start."""
    vtn = PollClock()

    async def telemetry() -> list[Reading]:
        return []

    vens = []
    for i in range(n):
        ven = Ven(
            VenSettings(
                manufacturer="ACME",
                serial_number=f"SN{i}",
                poll_freq_s=2.0,
                jitter_first_poll=jitter,
            ),
            vtn,
            decide=None,  # type: ignore[arg-type]  # no event arrives
            telemetry=telemetry,
            rng=random.Random(i),
            pacer=pacer,
        )
        ven.registration.ven_id = f"ven-{i}"
        ven.connected = True
        vens.append(ven)
    stop = asyncio.Event()
    start = asyncio.get_running_loop().time()
    tasks = [asyncio.create_task(v.run(stop, tick_s=0.05)) for v in vens]
    await asyncio.sleep(3.0)
    stop.set()
    await asyncio.gather(*tasks)
    return sorted(t - start for _, t in vtn.polls)


def _busiest_second(times: list[float]) -> int:
    """The most polls in any one-second window."""
    return max(sum(1 for t in times if s <= t < s + 1.0) for s in times)


def test_a_fleet_polls_within_the_cap_and_spread_over_the_period():
    in_step = asyncio.run(_polls_of_a_fleet(30, None, jitter=False))
    assert _busiest_second(in_step) == 30  # control: all 30 in the first moment
    jittered = asyncio.run(_polls_of_a_fleet(30, None, jitter=True))
    first = jittered[:30]  # each VEN's first poll, spread over the 2 s period
    assert first[-1] - first[0] > 1.5
    assert _busiest_second(first) <= 22
    paced = asyncio.run(_polls_of_a_fleet(30, PollPacer(10.0), jitter=True))
    assert len(paced) >= 20
    # turns 0.1 s apart; a late wake-up may bring one more into a second's window
    assert _busiest_second(paced) <= 11
    assert len(paced) <= 10 * (paced[-1] - paced[0]) + 1  # the cap on average
    assert paced[0] >= 0.0
