"""Intelligent Octopus Go's dispatches against the fake GraphQL API on 127.0.0.1: the planned
and completed dispatches of a recorded-shape answer parsed; hostile entries (backwards,
absurdly long, NaN or text deltas, missing times, no offset) left out with the reason; a
payload of the wrong shape, or the fetch failing, a typed error."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from adapters.errors import FetchError, ParseError
from adapters.tariffs.octopus_dispatches import (
    MAX_DISPATCHES,
    RejectedDispatch,
    fetch_dispatches,
    parse_dispatch,
    parse_dispatches,
)
from adapters.tariffs.octopus_graphql import OctopusAuthError, OctopusGraphQL
from tests.adapters.conftest import FAST

from .fake_octopus_graphql import ACCOUNT, API_KEY, FakeOctopus, fake_octopus

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)

RECORDED = {
    "data": {
        "plannedDispatches": [
            {
                "start": "2026-11-30T15:30:00+00:00",
                "end": "2026-11-30T16:30:00+00:00",
                "delta": "-7.20",
                "meta": {"source": "smart-charge", "location": "AT_HOME"},
            },
            {
                "start": "2026-11-30T13:00:00+00:00",
                "end": "2026-11-30T13:30:00+00:00",
                "delta": -3.5,
                "meta": {"source": "bump-charge", "location": "AT_HOME"},
            },
        ],
        "completedDispatches": [
            {
                "start": "2026-11-30T02:00:00Z",
                "end": "2026-11-30T04:00:00Z",
                "delta": None,
                "meta": None,
            }
        ],
    }
}


def _client(fake: FakeOctopus, key: str = API_KEY) -> OctopusGraphQL:
    return OctopusGraphQL(key, url=fake.url, policy=FAST, now=lambda: NOW, sleep=lambda _: None)


def test_the_planned_and_completed_dispatches_parse_in_time_order():
    with fake_octopus() as fake:
        fake.dispatches = RECORDED
        got = fetch_dispatches(_client(fake), ACCOUNT)
        [asked] = [r for r in fake.requests if "plannedDispatches" in r["query"]]
    assert asked["variables"] == {"accountNumber": ACCOUNT}
    assert got.rejected == ()
    bump, smart = got.planned
    assert (smart.start, smart.end) == (
        datetime(2026, 11, 30, 15, 30, tzinfo=UTC),
        datetime(2026, 11, 30, 16, 30, tzinfo=UTC),
    )
    assert (smart.source, smart.delta_kwh, smart.smart_charge) == ("smart-charge", -7.2, True)
    assert (bump.source, bump.smart_charge) == ("bump-charge", False)
    [done] = got.completed
    assert (done.source, done.delta_kwh, done.smart_charge) == ("", None, True)


def test_null_lists_are_no_dispatches():
    got = parse_dispatches({"plannedDispatches": None, "completedDispatches": None})
    assert (got.planned, got.completed, got.rejected) == ((), (), ())


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("x", "not an object"),
        ({"end": "2026-11-30T16:00:00Z"}, "start or end is not a time with an offset (missing)"),
        (
            {"start": "2026-11-30T15:00:00", "end": "2026-11-30T16:00:00"},
            "start or end is not a time with an offset (no UTC offset)",
        ),
        ({"start": "2026-11-30T16:00:00Z", "end": "2026-11-30T15:00:00Z"}, "ends before it starts"),
        ({"start": "2026-11-30T16:00:00Z", "end": "2026-11-30T16:00:00Z"}, "ends before it starts"),
        (
            {"start": "2026-11-30T16:00:00Z", "end": "2026-12-09T16:00:00Z"},
            "lasts more than 24 hours",
        ),
        (
            {"start": "2026-11-30T16:00:00Z", "end": "2026-11-30T17:00:00Z", "delta": "NaN"},
            "delta is not a usable kWh figure (nan kWh)",
        ),
        (
            {"start": "2026-11-30T16:00:00Z", "end": "2026-11-30T17:00:00Z", "delta": "lots"},
            "delta is not a usable kWh figure (could not convert string to float: 'lots')",
        ),
        (
            {"start": "2026-11-30T16:00:00Z", "end": "2026-11-30T17:00:00Z", "delta": [1]},
            "delta is not a usable kWh figure (not a number ([1]))",
        ),
    ],
)
def test_a_hostile_dispatch_is_left_out_saying_why(entry, reason):
    assert parse_dispatch(entry, "planned[0]") == RejectedDispatch("planned[0]", reason)


def test_one_bad_dispatch_does_not_hide_the_others():
    good = RECORDED["data"]["plannedDispatches"][0]
    bad = {"start": "2026-11-30T16:00:00Z", "end": "2026-11-30T15:00:00Z"}
    got = parse_dispatches({"plannedDispatches": [bad, good], "completedDispatches": [7]})
    assert len(got.planned) == 1
    assert got.rejected == (
        RejectedDispatch("planned[0]", "ends before it starts"),
        RejectedDispatch("completed[0]", "not an object"),
    )


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {"plannedDispatches": {"start": "x"}},
        {"plannedDispatches": [], "completedDispatches": "none"},
        {"plannedDispatches": [{}] * (MAX_DISPATCHES + 1)},
    ],
)
def test_a_payload_of_the_wrong_shape_is_a_parse_error(data):
    with pytest.raises(ParseError):
        parse_dispatches(data)


def test_failures_are_typed_errors():
    with fake_octopus() as fake:
        with pytest.raises(OctopusAuthError):
            fetch_dispatches(_client(fake, key="sk_live_wrong"), ACCOUNT)
        client = _client(fake)
        fetch_dispatches(client, ACCOUNT)  # a token held: the failures hit the query
        fake.script += [(503, b"")] * FAST.attempts
        with pytest.raises(FetchError):
            fetch_dispatches(client, ACCOUNT)
        fake.script.append((200, json.dumps({"data": {"plannedDispatches": 3}}).encode()))
        with pytest.raises(ParseError, match="plannedDispatches is not a list"):
            fetch_dispatches(client, ACCOUNT)
        assert fake.tokens == ["tok-1"]
