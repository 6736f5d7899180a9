"""Which tariff suits this home: the planner against each tariff's natural baseline, one
backtest per tariff product on the same home, period, weather, load and car stays.

Each product's **natural baseline** is what a home on it would run without the planner: the
rule-based timers set to the tariff's cheap window (:data:`NATURAL`). The bill of each run is
its energy bill (``bill_gbp``, on the tariff's rates, :func:`hems.tariff_prices.tariff_prices`)
plus the product's standing charge for every day of the period.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import pandas as pd

from hems.backtest.config import BacktestConfig, Cadence
from hems.backtest.parallel import run_many
from hems.backtest.runner import run_backtest
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


@dataclass(frozen=True, slots=True)
class NaturalBaseline:
    """The rule-based strategy a home on a tariff runs, with its windows (local "HH:MM").

    Attributes:
        strategy: a rule-based strategy's name (``hems.backtest.BASELINE_NAMES``).
        ev_window_local: the car's charging window (``BacktestConfig.ev_window_local``).
        battery_timer_local: the battery's charge and discharge windows
            (``BacktestConfig.battery_timer_local``).
    """

    strategy: str
    ev_window_local: tuple[str, str] = ("00:30", "04:30")
    battery_timer_local: tuple[str, str, str, str] = ("00:30", "04:30", "16:00", "19:00")


def _timers(cheap: tuple[str, str], discharge: tuple[str, str]) -> NaturalBaseline:
    return NaturalBaseline("ev_window_battery_timer", cheap, (*cheap, *discharge))


NATURAL: dict[str, NaturalBaseline] = {
    # Agile: the timers a well-set-up Agile home runs (docs/backtest.md)
    "agile": NaturalBaseline("ev_window_battery_timer"),
    # one rate: nothing to shift to; the battery stores the PV surplus
    "flat": NaturalBaseline("battery_self_consumption"),
    # a night window: the car and the battery charge in it, the battery covers the day (the
    # timers keep local time: in summer an hour off an Economy 7 meter that keeps GMT)
    "octopus_go": _timers(("00:30", "05:30"), ("05:30", "00:30")),
    "intelligent_octopus_go": _timers(("23:30", "05:30"), ("05:30", "23:30")),
    "economy_7": _timers(("00:30", "07:30"), ("07:30", "00:30")),
    # Cosy: the car in the early-morning cosy hours, the battery fills in the afternoon's and
    # covers the peak after it
    "cosy_octopus": NaturalBaseline(
        "ev_window_battery_timer", ("04:00", "07:00"), ("13:00", "16:00", "16:00", "19:00")
    ),
    # Flux: both in the night band, the battery covers the peak
    "flux": _timers(("02:00", "05:00"), ("16:00", "19:00")),
}
"""Each product's natural baseline, by product code."""

DEFAULT_TARIFFS: tuple[TariffProduct, ...] = (
    AgileTariff(),
    FlatTariff(),
    OctopusGo(),
    IntelligentOctopusGo(),
    CosyOctopus(),
    Flux(),
    Economy7(),
)
"""Every product at its default rates (docs/service.md, "Tariffs")."""

COLUMNS = (
    "product",
    "baseline",
    "baseline_bill_gbp",
    "planner_bill_gbp",
    "standing_gbp",
    "baseline_total_gbp",
    "planner_total_gbp",
    "planner_saving_gbp",
    "planner_import_kwh",
    "planner_export_kwh",
    "planner_ev_short_kwh",
)
"""The comparison's columns (money GBP, energy kWh): the energy bills, the standing charges
over the period, the totals, and what the planner saves against the baseline."""


KPIS = ("bill_gbp", "import_kwh", "export_kwh", "ev_short_kwh")


def tariff_configs(
    config: BacktestConfig, tariffs: Sequence[TariffProduct] = DEFAULT_TARIFFS
) -> list[BacktestConfig]:
    """``config`` once per tariff: the home on it, the natural baseline's windows, the product
    code as the home's id in the results.

    Raises:
        ValueError: two tariffs of the same product (their results would share an id).
    """
    codes = [t.product for t in tariffs]
    if len(set(codes)) != len(codes):
        raise ValueError(f"one tariff per product, got {codes}")
    out = []
    for tariff, code in zip(tariffs, codes, strict=True):
        natural = NATURAL[code]
        out.append(
            replace(
                config,
                home=config.home.model_copy(update={"tariff": tariff}),
                ev_window_local=natural.ev_window_local,
                battery_timer_local=natural.battery_timer_local,
                home_id=code,
            )
        )
    return out


def compare_tariffs(
    config: BacktestConfig,
    tariffs: Sequence[TariffProduct] = DEFAULT_TARIFFS,
    *,
    cadence: Cadence | str = Cadence.SLOT,
    workers: int | None = 1,
    progress: bool = True,
) -> pd.DataFrame:
    """The planner and each tariff's natural baseline over ``config``'s period, one row per
    tariff (:data:`COLUMNS`), cheapest planner total first. Runs on Dask
    (:func:`hems.backtest.run_many`: ``workers`` processes)."""
    configs = tariff_configs(config, tariffs)
    baselines = sorted({NATURAL[c.home_id].strategy for c in configs})
    results = run_many(
        configs, ["planner", *baselines], cadence=cadence, workers=workers, progress=progress
    )
    return _table(tariffs, configs, results.summary)


def compare_tariffs_here(
    config: BacktestConfig,
    tariffs: Sequence[TariffProduct] = DEFAULT_TARIFFS,
    *,
    cadence: Cadence | str = Cadence.HOURLY,
) -> pd.DataFrame:
    """:func:`compare_tariffs` in this process, one run after another (no Dask): the service's
    comparison on the bundled sample (:mod:`hems.usecases.tariff_comparison`)."""
    configs = tariff_configs(config, tariffs)
    summaries = [
        run_backtest(cfg, ["planner", NATURAL[cfg.home_id].strategy], cadence=cadence).summary
        for cfg in configs
    ]
    return _table(tariffs, configs, pd.concat(summaries))


def _table(
    tariffs: Sequence[TariffProduct], configs: Sequence[BacktestConfig], summary: pd.DataFrame
) -> pd.DataFrame:
    """One row per tariff from the runs' summary (:data:`COLUMNS`), cheapest total first."""
    kpis: dict[tuple[str, str], dict[str, float]] = {
        (str(r["home"]), str(r["strategy"])): {k: float(r[k]) for k in KPIS}
        for r in summary.reset_index().to_dict("records")
    }
    rows = []
    for tariff, cfg in zip(tariffs, configs, strict=True):
        code = cfg.home_id
        baseline = NATURAL[code].strategy
        planner, base = kpis[(code, "planner")], kpis[(code, baseline)]
        standing = tariff.standing_charge_gbp_per_day * cfg.days
        rows.append(
            {
                "product": code,
                "baseline": baseline,
                "baseline_bill_gbp": base["bill_gbp"],
                "planner_bill_gbp": planner["bill_gbp"],
                "standing_gbp": standing,
                "baseline_total_gbp": base["bill_gbp"] + standing,
                "planner_total_gbp": planner["bill_gbp"] + standing,
                "planner_saving_gbp": base["bill_gbp"] - planner["bill_gbp"],
                "planner_import_kwh": planner["import_kwh"],
                "planner_export_kwh": planner["export_kwh"],
                "planner_ev_short_kwh": planner["ev_short_kwh"],
            }
        )
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return frame.sort_values("planner_total_gbp").reset_index(drop=True)
