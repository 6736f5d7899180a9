"""PV forecast with pvlib: physics sanity, inverter limit, bands, history correction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from adapters.weather.open_meteo import read_weather
from forecasts.pv import (
    PvSettings,
    PvSystem,
    forecast_pv,
    history_correction,
    nowcast_correction,
)
from optimiser import TimeGrid
from tests.adapters.conftest import FIXTURES

MIDSUMMER = TimeGrid(start_utc=datetime(2026, 6, 21, tzinfo=UTC), n_steps=48)
ISSUED = datetime(2026, 6, 20, 18, tzinfo=UTC)
OXFORD = PvSystem(latitude_deg=51.75, longitude_deg=-1.25, kwp=4.0)


def cloud(fraction: float, temperature_c: float = 15.0) -> pd.DataFrame:
    return pd.DataFrame(
        {"cloud_cover_fraction": fraction, "outdoor_temperature_c": temperature_c},
        index=MIDSUMMER.index,
    )


def energy_kwh(series: pd.Series) -> float:
    return float(series.sum() * 0.5)


def test_a_clear_midsummer_day_is_plausible_and_dark_at_night():
    forecast = forecast_pv(OXFORD, MIDSUMMER, cloud(0.0), ISSUED)
    p50 = forecast.p50
    assert p50.name == "pv_kw_p50"
    assert str(p50.index.tz) == "UTC"
    assert p50.iloc[:6].max() == 0.0  # 00:00-03:00 UTC
    assert p50.iloc[44:].max() == 0.0  # 22:00 onwards
    assert 2.5 < p50.max() <= 4.0
    assert 20.0 < energy_kwh(p50) < 32.0  # ~5-8 kWh/kWp on a clear June day
    assert p50.idxmax().hour in (11, 12)  # solar noon near 12:05 UTC at 1.25 W


def test_more_cloud_less_energy_and_the_bands_bracket():
    energies = [
        energy_kwh(forecast_pv(OXFORD, MIDSUMMER, cloud(c), ISSUED).p50) for c in (0, 0.5, 1)
    ]
    assert energies[0] > energies[1] > energies[2] > 0
    forecast = forecast_pv(OXFORD, MIDSUMMER, cloud(0.5), ISSUED)
    assert (forecast.p10 <= forecast.p50).all()
    assert (forecast.p50 <= forecast.p90).all()
    assert energy_kwh(forecast.p90) > energy_kwh(forecast.p10) * 1.2


def test_the_inverter_limit_caps_an_oversized_array():
    big = PvSystem(latitude_deg=51.75, longitude_deg=-1.25, kwp=6.0, inverter_kw=3.0)
    forecast = forecast_pv(big, MIDSUMMER, cloud(0.0), ISSUED)
    assert forecast.p90.max() == pytest.approx(3.0)
    assert (forecast.p50 >= 2.999).sum() >= 6  # a midday plateau


def test_orientation_and_heat_matter():
    north = PvSystem(latitude_deg=51.75, longitude_deg=-1.25, kwp=4.0, azimuth_deg=0.0)
    south = forecast_pv(OXFORD, MIDSUMMER, cloud(0.0), ISSUED).p50
    assert energy_kwh(forecast_pv(north, MIDSUMMER, cloud(0.0), ISSUED).p50) < energy_kwh(south)
    hot = forecast_pv(OXFORD, MIDSUMMER, cloud(0.0, temperature_c=35.0), ISSUED).p50
    assert energy_kwh(hot) < energy_kwh(south)


def test_weather_forecast_irradiance_is_used_when_given():
    weather = read_weather(FIXTURES / "open_meteo/forecast_oxford_2026-06-21.json", MIDSUMMER)
    forecast = forecast_pv(OXFORD, MIDSUMMER, weather, ISSUED)
    assert "clear sky" in forecast.method  # the fixture stops at 23:00, the last slots fall back
    assert forecast.p50.iloc[24] > 0.5
    only_cloud = forecast_pv(OXFORD, MIDSUMMER, weather[["cloud_cover_fraction"]], ISSUED)
    assert not np.allclose(only_cloud.p50, forecast.p50)


def test_no_weather_at_all_assumes_typical_cloud():
    forecast = forecast_pv(OXFORD, MIDSUMMER, pd.DataFrame(index=MIDSUMMER.index), ISSUED)
    assert (
        0
        < energy_kwh(forecast.p50)
        < energy_kwh(forecast_pv(OXFORD, MIDSUMMER, cloud(0), ISSUED).p50)
    )


def test_history_correction_uses_only_the_past_and_is_clipped():
    index = pd.date_range("2026-06-07", periods=48 * 15, freq="30min", tz="UTC")
    modelled = pd.Series(np.where(index.hour.isin(range(8, 17)), 2.0, 0.0), index=index)
    measured = modelled * 0.8
    issued = datetime(2026, 6, 21, 6, tzinfo=UTC)
    doctored = measured.copy()
    doctored[doctored.index >= pd.Timestamp(issued - timedelta(minutes=30))] = 99.0
    assert history_correction(measured, modelled, issued) == pytest.approx(0.8)
    assert history_correction(doctored, modelled, issued) == pytest.approx(0.8)
    assert history_correction(modelled * 3, modelled, issued) == 1.5
    assert history_correction(measured, modelled * 0, issued) == 1.0
    scaled = forecast_pv(OXFORD, MIDSUMMER, cloud(0.2), ISSUED, PvSettings(correction=0.8))
    plain = forecast_pv(OXFORD, MIDSUMMER, cloud(0.2), ISSUED)
    assert energy_kwh(scaled.p50) == pytest.approx(0.8 * energy_kwh(plain.p50))


@pytest.mark.parametrize("bad", [{"kwp": 0.0}, {"losses_fraction": 1.0}, {"inverter_kw": -1.0}])
def test_system_description_is_checked(bad):
    args = {"latitude_deg": 51.75, "longitude_deg": -1.25, "kwp": 4.0, **bad}
    with pytest.raises(ValueError, match="must be"):
        PvSystem(**args)


def test_the_nowcast_starts_from_how_cloudy_it_is_now_and_relaxes_to_the_baseline():
    index = pd.date_range("2026-06-20", periods=48 * 2, freq="30min", tz="UTC")
    modelled = pd.Series(np.where(index.hour.isin(range(5, 20)), 2.0, 0.0), index=index)
    measured = modelled * 0.3  # a dull day so far
    issued = datetime(2026, 6, 20, 11, tzinfo=UTC)
    grid = TimeGrid(start_utc=issued, n_steps=48)
    ratio = nowcast_correction(measured, modelled, grid, issued, baseline=0.9)
    assert ratio[0] == pytest.approx(0.3)  # lead 0: the last hour and a half's 0.3
    lead_h = np.arange(48) * 0.5
    np.testing.assert_allclose(ratio, 0.9 + (0.3 - 0.9) * np.exp(-lead_h / 2.0))
    assert ratio[-1] == pytest.approx(0.9, abs=1e-4)  # tomorrow: the baseline
    # what is measured after the issue time changes nothing
    doctored = measured.copy()
    doctored[doctored.index >= pd.Timestamp(issued)] = 99.0
    np.testing.assert_allclose(nowcast_correction(doctored, modelled, grid, issued, 0.9), ratio)
    # before dawn there is nothing to persist
    night = datetime(2026, 6, 20, 3, tzinfo=UTC)
    dark = nowcast_correction(measured, modelled, TimeGrid(start_utc=night, n_steps=8), night, 0.9)
    np.testing.assert_allclose(dark, 0.9)
