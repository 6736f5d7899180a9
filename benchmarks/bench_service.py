"""Speed of the running service: API latency under load, and DSR event to new setpoints.

Run: ``python -m benchmarks.bench_service [--rate 200] [--seconds 20]`` (part of ``make bench``).
Starts ``hems run --demo`` (the real server, scheduler running, SQLite in a temporary folder) on
127.0.0.1, then:

1. offers an open-loop load of ``--rate`` requests per second for ``--seconds`` from 64
   keep-alive connections: 45 % plan reads, 35 % preference reads, 10 % preference writes
   (each starts a background re-plan), 10 % event list reads; prints p50 / p99 / max latency and
   the rate achieved;
2. sends 10 DSR events (an import cap active now, the home consenting): the response returns
   once the home has re-planned and dispatched, so its latency is the time from event to new
   setpoints; prints the median.

The load generator shares the machine's two cores with the server. Writes
``benchmarks/results/service.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

RESULTS = Path(__file__).resolve().parent / "results"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_service(data_dir: str, port: int) -> tuple[subprocess.Popen[str], dict[str, str]]:
    env = {**os.environ, "HEMS_DATA_DIR": data_dir, "COLUMNS": "200"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hems.cli", "run", "--demo", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    tokens: dict[str, str] = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        if "token (shown once" in line:
            who = line.split(" token")[0].strip()
            tokens[who] = line.split()[-1]
        if len(tokens) == 2:
            break
    return proc, tokens


async def wait_ready(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    for _ in range(600):
        try:
            r = await client.get("/homes/1/plan", headers=headers)
            if r.status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("the service did not produce a plan within 60 s")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def load(
    client: httpx.AsyncClient,
    home: dict[str, str],
    rate: float,
    seconds: float,
    prefs: dict[str, object],
) -> dict[str, object]:
    rng = random.Random(0)
    latencies: dict[str, list[float]] = {
        "plan": [],
        "prefs_read": [],
        "prefs_write": [],
        "events": [],
    }
    errors = 0

    async def one(kind: str) -> None:
        nonlocal errors
        t0 = time.perf_counter()
        try:
            r = await request(kind)
        except httpx.HTTPError:  # a timeout counts as an error at its full wait
            errors += 1
            latencies[kind].append(time.perf_counter() - t0)
            return
        latencies[kind].append(time.perf_counter() - t0)
        if r.status_code != 200:
            errors += 1

    async def request(kind: str) -> httpx.Response:
        if kind == "plan":
            r = await client.get("/homes/1/plan", headers=home)
        elif kind == "prefs_read":
            r = await client.get("/homes/1/preferences", headers=home)
        elif kind == "prefs_write":
            body = {**prefs, "carbon_preference": round(rng.random(), 2)}
            r = await client.put("/homes/1/preferences", json=body, headers=home)
        else:
            r = await client.get("/homes/1/events", headers=home)
        return r

    tasks = []
    start = time.perf_counter()
    n = int(rate * seconds)
    for i in range(n):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        u = rng.random()
        kind = (
            "plan"
            if u < 0.45
            else "prefs_read"
            if u < 0.80
            else "prefs_write"
            if u < 0.90
            else "events"
        )
        tasks.append(asyncio.create_task(one(kind)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    every = [x for v in latencies.values() for x in v]
    summary: dict[str, object] = {
        "requests": len(every),
        "errors": errors,
        "offered_rate_per_s": rate,
        "achieved_rate_per_s": len(every) / elapsed,
        "p50_ms": 1000 * percentile(every, 0.50),
        "p99_ms": 1000 * percentile(every, 0.99),
        "max_ms": 1000 * max(every),
    }
    for kind, values in latencies.items():
        if values:
            summary[f"{kind}_p50_ms"] = 1000 * percentile(values, 0.5)
            summary[f"{kind}_p99_ms"] = 1000 * percentile(values, 0.99)
    return summary


async def one_client(client: httpx.AsyncClient, home: dict[str, str]) -> dict[str, float]:
    """Latency with one client and nothing else asking: what one request costs [ms]."""
    out = {}
    for path in ("/health", "/homes/1/preferences", "/homes/1/plan"):
        times = []
        for _ in range(100):
            t0 = time.perf_counter()
            await client.get(path, headers=home)
            times.append(time.perf_counter() - t0)
        out[f"{path}_median_ms"] = 1000 * statistics.median(times)
    return out


async def dsr_events(
    client: httpx.AsyncClient, home: dict[str, str], admin: dict[str, str], count: int
) -> dict[str, object]:
    prefs = (await client.get("/homes/1/preferences", headers=home)).json()
    await client.put("/homes/1/preferences", json={**prefs, "dsr_consent": True}, headers=home)
    await asyncio.sleep(3)  # let the consent's own re-plan finish
    times = []
    for i in range(count):
        now = datetime.now(UTC)
        event = {
            "event_id": f"bench-{i}",
            "kind": "import_cap",
            "value_kw": 1.0 + (i % 3),
            "start": now.isoformat(),
            "end": (now + timedelta(hours=1)).isoformat(),
            "status": "active",
        }
        t0 = time.perf_counter()
        r = await client.post("/homes/1/events", json=event, headers=admin)
        times.append(time.perf_counter() - t0)
        assert r.status_code == 200, r.text
        assert r.json()["response"] == "optIn", r.text
        await asyncio.sleep(0.5)
    history = (await client.get("/homes/1/history", headers=home)).json()
    triggered = [p for p in history["plans"] if p["trigger"].startswith("DSR event bench-")]
    return {
        "events": count,
        "plans_triggered": len(triggered),
        "event_to_setpoints_median_s": statistics.median(times),
        "event_to_setpoints_max_s": max(times),
    }


async def main_async(args: argparse.Namespace) -> dict[str, object]:
    port = free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        proc, tokens = start_service(data_dir, port)
        try:
            home = {"Authorization": f"Bearer {tokens['demo home']}"}
            admin = {"Authorization": f"Bearer {tokens['admin']}"}
            limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=10
            ) as client:
                await wait_ready(client, home)
                prefs = (await client.get("/homes/1/preferences", headers=home)).json()
                single = await one_client(client, home)
                api = await load(client, home, args.rate, args.seconds, prefs)
                await asyncio.sleep(2)
                dsr = await dsr_events(client, home, admin, args.events)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return {"single_client": single, "api": api, "dsr": dsr}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--events", type=int, default=10)
    args = parser.parse_args()
    result = asyncio.run(main_async(args))
    api, dsr, single = result["api"], result["dsr"], result["single_client"]
    assert isinstance(single, dict)
    print("one client: " + ", ".join(f"{k} {v:.1f}" for k, v in single.items()))
    assert isinstance(api, dict)
    assert isinstance(dsr, dict)
    print(
        f"API at {api['offered_rate_per_s']:.0f} req/s offered, "
        f"{api['achieved_rate_per_s']:.0f} achieved, {api['requests']} requests, "
        f"{api['errors']} errors"
    )
    print(
        f"  latency p50 {api['p50_ms']:.1f} ms, p99 {api['p99_ms']:.1f} ms, "
        f"max {api['max_ms']:.1f} ms"
    )
    for kind in ("plan", "prefs_read", "prefs_write", "events"):
        if f"{kind}_p50_ms" in api:
            print(
                f"  {kind:12s} p50 {api[f'{kind}_p50_ms']:.1f} ms, "
                f"p99 {api[f'{kind}_p99_ms']:.1f} ms"
            )
    print(
        f"DSR event -> new setpoints: median {dsr['event_to_setpoints_median_s'] * 1000:.0f} ms,"
        f" max {dsr['event_to_setpoints_max_s'] * 1000:.0f} ms over {dsr['events']} events"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {
        "machine": platform.platform(),
        "python": platform.python_version(),
        "when_utc": datetime.now(UTC).isoformat(),
        **result,
    }
    (RESULTS / "service.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
