"""Web app fixtures: a signed-in TestClient for route tests, and for the browser tests a live
demo service on 127.0.0.1 (uvicorn in a thread, temporary SQLite, manual clock, planner in
process, scheduler off: the tests start each re-plan through the app) and headless Chromium."""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import socket
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from hems.app import create_app
from hems.clock import ManualClock
from hems.runtime import Runtime, build_runtime
from hems.settings import Settings
from tests.hems.conftest import MONDAY_5PM

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[3] / "out" / "screenshots"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def sign_in(client: Any, token: str) -> Any:
    page = client.get("/app/login")
    return client.post(
        "/app/login", data={"csrf": csrf_of(page.text), "token": token}, follow_redirects=False
    )


@dataclass
class LiveService:
    url: str
    runtime: Runtime
    clock: ManualClock
    home_id: int
    home_token: str
    admin_token: str
    loop: asyncio.AbstractEventLoop

    def call(self, coro: Coroutine[Any, Any, Any], timeout: float = 60.0) -> Any:
        """Run a coroutine on the server's event loop (where the service lives)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def settle(self) -> None:
        self.call(self.runtime.service.settle())

    def admin(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {self.admin_token}"},
            timeout=60,
        )


@pytest.fixture(scope="module")
def live_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    # 18:05 on a winter Monday: the demo car is home and plugged in, the heat pump is on.
    with serve_demo(tmp_path_factory, MONDAY_5PM + timedelta(hours=1, minutes=5)) as live:
        yield live


@contextlib.contextmanager
def serve_demo(tmp_path_factory: pytest.TempPathFactory, start: datetime) -> Iterator[LiveService]:
    """The demo service on 127.0.0.1 with its clock at ``start``, its first plan made."""
    clock = ManualClock(start)
    settings = Settings(
        state_dir=tmp_path_factory.mktemp("web-e2e"),
        demo=True,
        solver_time_limit_s=20.0,
        planner_processes=0,
        replan_delay_s=0.0,
        slot_minutes=60,  # hourly slots: each re-plan builds half the model (the suite's time)
    )
    runtime = build_runtime(settings, clock, seed=7)
    home_id = next(iter(runtime.simulations))
    runtime.simulations[home_id].advance(clock.now())
    runtime.service.controller(home_id).rng = random.Random(7)
    app = create_app(settings, runtime, run_scheduler=False)
    app.state.web_poll_ms = 500  # live updates come quickly in the tests

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    loop = asyncio.new_event_loop()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.serve(sockets=[sock]))

    thread = threading.Thread(target=serve, name="web-e2e-server", daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        threading.Event().wait(0.05)
    assert server.started, "the test server did not start"
    live = LiveService(
        url=f"http://127.0.0.1:{port}",
        runtime=runtime,
        clock=clock,
        home_id=home_id,
        home_token=runtime.new_tokens["demo home"],
        admin_token=runtime.new_tokens["admin"],
        loop=loop,
    )
    live.call(runtime.service.cycle_all())  # the first plan
    try:
        yield live
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        loop.close()
        sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing: apt-get install -y chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def browser_context(browser: Any, live_service: LiveService) -> Iterator[Any]:
    """One context for the module so plotly.js is fetched once (its cache lasts a day)."""
    context = browser.new_context(
        base_url=live_service.url, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(20_000)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def page(browser_context: Any) -> Iterator[Any]:
    """A fresh page with no cookies (signed out) per test; CSP violations fail the test."""
    browser_context.clear_cookies()
    pg = browser_context.new_page()
    violations: list[str] = []
    pg.on("console", lambda m: violations.append(m.text) if "Content Security" in m.text else None)
    pg.on("dialog", lambda d: d.accept())
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pg.shot = lambda name: pg.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
    try:
        yield pg
    finally:
        pg.close()
    assert not violations, violations
