"""Which tariff suits this home (issue 27): one backtest per tariff with its natural baseline."""

from __future__ import annotations

import pytest

from hems.backtest import BacktestConfig
from hems.backtest.tariff_comparison import NATURAL, compare_tariffs, tariff_configs
from hems.domain.tariffs import PRODUCTS, CosyOctopus, FlatTariff, OctopusGo


def test_every_product_has_a_natural_baseline() -> None:
    assert set(NATURAL) == set(PRODUCTS)


def test_each_tariff_runs_its_own_windows_on_the_same_home() -> None:
    config = BacktestConfig(days=1)
    go, cosy = tariff_configs(config, (OctopusGo(), CosyOctopus()))
    assert go.home.tariff == OctopusGo()
    assert go.ev_window_local == ("00:30", "05:30")
    assert go.battery_timer_local == ("00:30", "05:30", "05:30", "00:30")
    assert cosy.battery_timer_local == ("13:00", "16:00", "16:00", "19:00")
    assert (go.home_id, cosy.home_id) == ("octopus_go", "cosy_octopus")
    assert go.home.devices == config.home.devices
    with pytest.raises(ValueError, match="one tariff per product"):
        tariff_configs(config, (OctopusGo(), OctopusGo(off_peak_gbp_per_kwh=0.05)))


def test_the_table_of_bills_adds_the_standing_charges() -> None:
    config = BacktestConfig(days=1, slot_minutes=60, horizon_hours=24)
    tariffs = (
        FlatTariff(import_gbp_per_kwh=0.3, standing_charge_gbp_per_day=0.5),
        OctopusGo(standing_charge_gbp_per_day=0.4),
    )
    table = compare_tariffs(config, tariffs, cadence="hourly", workers=1, progress=False)
    assert sorted(table["product"]) == ["flat", "octopus_go"]
    rows = table.set_index("product")
    assert rows.loc["flat", "baseline"] == "battery_self_consumption"
    assert rows.loc["octopus_go", "baseline"] == "ev_window_battery_timer"
    assert rows.loc["flat", "standing_gbp"] == pytest.approx(0.5)
    assert rows.loc["octopus_go", "standing_gbp"] == pytest.approx(0.4)
    for product in ("flat", "octopus_go"):
        row = rows.loc[product]
        assert row["planner_total_gbp"] == pytest.approx(
            row["planner_bill_gbp"] + row["standing_gbp"]
        )
        assert row["baseline_total_gbp"] == pytest.approx(
            row["baseline_bill_gbp"] + row["standing_gbp"]
        )
    # the same home bills differently on the two tariffs
    assert rows.loc["flat", "planner_bill_gbp"] != rows.loc["octopus_go", "planner_bill_gbp"]
    assert list(table["planner_total_gbp"]) == sorted(table["planner_total_gbp"])
