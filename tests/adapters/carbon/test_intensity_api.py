"""Carbon Intensity API adapter against recorded responses (no network)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import numpy as np
import pytest
import respx

from adapters.carbon import intensity_api as ci
from adapters.errors import FetchError, ParseError
from optimiser import TimeGrid
from tests.adapters.conftest import FAST, FIXTURES, fixture_json

NATIONAL = "https://api.carbonintensity.org.uk/intensity/2026-01-15T12:00Z/fw48h"


@respx.mock
def test_national_actual_where_known_else_forecast(grid):
    route = respx.get(NATIONAL).mock(
        return_value=httpx.Response(200, json=fixture_json("carbon_intensity/national_fw48h.json"))
    )
    frame = ci.fetch_national_intensity(grid, policy=FAST)
    assert route.called
    assert list(frame.columns) == [ci.FORECAST, ci.ACTUAL, ci.BEST]
    assert str(frame.index.tz) == "UTC"
    np.testing.assert_array_equal(frame[ci.BEST].iloc[:3], [234, 241, 245])
    assert frame[ci.ACTUAL].iloc[2:].isna().all()


def test_urls_by_region_id_postcode_and_long_grids(grid):
    assert ci.regional_url(grid, region_id=13).endswith("/fw48h/regionid/13")
    assert ci.regional_url(grid, postcode=" rg10 ").endswith("/fw48h/postcode/RG10")
    long = TimeGrid(start_utc=datetime(2026, 1, 15, tzinfo=UTC), n_steps=144)
    assert ci.national_url(long).endswith("/intensity/2026-01-15T00:00Z/2026-01-18T00:00Z")
    for bad in ({"region_id": 18}, {"postcode": "RG10 1AA"}, {}):
        with pytest.raises(ValueError, match=r"region|postcode|exactly"):
            ci.regional_url(grid, **bad)


@respx.mock
def test_regional_by_postcode_accepts_the_list_wrapped_shape(grid):
    url = "https://api.carbonintensity.org.uk/regional/intensity/2026-01-15T12:00Z/fw48h/postcode/RG10"
    respx.get(url).mock(
        return_value=httpx.Response(
            200, json=fixture_json("carbon_intensity/regional_postcode_RG10.json")
        )
    )
    frame = ci.fetch_regional_intensity(grid, postcode="RG10", policy=FAST)
    assert frame[ci.BEST].iloc[0] == 191
    assert frame[ci.ACTUAL].isna().all()


def test_regional_by_region_id_from_a_saved_file(grid):
    frame = ci.read_intensity(FIXTURES / "carbon_intensity/regional_regionid_13.json", grid)
    assert frame[ci.FORECAST].notna().all()


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"data": []},
        {"data": {"regionid": 13}},
        {"data": [{"from": "2026-01-15T12:00Z", "to": "2026-01-15T12:30Z"}]},
        {"data": [{"from": "x", "to": "y", "intensity": {"forecast": 1}}]},
        {
            "data": [
                {
                    "from": "2026-01-15T12:00Z",
                    "to": "2026-01-15T12:30Z",
                    "intensity": {"forecast": "high"},
                }
            ]
        },
    ],
)
def test_malformed_or_empty_responses_are_parse_errors(grid, payload):
    with pytest.raises(ParseError):
        ci.parse_intensity(payload, grid)


@respx.mock
def test_a_timeout_is_a_fetch_error_after_the_retries(grid):
    route = respx.get(NATIONAL).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(FetchError, match="timed out"):
        ci.fetch_national_intensity(grid, policy=FAST)
    assert route.call_count == FAST.attempts


@respx.mock
def test_a_5xx_then_success_recovers(grid):
    ok = httpx.Response(200, json=fixture_json("carbon_intensity/national_fw48h.json"))
    respx.get(NATIONAL).mock(side_effect=[httpx.Response(500), ok])
    assert ci.fetch_national_intensity(grid, policy=FAST)[ci.BEST].notna().all()


@respx.mock
def test_a_persistent_5xx_is_a_fetch_error(grid):
    respx.get(NATIONAL).mock(return_value=httpx.Response(502))
    with pytest.raises(FetchError, match="HTTP 502"):
        ci.fetch_national_intensity(grid, policy=FAST)
