"""A fake of Octopus's GraphQL endpoint on 127.0.0.1 for the tests: Kraken tokens for one API
key, ``savingSessions`` and ``plannedDispatches``/``completedDispatches`` answered from
payloads the test sets, ``joinSavingSessionsEvent`` recorded; scripted answers (HTTP status
and raw body) served first, for the failures."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.adapters.conftest import fixture_json

API_KEY = "sk_live_test_key"
ACCOUNT = "A-1234ABCD"


@dataclass
class FakeOctopus:
    """The fake's state; change it between requests from the test."""

    url: str = ""
    token_exp: float | None = None
    """``payload.exp`` of the tokens handed out (epoch seconds; None: left out)."""
    sessions: Any = field(default_factory=lambda: fixture_json("octopus/saving_sessions.json"))
    dispatches: Any = field(
        default_factory=lambda: {"data": {"plannedDispatches": [], "completedDispatches": []}}
    )
    script: list[tuple[int, bytes]] = field(default_factory=list)
    expired: set[str] = field(default_factory=set)
    """Tokens the fake answers with KT-CT-1124 (expired)."""
    tokens: list[str] = field(default_factory=list)
    joins: list[str] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    cookies: list[str] = field(default_factory=list)
    """The Cookie headers it was sent (it sets one on every answer, as a web API may)."""

    def answer(self, body: dict[str, Any], auth: str | None) -> tuple[int, Any]:
        query, variables = str(body.get("query", "")), body.get("variables") or {}
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
        if variables.get("accountNumber") != ACCOUNT:
            return 200, _error("Unauthorized.", "KT-CT-1111")
        if "joinSavingSessionsEvent" in query:
            code = str(variables.get("eventCode"))
            self.joins.append(code)
            return 200, {"data": {"joinSavingSessionsEvent": {"joinedEventCodes": [code]}}}
        if "plannedDispatches" in query:
            return 200, copy.deepcopy(self.dispatches)
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
    """A :class:`FakeOctopus` served on 127.0.0.1 for the ``with`` block."""
    fake = FakeOctopus()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.headers.get("Cookie"):
                fake.cookies.append(self.headers["Cookie"])
            if fake.script:
                status, out = fake.script.pop(0)
            else:
                body = json.loads(raw)
                fake.requests.append(body)
                status, answer = fake.answer(body, self.headers.get("Authorization"))
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
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1/graphql/"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
