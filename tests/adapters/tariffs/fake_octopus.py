"""A fake Octopus Energy API on 127.0.0.1 for the account tests: a real HTTP server in a
thread, answering the account and consumption endpoints with recorded-shape payloads, checking
the API key (HTTP basic auth, the key as user name) like Octopus does."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd

Answer = tuple[int, bytes]
Route = Callable[[dict[str, str]], Answer]


def json_answer(payload: Any, status: int = 200) -> Answer:
    """A JSON body with its status."""
    return status, json.dumps(payload).encode()


@dataclass
class FakeOctopus:
    """The server's state: the key it accepts, its routes by path, the requests it got."""

    api_key: str
    base_url: str = ""
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str], str]] = field(default_factory=list)

    def serve_json(self, path: str, payload: Any, status: int = 200) -> None:
        """Answer ``path`` (under /v1) with ``payload``."""
        self.routes[path] = lambda _query: json_answer(payload, status)

    def serve_rates(self, product: str, unit_pence: list[float], standing_pence: float) -> None:
        """A region C tariff's unit rates (these values over the day) and standing charge, in
        Octopus's shape (p/kWh and p/day, VAT included and not)."""
        tariff = f"/products/{product}/electricity-tariffs/E-1R-{product}-C"

        def rate(value: float, start: str, end: str | None) -> dict[str, Any]:
            return {
                "value_exc_vat": round(value / 1.05, 4),
                "value_inc_vat": value,
                "valid_from": start,
                "valid_to": end,
            }

        units = [
            rate(v, f"2026-12-0{1 + i % 9}T00:00:00Z", f"2026-12-0{1 + i % 9}T05:00:00Z")
            for i, v in enumerate(unit_pence)
        ]
        self.serve_json(f"{tariff}/standard-unit-rates/", {"next": None, "results": units})
        standing = [rate(standing_pence, "2025-10-01T00:00:00Z", None)]
        self.serve_json(f"{tariff}/standing-charges/", {"next": None, "results": standing})

    def serve_two_rates(
        self, product: str, day_pence: float | None, night_pence: float | None, standing: float
    ) -> None:
        """A region C two-rate (``E-2R-``) tariff's day and night unit rates and standing
        charge in Octopus's shape: each listing a current open-ended rate (none when None)
        after last year's."""
        tariff = f"/products/{product}/electricity-tariffs/E-2R-{product}-C"

        def listing(pence: float | None) -> dict[str, Any]:
            old = {"value_inc_vat": 1.5, "valid_from": "2024-10-01T00:00:00Z"}
            results = [{**old, "value_exc_vat": 1.43, "valid_to": "2025-10-01T00:00:00Z"}]
            if pence is not None:
                now = {"value_inc_vat": pence, "value_exc_vat": round(pence / 1.05, 4)}
                results.insert(0, {**now, "valid_from": "2025-10-01T00:00:00Z", "valid_to": None})
            return {"count": len(results), "next": None, "previous": None, "results": results}

        self.serve_json(f"{tariff}/day-unit-rates/", listing(day_pence))
        self.serve_json(f"{tariff}/night-unit-rates/", listing(night_pence))
        self.serve_json(f"{tariff}/standing-charges/", listing(standing))

    def serve_consumption(self, mpan: str, serial: str, kwh: Callable[[datetime], float]) -> None:
        """Half-hourly consumption for any asked period, ``kwh(slot start)`` each, paginated by
        the asked ``page_size`` (Octopus's shape, ``order_by=period``)."""
        path = f"/electricity-meter-points/{mpan}/meters/{serial}/consumption/"

        def answer(query: dict[str, str]) -> Answer:
            start = pd.Timestamp(query["period_from"])
            end = pd.Timestamp(query["period_to"])
            slots = pd.date_range(start, end, freq="30min", inclusive="left")
            size, page = int(query.get("page_size", 100)), int(query.get("page", 1))
            chosen = slots[(page - 1) * size : page * size]
            results = [
                {
                    "consumption": round(kwh(t.to_pydatetime()), 3),
                    "interval_start": t.isoformat().replace("+00:00", "Z"),
                    "interval_end": (t + timedelta(minutes=30)).isoformat().replace("+00:00", "Z"),
                }
                for t in chosen
            ]
            more = page * size < len(slots)
            nxt = None
            if more:
                nxt = (
                    f"{self.base_url}{path}?period_from={query['period_from']}"
                    f"&period_to={query['period_to']}&page_size={size}&order_by=period"
                    f"&page={page + 1}"
                )
            return json_answer(
                {"count": len(slots), "next": nxt, "previous": None, "results": results}
            )

        self.routes[path] = answer


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        auth = self.headers.get("Authorization", "")
        fake.requests.append((parts.path, query, auth))
        path = parts.path.removeprefix("/v1")
        expected = "Basic " + base64.b64encode(f"{fake.api_key}:".encode()).decode()
        if auth != expected:
            status, body = json_answer({"detail": "Invalid API key."}, 401)
        elif path in fake.routes:
            status, body = fake.routes[path](query)
        else:
            status, body = json_answer({"detail": "Not found."}, 404)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read ``FakeOctopus.requests``."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeOctopus) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


@contextmanager
def fake_octopus(api_key: str) -> Iterator[FakeOctopus]:
    """A running fake Octopus; its ``base_url`` is what the client is given."""
    fake = FakeOctopus(api_key=api_key)
    server = _Server(fake)
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, name="fake-octopus", daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
