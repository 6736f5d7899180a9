"""Open-Meteo adapter against a recorded response (no network)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import numpy as np
import pytest
import respx

from adapters.errors import FetchError, ParseError
from adapters.weather import open_meteo as om
from optimiser import TimeGrid
from tests.adapters.conftest import FAST, FIXTURES, fixture_json

FIXTURE = "open_meteo/forecast_oxford_2026-06-21.json"
DAY = TimeGrid(start_utc=datetime(2026, 6, 21, tzinfo=UTC), step_minutes=30, n_steps=46)


@respx.mock
def test_fetch_asks_for_the_grid_and_puts_every_variable_on_it():
    route = respx.get(om.BASE_URL).mock(
        return_value=httpx.Response(200, json=fixture_json(FIXTURE))
    )
    weather = om.fetch_weather(51.75, -1.25, DAY, policy=FAST)
    query = dict(route.calls[0].request.url.params)
    assert query["timezone"] == "UTC"
    assert query["start_date"] == "2026-06-21"
    assert "direct_normal_irradiance" in query["hourly"]
    assert list(weather.columns) == [om.TEMPERATURE, om.CLOUD, om.GHI, om.DNI, om.DHI]
    assert len(weather) == DAY.n_steps
    assert str(weather.index.tz) == "UTC"
    assert weather[om.CLOUD].between(0, 1).all()


def test_radiation_is_the_preceding_hour_and_temperature_is_interpolated():
    payload = fixture_json(FIXTURE)
    weather = om.parse_weather(payload, DAY)
    ghi = payload["hourly"]["shortwave_radiation"]
    # the value stamped 13:00 is the mean over 12:00-13:00: slots 12:00 and 12:30
    assert weather[om.GHI].iloc[24] == weather[om.GHI].iloc[25] == ghi[13]
    temps = payload["hourly"]["temperature_2m"]
    assert weather[om.TEMPERATURE].iloc[24] == pytest.approx(0.75 * temps[12] + 0.25 * temps[13])
    # a null temperature at 05:00 is bridged from its neighbours
    assert np.isfinite(weather[om.TEMPERATURE].iloc[9])


def test_an_offset_in_the_response_is_applied():
    payload = fixture_json(FIXTURE)
    payload["utc_offset_seconds"] = 3600  # times given in BST
    weather = om.parse_weather(payload, DAY)
    ghi = payload["hourly"]["shortwave_radiation"]
    assert weather[om.GHI].iloc[22] == ghi[13]  # 13:00 BST = 12:00 UTC, covers 11:00-12:00 UTC


def test_read_from_a_saved_file():
    assert om.read_weather(FIXTURES / FIXTURE, DAY)[om.DNI].notna().all()


@pytest.mark.parametrize(
    "mutate",
    [
        lambda p: p.pop("hourly"),
        lambda p: p["hourly"].update(time=[]),
        lambda p: p["hourly"].pop("diffuse_radiation"),
        lambda p: p["hourly"].update(cloud_cover=[1, 2]),
        lambda p: p["hourly"].update(time=["not a time"] * 24),
        lambda p: p["hourly"]["temperature_2m"].__setitem__(3, "warm"),
    ],
)
def test_malformed_or_empty_responses_are_parse_errors(mutate):
    payload = fixture_json(FIXTURE)
    mutate(payload)
    with pytest.raises(ParseError):
        om.parse_weather(payload, DAY)


@respx.mock
def test_a_timeout_is_a_fetch_error():
    respx.get(om.BASE_URL).mock(side_effect=httpx.ConnectTimeout("no route"))
    with pytest.raises(FetchError, match="timed out"):
        om.fetch_weather(51.75, -1.25, DAY, policy=FAST)


@respx.mock
def test_a_5xx_is_a_fetch_error_after_the_retries():
    route = respx.get(om.BASE_URL).mock(return_value=httpx.Response(504))
    with pytest.raises(FetchError, match="HTTP 504"):
        om.fetch_weather(51.75, -1.25, DAY, policy=FAST)
    assert route.call_count == FAST.attempts
