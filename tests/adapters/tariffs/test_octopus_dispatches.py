"""Intelligent Octopus Go's dispatches against the fake GraphQL API on 127.0.0.1, in the shapes
the maintained public clients read in 2026: the account's live car found in ``devices``, its
``flexPlannedDispatches`` and the account's ``completedDispatches`` parsed; a car whose plan
Octopus cannot give (KT-CT-4340) has none; hostile entries (backwards, absurdly long, NaN or
text energies, missing times, no offset) left out with the reason; a payload of the wrong
shape, or the fetch failing, a typed error."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from adapters.errors import FetchError, ParseError
from adapters.tariffs.octopus_dispatches import (
    MAX_DEVICES,
    MAX_DISPATCHES,
    RejectedDispatch,
    fetch_dispatches,
    live_cars,
    parse_dispatch,
    parse_dispatches,
)
from adapters.tariffs.octopus_graphql import OctopusAuthError, OctopusGraphQL
from tests.adapters.conftest import FAST

from .fake_octopus_graphql import ACCOUNT, API_KEY, DEVICE, FakeOctopus, fake_octopus

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)

PLANNED = [
    {
        "start": "2026-11-30T15:30:00+00:00",
        "end": "2026-11-30T16:30:00+00:00",
        "type": "SMART",
        "energyAddedKwh": "7.20",
    },
    {
        "start": "2026-11-30T13:00:00+00:00",
        "end": "2026-11-30T13:30:00+00:00",
        "type": "BOOST",
        "energyAddedKwh": None,
    },
]
COMPLETED = [
    {
        "start": "2026-11-30T02:00:00Z",
        "end": "2026-11-30T04:00:00Z",
        "delta": "-3.5",
        "meta": {"source": "smart-charge", "location": "AT_HOME"},
    },
    {"start": "2026-11-30T05:00:00Z", "end": "2026-11-30T05:30:00Z", "delta": None, "meta": None},
]
ANOTHER_ACCOUNT_S_OLD_CAR = {"id": "old", "deviceType": "ELECTRIC_VEHICLES", "status": {}}


def _client(fake: FakeOctopus, key: str = API_KEY) -> OctopusGraphQL:
    return OctopusGraphQL(
        key,
        url=fake.url,
        backend_url=fake.backend_url,
        policy=FAST,
        now=lambda: NOW,
        sleep=lambda _: None,
    )


def test_the_live_car_s_planned_and_the_completed_dispatches_parse_in_time_order():
    with fake_octopus() as fake:
        fake.planned[DEVICE] = PLANNED
        fake.completed = COMPLETED
        fake.devices += [
            {"id": "batt-1", "deviceType": "BATTERIES", "status": {"current": "LIVE"}},
            {"id": "ev-2", "deviceType": "ELECTRIC_VEHICLES", "status": {"current": "RETIRED"}},
        ]
        got = fetch_dispatches(_client(fake), ACCOUNT)
        _token, devices, planned = fake.requests
    assert devices["variables"] == {"accountNumber": ACCOUNT}
    assert planned["variables"] == {"deviceId": DEVICE}  # only the live car's plan is asked
    assert {r["host"] for r in fake.requests} == {"first"}
    assert got.rejected == ()
    boost, smart = got.planned
    assert (smart.start, smart.end) == (
        datetime(2026, 11, 30, 15, 30, tzinfo=UTC),
        datetime(2026, 11, 30, 16, 30, tzinfo=UTC),
    )
    assert (smart.source, smart.energy_kwh, smart.smart_charge) == ("SMART", 7.2, True)
    assert (boost.source, boost.energy_kwh, boost.smart_charge) == ("BOOST", None, False)
    done, unsaid = got.completed
    assert (done.source, done.energy_kwh, done.smart_charge) == ("smart-charge", 3.5, True)
    assert (unsaid.source, unsaid.energy_kwh, unsaid.smart_charge) == ("", None, True)


def test_bump_charges_boosts_and_tests_are_not_smart_charges():
    for source in ("bump-charge", "BOOST", "TEST"):
        entry = {"start": "2026-11-30T16:00:00Z", "end": "2026-11-30T17:00:00Z"}
        got = parse_dispatch({**entry, "type": source}, "planned[0]")
        assert not isinstance(got, RejectedDispatch)
        assert not got.smart_charge


def test_a_car_whose_plan_octopus_cannot_give_has_none_and_the_completed_still_count():
    with fake_octopus() as fake:
        del fake.planned[DEVICE]  # the fake answers KT-CT-4340
        fake.completed = COMPLETED
        got = fetch_dispatches(_client(fake), ACCOUNT)
    assert got.planned == ()
    assert len(got.completed) == 2
    assert got.plans_unavailable == (DEVICE,)
    assert got.rejected == ()


def test_an_account_without_a_live_car_asks_for_no_plan():
    with fake_octopus() as fake:
        fake.devices = [ANOTHER_ACCOUNT_S_OLD_CAR]
        got = fetch_dispatches(_client(fake), ACCOUNT)
        assert not any("flexPlannedDispatches" in r["query"] for r in fake.requests)
    assert (got.planned, got.completed) == ((), ())


def test_the_retired_planned_dispatches_query_is_not_sent():
    with fake_octopus() as fake:
        fetch_dispatches(_client(fake), ACCOUNT)
        assert not any("plannedDispatches(accountNumber" in r["query"] for r in fake.requests)


def test_null_lists_are_no_dispatches():
    got = parse_dispatches({"devices": None, "completedDispatches": None}, [{}])
    assert (got.planned, got.completed, got.rejected) == ((), (), ())
    assert live_cars({"devices": None}) == ()


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
        (
            {"start": "2026-11-30T16:00:00Z", "end": "2026-11-30T17:00:00Z", "delta": "1e9"},
            "delta is not a usable kWh figure (1000000000.0 kWh)",
        ),
    ],
)
def test_a_hostile_dispatch_is_left_out_saying_why(entry, reason):
    assert parse_dispatch(entry, "completed[0]") == RejectedDispatch("completed[0]", reason)
    if not isinstance(entry, dict):
        return
    planned = {k.replace("delta", "energyAddedKwh"): v for k, v in entry.items()}
    got = parse_dispatch(planned, "planned[0]")
    assert got == RejectedDispatch("planned[0]", reason.replace("delta", "energyAddedKwh"))


def test_one_bad_dispatch_does_not_hide_the_others():
    bad = {"start": "2026-11-30T16:00:00Z", "end": "2026-11-30T15:00:00Z"}
    got = parse_dispatches(
        {"completedDispatches": [7]}, [{"flexPlannedDispatches": [bad, PLANNED[0]]}]
    )
    assert len(got.planned) == 1
    assert got.rejected == (
        RejectedDispatch("completed[0]", "not an object"),
        RejectedDispatch("planned[0]", "ends before it starts"),
    )


@pytest.mark.parametrize(
    ("devices", "planned"),
    [
        (None, []),
        ([], []),
        ({"completedDispatches": {"start": "x"}}, []),
        ({"completedDispatches": [{}] * (MAX_DISPATCHES + 1)}, []),
        ({}, [None]),
        ({}, [{"flexPlannedDispatches": "none"}]),
    ],
)
def test_a_payload_of_the_wrong_shape_is_a_parse_error(devices, planned):
    with pytest.raises(ParseError):
        parse_dispatches(devices, planned)


def test_devices_of_the_wrong_shape_or_too_many_cars_are_a_parse_error():
    with pytest.raises(ParseError, match="devices is not a list"):
        live_cars({"devices": {"id": DEVICE}})
    car = {"deviceType": "ELECTRIC_VEHICLES", "status": {"current": "LIVE"}}
    many = [{**car, "id": str(i)} for i in range(MAX_DEVICES + 1)]
    with pytest.raises(ParseError, match="live cars"):
        live_cars({"devices": many})


def test_failures_are_typed_errors():
    with fake_octopus() as fake:
        with pytest.raises(OctopusAuthError):
            fetch_dispatches(_client(fake, key="sk_live_wrong"), ACCOUNT)
        client = _client(fake)
        fetch_dispatches(client, ACCOUNT)  # a token held: the failures hit the query
        fake.script += [(503, b"")] * FAST.attempts
        with pytest.raises(FetchError):
            fetch_dispatches(client, ACCOUNT)
        fake.script.append((200, json.dumps({"data": {"completedDispatches": 3}}).encode()))
        with pytest.raises(ParseError, match="completedDispatches is not a list"):
            fetch_dispatches(client, ACCOUNT)
        assert fake.tokens == ["tok-1"]
