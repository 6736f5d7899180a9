"""Throttling of failed authentication (API bearer tokens and the web sign-in, per client
address and overall) and the per-token request rate: 429 with Retry-After, successful
requests not slowed, X-Forwarded-For believed only from a trusted proxy."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from hems.app import create_app
from hems.serving.rate_limits import AuthGuard, TokenBucket, TooManyRequestsError
from tests.hems.web.conftest import sign_in


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _refused_for(guard: AuthGuard, client: str, token: str = "hems_guess") -> int | None:
    try:
        guard.check(client, token)
    except TooManyRequestsError as exc:
        return exc.retry_after_s
    return None


def test_a_client_is_locked_out_after_its_failures_until_the_oldest_leaves_the_window():
    clock = FakeClock()
    guard = AuthGuard(per_client=3, overall=100, window_s=60, clock=clock)
    for _ in range(3):
        assert _refused_for(guard, "10.0.0.9") is None
        guard.failed("10.0.0.9")
        clock.t += 10
    assert _refused_for(guard, "10.0.0.9") == 30  # the first failure leaves the window at +60 s
    assert _refused_for(guard, "10.0.0.8") is None  # another address is not affected
    clock.t += 30
    assert _refused_for(guard, "10.0.0.9") is None


def test_a_guess_spread_over_many_addresses_meets_the_overall_cap():
    clock = FakeClock()
    guard = AuthGuard(per_client=3, overall=5, window_s=60, clock=clock)
    for i in range(5):
        guard.failed(f"10.0.1.{i}")
    assert _refused_for(guard, "10.0.2.1") == 60


def test_a_token_that_worked_from_an_address_is_not_locked_out_there():
    clock = FakeClock()
    guard = AuthGuard(per_client=2, overall=100, window_s=60, clock=clock)
    guard.succeeded("10.0.0.9", "hems_good")
    guard.failed("10.0.0.9")
    guard.failed("10.0.0.9")
    assert _refused_for(guard, "10.0.0.9", "hems_good") is None
    assert _refused_for(guard, "10.0.0.9", "hems_other") is not None
    assert _refused_for(guard, "10.0.0.7", "hems_good") is None  # no failures there


def test_the_token_bucket_allows_a_minute_at_once_then_the_rate():
    clock = FakeClock()
    bucket = TokenBucket(per_minute=60, clock=clock)
    assert all(bucket.take("t") is None for _ in range(60))
    assert bucket.take("t") == pytest.approx(1.0)
    assert bucket.take("u") is None
    clock.t += 1.0
    assert bucket.take("t") is None
    assert bucket.take("t") is not None


def _app(demo, **settings):
    return create_app(
        demo.runtime.settings.model_copy(update=settings), demo.runtime, run_scheduler=False
    )


def test_wrong_bearer_tokens_meet_429_and_the_home_keeps_its_access(demo):
    with TestClient(_app(demo, auth_failures_per_client=3)) as c:
        url = f"/homes/{demo.home_id}"
        assert c.get(url, headers=demo.auth()).status_code == 200
        assert [c.get(url, headers=demo.auth("hems_guess")).status_code for _ in range(3)] == [
            401
        ] * 3
        refused = c.get(url, headers=demo.auth("hems_guess"))
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 300
        # the right token is not checked while the address is locked out (no oracle)...
        assert c.get(url, headers=demo.auth(demo.admin_token)).status_code == 429
        # ... but the token that already worked from this address keeps working
        assert c.get(url, headers=demo.auth()).status_code == 200


def test_wrong_tokens_at_the_web_sign_in_meet_429(demo):
    with TestClient(_app(demo, auth_failures_per_client=3)) as c:
        assert [sign_in(c, "hems_guess").status_code for _ in range(3)] == [401] * 3
        refused = sign_in(c, "hems_guess")
        assert refused.status_code == 429
        assert "Too many failed sign-ins" in refused.text
        assert int(refused.headers["retry-after"]) >= 1
        # API and web count together: the bearer path is locked out too
        assert c.get("/homes", headers=demo.auth("hems_guess")).status_code == 429


def test_each_token_has_a_request_rate(demo):
    with TestClient(_app(demo, api_requests_per_minute=5)) as c:
        url = f"/homes/{demo.home_id}"
        assert [c.get(url, headers=demo.auth()).status_code for _ in range(5)] == [200] * 5
        limited = c.get(url, headers=demo.auth())
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "12"  # one request's allowance: 60 s / 5
        assert c.get(url, headers=demo.auth(demo.admin_token)).status_code == 200


def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(demo):
    spoofed = {"X-Forwarded-For": "203.0.113.7"}
    # untrusted: a client cannot dodge its lockout by naming another address
    with TestClient(_app(demo, auth_failures_per_client=2), client=("10.0.0.5", 5000)) as c:
        for i in range(2):
            c.get(
                "/homes", headers={**demo.auth("hems_guess"), "X-Forwarded-For": f"198.51.100.{i}"}
            )
        assert c.get("/homes", headers={**demo.auth("hems_guess"), **spoofed}).status_code == 429
    # trusted proxy: each forwarded client is counted on its own
    app = _app(demo, auth_failures_per_client=2, trusted_proxies=["10.0.0.5"])
    with TestClient(app, client=("10.0.0.5", 5000)) as c:
        for i in range(4):
            r = c.get(
                "/homes", headers={**demo.auth("hems_guess"), "X-Forwarded-For": f"198.51.100.{i}"}
            )
            assert r.status_code == 401
        r = c.get("/health", headers={"X-Forwarded-Proto": "https"})
        assert "strict-transport-security" in r.headers


def test_a_trusted_proxy_that_is_not_an_address_is_refused_at_start():
    from hems.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="trusted_proxies"):
        load_settings(trusted_proxies=["proxy.local"])
    assert load_settings(trusted_proxies=["10.0.0.0/8", "::1"]).trusted_proxies
