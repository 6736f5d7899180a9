"""The shared GET-JSON helper: retries, backoff, typed errors."""

from __future__ import annotations

import httpx
import pytest
import respx

from adapters.errors import FetchError, ParseError
from adapters.http import RetryPolicy, get_json

URL = "https://example.test/data"


@respx.mock
def test_retries_a_5xx_then_succeeds_with_doubling_waits():
    route = respx.get(URL).mock(
        side_effect=[httpx.Response(502), httpx.Response(503), httpx.Response(200, json={"a": 1})]
    )
    waits: list[float] = []
    policy = RetryPolicy(attempts=3, backoff_s=0.5)
    assert get_json(URL, source="t", policy=policy, sleep=waits.append) == {"a": 1}
    assert route.call_count == 3
    assert waits == [0.5, 1.0]


@respx.mock
def test_gives_up_after_the_bounded_attempts_with_the_last_reason():
    route = respx.get(URL).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(FetchError, match="timed out") as info:
        get_json(URL, source="t", policy=RetryPolicy(attempts=2), sleep=lambda _: None)
    assert route.call_count == 2
    assert info.value.attempts == 2


@respx.mock
def test_a_client_error_is_not_retried():
    route = respx.get(URL).mock(return_value=httpx.Response(404))
    with pytest.raises(FetchError, match="HTTP 404"):
        get_json(URL, source="t", sleep=lambda _: None)
    assert route.call_count == 1


@respx.mock
def test_a_body_that_is_not_json_is_a_parse_error():
    respx.get(URL).mock(return_value=httpx.Response(200, text="<html>maintenance</html>"))
    with pytest.raises(ParseError, match="not JSON"):
        get_json(URL, source="t")


def test_backoff_is_capped():
    policy = RetryPolicy(attempts=10, backoff_s=1.0, max_backoff_s=5.0)
    assert [policy.wait_before(a) for a in range(2, 7)] == [1.0, 2.0, 4.0, 5.0, 5.0]


@respx.mock
def test_a_body_over_the_limit_is_refused_declared_or_streamed():
    respx.get(URL).mock(return_value=httpx.Response(200, json={"a": "x" * 100}))
    with pytest.raises(ParseError, match="over the limit of 50"):
        get_json(URL, source="t", max_bytes=50)

    def chunked(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=iter([b'{"a": "', b"x" * 40, b"x" * 40, b'"}']))

    respx.get(URL).mock(side_effect=chunked)
    with pytest.raises(ParseError, match="over the limit of 50"):
        get_json(URL, source="t", max_bytes=50)
    assert get_json(URL, source="t", max_bytes=200) == {"a": "x" * 80}
