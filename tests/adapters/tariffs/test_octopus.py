"""Octopus Energy API adapter against recorded responses (no network)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import numpy as np
import pytest
import respx

from adapters.errors import FetchError, ParseError
from adapters.tariffs import octopus
from tests.adapters.conftest import FAST, FIXTURES, fixture_json

PRODUCT = "AGILE-24-10-01"
RATES_URL = octopus.unit_rates_url(PRODUCT, "E-1R-AGILE-24-10-01-C")
PAGE_2 = fixture_json("octopus/agile_import_C_page1.json")["next"]


def test_tariff_code_per_gsp_region():
    assert octopus.tariff_code(PRODUCT, "c") == "E-1R-AGILE-24-10-01-C"
    assert octopus.tariff_code(PRODUCT, "_N") == "E-1R-AGILE-24-10-01-N"
    with pytest.raises(ValueError, match="GSP"):
        octopus.tariff_code(PRODUCT, "I")


@respx.mock
def test_agile_import_follows_pagination_onto_the_grid(grid):
    first = respx.get(RATES_URL, params={"page_size": "1500"}).mock(
        return_value=httpx.Response(200, json=fixture_json("octopus/agile_import_C_page1.json"))
    )
    second = respx.get(PAGE_2).mock(
        return_value=httpx.Response(200, json=fixture_json("octopus/agile_import_C_page2.json"))
    )
    prices = octopus.fetch_agile_import(PRODUCT, "C", grid, policy=FAST)
    assert first.call_count == 1
    assert second.call_count == 1
    assert prices.name == "import_price_gbp_per_kwh"
    assert str(prices.index.tz) == "UTC"
    assert list(prices.index) == list(grid.index)
    expected = [21.32, 22.05, 24.57, 27.93, 35.17, 38.85, 36.02, 30.11]
    np.testing.assert_allclose(prices.to_numpy(), np.array(expected) / 100)
    query = dict(first.calls[0].request.url.params)
    assert query["period_from"] == "2026-01-15T12:00Z"
    assert query["period_to"] == "2026-01-15T16:00Z"


def test_unpublished_slots_are_nan_and_vat_is_optional(grid):
    page = fixture_json("octopus/agile_outgoing_C.json")  # covers the first two hours only
    prices = octopus.parse_unit_rates(page, grid, name=octopus.EXPORT_PRICE, include_vat=False)
    assert prices.iloc[:4].notna().all()
    assert prices.iloc[4:].isna().all()
    assert prices.iloc[0] == pytest.approx(0.0502)


def test_read_unit_rates_from_a_saved_list_of_pages(tmp_path, grid):
    pages = [
        fixture_json("octopus/agile_import_C_page1.json"),
        fixture_json("octopus/agile_import_C_page2.json"),
    ]
    path = tmp_path / "rates.json"
    path.write_text(__import__("json").dumps(pages))
    assert octopus.read_unit_rates(path, grid).notna().all()


def test_standing_charges_and_the_one_in_force():
    charges = octopus.read_standing_charges(FIXTURES / "octopus/standing_charges_C.json")
    assert charges[0].valid_to_utc is None
    assert octopus.standing_charge_at(charges, datetime(2026, 1, 15, tzinfo=UTC)) == (
        pytest.approx(0.47838)
    )
    assert octopus.standing_charge_at(charges, datetime(2025, 6, 1, tzinfo=UTC)) == (
        pytest.approx(0.463785)
    )
    with pytest.raises(LookupError):
        octopus.standing_charge_at(charges, datetime(2024, 1, 1, tzinfo=UTC))


def test_products_and_agile_selection():
    products = octopus.read_products(FIXTURES / "octopus/products.json")
    assert [p.code for p in octopus.agile_products(products)] == ["AGILE-24-10-01"]
    assert [p.code for p in octopus.agile_products(products, direction="EXPORT")] == [
        "AGILE-OUTGOING-19-05-13"
    ]
    assert products[0].available_from_utc == datetime(2024, 9, 30, 23, tzinfo=UTC)


@pytest.mark.parametrize(
    "payload",
    [
        {"detail": "Not found."},
        {"results": [{"value_inc_vat": "twenty", "valid_from": "2026-01-15T12:00:00Z"}]},
        {"results": [{"value_inc_vat": 20.0}]},
        {"results": [{"value_inc_vat": 20.0, "valid_from": "yesterday"}]},
        [42],
    ],
)
def test_malformed_responses_are_parse_errors(grid, payload):
    with pytest.raises(ParseError):
        octopus.parse_unit_rates(payload, grid)


def test_an_empty_response_means_nothing_published(grid):
    empty = {"count": 0, "next": None, "previous": None, "results": []}
    assert octopus.parse_unit_rates(empty, grid).isna().all()
    with pytest.raises(ParseError):
        octopus.parse_standing_charges(empty)


@respx.mock
def test_a_timeout_on_every_attempt_is_a_fetch_error(grid):
    route = respx.get(RATES_URL).mock(side_effect=httpx.ConnectTimeout("no route"))
    with pytest.raises(FetchError, match="timed out"):
        octopus.fetch_agile_import(PRODUCT, "C", grid, policy=FAST)
    assert route.call_count == FAST.attempts


@respx.mock
def test_a_5xx_is_retried_and_then_reported(grid):
    route = respx.get(RATES_URL).mock(return_value=httpx.Response(503))
    with pytest.raises(FetchError, match="HTTP 503"):
        octopus.fetch_agile_import(PRODUCT, "C", grid, policy=FAST)
    assert route.call_count == FAST.attempts


@respx.mock
def test_a_runaway_pagination_is_stopped(grid):
    looping = {"count": 1, "next": RATES_URL + "?page=2", "results": []}
    respx.get(url__startswith=RATES_URL).mock(return_value=httpx.Response(200, json=looping))
    with pytest.raises(ParseError, match="loop back"):  # seen at the third page, not the 20th
        octopus.fetch_pages(RATES_URL, policy=FAST, max_pages=20)

    def endless(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        return httpx.Response(200, json={"next": f"{RATES_URL}?page={page + 1}", "results": []})

    respx.get(url__startswith=RATES_URL).mock(side_effect=endless)
    with pytest.raises(FetchError, match="more than 3 pages"):
        octopus.fetch_pages(RATES_URL, policy=FAST, max_pages=3)


@respx.mock
def test_product_detail_lists_each_regions_tariff_code_and_standing_charge():
    url = f"{octopus.BASE_URL}/products/{PRODUCT}/"
    respx.get(url).mock(
        return_value=httpx.Response(200, json=fixture_json("octopus/product_AGILE-24-10-01.json"))
    )
    tariffs = octopus.fetch_product_tariffs(PRODUCT, policy=FAST)
    london = [t for t in tariffs if t.region == "C"]
    assert [t.payment for t in london] == ["direct_debit_monthly", "prepay"]
    assert london[0].code == octopus.tariff_code(PRODUCT, "C")
    assert london[0].standing_charge_gbp_per_day == pytest.approx(0.47838)
    assert london[0].unit_rate_gbp_per_kwh is None  # Agile: no flat rate
    saved = octopus.read_product_tariffs(
        FIXTURES / "octopus/product_AGILE-24-10-01.json", include_vat=False
    )
    assert saved[0].standing_charge_gbp_per_day == pytest.approx(0.4512)
    with pytest.raises(ParseError):
        octopus.parse_product_tariffs({"detail": "No EnergyProduct matches the given query."})
