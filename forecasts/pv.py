"""PV output forecast with pvlib, P10 / P50 / P90 [kW AC].

**Chain** (pvlib for every physical step; nothing here is hand-written physics):

1. solar position at each slot's midpoint (``Location.get_solarposition``, ephemeris method);
2. irradiance: the weather forecast's GHI/DNI/DHI when given (GHI alone is split with the Erbs
   model), else clear-sky irradiance (Ineichen, Linke turbidity ``linke_turbidity``) scaled by
   cloud cover with Kasten & Czeplak (1980): ``GHI = GHI_clear * (1 - 0.75 * C**3.4)``, then
   split with Erbs. With neither, a cloud cover of ``default_cloud_cover`` is assumed (0.8:
   the value that minimised the error against PVGIS's 2016 Oxfordshire series);
3. plane-of-array irradiance, Hay-Davies transposition;
4. cell temperature, Faiman model, from POA and air temperature (10 °C when unknown);
5. DC power, PVWatts with the temperature coefficient, times ``1 - losses_fraction``;
6. AC power, PVWatts inverter model capped at ``inverter_kw``.

**Bands.** Cloud is the dominant uncertainty, so P10 / P90 re-run the chain with the slot's
cloud cover raised / lowered by ``cloud_band`` (where only irradiance is given, the cloud cover
is inferred from the clearness index by inverting Kasten & Czeplak). Where the weather gives
nothing, the cover is assumed (0.8), P90 lowers it by ``unknown_cloud_band`` and P10 takes
``unknown_p10_fraction`` of clear-sky GHI. Those three were tuned on PVGIS's simulated output
for Oxfordshire, January-June 2016, and checked on July-December (docs/forecasts.md); the band
with a weather forecast is a heuristic, not calibrated on measured PV (none is available).
:func:`history_correction` scales P50 by the home's own PV history when there is some.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import pvlib

from forecasts.grid import known_at, recent, values_on
from forecasts.quantiles import QuantileForecast, named_quantiles
from kernel.timegrid import TimeGrid, grid_index

NAME = "pv_kw"
GHI = "ghi_w_per_m2"
DNI = "dni_w_per_m2"
DHI = "dhi_w_per_m2"
TEMPERATURE = "outdoor_temperature_c"
CLOUD = "cloud_cover_fraction"


@dataclass(frozen=True, slots=True, kw_only=True)
class PvSystem:
    """A home's PV array.

    Attributes:
        latitude_deg, longitude_deg: location [°] (north, east positive).
        altitude_m: height above sea level [m].
        kwp: DC nameplate [kWp].
        tilt_deg: panel tilt from horizontal [°].
        azimuth_deg: panel azimuth clockwise from north [°] (180 = south).
        losses_fraction: system losses (wiring, soiling, mismatch), 0-1; PVGIS uses 0.14.
        inverter_kw: inverter AC limit [kW]; None = ``kwp``.
        gamma_pdc_per_k: power temperature coefficient [1/K].
        albedo: ground reflectance (0-1).
    """

    latitude_deg: float
    longitude_deg: float
    kwp: float
    tilt_deg: float = 35.0
    azimuth_deg: float = 180.0
    losses_fraction: float = 0.14
    inverter_kw: float | None = None
    gamma_pdc_per_k: float = -0.004
    albedo: float = 0.2
    altitude_m: float = 0.0

    def __post_init__(self) -> None:
        if self.kwp <= 0:
            raise ValueError(f"kwp must be positive, got {self.kwp}")
        if not 0 <= self.losses_fraction < 1:
            raise ValueError(f"losses_fraction must be in [0, 1), got {self.losses_fraction}")
        if self.inverter_kw is not None and self.inverter_kw <= 0:
            raise ValueError(f"inverter_kw must be positive, got {self.inverter_kw}")


@dataclass(frozen=True, slots=True, kw_only=True)
class PvSettings:
    """Tuning of :func:`forecast_pv`.

    Attributes:
        cloud_band: cloud-cover shift for P10 (+) and P90 (-), fraction 0-1.
        default_cloud_cover: assumed cloud cover when the weather gives nothing (0-1).
        unknown_cloud_band: P90's cloud-cover shift where the cover was assumed.
        unknown_p10_fraction: P10's GHI as a fraction of clear sky where the cover was assumed
            (Kasten & Czeplak bottoms out at 0.25; a dull UK day is darker).
        linke_turbidity: clear-sky turbidity (about 3 for the UK).
        correction: multiplier from the home's history (:func:`history_correction`).
    """

    cloud_band: float = 0.25
    default_cloud_cover: float = 0.8
    unknown_cloud_band: float = 0.5
    unknown_p10_fraction: float = 0.05
    linke_turbidity: float = 3.0
    correction: float = 1.0


DEFAULT_SETTINGS = PvSettings()


def _column(weather: pd.DataFrame, name: str) -> np.ndarray:
    if name not in weather.columns:
        return np.full(len(weather), np.nan)
    return weather[name].to_numpy(dtype=np.float64)


def _cloud_ghi(ghi_clear: np.ndarray, cloud: np.ndarray) -> np.ndarray:
    """Kasten & Czeplak (1980): GHI under cloud cover ``cloud`` (0-1) [W/m²]."""
    return np.asarray(ghi_clear * (1.0 - 0.75 * np.clip(cloud, 0.0, 1.0) ** 3.4), dtype=np.float64)


def _cloud_from_ghi(ghi: np.ndarray, ghi_clear: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        kt = np.where(ghi_clear > 1.0, ghi / ghi_clear, 1.0)
    return np.asarray((np.clip(1.0 - kt, 0.0, 0.75) / 0.75) ** (1.0 / 3.4), dtype=np.float64)


def _ac_kw(
    system: PvSystem,
    solar_zenith: np.ndarray,
    solar_azimuth: np.ndarray,
    dni_extra: np.ndarray,
    ghi: np.ndarray,
    dni: np.ndarray,
    dhi: np.ndarray,
    temperature_c: np.ndarray,
) -> np.ndarray:
    """AC output [kW] per element (plain arrays: pvlib on numpy avoids pandas overhead)."""
    poa = pvlib.irradiance.get_total_irradiance(
        system.tilt_deg,
        system.azimuth_deg,
        solar_zenith,
        solar_azimuth,
        dni=dni,
        ghi=ghi,
        dhi=dhi,
        dni_extra=dni_extra,
        albedo=system.albedo,
        model="haydavies",
    )
    poa_w = np.maximum(np.nan_to_num(np.asarray(poa["poa_global"], dtype=np.float64)), 0.0)
    cell_c = pvlib.temperature.faiman(poa_w, temperature_c)
    dc_w = pvlib.pvsystem.pvwatts_dc(poa_w, cell_c, system.kwp * 1000.0, system.gamma_pdc_per_k)
    dc_w = np.asarray(dc_w, dtype=np.float64) * (1.0 - system.losses_fraction)
    limit_kw = system.inverter_kw if system.inverter_kw is not None else system.kwp
    eta = 0.96
    ac_w = pvlib.inverter.pvwatts(dc_w, pdc0=limit_kw * 1000.0 / eta, eta_inv_nom=eta)
    return np.clip(np.nan_to_num(np.asarray(ac_w, dtype=np.float64)) / 1000.0, 0.0, limit_kw)


def forecast_pv(
    system: PvSystem,
    grid: TimeGrid,
    weather: pd.DataFrame,
    issued_at_utc: datetime,
    settings: PvSettings = DEFAULT_SETTINGS,
) -> QuantileForecast:
    """PV AC output on ``grid`` [kW], P10 / P50 / P90.

    ``weather`` is a weather *forecast* issued no later than ``issued_at_utc``, on the grid's
    slot starts, with any of the columns ``ghi_w_per_m2``, ``dni_w_per_m2``, ``dhi_w_per_m2``
    (slot means), ``cloud_cover_fraction`` (0-1) and ``outdoor_temperature_c`` (as
    ``adapters.weather`` gives them); missing values fall back as the module docstring says.
    """
    index = grid_index(grid)
    n = len(index)
    mid = index + pd.Timedelta(minutes=grid.step_minutes / 2)
    location = pvlib.location.Location(
        system.latitude_deg, system.longitude_deg, altitude=system.altitude_m
    )
    # the ephemeris algorithm: within 0.01° of SPA for these dates, three times faster
    with warnings.catch_warnings():
        # pvlib 0.16's ephemeris uses an accessor pandas 3 deprecates; harmless, silenced here
        warnings.filterwarnings("ignore", message=".*dayofyear is deprecated")
        solar = location.get_solarposition(mid, method="ephemeris")
    doy = np.asarray(mid.day_of_year, dtype=np.float64)
    # day-of-year arrays, not the index: pvlib's index path uses an accessor pandas deprecates
    dni_extra = np.asarray(pvlib.irradiance.get_extra_radiation(doy), dtype=np.float64)
    apparent_zenith = solar["apparent_zenith"].to_numpy(dtype=np.float64)
    # Ineichen on plain arrays (Location.get_clearsky wraps every step in pandas: 2x slower)
    with np.errstate(divide="ignore", invalid="ignore"):  # night: airmass is NaN
        airmass = pvlib.atmosphere.get_absolute_airmass(
            pvlib.atmosphere.get_relative_airmass(apparent_zenith),
            pvlib.atmosphere.alt2pres(system.altitude_m),
        )
        clear = pvlib.clearsky.ineichen(
            apparent_zenith,
            airmass,
            settings.linke_turbidity,
            altitude=system.altitude_m,
            dni_extra=dni_extra,
        )
    ghi_clear = np.nan_to_num(np.asarray(clear["ghi"], dtype=np.float64))
    zenith = solar["zenith"].to_numpy(dtype=np.float64)
    azimuth = solar["azimuth"].to_numpy(dtype=np.float64)

    on_grid = weather.reindex(index)
    ghi_fc = _column(on_grid, GHI)
    dni_fc = _column(on_grid, DNI)
    dhi_fc = _column(on_grid, DHI)
    cloud = _column(on_grid, CLOUD)
    temperature = np.nan_to_num(_column(on_grid, TEMPERATURE), nan=10.0)
    has_ghi = ~np.isnan(ghi_fc)
    assumed = np.isnan(cloud) & ~has_ghi
    cloud = np.where(np.isnan(cloud), settings.default_cloud_cover, cloud)
    band = np.where(assumed, settings.unknown_cloud_band, settings.cloud_band)
    # cloud cover for the bands: inferred from the clearness index where irradiance is given
    cloud_mid = np.where(has_ghi, _cloud_from_ghi(np.nan_to_num(ghi_fc), ghi_clear), cloud)

    # the three scenarios (P10, P50, P90) side by side, one pvlib pass
    ghi_p50 = np.where(has_ghi, ghi_fc, _cloud_ghi(ghi_clear, cloud))
    ghi_all = np.maximum(
        np.concatenate(
            [
                np.where(
                    assumed,
                    settings.unknown_p10_fraction * ghi_clear,
                    _cloud_ghi(ghi_clear, cloud_mid + band),
                ),
                ghi_p50,
                _cloud_ghi(ghi_clear, cloud_mid - band),
            ]
        ),
        0.0,
    )
    tile = lambda a: np.tile(a, 3)  # noqa: E731
    split = pvlib.irradiance.erbs(ghi_all, tile(zenith), tile(doy))
    dni_all = np.asarray(split["dni"], dtype=np.float64)
    dhi_all = np.asarray(split["dhi"], dtype=np.float64)
    given = has_ghi & ~np.isnan(dni_fc) & ~np.isnan(dhi_fc)
    dni_all[n : 2 * n] = np.where(given, dni_fc, dni_all[n : 2 * n])
    dhi_all[n : 2 * n] = np.where(given, dhi_fc, dhi_all[n : 2 * n])
    ac = _ac_kw(
        system,
        tile(apparent_zenith),
        tile(azimuth),
        tile(dni_extra),
        ghi_all,
        dni_all,
        dhi_all,
        tile(temperature),
    )
    limit = system.inverter_kw if system.inverter_kw is not None else system.kwp
    p10, p50, p90 = (
        np.clip(ac[i * n : (i + 1) * n] * settings.correction, 0.0, limit) for i in range(3)
    )
    lo, med, hi = named_quantiles(NAME, index, p10, p50, p90)
    source = "forecast irradiance" if has_ghi.all() else "clear sky x cloud cover where needed"
    return QuantileForecast(
        p10=lo, p50=med, p90=hi, issued_at_utc=issued_at_utc, method=f"pvlib, {source}"
    )


def history_correction(
    measured_kw: pd.Series,
    modelled_kw: pd.Series,
    issued_at_utc: datetime,
    *,
    days: int = 14,
    step_minutes: int = 30,
    limits: tuple[float, float] = (0.5, 1.5),
) -> float:
    """Ratio of the home's measured PV output to the model's output for the same past slots
    (the model run on the weather that was observed), over the ``days`` before the issue time;
    clipped to ``limits``, 1.0 without daylight data. Pass it as :attr:`PvSettings.correction`.
    """
    if not measured_kw.index.is_monotonic_increasing:
        measured_kw = measured_kw.sort_index()
    measured = known_at(
        recent(measured_kw, issued_at_utc, days=days), issued_at_utc, step_minutes=step_minutes
    )
    modelled = values_on(modelled_kw, pd.DatetimeIndex(measured.index))
    daylight = modelled > 0.05
    total_model = float(modelled[daylight].sum())
    if total_model <= 0.0:
        return 1.0
    ratio = float(measured.to_numpy(dtype=np.float64)[daylight].sum()) / total_model
    return float(np.clip(ratio, *limits))


def nowcast_correction(
    measured_kw: pd.Series,
    modelled_kw: pd.Series,
    grid: TimeGrid,
    issued_at_utc: datetime,
    baseline: float,
    *,
    window_hours: float = 1.5,
    decay_hours: float = 2.0,
    step_minutes: int = 30,
    min_modelled_energy: float = 0.05,
    limits: tuple[float, float] = (0.0, 2.0),
) -> np.ndarray:
    """Per-slot correction of the modelled output on ``grid``: the ratio of measured to modelled
    output over the last ``window_hours`` (how cloudy it is now), relaxing towards ``baseline``
    (e.g. :func:`history_correction`) with e-folding time ``decay_hours`` of lead time.

    This is "smart persistence", the usual intraday PV reference: clouds persist for an hour or
    two, so the ratio seen now beats climatology for the next hours, and says nothing about
    tomorrow. Without enough modelled output in the window (night, dawn) the baseline is used.

    Args:
        measured_kw, modelled_kw: measured and modelled output [kW] by slot start (the model
            covering at least the window before ``issued_at_utc``).
        baseline: the ratio far from now (e.g. :func:`history_correction`) [-].
        window_hours: how far back "now" reaches [h]; decay_hours: e-folding lead time [h].
        min_modelled_energy: modelled energy in the window below which it is too dark to tell
            [kWh, in ``modelled_kw``'s scale]; limits: clip of the ratio now.

    Returns:
        the ratio per slot of ``grid`` [-], to multiply the modelled output by.
    """
    index = grid_index(grid)
    measured = known_at(
        recent(measured_kw, issued_at_utc, days=window_hours / 24),
        issued_at_utc,
        step_minutes=step_minutes,
    )
    modelled = values_on(modelled_kw, pd.DatetimeIndex(measured.index))
    both = ~np.isnan(modelled)  # slots with a measurement and a model value
    total_model = float(modelled[both].sum())
    if total_model * step_minutes / 60 < min_modelled_energy:
        return np.full(len(index), baseline)
    total_measured = float(measured.to_numpy(dtype=np.float64)[both].sum())
    now = float(np.clip(total_measured / total_model, *limits))
    lead_h = (index - pd.Timestamp(issued_at_utc)).total_seconds().to_numpy() / 3600.0
    weight = np.exp(-np.maximum(lead_h, 0.0) / decay_hours)
    return np.asarray(baseline + (now - baseline) * weight, dtype=np.float64)
