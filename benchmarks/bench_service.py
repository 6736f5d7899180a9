"""Speed of the running service: API latency under load, and DSR event to new setpoints.

Run: ``python -m benchmarks.bench_service [--rate 200] [--seconds 20]`` (part of ``make bench``).
Starts ``hems run --demo`` (the real server, scheduler running, SQLite in a temporary folder) on
127.0.0.1, its VEN talking to the demo DSRSP (``hems dsrsp-sim``) in a separate process
(``--dsrsp inprocess``: started by ``hems run --demo`` itself, which ran it inside the service
until issue 23 and now runs it as its own child process), then:

1. offers an open-loop load of ``--rate`` requests per second for ``--seconds`` from
   ``--connections`` (64) keep-alive connections (``--client raw``, the default: pre-built
   HTTP/1.1 requests on asyncio streams; ``--client httpx``: httpx, as before; a request's
   latency counts from when it was due): 45 % plan reads, 35 % preference reads, 10 %
   preference writes (each starts a background re-plan), 10 % event list reads; prints p50 /
   p99 / max latency, the rate achieved, and the CPU time per request of the server process
   and of the generator;
2. sends 10 DSR events (an import cap active now, the home consenting): the response returns
   once the home has re-planned and dispatched, so its latency is the time from event to new
   setpoints; prints the median.

The load generator shares the machine's two cores with the server. ``HEMS_BENCH_LOG=path``
keeps the server's log (stderr) in ``path``. Writes
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


def start_dsrsp(port: int) -> subprocess.Popen[str]:
    """The demo DSRSP (openleadr's VTN) in its own process, as a real DSRSP is remote."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "hems.cli", "dsrsp-sim", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    for _ in range(300):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the demo DSRSP did not start within 30 s")


def start_service(
    state_dir: str, port: int, vtn_url: str = ""
) -> tuple[subprocess.Popen[str], dict[str, str]]:
    # The per-token request limit off: one token offers the whole load (200 req/s is 12,000 a
    # minute, ten times the default limit), and the benchmark measures the service, not 429s.
    env = {
        **os.environ,
        "HEMS_STATE_DIR": state_dir,
        "HEMS_API_REQUESTS_PER_MINUTE": "0",
        "COLUMNS": "200",
    }
    if vtn_url:
        env["HEMS_VTN_URL"] = vtn_url
    proc = subprocess.Popen(
        [sys.executable, "-m", "hems.cli", "run", "--demo", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=open(os.environ["HEMS_BENCH_LOG"], "w")  # noqa: SIM115
        if os.environ.get("HEMS_BENCH_LOG")
        else subprocess.DEVNULL,
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


class RawHttp:
    """A lean HTTP/1.1 keep-alive client on asyncio streams for the load phase: requests are
    pre-built bytes, a response is read by its Content-Length (the server never chunks these
    JSON answers). It measures the same thing as httpx (a request from the moment it is due
    to its last byte, waiting for a free connection included) at a fraction of the CPU, so
    less of the shared cores goes to the generator."""

    def __init__(self, port: int, connections: int) -> None:
        self.port = port
        self.connections = connections
        self.idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )
        self.opened: list[asyncio.StreamWriter] = []

    async def open(self) -> None:
        for _ in range(self.connections):
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            self.opened.append(writer)
            self.idle.put_nowait((reader, writer))

    async def close(self) -> None:
        for writer in self.opened:
            writer.close()

    @staticmethod
    def build(method: str, path: str, token: str, body: bytes = b"") -> bytes:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            "Connection: keep-alive\r\n"
        )
        if body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        return head.encode() + b"\r\n" + body

    async def send(self, request: bytes) -> int:
        """Send one request on a free connection; the response's status code."""
        reader, writer = await self.idle.get()
        try:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            lower = head.lower()
            at = lower.find(b"content-length:")
            if at < 0:
                raise RuntimeError("a response without Content-Length")
            length = int(lower[at + 15 : lower.find(b"\r\n", at)])
            await reader.readexactly(length)
        except BaseException:
            writer.close()  # a half-read connection is not reused
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            self.opened.append(writer)
            raise
        finally:
            self.idle.put_nowait((reader, writer))
        return status


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far [s] (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def load(
    client: httpx.AsyncClient | RawHttp,
    home: dict[str, str],
    rate: float,
    seconds: float,
    prefs: dict[str, object],
    server_pid: int,
) -> dict[str, object]:
    rng = random.Random(0)
    latencies: dict[str, list[float]] = {
        "plan": [],
        "prefs_read": [],
        "prefs_write": [],
        "events": [],
    }
    errors = 0

    async def one(kind: str, t0: float) -> None:
        """One request; its latency counts from when it was due [s]."""
        nonlocal errors
        try:
            r = await request(kind)
        except (httpx.HTTPError, OSError, asyncio.IncompleteReadError, RuntimeError):
            errors += 1
            latencies[kind].append(time.perf_counter() - t0)
            return
        latencies[kind].append(time.perf_counter() - t0)
        if r.status_code != 200:
            errors += 1

    token = home["Authorization"].split()[-1]
    raw = {
        "plan": RawHttp.build("GET", "/homes/1/plan", token),
        "prefs_read": RawHttp.build("GET", "/homes/1/preferences", token),
        "events": RawHttp.build("GET", "/homes/1/events", token),
    }
    writes = [
        RawHttp.build(
            "PUT",
            "/homes/1/preferences",
            token,
            json.dumps({**prefs, "carbon_preference": round(i / 100, 2)}).encode(),
        )
        for i in range(101)
    ]

    class _Status:
        def __init__(self, code: int) -> None:
            self.status_code = code

    async def request(kind: str) -> httpx.Response | _Status:
        if isinstance(client, RawHttp):
            data = writes[rng.randrange(len(writes))] if kind == "prefs_write" else raw[kind]
            return _Status(await client.send(data))
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
    cpu_server_0, cpu_client_0 = cpu_seconds(server_pid), time.process_time()
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
        tasks.append(asyncio.create_task(one(kind, max(due, time.perf_counter()))))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    cpu_server = cpu_seconds(server_pid) - cpu_server_0
    cpu_client = time.process_time() - cpu_client_0
    every = [x for v in latencies.values() for x in v]
    summary: dict[str, object] = {
        "requests": len(every),
        "errors": errors,
        "offered_rate_per_s": rate,
        "achieved_rate_per_s": len(every) / elapsed,
        "p50_ms": 1000 * percentile(every, 0.50),
        "p99_ms": 1000 * percentile(every, 0.99),
        "max_ms": 1000 * max(every),
        "client": "raw" if isinstance(client, RawHttp) else "httpx",
        "server_cpu_ms_per_request": 1000 * cpu_server / len(every),
        "client_cpu_ms_per_request": 1000 * cpu_client / len(every),
        "load_average_1min": os.getloadavg()[0],
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
    with tempfile.TemporaryDirectory() as state_dir:
        dsrsp = None
        vtn_url = ""
        if args.dsrsp == "separate":
            dsrsp_port = free_port()
            dsrsp = start_dsrsp(dsrsp_port)
            vtn_url = f"http://127.0.0.1:{dsrsp_port}/OpenADR2/Simple/2.0b"
        proc, tokens = start_service(state_dir, port, vtn_url)
        try:
            home = {"Authorization": f"Bearer {tokens['demo home']}"}
            admin = {"Authorization": f"Bearer {tokens['admin']}"}
            limits = httpx.Limits(
                max_connections=args.connections, max_keepalive_connections=args.connections
            )
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=10
            ) as client:
                await wait_ready(client, home)
                prefs = (await client.get("/homes/1/preferences", headers=home)).json()
                single = await one_client(client, home)
                if args.client == "raw":
                    raw = RawHttp(port, args.connections)
                    await raw.open()
                    try:
                        api = await load(raw, home, args.rate, args.seconds, prefs, proc.pid)
                    finally:
                        await raw.close()
                else:
                    api = await load(client, home, args.rate, args.seconds, prefs, proc.pid)
                await asyncio.sleep(2)
                dsr = await dsr_events(client, home, admin, args.events)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            if dsrsp is not None:
                dsrsp.terminate()
                dsrsp.wait(timeout=30)
    return {"single_client": single, "api": api, "dsr": dsr, "dsrsp": args.dsrsp}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--dsrsp",
        choices=("separate", "inprocess"),
        default="separate",
        help="the demo DSRSP (VTN) in its own process, as a real one is remote (default), or "
        "started by `hems run --demo` (its child process since issue 23; inside it before)",
    )
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="load generator: raw asyncio streams (lean) or httpx (as before)",
    )
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
        f"max {api['max_ms']:.1f} ms ({api['client']} client)"
    )
    print(
        f"  CPU per request: server {api['server_cpu_ms_per_request']:.2f} ms, "
        f"load generator {api['client_cpu_ms_per_request']:.2f} ms; "
        f"load average {api['load_average_1min']:.2f}"
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
