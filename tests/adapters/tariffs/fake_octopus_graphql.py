"""A fake of Octopus's two GraphQL hosts on 127.0.0.1 for the tests, as the maintained public
clients saw them in 2026 (docs/service.md): the first (``url``) hands out Kraken tokens for
one API key and answers ``devices``, ``completedDispatches`` and ``flexPlannedDispatches``;
the backend (``backend_url``, another port) answers ``savingSessions`` and records
``joinSavingSessionsEvent``, from payloads the test sets. Each host refuses what the other
answers, and the retired ``plannedDispatches``, as "Cannot query field". Scripted answers (HTTP
status and raw body) are served first, for the failures."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.adapters.conftest import fixture_json

API_KEY = "sk_live_test_key"
ACCOUNT = "A-1234ABCD"
DEVICE = "00000000-0009-4000-8020-0000000a1b2c"
"""The account's car (a live ``ELECTRIC_VEHICLES`` device)."""
FIRST_HOST = ("obtainKrakenToken", "devices", "completedDispatches", "flexPlannedDispatches")
BACKEND_HOST = ("savingSessions", "joinSavingSessionsEvent")


@dataclass
class FakeOctopus:
    """The fake's state; change it between requests from the test."""

    url: str = ""
    backend_url: str = ""
    token_exp: float | None = None
    """``payload.exp`` of the tokens handed out (epoch seconds; None: left out)."""
    sessions: Any = field(default_factory=lambda: fixture_json("octopus/saving_sessions.json"))
    devices: Any = field(
        default_factory=lambda: [
            {"id": DEVICE, "deviceType": "ELECTRIC_VEHICLES", "status": {"current": "LIVE"}}
        ]
    )
    planned: dict[str, Any] = field(default_factory=lambda: {DEVICE: []})
    """Each device's ``flexPlannedDispatches``; a device not in it answers KT-CT-4340."""
    completed: Any = field(default_factory=list)
    script: list[tuple[int, bytes]] = field(default_factory=list)
    expired: set[str] = field(default_factory=set)
    """Tokens the fake answers with KT-CT-1124 (expired)."""
    tokens: list[str] = field(default_factory=list)
    joins: list[str] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    """The requests' bodies, each with the ``host`` it was sent to (``first`` or ``backend``)."""
    cookies: list[str] = field(default_factory=list)
    """The Cookie headers it was sent (it sets one on every answer, as a web API may)."""

    def answer(self, body: dict[str, Any], auth: str | None, host: str) -> tuple[int, Any]:
        query, variables = str(body.get("query", "")), body.get("variables") or {}
        elsewhere = BACKEND_HOST if host == "first" else FIRST_HOST
        for name in (*elsewhere, "plannedDispatches"):  # not in "flexPlannedDispatches"
            if name in query:
                return 200, _error(f"Cannot query field '{name}' on type 'Query'.", "")
        if "obtainKrakenToken" in query:
            if variables.get("apiKey") != API_KEY:
                return 200, _error("Invalid API key.", "KT-CT-1139")
            token = f"tok-{len(self.tokens) + 1}"
            self.tokens.append(token)
            payload = {} if self.token_exp is None else {"exp": self.token_exp}
            return 200, {"data": {"obtainKrakenToken": {"token": token, "payload": payload}}}
        if auth not in self.tokens:
            return 401, {"detail": "unauthenticated"}
        if auth in self.expired:
            return 200, _error("Signature of the JWT has expired.", "KT-CT-1124")
        if "flexPlannedDispatches" in query:
            device = variables.get("deviceId")
            if device not in self.planned:
                return 200, _error("Unable to fetch planned dispatches.", "KT-CT-4340")
            return 200, {"data": {"flexPlannedDispatches": copy.deepcopy(self.planned[device])}}
        if variables.get("accountNumber") != ACCOUNT:
            return 200, _error("Unauthorized.", "KT-CT-1111")
        if "joinSavingSessionsEvent" in query:
            code = str(variables.get("eventCode"))
            self.joins.append(code)
            return 200, {"data": {"joinSavingSessionsEvent": {"joinedEventCodes": [code]}}}
        if "devices" in query:
            data = {"devices": self.devices, "completedDispatches": self.completed}
            return 200, {"data": copy.deepcopy(data)}
        if "savingSessions" in query:
            return 200, copy.deepcopy(self.sessions)
        return 200, _error("Cannot query this field.", "")

    def join_event(self, event_id: int) -> None:
        """Make the account have joined ``event_id`` (in :attr:`sessions`)."""
        joined = self.sessions["data"]["savingSessions"]["account"]["joinedEvents"]
        joined.append({"eventId": event_id})


def _error(message: str, code: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"errorCode": code}}], "data": None}


@contextmanager
def fake_octopus() -> Iterator[FakeOctopus]:
    """A :class:`FakeOctopus` served on 127.0.0.1 (two ports) for the ``with`` block."""
    fake = FakeOctopus()
    with ExitStack() as stack:
        fake.url = stack.enter_context(_serve(fake, "first"))
        fake.backend_url = stack.enter_context(_serve(fake, "backend"))
        yield fake


@contextmanager
def _serve(fake: FakeOctopus, host: str) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.headers.get("Cookie"):
                fake.cookies.append(self.headers["Cookie"])
            if fake.script:
                status, out = fake.script.pop(0)
            else:
                body = json.loads(raw)
                fake.requests.append({**body, "host": host})
                status, answer = fake.answer(body, self.headers.get("Authorization"), host)
                out = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.send_header("Set-Cookie", f"session={self.headers.get('Authorization')}; Path=/")
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/graphql/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
