"""A scripted VTN for VEN unit tests: records what the VEN sends, answers from a script."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import datetime

from adapters.openadr import codec
from adapters.openadr import messages as m
from adapters.openadr.hooks import OptDecision, Reading, Resource
from adapters.openadr.ven import Ven, VenSettings
from kernel.dsr import OptType
from tests.adapters.openadr.samples import T0

VTN = "vtn-1"
VEN = "ven-1"


class ScriptedVtn:
    """Answers each message with ``answer(message)``; every message crosses the codec both
    ways so that what the VEN sends is schema-valid."""

    def __init__(self, answer: Callable[[m.Message], m.Message | None] | None = None) -> None:
        self.sent: list[m.Message] = []
        self.answer = answer or (lambda msg: None)

    async def send(self, message: m.Message) -> m.Message | None:
        self.sent.append(codec.parse(codec.render(message)))
        reply = self.answer(message)
        return codec.parse(codec.render(reply)) if reply is not None else None

    def of(self, kind: type) -> list:
        return [msg for msg in self.sent if isinstance(msg, kind)]


def registered_ven(
    answer: Callable[[m.Message], m.Message | None] | None = None,
    opt: OptType = OptType.OPT_IN,
    now: datetime = T0,
) -> tuple[Ven, ScriptedVtn]:
    vtn = ScriptedVtn(answer)
    decided = []

    async def decide(notice):
        decided.append(notice)
        return OptDecision(opt=opt)

    async def telemetry():
        return [Reading(resource_id="site", power_kw=1.0), Reading(resource_id="ev", power_kw=7.0)]

    ven = Ven(
        VenSettings(
            manufacturer="ACME", serial_number="SN1", resources=(Resource(resource_id="ev"),)
        ),
        vtn,
        decide=decide,
        telemetry=telemetry,
        rng=random.Random(1),
        clock=lambda: now,
    )
    ven.registration.ven_id = VEN
    ven.registration.registration_id = "reg-1"
    ven.registration.vtn_id = VTN
    ven.decided = decided  # type: ignore[attr-defined]
    return ven, vtn


def run(coro):
    return asyncio.run(coro)
