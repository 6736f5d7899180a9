"""OpenADR event -> answer and event -> new setpoints, with signatures on and off (issue 26).

    python -m benchmarks.bench_event_setpoints [--events 20] [--reduction-kw 1.0]

Two stacks run side by side in one event loop, each openleadr's VTN (0.5.36, the independent
peer) on 127.0.0.1 over mutual TLS and the service's VENs as ``hems run`` builds them
(``build_runtime``, ``VenFleet.start``) for the demo home with simulated devices and the
system clock: ``signed`` (every message signed both ways, the VTN's pinned, unsigned ones
refused) and ``mtls-only``. Events alternate between the two stacks. Each is a new
LOAD_DISPATCH event, active now for 30 minutes, asking the home to consume ``--reduction-kw``
less than its plan would (a DSR event has no randomised EV delay, so the dispatch is not held
back). Between events the previous one is cancelled and the home re-plans without it, so each
event moves the setpoints again. Measured from the moment the VTN's answer carrying the event
leaves its handler (the VEN's poll):

* answer: the VEN's oadrCreatedEvent received by the VTN (verify, decide, re-plan, dispatch,
  sign, send, openleadr's verification);
* stored: the first setpoint decided from the event's plan stored (``Store.add_setpoints``);
* applied: that setpoint (or the first step of its ramp) sent to the simulated device
  (``apply``).

Prints median and p95 of each and writes benchmarks/results/event_setpoints.json. Test keys
and certificates are generated at run time. The wait for the VEN's next poll (1 s period) is
not in the figures: the clock starts when the event leaves the VTN, not when the VTN was
given it. Between events each stack rests half an apply interval, so a ramp's first step is
not held back by the previous event's (as in a home whose setpoints last moved a while ago).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import re
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from openleadr import OpenADRServer
from openleadr.service.vtn_service import VTNService

from hems.clock import SystemClock
from hems.runtime import Runtime, build_runtime
from hems.settings import Settings
from tests.adapters.openadr.certs import Party, make_pki
from tests.adapters.openadr.vtn_peer import (
    VEN_ID,
    PeerLog,
    dispatch_event,
    free_port,
    make_pinned_vtn,
)
from tests.adapters.openadr.waiting import until

RESULTS = Path(__file__).parent / "results"
VTN_PATH = "/OpenADR2/Simple/2.0b"
MODES = ("signed", "mtls-only")
# what openleadr's OpenADRServer sets on the VTNService class: pinned on each server's
# services so that a signing and a non-signing VTN can run in one process
Sample = dict[str, float | str | None]
"""One event's figures [s] from leaving the VTN (None: no new setpoint) and the first
setpoint's device and power [kW]."""
_CLASS_STATE = ("verify_message_signatures", "_create_message", "ven_lookup")


@dataclass
class Stack:
    """One VTN and the service's runtime pointed at it, with what was seen when."""

    mode: str
    server: OpenADRServer
    peer: PeerLog
    runtime: Runtime
    home_id: int
    delivered: dict[str, float] = field(default_factory=dict)
    answered: dict[str, float] = field(default_factory=dict)
    stored: list[tuple[float, int | None, str, float]] = field(default_factory=list)
    """(time, plan id, device, power [kW]) of each setpoint stored."""
    applied: list[tuple[float, str, float]] = field(default_factory=list)
    """(time, device, power [kW]) of each setpoint a simulated device was sent."""


def _vtn(
    port: int, ca_file: Path, vtn: Party, ven: Party, signed: bool
) -> tuple[OpenADRServer, PeerLog]:
    """openleadr's VTN over mutual TLS (the VEN's certificate pinned); ``signed``: it signs
    its messages and requires the VEN's signature on every message after registration."""
    server, peer = make_pinned_vtn(port, vtn=vtn, ven=ven, ca_file=ca_file, signed=signed)
    for service in server.services.values():
        for name in _CLASS_STATE:
            setattr(service, name, getattr(VTNService, name))
    return server, peer


async def _stack(mode: str, state_dir: Path, pki: tuple[Path, Party, Party]) -> Stack:
    ca_file, vtn, ven = pki
    port = free_port()
    server, peer = _vtn(port, ca_file, vtn, ven, signed=mode == "signed")
    profile: dict[str, Any] = {}
    if mode == "signed":
        profile = {
            "ven_sign_messages": True,
            "vtn_signing_cert_file": vtn.cert_file,
            "vtn_signatures_required": True,
        }
    settings = Settings(
        state_dir=state_dir,
        demo=True,
        planner_processes=0,
        vtn_url=f"https://127.0.0.1:{port}{VTN_PATH}",
        ven_cert_file=ven.cert_file,
        ven_key_file=ven.key_file,
        vtn_ca_file=ca_file,
        **profile,
    )
    runtime = build_runtime(settings, SystemClock(), seed=2)
    home_id = next(iter(runtime.simulations))
    stack = Stack(mode, server, peer, runtime, home_id)
    _observe(stack)
    await server.run()
    service = runtime.service
    now = service.clock.now()
    prefs = service.store.preferences(home_id)
    service.store.set_preferences(home_id, prefs.model_copy(update={"dsr_consent": True}), now, "b")
    await service.cycle_all()  # device states, a first plan and its setpoints
    assert runtime.vens is not None
    runtime.vens.start(tick_s=0.2)
    vens = runtime.vens
    await until(lambda: vens.vens[home_id].ven_id is not None, 30)  # registered
    return stack


def _observe(stack: Stack) -> None:
    """Record when the VTN sends each event, when each setpoint is stored and when each is
    sent to a simulated device (wrappers that only note the time and call through)."""

    @web.middleware
    async def stamp(request: web.Request, handler: Callable[[web.Request], Any]) -> Any:
        response = await handler(request)
        text = getattr(response, "text", None) or ""
        if "oadrDistributeEvent" in text:
            for event_id in re.findall(r"<ei:eventID>([^<]+)</ei:eventID>", text):
                stack.delivered.setdefault(event_id, time.perf_counter())
        return response

    stack.server.app.middlewares.append(stamp)
    store = stack.runtime.store
    add_setpoints = store.add_setpoints  # add_setpoint stores through it too

    def noting_add(
        home_id: int, plan_id: int | None, now: Any, decisions: Sequence[Any]
    ) -> list[int]:
        out = add_setpoints(home_id, plan_id, now, decisions)
        at = time.perf_counter()
        for d in decisions:
            stack.stored.append((at, plan_id, d.device, d.power_kw))
        return out

    store.add_setpoints = noting_add  # type: ignore[method-assign]
    for name, device in stack.runtime.simulations[stack.home_id].devices.items():
        apply = device.apply

        async def noting_apply(setpoint: Any, apply: Any = apply, name: str = name) -> None:
            await apply(setpoint)
            stack.applied.append((time.perf_counter(), name, setpoint.power_kw))

        device.apply = noting_apply  # type: ignore[method-assign]


async def _one_event(stack: Stack, event_id: str, reduction_kw: float) -> Sample:
    """Send one event, wait for its answer and the home's new setpoints, then cancel it and
    wait for the home to re-plan without it."""
    store = stack.runtime.store
    # a rise is ramped, and its first step waits until half an apply interval has passed
    # since the device's last send (hems.slot_setpoints.ramp_move): start from devices at
    # rest, as a home whose setpoints last moved a while ago is
    rest_s = stack.runtime.settings.apply_interval_s / 2 + 0.5
    last_sent = max((t for t, _, _ in stack.applied), default=0.0)
    await asyncio.sleep(max(0.0, last_sent + rest_s - time.perf_counter()))
    start = datetime.now(UTC) - timedelta(minutes=1)

    def on_opt(ven_id: str, event_id: str, opt_type: str) -> None:
        stack.answered[event_id] = time.perf_counter()
        stack.peer.opts.append((event_id, opt_type))

    stack.server.add_raw_event(
        VEN_ID,
        dispatch_event(stack.peer, event_id, start, (reduction_kw,), "delta"),
        callback=on_opt,
    )
    await until(lambda: event_id in stack.answered, 30)
    plan = store.latest_plan(stack.home_id)
    assert plan is not None
    assert plan.trigger == f"DSR event {event_id}", plan.trigger  # nothing else planned
    sent = stack.delivered[event_id]
    stored = [(t, d, kw) for t, p, d, kw in stack.stored if p == plan.id]
    assert stack.peer.opts[-1] == (event_id, "optIn"), stack.peer.opts[-1]
    out: dict[str, float | str | None] = {
        "answer_s": stack.answered[event_id] - sent,
        "stored_s": None,
        "applied_s": None,
    }
    if stored:
        t_stored, device, kw = min(stored)
        out |= {"stored_s": t_stored - sent, "device": device, "setpoint_kw": kw}
        await until(lambda: any(t >= t_stored and d == device for t, d, _ in stack.applied), 10)
        out["applied_s"] = (
            min(t for t, d, _ in stack.applied if t >= t_stored and d == device) - sent
        )
    stack.server.cancel_event(VEN_ID, event_id)
    cancelled = f"DSR event {event_id} cancelled"
    await until(
        lambda: (p := store.latest_plan(stack.home_id)) is not None and p.trigger == cancelled, 30
    )
    await asyncio.sleep(0.3)  # its dispatch done
    return out


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "median_s": round(statistics.median(ordered), 4),
        "p95_s": round(p95, 4),
        "min_s": round(ordered[0], 4),
        "max_s": round(ordered[-1], 4),
    }


async def run(events: int, reduction_kw: float, work: Path) -> dict[str, Any]:
    """Run ``events`` events on each stack (alternating) and return the figures."""
    (work / "pki").mkdir()
    pki = make_pki(work / "pki")
    stacks = []
    saved = {k: VTNService.__dict__[k] for k in _CLASS_STATE if k in VTNService.__dict__}
    try:
        for mode in MODES:
            (work / mode).mkdir()
            stacks.append(await _stack(mode, work / mode, pki))
        samples: dict[str, list[Sample]] = {m: [] for m in MODES}
        for n in range(events):
            for stack in stacks if n % 2 == 0 else stacks[::-1]:
                samples[stack.mode].append(await _one_event(stack, f"b-{n}", reduction_kw))
    finally:
        for stack in stacks:
            if stack.runtime.vens is not None:
                await stack.runtime.vens.stop()
            await stack.server.stop()
            stack.runtime.service.close()
        for name in _CLASS_STATE:  # openleadr's class as it was (a test process goes on)
            if name in VTNService.__dict__:
                delattr(VTNService, name)
        for name, value in saved.items():
            setattr(VTNService, name, value)
    results: dict[str, Any] = {}
    for mode, rows in samples.items():
        results[mode] = {"events": len(rows)}
        for key in ("answer_s", "stored_s", "applied_s"):
            values = [float(v) for r in rows if (v := r[key]) is not None]
            results[mode][key.removesuffix("_s")] = _summary(values) if values else None
        results[mode]["events_without_new_setpoints"] = sum(r["stored_s"] is None for r in rows)
        results[mode]["samples"] = rows
    return results


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20, help="events per mode (>= 1)")
    parser.add_argument("--reduction-kw", type=float, default=1.0)
    parser.add_argument("--results", type=Path, default=RESULTS, help="directory for the JSON")
    args = parser.parse_args(argv)
    if args.events < 1:
        parser.error("--events must be at least 1")
    load_1min = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as work, warnings.catch_warnings():
        # openleadr's app and signxml warn on import and on every start (not our code)
        warnings.filterwarnings("ignore", category=web.NotAppKeyWarning)
        warnings.filterwarnings("ignore", message="DSA is deprecated")
        logging.getLogger("openleadr").setLevel(logging.CRITICAL)
        results = asyncio.run(run(args.events, args.reduction_kw, Path(work)))
    load_after = os.getloadavg()[0]
    print(
        f"load average (1 min) {load_1min:.2f} at start, {load_after:.2f} at end, "
        f"{os.cpu_count()} CPUs; {args.events} events per mode, interleaved"
    )
    for mode, r in results.items():
        for key in ("answer", "stored", "applied"):
            s = r[key]
            if s is None:
                print(f"{mode:<10} event -> {key:<8} no sample")
                continue
            print(
                f"{mode:<10} event -> {key:<8} median {s['median_s']:.3f} s  "
                f"p95 {s['p95_s']:.3f} s  min {s['min_s']:.3f} s  max {s['max_s']:.3f} s"
            )
        if r["events_without_new_setpoints"]:
            print(f"{mode:<10} {r['events_without_new_setpoints']} events moved no setpoint")
    out = {
        "when_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "events_per_mode": args.events,
        "reduction_kw": args.reduction_kw,
        "load_average_1min_at_start": round(load_1min, 2),
        "load_average_1min_at_end": round(load_after, 2),
        "cpus": os.cpu_count(),
        "results": results,
    }
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "event_setpoints.json").write_text(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
