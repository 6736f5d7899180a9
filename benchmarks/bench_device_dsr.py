"""DSR event -> new limit at the OCPP charger: latency through the running service.

Run: ``python -m benchmarks.bench_device_dsr [--events 20]``. Starts ``hems run`` (the real
server and scheduler, SQLite in a temporary folder, no EV randomised delay or ramp so a rise
is not held back) on 127.0.0.1, registers through the API a home with an EV and no trip (the
car idles: its limit is 0 A; DSR consent), pairs its charger (``POST /homes/{id}/devices``,
OCPP with a password), and starts the tests' simulated charge point (OCPP 2.0.1, a separate
process) plugged in. Then, ``--events`` times: posts a site setpoint of 7 kW import for the
next 10 minutes (``POST /homes/{id}/events``, as the VEN hands an oadrDistributeEvent to the
service; a turn-up: the idle car charges) and measures from just before the request to the
charge point's receipt of the charging profile whose limit rises (its wall clock, same
machine); then cancels the event and waits for the limit to fall to 0 again. A turn-down
takes the same path, but whether the plan meets a cap at the cost of a wish depends on the
hour's prices; a turn-up does not. Prints the median and the spread, and the request's own
time (the API answers once the home has re-planned and dispatched). Writes
``benchmarks/results/device_dsr.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from benchmarks.bench_service import free_port
from hems.domain.devices import EvChargerSpec
from hems.domain.home import HomeSpec
from tests.adapters.devices.ocpp_peer import ChargePointProcess

RESULTS = Path(__file__).resolve().parent / "results"
PASSWORD = "bench-charger-secret-0001"
IDENTITY = "CP-BENCH"


def start_service(folder: Path, api_port: int, csms_port: int) -> tuple[subprocess.Popen[str], str]:
    """``hems run`` with its settings file; returns the process and the admin token."""
    config = folder / "hems.toml"
    config.write_text(
        f'state_dir = "{folder / "state"}"\n'
        "ev_random_delay_max_s = 0\nev_ramp_kw_per_min = 0.0\nreplan_delay_s = 0.0\n"
        f'[devices.ocpp]\nhost = "127.0.0.1"\nport = {csms_port}\n',
        encoding="utf-8",
    )
    env = {**os.environ, "HEMS_API_REQUESTS_PER_MINUTE": "0", "COLUMNS": "200"}
    log = (folder / "service.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "hems.cli", "run", "--config", str(config), "--port", str(api_port)],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if "admin token (shown once" in line:
            return proc, line.split()[-1]
    raise RuntimeError(f"the service gave no admin token; its log: {folder / 'service.log'}")


def wait_until(condition: Any, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.002)
    raise RuntimeError(f"{what}: not within {timeout_s} s")


def first_limit(profile: dict[str, Any]) -> float:
    return float(profile["periods"][0]["limit"])


def set_up_home(client: httpx.Client, admin: dict[str, str]) -> tuple[int, dict[str, str]]:
    """The home (an EV only), its preferences (no trip: the car idles; DSR consent) and its
    charger."""
    spec = HomeSpec(
        name="bench",
        cem_manufacturer="Bench",
        cem_serial="CEM-BENCH",
        latitude=51.5,
        longitude=-0.1,
        region="C",
        devices=[EvChargerSpec(name="EV", vehicle_capacity_kwh=60, max_charge_kw=7.4)],
    )
    made = client.post("/homes", json=spec.model_dump(mode="json"), headers=admin)
    made.raise_for_status()
    home_id, home = made.json()["id"], {"Authorization": f"Bearer {made.json()['token']}"}
    prefs = client.get(f"/homes/{home_id}/preferences", headers=home).json()
    prefs |= {"dsr_consent": True, "ev_allow_peak_charging": True, "ev_departures": {}}
    client.put(f"/homes/{home_id}/preferences", json=prefs, headers=home).raise_for_status()
    connection = {"protocol": "ocpp", "identity": IDENTITY, "password": PASSWORD}
    client.post(
        f"/homes/{home_id}/devices", json={"name": "EV", "connection": connection}, headers=home
    ).raise_for_status()
    return home_id, home


def one_event(
    client: httpx.Client, cp: ChargePointProcess, home_id: int, admin: dict[str, str], i: int
) -> tuple[float, float]:
    """Ask for a site setpoint, time it to the charger's higher limit; cancel, wait for the
    car to idle again."""
    wait_until(
        lambda: first_limit(cp.of("profile")[-1]) == 0, 30, f"event {i}: the car is not idle"
    )
    now = datetime.now(UTC)
    event = {
        "event_id": f"bench-{i}",
        "kind": "setpoint",
        "value_kw": 7.0,
        "start": now.isoformat(),
        "end": (now + timedelta(minutes=10)).isoformat(),
        "status": "active",
    }
    mark = len(cp.of("profile"))
    t0 = time.time()
    answer = client.post(f"/homes/{home_id}/events", json=event, headers=admin)
    request_s = time.time() - t0
    answer.raise_for_status()
    raised = wait_until(
        lambda: next((p for p in cp.of("profile")[mark:] if first_limit(p) > 0), None),
        30,
        f"event {i}: the charger's limit did not rise",
    )
    latency_s = float(raised["received_at"]) - t0
    mark = len(cp.of("profile"))
    cancel = {**event, "modification_number": 1, "status": "cancelled"}
    client.post(f"/homes/{home_id}/events", json=cancel, headers=admin).raise_for_status()
    wait_until(
        lambda: any(first_limit(p) == 0 for p in cp.of("profile")[mark:]),
        30,
        f"event {i}: the car did not idle again after the cancellation",
    )
    return latency_s, request_s


def run(events: int) -> dict[str, object]:
    api_port, csms_port = free_port(), free_port()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(os.environ.get("HEMS_BENCH_KEEP") or tmp)
        print(f"working in {folder}", file=sys.stderr)
        proc, token = start_service(folder, api_port, csms_port)
        admin = {"Authorization": f"Bearer {token}"}
        cp = None
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{api_port}", timeout=30) as client:
                wait_until(lambda: _up(client), 60, "the API did not answer")
                home_id, _ = set_up_home(client, admin)
                url = f"ws://127.0.0.1:{csms_port}/{IDENTITY}"
                cp = ChargePointProcess(
                    ["--url", url, "--version", "2.0.1", "--password", PASSWORD, "--plugged",
                     "--soc", "0.2", "--meter-interval-s", "2"],
                    folder / "cp.log",
                )  # fmt: skip
                wait_until(lambda: cp.of("profile"), 60, "the charger was never sent a profile")
                time.sleep(1.0)  # the boot's own re-plan settles
                pairs = [one_event(client, cp, home_id, admin, i) for i in range(events)]
        finally:
            if cp is not None:
                cp.process.kill()
            proc.terminate()
            proc.wait(timeout=30)
    latencies = [p[0] for p in pairs]
    return {
        "events": events,
        "event_to_profile_median_ms": 1000 * statistics.median(latencies),
        "event_to_profile_min_ms": 1000 * min(latencies),
        "event_to_profile_max_ms": 1000 * max(latencies),
        "request_median_ms": 1000 * statistics.median(p[1] for p in pairs),
        "latencies_ms": [round(1000 * x, 1) for x in latencies],
    }


def _up(client: httpx.Client) -> bool:
    try:
        return client.get("/health").status_code < 500
    except httpx.TransportError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20)
    args = parser.parse_args()
    result = run(args.events)
    result |= {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": platform.node(),
        "load_average": os.getloadavg(),
    }
    print(
        f"DSR event -> charger's new limit: median {result['event_to_profile_median_ms']:.0f} ms"
        f" (min {result['event_to_profile_min_ms']:.0f}, max "
        f"{result['event_to_profile_max_ms']:.0f}, {args.events} events); the event request "
        f"{result['request_median_ms']:.0f} ms median; load average {result['load_average']}"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "device_dsr.json").write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
