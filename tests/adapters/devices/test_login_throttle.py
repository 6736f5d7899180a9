"""Failed device logins are throttled (adapters/devices/login_throttle.py): after five wrong
secrets for an identity or from an address, the next attempt, even with the right secret, is
refused at once with Retry-After and without a scrypt check; the window expires, the backoff
grows, a success resets the identity, memory is bounded and at most two checks run at once.
Then the same through real handshakes on 127.0.0.1, for the CSMS and the S2 CEM."""

from __future__ import annotations

import asyncio
import base64
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Subprotocol

from adapters.devices import login_throttle
from adapters.devices.credentials import verify_secret
from adapters.devices.login_throttle import LoginThrottle, LoginThrottledError
from adapters.devices.ocpp import ChargerSettings, Csms
from adapters.devices.ocpp.settings import hash_password
from adapters.devices.s2 import S2Cem
from tests.adapters.devices.ocpp_peer import IDENTITY, csms_settings
from tests.adapters.devices.s2_peer import RM_ID, TOKEN, cem_settings

PASSWORD = "a-long-charger-secret-01"
PASSWORD_HASH = hash_password(PASSWORD)


class FakeClock:
    def __init__(self) -> None:
        self.now_s = 1000.0

    def __call__(self) -> float:
        return self.now_s


class Check:
    """A stand-in for the scrypt check that counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, result: bool) -> Callable[[], bool]:
        def check() -> bool:
            self.calls += 1
            return result

        return check


def _attempt(throttle: LoginThrottle, check: Callable[[], bool], *, peer: str = "10.0.0.9") -> bool:
    return asyncio.run(throttle.verify(IDENTITY, peer, check))


def test_after_five_failures_even_the_right_secret_is_refused_without_a_check(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock, check = FakeClock(), Check()
    throttle = LoginThrottle(clock=clock)
    with caplog.at_level(logging.DEBUG, logger="adapters.devices.login_throttle"):
        for _ in range(5):
            assert not _attempt(throttle, check(False))
        for _ in range(3):
            with pytest.raises(LoginThrottledError) as refused:
                _attempt(throttle, check(True))
            assert refused.value.retry_after_s == 60
    assert check.calls == 5
    # one warning per locked key (the identity and the address), not one per refusal
    assert [r.getMessage() for r in caplog.records] == [
        f"device logins for id:{IDENTITY} locked out for 60 s after 5 failures",
        "device logins for peer:10.0.0.9 locked out for 60 s after 5 failures",
    ]
    clock.now_s += 61
    assert _attempt(throttle, check(True))  # the right secret works after the backoff


def test_failures_older_than_the_window_no_longer_count() -> None:
    clock, check = FakeClock(), Check()
    throttle = LoginThrottle(clock=clock)
    for _ in range(4):
        assert not _attempt(throttle, check(False))
    clock.now_s += 301
    for _ in range(4):
        assert not _attempt(throttle, check(False))
    assert check.calls == 8


def test_the_backoff_doubles_at_each_lockout_up_to_its_cap_and_resets_after_quiet() -> None:
    clock, check = FakeClock(), Check()
    throttle = LoginThrottle(clock=clock, max_backoff_s=200)
    waits = []
    for _ in range(4):
        for _ in range(5):
            assert not _attempt(throttle, check(False))
        with pytest.raises(LoginThrottledError) as refused:
            _attempt(throttle, check(True))
        waits.append(refused.value.retry_after_s)
        clock.now_s += refused.value.retry_after_s
    assert waits == [60, 120, 200, 200]
    clock.now_s += 301  # quiet for the window after its last lockout: starts over
    for _ in range(5):
        assert not _attempt(throttle, check(False))
    with pytest.raises(LoginThrottledError) as refused:
        _attempt(throttle, check(True))
    assert refused.value.retry_after_s == 60


def test_a_success_resets_the_identity_but_not_the_address() -> None:
    check = Check()
    throttle = LoginThrottle(clock=FakeClock())
    for n in range(4):
        assert not _attempt(throttle, check(False), peer=f"10.0.0.{n}")
    assert _attempt(throttle, check(True), peer="10.0.1.1")
    for n in range(4):  # the identity's count started over: four more are not yet a lockout
        assert not _attempt(throttle, check(False), peer=f"10.0.2.{n}")
    assert _attempt(throttle, check(True), peer="10.0.1.1")
    # five failures from one address, each at another identity, lock that address out
    for n in range(5):
        assert not asyncio.run(throttle.verify(f"CP-{n}", "10.0.3.1", check(False)))
    with pytest.raises(LoginThrottledError):
        asyncio.run(throttle.verify("CP-9", "10.0.3.1", check(True)))
    assert asyncio.run(throttle.verify("CP-9", "10.0.3.2", check(True)))


def test_memory_is_bounded() -> None:
    check = Check()
    throttle = LoginThrottle(clock=FakeClock(), max_keys=10)
    for n in range(100):
        assert not asyncio.run(throttle.verify(f"CP-{n}", f"10.1.0.{n}", check(False)))
    assert len(throttle._keys) == 10


def test_at_most_two_checks_run_at_once() -> None:
    running, most = 0, 0
    lock = threading.Lock()

    def slow_check() -> bool:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return True

    async def flood() -> None:
        throttle = LoginThrottle()
        results = await asyncio.gather(
            *(throttle.verify(f"CP-{n}", "10.2.0.1", slow_check) for n in range(8))
        )
        assert all(results)

    asyncio.run(flood())
    assert most == login_throttle.CONCURRENT_VERIFICATIONS == 2


def test_a_check_still_queued_when_its_handshake_gives_up_never_runs() -> None:
    release = threading.Event()
    ran: list[str] = []

    def blocking() -> bool:
        release.wait(5)
        return True

    def queued() -> bool:
        ran.append("queued")
        return True

    async def scenario(pool: ThreadPoolExecutor) -> None:
        throttle = LoginThrottle(executor=pool)
        busy = asyncio.ensure_future(throttle.verify("CP-1", "10.3.0.1", blocking))
        await asyncio.sleep(0.05)  # the one slot is taken
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(throttle.verify("CP-2", "10.3.0.2", queued), 0.05)
        release.set()
        assert await busy

    with ThreadPoolExecutor(1) as pool:
        asyncio.run(scenario(pool))
    assert ran == []


def _counting_verify(monkeypatch: pytest.MonkeyPatch, module: str) -> list[int]:
    calls = [0]

    def counted(secret: str, secret_hash: str) -> bool:
        calls[0] += 1
        return verify_secret(secret, secret_hash)

    monkeypatch.setattr(f"{module}.verify_secret", counted)
    return calls


async def _status(
    url: str, authorization: str, subprotocols: list[Subprotocol] | None = None
) -> tuple[int, str | None]:
    """The handshake's HTTP status (101 when it succeeded) and its Retry-After header."""
    try:
        async with connect(
            url, additional_headers={"Authorization": authorization}, subprotocols=subprotocols
        ) as connection:
            assert connection.response is not None
            return connection.response.status_code, None
    except InvalidStatus as refused:
        return refused.response.status_code, refused.response.headers.get("Retry-After")


def _basic(password: str) -> str:
    return "Basic " + base64.b64encode(f"{IDENTITY}:{password}".encode()).decode()


def test_the_csms_refuses_a_charger_after_five_wrong_passwords(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _counting_verify(monkeypatch, "adapters.devices.ocpp.csms")
    clock = FakeClock()
    settings = csms_settings(
        chargers=(ChargerSettings(identity=IDENTITY, password_hash=PASSWORD_HASH),)
    )

    async def scenario() -> None:
        async with Csms(settings, login_throttle=LoginThrottle(clock=clock)) as csms:
            url = f"ws://127.0.0.1:{csms.port}/{IDENTITY}"
            subprotocols = [Subprotocol("ocpp1.6")]
            for _ in range(5):
                wrong = await _status(url, _basic("not-the-password"), subprotocols=subprotocols)
                assert wrong == (401, None)
            assert calls[0] == 5
            started = time.perf_counter()
            refused = await _status(url, _basic(PASSWORD), subprotocols=subprotocols)
            assert time.perf_counter() - started < 1.0
            assert refused == (429, "60")
            assert calls[0] == 5  # no scrypt work for a refused attempt
            clock.now_s += 61
            assert await _status(url, _basic(PASSWORD), subprotocols=subprotocols) == (101, None)
            assert calls[0] == 6

    asyncio.run(scenario())


def test_the_s2_cem_refuses_an_rm_after_five_wrong_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _counting_verify(monkeypatch, "adapters.devices.s2.cem")
    clock = FakeClock()

    async def scenario() -> None:
        async with S2Cem(cem_settings(), login_throttle=LoginThrottle(clock=clock)) as cem:
            url = f"ws://127.0.0.1:{cem.port}/{RM_ID}"
            for _ in range(5):
                assert await _status(url, "Bearer a-wrong-token-0123456789") == (401, None)
            assert await _status(url, f"Bearer {TOKEN}") == (429, "60")
            assert calls[0] == 5
            clock.now_s += 61
            assert await _status(url, f"Bearer {TOKEN}") == (101, None)
            assert calls[0] == 6

    asyncio.run(scenario())
