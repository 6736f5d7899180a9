"""Live market data in the service: fetched into the cache, forecast onto the planning grid,
and the bundled sample when a source has never answered. Recorded responses only."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import respx

from adapters.cache import SeriesCache
from adapters.http import RetryPolicy
from hems.clock import ManualClock
from hems.demo import demo_home_spec
from hems.live_market import LiveMarket
from hems.runtime import build_runtime
from hems.settings import Settings
from optimiser import TimeGrid

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
NOON = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
FAST = RetryPolicy(timeout_s=1.0, attempts=2, backoff_s=0.0)
# The recorded payloads are for London (GSP C, carbon region 13) and 51.75 N, 1.25 W.
HOME = demo_home_spec().model_copy(update={"region": "C", "latitude": 51.75, "longitude": -1.25})


def _json(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def _mock_sources() -> None:
    rates = (
        r"https://api\.octopus\.energy/v1/products/{}/electricity-tariffs/.*standard-unit-rates/"
    )
    respx.get(url__regex=rates.format("AGILE-24-10-01") + r".*page=2.*").mock(
        return_value=httpx.Response(200, json=_json("octopus/agile_import_C_page2.json"))
    )
    respx.get(url__regex=rates.format("AGILE-24-10-01")).mock(
        return_value=httpx.Response(200, json=_json("octopus/agile_import_C_page1.json"))
    )
    respx.get(url__regex=rates.format("AGILE-OUTGOING-19-05-13")).mock(
        return_value=httpx.Response(200, json=_json("octopus/agile_outgoing_C.json"))
    )
    respx.get(url__regex=r"https://api\.carbonintensity\.org\.uk/regional/.*/regionid/\d+").mock(
        return_value=httpx.Response(200, json=_json("carbon_intensity/regional_regionid_13.json"))
    )
    weather = next((FIXTURES / "open_meteo").glob("*.json")).name
    respx.get(url__regex=r"https://api\.open-meteo\.com/v1/forecast.*").mock(
        return_value=httpx.Response(200, json=_json(f"open_meteo/{weather}"))
    )


@pytest.fixture
def market(tmp_path):
    with SeriesCache(tmp_path / "cache.sqlite") as cache:
        yield LiveMarket(cache=cache, clock=ManualClock(NOON), policy=FAST)


@respx.mock
def test_fetched_prices_carbon_and_weather_reach_the_planning_grid(market):
    _mock_sources()
    status = market.refresh([HOME])
    assert set(status.values()) == {"ok"}, status
    grid = TimeGrid.starting_at(NOON, horizon_hours=48)
    frame = market.series(grid, HOME)
    assert list(frame.index) == list(grid.index)
    assert frame.notna().all().all()
    # published prices are used exactly (the recorded 12:00-16:00 Agile rates, inc. VAT)
    assert frame["import_price_gbp_per_kwh"].iloc[:2].tolist() == pytest.approx([0.2132, 0.2205])
    assert frame["carbon_intensity_g_per_kwh"].iloc[0] == 191
    assert market.sources["import_price_gbp_per_kwh"].startswith("Octopus AGILE-24-10-01")
    assert market.sources["pv_kw_per_kwp"] == "Open-Meteo"
    assert frame["pv_kw_per_kwp"].between(0, 1.0).all()


@respx.mock
def test_with_every_source_down_the_first_plan_uses_the_bundled_sample(market):
    respx.get(url__regex=r".*").mock(return_value=httpx.Response(503))
    status = market.refresh([HOME])
    assert all(value != "ok" for value in status.values())
    frame = market.series(TimeGrid.starting_at(NOON, horizon_hours=48), HOME)
    assert frame.notna().all().all()
    assert market.sources["import_price_gbp_per_kwh"] == "bundled sample"
    assert market.sources["carbon_intensity_g_per_kwh"] == "bundled sample"


@respx.mock
def test_an_outage_after_a_fetch_keeps_the_cached_data_in_use(market):
    _mock_sources()
    market.refresh([HOME])
    respx.reset()
    respx.routes.clear()
    respx.get(url__regex=r".*").mock(side_effect=httpx.ConnectError("network down"))
    status = market.refresh([HOME])
    assert all("network down" in v or v != "ok" for v in status.values())
    frame = market.series(TimeGrid.starting_at(NOON, horizon_hours=48), HOME)
    assert frame["import_price_gbp_per_kwh"].iloc[0] == pytest.approx(0.2132)
    assert market.sources["import_price_gbp_per_kwh"].startswith("Octopus")


@respx.mock
def test_the_service_plans_on_live_prices_with_live_market_on(tmp_path):
    _mock_sources()
    settings = Settings(state_dir=tmp_path, demo=True, live_market=True, planner_processes=0)
    runtime = build_runtime(settings, ManualClock(NOON), seed=1)
    home_id = next(iter(runtime.simulations))

    async def run() -> None:
        await runtime.service.refresh_market()
        await runtime.service.cycle_all()

    asyncio.run(run())
    plan = runtime.store.latest_plan(home_id)
    prices = plan.schedule["import_price_gbp_per_kwh"]
    assert prices.iloc[:2].tolist() == pytest.approx([0.2132, 0.2205])
