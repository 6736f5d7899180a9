"""A home's import and export prices per slot from its tariff product
(:mod:`hems.domain.tariffs`).

Agile takes the market's half-hourly series (Agile import and Agile Outgoing: live from
Octopus in the service, the data's in a backtest); every other product's rates come from its
windows (:mod:`adapters.tariffs.time_of_use`) and its flat export rate. The service's plans
(:func:`hems.problem_builder.build_problem`) and a backtest's actuals (its bill) both go
through :func:`tariff_prices`, so a home is planned and billed on the same tariff.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from adapters.tariffs import time_of_use as tou
from hems.domain.tariffs import (
    AgileTariff,
    CosyOctopus,
    Economy7,
    FlatTariff,
    Flux,
    IntelligentOctopusGo,
    OctopusGo,
    TariffProduct,
)
from kernel.timegrid import TimeGrid, grid_index

FloatArray = np.ndarray


def _hh_mm(value: object) -> str:
    return f"{value:%H:%M}"


def _time_of_use(tariff: TariffProduct) -> tuple[tou.TimeOfUseTariff, tou.TimeOfUseTariff | float]:
    """The product's import windows and its export windows (or flat export rate)."""
    if isinstance(tariff, FlatTariff):
        return tou.flat(tariff.import_gbp_per_kwh), tariff.export_gbp_per_kwh
    if isinstance(tariff, OctopusGo):
        imp = tou.octopus_go(tariff.peak_gbp_per_kwh, tariff.off_peak_gbp_per_kwh)
        return imp, tariff.export_gbp_per_kwh
    if isinstance(tariff, IntelligentOctopusGo):
        imp = tou.intelligent_octopus_go(tariff.peak_gbp_per_kwh, tariff.off_peak_gbp_per_kwh)
        return imp, tariff.export_gbp_per_kwh
    if isinstance(tariff, CosyOctopus):
        imp = tou.cosy_octopus(
            tariff.standard_gbp_per_kwh, tariff.cosy_gbp_per_kwh, tariff.peak_gbp_per_kwh
        )
        return imp, tariff.export_gbp_per_kwh
    if isinstance(tariff, Flux):
        imp = tou.flux(
            tariff.import_day_gbp_per_kwh,
            tariff.import_night_gbp_per_kwh,
            tariff.import_peak_gbp_per_kwh,
        )
        exp = tou.flux(
            tariff.export_day_gbp_per_kwh,
            tariff.export_night_gbp_per_kwh,
            tariff.export_peak_gbp_per_kwh,
        )
        return imp, exp
    if isinstance(tariff, Economy7):
        imp = tou.economy_7(
            tariff.day_gbp_per_kwh,
            tariff.night_gbp_per_kwh,
            night_start=_hh_mm(tariff.night_start),
            night_end=_hh_mm(tariff.night_end),
            clock=tariff.clock,
        )
        return imp, tariff.export_gbp_per_kwh
    raise TypeError(f"no rates for tariff product {type(tariff).__name__}")


def tariff_prices(
    tariff: TariffProduct,
    grid: TimeGrid,
    market_import_gbp_per_kwh: FloatArray,
    market_export_gbp_per_kwh: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """The import and export price of every slot of ``grid`` [GBP/kWh] on ``tariff``: the
    market's series for Agile, the product's rates by the slot's start otherwise."""
    if isinstance(tariff, AgileTariff):
        return (
            np.asarray(market_import_gbp_per_kwh, dtype=np.float64),
            np.asarray(market_export_gbp_per_kwh, dtype=np.float64),
        )
    imp_tou, exp_tou = _time_of_use(tariff)
    imp = imp_tou.rates_on_grid(grid).to_numpy(dtype=np.float64)
    if isinstance(exp_tou, float):
        exp = np.full(grid.n_steps, exp_tou)
    else:
        exp = exp_tou.rates_on_grid(grid).to_numpy(dtype=np.float64)
    if isinstance(tariff, IntelligentOctopusGo) and tariff.smart_charge_slots_utc:
        granted = pd.DatetimeIndex(tariff.smart_charge_slots_utc).tz_convert("UTC")
        imp = np.where(grid_index(grid).isin(granted), tariff.off_peak_gbp_per_kwh, imp)
    return imp, exp
