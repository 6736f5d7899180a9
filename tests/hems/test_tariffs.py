"""A home's tariff product (issue 27): validated by product code, its rates on the planning grid,
planned and billed on the same rates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from hems.backtest import BacktestConfig
from hems.backtest.markets import actual_market
from hems.demo import demo_home_spec
from hems.domain.home import HomeSpec
from hems.domain.preferences import Preferences
from hems.domain.tariffs import (
    AgileTariff,
    CosyOctopus,
    Economy7,
    FlatTariff,
    Flux,
    IntelligentOctopusGo,
    OctopusGo,
)
from hems.market import ReplayedMarket
from hems.problem_builder import PlanInputs, build_problem
from hems.tariff_prices import tariff_prices
from optimiser import TimeGrid

WINTER_DAY = datetime(2026, 1, 12, tzinfo=UTC)  # GMT: local time is UTC
SUMMER_DAY = datetime(2026, 7, 13, tzinfo=UTC)  # BST: local time is UTC + 1


def _prices(tariff, start=WINTER_DAY) -> pd.DataFrame:
    grid = TimeGrid(start_utc=start, step_minutes=30, n_steps=48)
    market = np.linspace(0.1, 0.2, 48)
    imp, exp = tariff_prices(tariff, grid, market, market / 2)
    local = grid.index.tz_convert("Europe/London").strftime("%H:%M")
    return pd.DataFrame({"imp": imp, "exp": exp}, index=local)


def test_agile_takes_the_market_series_for_import_and_export() -> None:
    p = _prices(AgileTariff())
    np.testing.assert_allclose(p["imp"], np.linspace(0.1, 0.2, 48))
    np.testing.assert_allclose(p["exp"], np.linspace(0.1, 0.2, 48) / 2)


def test_octopus_go_is_cheap_0030_to_0530_local_in_summer_too() -> None:
    p = _prices(OctopusGo(peak_gbp_per_kwh=0.3, off_peak_gbp_per_kwh=0.08), SUMMER_DAY)
    assert p.loc["00:00", "imp"] == 0.3
    assert p.loc["00:30", "imp"] == 0.08
    assert p.loc["05:00", "imp"] == 0.08
    assert p.loc["05:30", "imp"] == 0.3
    # the grid runs 01:00 BST to 00:30 the next night: 01:00-05:00 and 00:30 (five hours)
    assert (p["imp"] == 0.08).sum() == 10
    assert (p["exp"] == 0.15).all()


def test_cosy_has_three_cheap_windows_and_a_peak() -> None:
    p = _prices(CosyOctopus())
    cheap = {t for t in p.index if p.loc[t, "imp"] == pytest.approx(0.1265)}
    assert {"04:00", "06:30", "13:00", "15:30", "22:00", "23:30"} <= cheap
    assert len(cheap) == 16  # eight hours
    assert p.loc["16:00", "imp"] == pytest.approx(0.3742)
    assert p.loc["18:30", "imp"] == pytest.approx(0.3742)
    assert p.loc["19:00", "imp"] == pytest.approx(0.2581)


def test_flux_has_import_and_export_bands() -> None:
    p = _prices(Flux())
    assert p.loc["02:00", "imp"] == pytest.approx(0.2011)
    assert p.loc["02:00", "exp"] == pytest.approx(0.0911)
    assert p.loc["17:00", "imp"] == pytest.approx(0.4693)
    assert p.loc["17:00", "exp"] == pytest.approx(0.3593)
    assert p.loc["12:00", "exp"] == pytest.approx(0.2252)


def test_economy_7_keeps_gmt_by_default() -> None:
    p = _prices(Economy7(), SUMMER_DAY)
    # 00:30-07:30 GMT is 01:30-08:30 BST
    assert p.loc["01:00", "imp"] == 0.30
    assert p.loc["01:30", "imp"] == 0.13
    assert p.loc["08:00", "imp"] == 0.13
    assert p.loc["08:30", "imp"] == 0.30


def test_intelligent_octopus_go_window_and_the_smart_charge_slots_it_grants() -> None:
    granted = (WINTER_DAY + timedelta(hours=14), WINTER_DAY + timedelta(hours=14, minutes=30))
    p = _prices(IntelligentOctopusGo(smart_charge_slots_utc=granted))
    assert p.loc["23:30", "imp"] == 0.075
    assert p.loc["05:00", "imp"] == 0.075
    assert p.loc["05:30", "imp"] == 0.245
    assert p.loc["14:00", "imp"] == 0.075  # a granted slot: the whole home's import
    assert p.loc["14:30", "imp"] == 0.075
    assert p.loc["15:00", "imp"] == 0.245
    with pytest.raises(ValidationError, match="half-hour start"):
        IntelligentOctopusGo(smart_charge_slots_utc=(WINTER_DAY + timedelta(minutes=10),))


def _spec(**tariff) -> dict:
    spec = demo_home_spec("T-1").model_dump(mode="json")
    spec.update(tariff)
    return spec


def test_a_home_tariff_by_product_code_and_the_old_agile_or_flat_form() -> None:
    assert isinstance(HomeSpec.model_validate(_spec(tariff="cosy_octopus")).tariff, CosyOctopus)
    old_flat = HomeSpec.model_validate(
        _spec(tariff="flat", flat_import_gbp_per_kwh=0.3, flat_export_gbp_per_kwh=0.05)
    )
    assert old_flat.tariff == FlatTariff(import_gbp_per_kwh=0.3, export_gbp_per_kwh=0.05)
    old_agile = HomeSpec.model_validate(
        _spec(tariff="agile", flat_import_gbp_per_kwh=0.3, flat_export_gbp_per_kwh=0.05)
    )
    assert old_agile.tariff == AgileTariff()
    given = {"product": "flux", "import_peak_gbp_per_kwh": 0.5, "standing_charge_gbp_per_day": 0.5}
    home = HomeSpec.model_validate(_spec(tariff=given))
    assert isinstance(home.tariff, Flux)
    assert home.tariff.import_peak_gbp_per_kwh == 0.5
    # what the store keeps reads back the same
    assert HomeSpec.model_validate(home.model_dump(mode="json")) == home


@pytest.mark.parametrize("bad", ["octopus_tracker", {"product": "octopus_tracker"}])
def test_an_unknown_product_code_is_a_clear_error(bad) -> None:
    with pytest.raises(ValidationError, match="unknown tariff product 'octopus_tracker'; known: "):
        HomeSpec.model_validate(_spec(tariff=bad))


def test_a_rate_out_of_range_names_the_field() -> None:
    with pytest.raises(ValidationError, match="off_peak_gbp_per_kwh"):
        HomeSpec.model_validate(_spec(tariff={"product": "octopus_go", "off_peak_gbp_per_kwh": 9}))


def test_the_plan_uses_the_home_tariff() -> None:
    home = demo_home_spec().model_copy(update={"tariff": OctopusGo()})
    grid = TimeGrid(start_utc=WINTER_DAY, step_minutes=30, n_steps=96)
    inputs = PlanInputs(
        home=home,
        preferences=Preferences(),
        states={},
        market=ReplayedMarket().series(grid),
        grid=grid,
        now_utc=WINTER_DAY,
    )
    problem, _ = build_problem(inputs)
    imp = np.asarray(problem.import_price_gbp_per_kwh)
    assert set(np.round(imp, 6)) == {0.085, 0.245}
    assert imp[1] == 0.085  # 00:30 GMT
    assert (np.asarray(problem.export_price_gbp_per_kwh) == 0.15).all()


def test_a_backtest_bills_the_home_on_its_tariff() -> None:
    home = demo_home_spec().model_copy(update={"tariff": FlatTariff(import_gbp_per_kwh=0.2)})
    config = BacktestConfig(home=home, days=1)
    grid = TimeGrid(start_utc=config.start_utc, step_minutes=30, n_steps=48)
    actual = actual_market(config).series(grid)
    assert (actual["import_price_gbp_per_kwh"] == 0.2).all()
    assert (actual["export_price_gbp_per_kwh"] == 0.15).all()
    agile = actual_market(BacktestConfig(days=1)).series(grid)
    assert agile["import_price_gbp_per_kwh"].nunique() > 10
