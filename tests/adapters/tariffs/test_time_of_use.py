"""Static time-of-use tariffs: windows in UK local time, right on clock-change days."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from adapters.tariffs import time_of_use as tou
from optimiser import TimeGrid


def cheap_slots_utc(tariff: tou.TimeOfUseTariff, grid: TimeGrid) -> list[str]:
    rates = tariff.rates_on_grid(grid)
    cheap = rates[rates < rates.max()]
    return [t.strftime("%m-%d %H:%M") for t in cheap.index]


def test_octopus_go_in_winter_is_00_30_to_05_30_utc():
    grid = TimeGrid.for_local_day(date(2026, 1, 15))
    slots = cheap_slots_utc(tou.octopus_go(), grid)
    assert slots[0] == "01-15 00:30"
    assert slots[-1] == "01-15 05:00"
    assert len(slots) == 10


def test_octopus_go_on_the_spring_clock_change_is_four_real_hours():
    # 29 March 2026: 01:00 GMT becomes 02:00 BST; 00:30-05:30 local = 00:30-04:30 UTC
    grid = TimeGrid.for_local_day(date(2026, 3, 29))
    assert grid.n_steps == 46
    slots = cheap_slots_utc(tou.octopus_go(), grid)
    assert slots[0] == "03-29 00:30"
    assert slots[-1] == "03-29 04:00"
    assert len(slots) == 8


def test_octopus_go_on_the_autumn_clock_change_is_six_real_hours():
    # 25 October 2026: 02:00 BST becomes 01:00 GMT; 00:30 BST = 23:30 UTC the day before
    grid = TimeGrid.for_local_day(date(2026, 10, 25))
    assert grid.n_steps == 50
    slots = cheap_slots_utc(tou.octopus_go(), grid)
    assert slots[0] == "10-24 23:30"
    assert slots[-1] == "10-25 05:00"
    assert len(slots) == 12


def test_economy_7_on_a_gmt_meter_ignores_summer_time():
    grid = TimeGrid.for_local_day(date(2026, 7, 1))
    local = cheap_slots_utc(tou.economy_7(clock="local"), grid)
    gmt = cheap_slots_utc(tou.economy_7(), grid)
    assert (local[0], local[-1]) == ("06-30 23:30", "07-01 06:00")  # 00:30-07:30 BST
    assert (gmt[0], gmt[-1]) == ("07-01 00:30", "07-01 07:00")  # 00:30-07:30 GMT
    assert len(local) == len(gmt) == 14


def test_cosy_has_three_cheap_windows_a_peak_and_a_window_to_midnight():
    grid = TimeGrid.for_local_day(date(2026, 1, 15))
    rates = tou.cosy_octopus(
        standard_gbp_per_kwh=0.25, cosy_gbp_per_kwh=0.13, peak_gbp_per_kwh=0.37
    )
    by_hour = rates.rates_on_grid(grid).groupby(grid.index.hour).first()
    assert by_hour[4] == by_hour[13] == by_hour[22] == by_hour[23] == 0.13
    assert by_hour[16] == by_hour[18] == 0.37
    assert by_hour[0] == by_hour[19] == 0.25


def test_flux_and_flat_and_intelligent_go():
    grid = TimeGrid.for_local_day(date(2026, 1, 15))
    flux = tou.flux(day_gbp_per_kwh=0.2, night_gbp_per_kwh=0.1, peak_gbp_per_kwh=0.3)
    rates = flux.rates_on_grid(grid, name="export_price_gbp_per_kwh")
    assert rates.name == "export_price_gbp_per_kwh"
    assert rates.value_counts().to_dict() == {0.2: 36, 0.1: 6, 0.3: 6}
    assert tou.flat(0.24).rates_on_grid(grid).eq(0.24).all()
    assert (tou.intelligent_octopus_go().rates_on_grid(grid) < 0.1).sum() == 12


def test_tariff_from_configuration():
    preset = tou.tariff_from_config({"preset": "octopus_go", "off_peak_gbp_per_kwh": 0.075})
    assert preset.windows[0].rate_gbp_per_kwh == 0.075
    custom = tou.tariff_from_config(
        {
            "name": "My E7",
            "default_rate_gbp_per_kwh": 0.3,
            "clock": "utc",
            "windows": [{"start": "00:30", "end": "07:30", "rate_gbp_per_kwh": 0.12}],
        }
    )
    grid = TimeGrid.for_local_day(date(2026, 1, 15))
    assert (custom.rates_on_grid(grid) == 0.12).sum() == 14
    with pytest.raises(ValueError, match="unknown tariff preset"):
        tou.tariff_from_config({"preset": "agile"})
    with pytest.raises(ValueError, match="lacks"):
        tou.tariff_from_config({"name": "x"})


def test_series_is_tz_aware_utc_on_the_grid():
    grid = TimeGrid.for_local_day(date(2026, 3, 29))
    rates = tou.octopus_go().rates_on_grid(grid)
    assert isinstance(rates.index, pd.DatetimeIndex)
    assert str(rates.index.tz) == "UTC"
    assert len(rates) == grid.n_steps
