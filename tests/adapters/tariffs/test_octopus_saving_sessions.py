"""Octopus's GraphQL API against a fake of its two hosts on 127.0.0.1: the token from the first
host, cached until near its expiry and obtained again when expired or refused, the Saving
Sessions read and joined on the backend host (with their regions), and every failure a typed
error (GraphQL errors, 401, 429, 5xx, bad JSON, missing fields, NaN rewards, absurd times)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import pytest

from adapters.errors import FetchError, ParseError
from adapters.tariffs.octopus_graphql import (
    DEFAULT_TOKEN_LIFETIME,
    OctopusAuthError,
    OctopusGraphQL,
    OctopusGraphQLError,
)
from adapters.tariffs.octopus_saving_sessions import (
    OCTOPOINTS_PER_GBP,
    RejectedEvent,
    fetch_saving_sessions,
    join_saving_session,
    parse_event,
)
from tests.adapters.conftest import FAST

from .fake_octopus_graphql import ACCOUNT, API_KEY, FakeOctopus, fake_octopus

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def _client(fake: FakeOctopus, clock: Clock | None = None, key: str = API_KEY) -> OctopusGraphQL:
    return OctopusGraphQL(
        key,
        url=fake.url,
        backend_url=fake.backend_url,
        policy=FAST,
        now=clock or Clock(),
        sleep=lambda _: None,
    )


def test_the_sessions_parse_and_the_points_convert_at_800_to_the_pound():
    with fake_octopus() as fake:
        got = fetch_saving_sessions(_client(fake), ACCOUNT)
    assert got.has_joined_campaign
    assert got.joined_event_ids == {"101"}
    assert [e.event_id for e in got.events] == ["101", "102"]  # the dev event left out
    first = got.events[0]
    assert first.code == "EVENT_101_261130"
    assert first.start == datetime(2026, 11, 30, 17, 30, tzinfo=UTC)
    assert first.end == datetime(2026, 11, 30, 18, 30, tzinfo=UTC)
    assert OCTOPOINTS_PER_GBP == 800
    assert first.reward_p_per_kwh == pytest.approx(225.0)  # 1,800 points = 2.25 GBP
    assert got.rejected == ()
    # the account number travels as a variable, never spliced into the query's text
    assert fake.requests[-1]["variables"] == {"accountNumber": ACCOUNT}
    assert ACCOUNT not in fake.requests[-1]["query"]


def test_the_sessions_are_read_on_the_backend_host_with_the_token_of_the_first():
    with fake_octopus() as fake:
        got = fetch_saving_sessions(_client(fake), ACCOUNT)
        token, sessions = fake.requests
    assert (token["host"], sessions["host"]) == ("first", "backend")
    assert "events(includeDev: false)" in sessions["query"]
    assert got.region_id == "12"  # signedUpMeterPoint.regionId, a number in the payload
    nationwide, targeted = got.events
    assert nationwide.target_regions == frozenset()
    assert targeted.target_regions == {"12", "14"}
    assert nationwide.offered_in("11")
    assert targeted.offered_in("12")
    assert not targeted.offered_in("11")
    assert not targeted.offered_in(None)


def test_the_first_host_no_longer_answers_saving_sessions():
    with fake_octopus() as fake:
        client = OctopusGraphQL(API_KEY, url=fake.url, backend_url=fake.url, policy=FAST)
        with pytest.raises(OctopusGraphQLError, match="Cannot query field 'savingSessions'"):
            fetch_saving_sessions(client, ACCOUNT)


def test_the_token_is_cached_until_near_its_expiry_then_obtained_again():
    clock = Clock()
    with fake_octopus() as fake:
        fake.token_exp = (NOW + timedelta(hours=1)).timestamp()
        client = _client(fake, clock)
        fetch_saving_sessions(client, ACCOUNT)
        fetch_saving_sessions(client, ACCOUNT)
        assert fake.tokens == ["tok-1"]
        assert client.token is not None
        assert client.token.expires_at == NOW + timedelta(hours=1)
        clock.now = NOW + timedelta(minutes=56)  # within the 5-minute margin
        fetch_saving_sessions(client, ACCOUNT)
        assert fake.tokens == ["tok-1", "tok-2"]


def test_a_token_without_or_with_an_absurd_expiry_gets_the_default_lifetime():
    for exp in (None, 1.0, (NOW + timedelta(days=400)).timestamp()):
        with fake_octopus() as fake:
            fake.token_exp = exp
            client = _client(fake)
            fetch_saving_sessions(client, ACCOUNT)
            assert client.token is not None
            assert client.token.expires_at == NOW + DEFAULT_TOKEN_LIFETIME


def test_an_expired_token_is_obtained_again_once_and_the_request_repeated():
    with fake_octopus() as fake:
        client = _client(fake)
        fetch_saving_sessions(client, ACCOUNT)
        fake.expired.add("tok-1")  # the API says it expired before our clock does
        got = fetch_saving_sessions(client, ACCOUNT)
        assert [e.event_id for e in got.events] == ["101", "102"]
        assert fake.tokens == ["tok-1", "tok-2"]


def test_a_refused_key_is_an_auth_error_and_the_key_is_never_shown():
    with fake_octopus() as fake:
        client = _client(fake, key="sk_live_wrong")
        with pytest.raises(OctopusAuthError, match="Invalid API key") as info:
            fetch_saving_sessions(client, ACCOUNT)
        assert "KT-CT-1139" in info.value.codes
        assert "sk_live_wrong" not in str(info.value) + repr(client)


@pytest.mark.parametrize(
    ("status", "body", "error", "says"),
    [
        (401, b'{"detail": "no"}', OctopusAuthError, "HTTP 401"),
        (403, b"forbidden", OctopusAuthError, "HTTP 403"),
        (400, b"{}", FetchError, "HTTP 400"),
        (400, b'{"errors": [{"message": "Cannot query"}]}', OctopusGraphQLError, "Cannot query"),
        (200, b"<html>maintenance</html>", ParseError, "not JSON"),
        (200, b"[1, 2]", ParseError, "not a JSON object"),
        (200, b'{"data": null}', ParseError, "no data"),
        (200, b'{"data": {"savingSessions": null}}', ParseError, "no savingSessions"),
        (200, b'{"data": {"savingSessions": {"events": 5}}}', ParseError, "not a list"),
        (
            200,
            b'{"data": {"savingSessions": {"events": [], "account": {"joinedEvents": "x"}}}}',
            ParseError,
            "joinedEvents",
        ),
        (
            200,
            json.dumps({"data": {"savingSessions": {"events": [{}] * 1001}}}).encode(),
            ParseError,
            "1001 events, more than 1000",
        ),
        (200, b'{"errors": [{"message": "Field x unknown"}]}', OctopusGraphQLError, "unknown"),
        (200, b'{"errors": "boom"}', OctopusGraphQLError, "malformed"),
        (
            200,
            b'{"errors": [{"message": "Too many", "extensions": {"errorCode": "KT-CT-1199"}}]}',
            FetchError,
            "rate limited",
        ),
    ],
)
def test_each_bad_answer_to_the_query_is_a_typed_error(status, body, error, says):
    with fake_octopus() as fake:
        client = _client(fake)
        fetch_saving_sessions(client, ACCOUNT)  # a token first
        fake.script.append((status, body))
        with pytest.raises(error, match=says):
            fetch_saving_sessions(client, ACCOUNT)


def test_429_and_5xx_are_retried_then_a_fetch_error():
    with fake_octopus() as fake:
        client = _client(fake)
        fake.script += [(503, b""), (429, b"")]
        assert fetch_saving_sessions(client, ACCOUNT).events  # third attempt answers
        fake.script += [(502, b"")] * 3
        with pytest.raises(FetchError, match="HTTP 502") as info:
            fetch_saving_sessions(client, ACCOUNT)
        assert info.value.attempts == 3


def test_an_unreachable_api_is_a_fetch_error():
    with fake_octopus() as fake:
        url = fake.url
    client = OctopusGraphQL(API_KEY, url=url, backend_url=url, policy=FAST, sleep=lambda _: None)
    with pytest.raises(FetchError, match="transport error"):
        fetch_saving_sessions(client, ACCOUNT)


GOOD = {
    "id": 7,
    "code": "EVENT_7",
    "startAt": "2026-12-01T17:00:00Z",
    "endAt": "2026-12-01T18:00:00Z",
    "rewardPerKwhInOctoPoints": 800,
}


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"id": None}, "no usable id"),
        ({"id": True}, "no usable id"),
        ({"code": ""}, "no event code"),
        ({"startAt": "tomorrow"}, "not a time"),
        ({"startAt": "2026-12-01T17:00:00"}, "no UTC offset"),
        ({"endAt": None}, "not a time"),
        ({"endAt": "2026-12-01T16:00:00Z"}, "ends before it starts"),
        ({"endAt": "2026-12-01T17:00:00Z"}, "ends before it starts"),
        ({"endAt": "2026-12-03T17:00:00Z"}, "more than 24 hours"),
        ({"rewardPerKwhInOctoPoints": math.nan}, "out of range"),
        ({"rewardPerKwhInOctoPoints": math.inf}, "out of range"),
        ({"rewardPerKwhInOctoPoints": -10}, "out of range"),
        ({"rewardPerKwhInOctoPoints": 0}, "out of range"),
        ({"rewardPerKwhInOctoPoints": 1e9}, "out of range"),
        ({"rewardPerKwhInOctoPoints": "800"}, "no reward"),
        ({"rewardPerKwhInOctoPoints": None}, "no reward"),
        ({"targetRegion": {"regionId": 12}}, "targetRegion is not a list"),
    ],
)
def test_an_event_with_absurd_values_is_rejected_saying_why(change, says):
    got = parse_event({**GOOD, **change})
    assert isinstance(got, RejectedEvent)
    assert says in got.reason


def test_a_bad_event_does_not_hide_the_good_ones_and_nan_travels_as_json():
    with fake_octopus() as fake:
        events = fake.sessions["data"]["savingSessions"]["events"]
        events.append({**GOOD, "id": 8, "rewardPerKwhInOctoPoints": math.nan})
        events.append("junk")
        client = _client(fake)
        fetch_saving_sessions(client, ACCOUNT)  # a token first
        fake.script.append((200, json.dumps(fake.sessions).encode()))  # NaN as a bare token
        got = fetch_saving_sessions(client, ACCOUNT)
    assert [e.event_id for e in got.events] == ["101", "102"]
    assert [(r.event_id, r.reason) for r in got.rejected] == [
        ("8", "reward nan points/kWh out of range"),
        ("?", "not an object"),
    ]
    # listed, so not withdrawn: the rejected one and the dev event too
    assert got.listed_event_ids == {"101", "102", "90", "8"}


def test_an_account_not_signed_up_has_no_joined_events():
    with fake_octopus() as fake:
        fake.sessions["data"]["savingSessions"]["account"] = None
        got = fetch_saving_sessions(_client(fake), ACCOUNT)
    assert not got.has_joined_campaign
    assert got.joined_event_ids == frozenset()
    assert len(got.events) == 2


def test_joining_sends_the_event_code_and_reads_back_the_joined_codes():
    with fake_octopus() as fake:
        client = _client(fake)
        assert join_saving_session(client, ACCOUNT, "EVENT_102_261201")
        assert fake.joins == ["EVENT_102_261201"]
        assert fake.requests[-1]["host"] == "backend"
        assert fake.requests[-1]["variables"] == {
            "accountNumber": ACCOUNT,
            "eventCode": "EVENT_102_261201",
        }
        fake.script.append((200, b'{"data": {"joinSavingSessionsEvent": {}}}'))
        with pytest.raises(ParseError, match="joinedEventCodes"):
            join_saving_session(client, ACCOUNT, "EVENT_102_261201")
