"""Live prices, carbon intensity and weather for the planner (``hems run --live``).

:meth:`LiveMarket.refresh` fetches, for every home's region and location, Agile import and
Agile Outgoing unit rates (Octopus), regional carbon intensity (NESO Carbon Intensity API) and
the weather forecast (Open-Meteo), and merges them into the on-disk cache
(:class:`adapters.cache.SeriesCache`), so a restart or an outage still has the latest data.
:meth:`LiveMarket.series` then forecasts each input on the planning grid from the cache, using
only what was known at the time (``forecasts``): published prices exactly and a same-slot
pattern beyond, the API's carbon forecast then a pattern, PV from the weather through pvlib,
the outdoor temperature, and the base load (Elexon class 1 profile until the home has metered
history).

When a source has never been fetched (first start without network), that column comes from the
bundled sample replayed onto today (so do single slots that neither the source nor its pattern
covers) (:class:`hems.market.ReplayedMarket`) and
:attr:`LiveMarket.sources` says so; a failed refresh is logged and the cached data stays in use.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

import pandas as pd

from adapters.cache import SeriesCache, load_frame, store_frame
from adapters.carbon.intensity_api import BEST as CARBON_BEST
from adapters.carbon.intensity_api import FORECAST as CARBON_FORECAST
from adapters.carbon.intensity_api import fetch_regional_intensity
from adapters.errors import AdapterError, DataMissingError
from adapters.http import DEFAULT_POLICY, RetryPolicy
from adapters.tariffs.octopus import fetch_agile_import, fetch_agile_outgoing
from adapters.weather.open_meteo import CLOUD, DHI, DNI, GHI, TEMPERATURE, fetch_weather
from forecasts.base_load import expected_base_load
from forecasts.carbon import forecast_carbon_intensity
from forecasts.heat import forecast_outdoor_temperature
from forecasts.prices import forecast_prices
from forecasts.pv import PvSystem, forecast_pv
from hems.clock import Clock
from hems.domain.devices import PvSpec
from hems.domain.home import HomeSpec
from hems.market import COLUMNS, ReplayedMarket
from optimiser import TimeGrid

log = logging.getLogger(__name__)

GSP_TO_CARBON_REGION = {
    "P": 1,  # North Scotland
    "N": 2,  # South Scotland
    "G": 3,  # North West England
    "F": 4,  # North East England
    "M": 5,  # Yorkshire
    "D": 6,  # North Wales and Merseyside
    "K": 7,  # South Wales
    "E": 8,  # West Midlands
    "B": 9,  # East Midlands
    "A": 10,  # East England
    "L": 11,  # South West England
    "H": 12,  # South England
    "C": 13,  # London
    "J": 14,  # South East England
}
"""GSP group letter (Octopus regions) -> Carbon Intensity API region id."""

WEATHER_COLUMNS = [TEMPERATURE, CLOUD, GHI, DNI, DHI]
HISTORY_DAYS = 31


@dataclass
class LiveMarket:
    """Market and weather inputs from the live sources, through the cache.

    Attributes:
        cache: the series cache (one SQLite file under the data directory).
        clock: the service's clock (forecasts are issued at its "now").
        import_product, export_product: Octopus product codes of Agile and Agile Outgoing.
        fallback: where a never-fetched column comes from.
        policy: timeouts and retries of each fetch.
        sources: per column, where the last :meth:`series` took it from.
    """

    cache: SeriesCache
    clock: Clock
    import_product: str = "AGILE-24-10-01"
    export_product: str = "AGILE-OUTGOING-19-05-13"
    fallback: ReplayedMarket = field(default_factory=ReplayedMarket)
    policy: RetryPolicy = DEFAULT_POLICY
    sources: dict[str, str] = field(default_factory=dict)

    def refresh(self, homes: list[HomeSpec]) -> dict[str, str]:
        """Fetch every source once per region and location; returns ``{source: "ok" or the
        error}``. Never raises for a source that is down: its cached data stays in use."""
        now = self.clock.now()
        window = TimeGrid.starting_at(
            now - timedelta(days=1), step_minutes=30, horizon_hours=24 * 3
        )
        status: dict[str, str] = {}
        for region in sorted({h.region for h in homes}):
            for product, fetch in (
                (self.import_product, fetch_agile_import),
                (self.export_product, fetch_agile_outgoing),
            ):
                self._fetch(
                    status,
                    f"octopus:{product}:{region}",
                    now,
                    partial(fetch, product, region, window, policy=self.policy),
                )
            self._fetch(
                status,
                f"carbon:{region}",
                now,
                partial(
                    fetch_regional_intensity,
                    window,
                    region_id=GSP_TO_CARBON_REGION[region],
                    policy=self.policy,
                ),
            )
        for lat, lon in sorted({(h.latitude, h.longitude) for h in homes}):
            self._fetch(
                status,
                _weather_key(lat, lon),
                now,
                partial(fetch_weather, lat, lon, window, policy=self.policy),
            )
        return status

    def _fetch(
        self,
        status: dict[str, str],
        key: str,
        now: datetime,
        get: Callable[[], pd.Series | pd.DataFrame],
    ) -> None:
        """Fetch one source into the cache (a frame's columns under ``key:<column>``)."""
        try:
            data = get()
        except AdapterError as exc:
            status[key] = str(exc)
            log.warning("could not refresh %s (cached data stays in use): %s", key, exc)
            return
        if isinstance(data, pd.DataFrame):
            store_frame(self.cache, key, data.dropna(how="all"), now)
        else:
            self.cache.store(key, data.dropna(), now)
        status[key] = "ok"

    def series(self, grid: TimeGrid, home: HomeSpec) -> pd.DataFrame:
        """The planner's inputs on ``grid`` for ``home``, forecast at the clock's now."""
        now = self.clock.now()
        since = now - timedelta(days=HISTORY_DAYS)
        out = pd.DataFrame(index=grid.index)
        replay = self.fallback.series(grid, home)
        sources: dict[str, str] = {}

        def history(key: str) -> pd.Series | None:
            try:
                return self.cache.load(key, since_utc=since).series
            except DataMissingError:
                return None

        for column, product in (
            ("import_price_gbp_per_kwh", self.import_product),
            ("export_price_gbp_per_kwh", self.export_product),
        ):
            known = history(f"octopus:{product}:{home.region}")
            if known is None or known.dropna().empty:
                out[column], sources[column] = replay[column], "bundled sample"
                continue
            fc = forecast_prices(known, grid, now, name=column)
            out[column] = fc.series.to_numpy()
            sources[column] = f"Octopus {product} ({int(fc.is_forecast.sum())} slots forecast)"

        carbon = history(f"carbon:{home.region}:{CARBON_FORECAST}")
        actual = history(f"carbon:{home.region}:{CARBON_BEST}")
        column = "carbon_intensity_g_per_kwh"
        if carbon is None and actual is None:
            out[column], sources[column] = replay[column], "bundled sample"
        else:
            empty = pd.Series(dtype=float, index=pd.DatetimeIndex([], tz="UTC"))
            fc = forecast_carbon_intensity(
                carbon, actual if actual is not None else empty, grid, now
            )
            out[column] = fc.series.to_numpy()
            sources[column] = "Carbon Intensity API"

        try:
            weather = load_frame(
                self.cache, _weather_key(home.latitude, home.longitude), WEATHER_COLUMNS
            ).reindex(grid.index)
        except DataMissingError:
            weather = None
        if weather is None:
            for column in ("outdoor_temperature_c", "pv_kw_per_kwp"):
                out[column], sources[column] = replay[column], "bundled sample"
        else:
            temp = forecast_outdoor_temperature(weather["outdoor_temperature_c"], None, grid, now)
            out["outdoor_temperature_c"] = temp.series.to_numpy()
            system = _unit_system(home)
            out["pv_kw_per_kwp"] = forecast_pv(system, grid, weather, now).p50.to_numpy()
            sources["outdoor_temperature_c"] = sources["pv_kw_per_kwp"] = "Open-Meteo"

        # the expected load, as the backtests plan on; with no meter history here it is the
        # Elexon class 1 profile of a typical home
        empty_meter = pd.Series(dtype=float, index=pd.DatetimeIndex([], tz="UTC"))
        out["base_load_kw"] = expected_base_load(empty_meter, grid, now).to_numpy()
        sources["base_load_kw"] = "expected load: domestic profile of a typical home (no meter)"
        for column in COLUMNS:  # a slot no source nor pattern covers: the bundled sample
            gaps = out[column].isna()
            if gaps.any():
                out.loc[gaps, column] = replay.loc[gaps, column]
                sources[column] += f"; {int(gaps.sum())} slots from the bundled sample"
        self.sources = sources
        return out[list(COLUMNS)]


def _weather_key(latitude: float, longitude: float) -> str:
    return f"weather:{latitude:.2f},{longitude:.2f}"


def _unit_system(home: HomeSpec) -> PvSystem:
    """A 1 kWp array with the home's first PV orientation (the planner scales by kWp)."""
    pv = next((d for d in home.devices if isinstance(d, PvSpec)), None)
    return PvSystem(
        latitude_deg=home.latitude,
        longitude_deg=home.longitude,
        kwp=1.0,
        tilt_deg=pv.tilt_deg if pv else 35.0,
        azimuth_deg=pv.azimuth_deg if pv else 180.0,
    )
