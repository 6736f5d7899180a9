"""A consumer's Octopus account read with their key, against a fake Octopus on 127.0.0.1."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from adapters.errors import FetchError, ParseError
from adapters.tariffs import octopus_account as oa
from tests.adapters.conftest import FAST, fixture_json
from tests.adapters.tariffs.fake_octopus import FakeOctopus, fake_octopus, json_answer

KEY = "sk_live_TESTKEYabcdefgh1234"
NUMBER = "A-1B2C3D4E"
MPAN, SERIAL = "2000012345678", "21L4381234"
CONSUMPTION = f"/electricity-meter-points/{MPAN}/meters/{SERIAL}/consumption/"
JAN_14 = datetime(2026, 1, 14, tzinfo=UTC)
JAN_15 = datetime(2026, 1, 15, tzinfo=UTC)


@pytest.fixture
def octopus() -> Iterator[FakeOctopus]:
    with fake_octopus(KEY) as fake:
        fake.serve_json(f"/accounts/{NUMBER}/", fixture_json(f"octopus/account_{NUMBER}.json"))
        yield fake


def account(fake: FakeOctopus, key: str = KEY) -> oa.Account:
    return oa.fetch_account(NUMBER, key, base_url=fake.base_url, policy=FAST)


def consumption(fake: FakeOctopus, **kwargs: object) -> object:
    return oa.fetch_consumption(
        MPAN, SERIAL, KEY, JAN_14, JAN_15, base_url=fake.base_url, policy=FAST, **kwargs
    )


def test_the_current_property_s_meters_and_agreements(octopus):
    got = account(octopus)
    assert got.number == NUMBER
    assert [m.mpan for m in got.meter_points] == [MPAN, "2000098765432"]  # moved-out one left
    imported = got.meter_point(export=False)
    assert imported is not None
    assert imported.serial_numbers == (SERIAL,)
    now = imported.agreement_at(JAN_15)
    assert now is not None
    assert (now.product_code, now.region, now.registers) == ("AGILE-24-10-01", "C", 1)
    before = imported.agreement_at(datetime(2024, 1, 1, tzinfo=UTC))
    assert before is not None
    assert before.product_code == "VAR-22-11-01"
    exported = got.meter_point(export=True)
    assert exported is not None
    assert exported.agreements[0].product_code == "AGILE-OUTGOING-19-05-13"
    # basic auth with the key as user name, empty password
    assert octopus.requests[0][2].startswith("Basic ")


def test_a_refused_key_is_its_own_error_and_is_never_in_a_message(octopus, caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(oa.AccountRefusedError, match="refused") as caught:
        account(octopus, key="sk_live_WRONGKEY9999")
    assert caught.value.status_code == 401
    assert caught.value.attempts == 1  # a refused key is not retried
    assert "WRONGKEY" not in str(caught.value)
    assert "WRONGKEY" not in caplog.text
    assert KEY not in caplog.text


@pytest.mark.parametrize("status", [429, 500, 503])
def test_busy_or_failing_octopus_is_retried_then_a_fetch_error(octopus, status):
    octopus.routes[f"/accounts/{NUMBER}/"] = lambda _q: json_answer({"detail": "x"}, status)
    with pytest.raises(FetchError) as caught:
        account(octopus)
    assert not isinstance(caught.value, oa.AccountRefusedError)
    assert caught.value.attempts == FAST.attempts
    assert caught.value.status_code == status


def test_an_account_number_not_of_octopus_s_form_is_refused_before_any_request(octopus):
    with pytest.raises(ValueError, match="A- and 8"):
        oa.fetch_account("../products", KEY, base_url=octopus.base_url, policy=FAST)
    assert octopus.requests == []


def _account_with(change: object) -> dict[str, object]:
    payload = copy.deepcopy(fixture_json(f"octopus/account_{NUMBER}.json"))
    point = payload["properties"][1]["electricity_meter_points"][0]
    assert callable(change)
    change(payload, point)
    return payload


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p, _m: p.pop("number"), "no 'number'"),
        (lambda p, _m: p.update(properties={}), "not a list"),
        (lambda p, _m: p.update(properties=[]), "no property"),
        (lambda _p, m: m.update(mpan=None), "mpan"),
        (lambda _p, m: m.update(agreements=[{"valid_from": "2026-01-01T00:00:00Z"}]), "tariff"),
        (lambda _p, m: m["agreements"][1].update(tariff_code="G-1R-VAR-C"), "electricity tariff"),
        (lambda _p, m: m["agreements"][1].update(valid_from="yesterday"), "ISO"),
        (lambda _p, m: m["agreements"][1].update(valid_from="2026-01-01T00:00"), "offset"),
        (lambda _p, m: m["agreements"][1].update(valid_from=None), "no valid_from"),
        (lambda _p, m: m.update(meters=[7]), "not an object"),
    ],
)
def test_hostile_account_payloads_are_parse_errors(change, message):
    with pytest.raises(ParseError, match=message):
        oa.parse_account(_account_with(change))


def test_a_body_that_is_not_json_is_a_parse_error(octopus):
    octopus.routes[f"/accounts/{NUMBER}/"] = lambda _q: (200, b"<html>maintenance</html>")
    with pytest.raises(ParseError, match="not JSON"):
        account(octopus)


def test_consumption_follows_the_pages_in_order(octopus):
    first = fixture_json("octopus/consumption_page1.json")
    first["next"] = f"{octopus.base_url}{CONSUMPTION}?page=2"
    second = fixture_json("octopus/consumption_page2.json")
    octopus.routes[CONSUMPTION] = lambda q: json_answer(second if q.get("page") else first)
    kwh = consumption(octopus)
    assert list(kwh.round(3)) == [0.214, 0.187, 0.0, 1.336]
    assert kwh.index[0] == JAN_14
    assert str(kwh.index.tz) == "UTC"
    query = octopus.requests[0][1]
    assert query["period_from"] == "2026-01-14T00:00:00Z"
    assert query["order_by"] == "period"
    assert query["page_size"] == str(oa.PAGE_SIZE)


def test_consumption_of_a_month_from_the_generated_server(octopus):
    octopus.serve_consumption(MPAN, SERIAL, lambda t: 0.1 + t.hour / 100)
    kwh = oa.fetch_consumption(
        MPAN, SERIAL, KEY, datetime(2025, 12, 1, tzinfo=UTC), JAN_15,
        base_url=octopus.base_url, policy=FAST,
    )  # fmt: skip
    assert len(kwh) == 45 * 48
    assert kwh.index.is_monotonic_increasing
    assert len(octopus.requests) == 2  # 2,160 slots in pages of 1,500


def _serve_page(fake: FakeOctopus, results: object, nxt: object = None) -> None:
    fake.routes[CONSUMPTION] = lambda _q: json_answer({"next": nxt, "results": results})


GOOD = {"interval_start": "2026-01-14T00:00:00Z", "interval_end": "2026-01-14T00:30:00Z"}


@pytest.mark.parametrize(
    ("results", "message"),
    [
        ([{**GOOD, "consumption": "NaN"}], "not a number"),
        ([{**GOOD, "consumption": True}], "not a number"),
        ([{**GOOD, "consumption": -0.2}], "out of range"),
        ([{**GOOD, "consumption": 1e9}], "out of range"),
        ([{**GOOD, "interval_end": "2026-01-14T01:30:00Z", "consumption": 1}], "half-hour"),
        ([{"consumption": 1}], "half-hour"),
        (
            [{"interval_start": "2026-01-14T00:10:00Z", "interval_end": "2026-01-14T00:40:00Z"}],
            "half-hour",
        ),
        ("lots", "no 'results' list"),
        ([[1, 2]], "not an object"),
        ([{**GOOD, "consumption": 0.1}] * (oa.PAGE_SIZE + 1), "asked for"),
    ],
)
def test_hostile_consumption_pages_are_parse_errors(octopus, results, message):
    _serve_page(octopus, results)
    with pytest.raises(ParseError, match=message):
        consumption(octopus)


def test_a_literal_nan_in_the_json_is_a_parse_error(octopus):
    body = '{"next": null, "results": [{"consumption": NaN, "interval_start": '
    body += '"2026-01-14T00:00:00Z", "interval_end": "2026-01-14T00:30:00Z"}]}'
    octopus.routes[CONSUMPTION] = lambda _q: (200, body.encode())
    with pytest.raises(ParseError, match="not a number"):
        consumption(octopus)


def test_pages_that_loop_or_leave_the_host_are_refused(octopus):
    _serve_page(octopus, [{**GOOD, "consumption": 0.1}], f"{octopus.base_url}{CONSUMPTION}?page=2")
    with pytest.raises(ParseError, match="loop"):
        consumption(octopus)
    _serve_page(octopus, [{**GOOD, "consumption": 0.1}], f"http://evil.example{CONSUMPTION}")
    with pytest.raises(ParseError, match="another host"):
        consumption(octopus)
    assert all(path == f"/v1{CONSUMPTION}" for path, _q, _a in octopus.requests)


def test_endless_pages_stop_at_the_page_limit(octopus):
    def endless(query: dict[str, str]) -> tuple[int, bytes]:
        page = int(query.get("page", 1))
        nxt = f"{octopus.base_url}{CONSUMPTION}?page={page + 1}"
        return json_answer({"next": nxt, "results": []})

    octopus.routes[CONSUMPTION] = endless
    with pytest.raises(FetchError, match="more than 3 pages"):
        consumption(octopus, max_pages=3)


def test_a_refused_key_on_consumption_is_the_refused_error(octopus):
    with pytest.raises(oa.AccountRefusedError):
        oa.fetch_consumption(
            MPAN, SERIAL, "sk_live_OTHER", JAN_14, JAN_15, base_url=octopus.base_url, policy=FAST
        )


def test_an_empty_period_is_an_empty_series():
    assert oa.parse_consumption([{"next": None, "results": []}]).empty


def test_fixture_pages_are_valid_json():
    for name in ("consumption_page1", "consumption_page2"):
        assert json.dumps(fixture_json(f"octopus/{name}.json"))


def test_a_huge_page_is_refused_before_it_is_read_whole(octopus):
    huge = b'{"next": null, "results": [' + b" " * (oa.MAX_PAGE_BYTES + 1) + b"]}"
    octopus.routes[CONSUMPTION] = lambda _q: (200, huge)
    with pytest.raises(ParseError, match="over the limit"):
        consumption(octopus)


def test_tariff_rates_are_the_day_s_distinct_rates_and_the_charge_in_force():
    units = [{"next": None, "results": [{"value_inc_vat": v} for v in (27.69, 7.0, 27.69, 7.0)]}]
    standing = fixture_json("octopus/standing_charges_C.json")
    rates = oa.parse_tariff_rates(units, [standing], JAN_15)
    assert rates.unit_rates_gbp_per_kwh == (0.07, 0.2769)
    assert rates.standing_charge_gbp_per_day == pytest.approx(0.47838)
    old = oa.parse_tariff_rates(units, [standing], datetime(2025, 6, 1, tzinfo=UTC))
    assert old.standing_charge_gbp_per_day == pytest.approx(0.463785)
    for bad in (float("nan"), "7.0", None, True):
        with pytest.raises(ParseError, match="finite"):
            oa.parse_tariff_rates([{"results": [{"value_inc_vat": bad}]}], [standing], JAN_15)


def test_a_two_rate_tariff_s_night_and_day_rates_are_its_registers_in_force(octopus):
    octopus.serve_two_rates("VAR-22-11-01", day_pence=28.5, night_pence=12.1, standing=52.0)
    agreement = oa.parse_tariff_code("E-2R-VAR-22-11-01-C", "2025-10-01T00:00:00Z", None)
    rates = oa.fetch_tariff_rates(agreement, KEY, JAN_15, base_url=octopus.base_url, policy=FAST)
    assert rates.unit_rates_gbp_per_kwh == (0.121, 0.285)  # night, day: not last year's
    assert rates.standing_charge_gbp_per_day == pytest.approx(0.52)
    asked = [path for path, _q, _a in octopus.requests]
    assert not any("standard-unit-rates" in p for p in asked)
    octopus.serve_two_rates("VAR-22-11-01", day_pence=28.5, night_pence=None, standing=52.0)
    rates = oa.fetch_tariff_rates(agreement, KEY, JAN_15, base_url=octopus.base_url, policy=FAST)
    assert rates.unit_rates_gbp_per_kwh == ()  # no night rate in force: neither is used
    for bad in (float("nan"), "7.0", None):
        night = [{"results": [{"value_inc_vat": bad, "valid_from": "2025-10-01T00:00:00Z"}]}]
        with pytest.raises(ParseError, match="finite"):
            oa.parse_two_rates(night, [], [], JAN_15)
