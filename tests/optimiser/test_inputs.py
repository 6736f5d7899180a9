"""Bad input raises a ProblemError that names the field, before any solve."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from optimiser import (
    ElectricVehicle,
    PlugInSession,
    Problem,
    ProblemError,
    TimeGrid,
    carbon_weight_from_preference,
)

from .conftest import START
from .conftest import battery as _battery


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"import_price_gbp_per_kwh": [0.1] * 9 + [float("nan")]}, "import_price_gbp_per_kwh"),
        ({"import_price_gbp_per_kwh": [0.1] * 7}, "import_price_gbp_per_kwh"),
        ({"base_load_kw": -1.0}, "base_load_kw"),
        ({"carbon_intensity_g_per_kwh": [float("inf")] * 10}, "carbon_intensity_g_per_kwh"),
        ({"batteries": (_battery(capacity_kwh=-5.0),)}, "batteries[0].capacity_kwh"),
        ({"batteries": (_battery(initial_soc=1.05),)}, "batteries[0].initial_soc"),
        ({"batteries": (_battery(charge_efficiency=0.0),)}, "batteries[0].charge_efficiency"),
        ({"batteries": (_battery(), _battery())}, "assets"),
        ({"base_load_kw": 30.0}, "base_load_kw"),
    ],
)
def test_bad_input_names_the_field(hourly_grid, kwargs, field):
    args = {"grid": hourly_grid, "import_price_gbp_per_kwh": 0.2, **kwargs}
    with pytest.raises(ProblemError) as err:
        Problem(**args)
    assert err.value.field == field


def test_departure_before_arrival_is_rejected(hourly_grid):
    ev = ElectricVehicle(
        battery_capacity_kwh=60,
        sessions=(
            PlugInSession(
                arrival_utc=START + timedelta(hours=5),
                departure_utc=START + timedelta(hours=2),
                arrival_soc=0.2,
                target_soc=0.8,
            ),
        ),
    )
    with pytest.raises(ProblemError, match="departure") as err:
        Problem(grid=hourly_grid, import_price_gbp_per_kwh=0.2, evs=(ev,))
    assert err.value.field == "evs[0].sessions[0].departure_utc"


def test_a_heat_pump_needs_an_outdoor_temperature(hourly_grid):
    from optimiser import Building, CopCurve, HeatPump

    hp = HeatPump(
        max_power_kw=3,
        cop=CopCurve(outdoor_temperature_c=(0.0,), cop=(3.0,)),
        building=Building(
            heat_loss_kw_per_k=0.2, thermal_capacity_kwh_per_k=5, initial_indoor_temperature_c=20
        ),
    )
    with pytest.raises(ProblemError) as err:
        Problem(grid=hourly_grid, import_price_gbp_per_kwh=0.2, heat_pumps=(hp,))
    assert err.value.field == "outdoor_temperature_c"


def test_grid_rejects_naive_and_misaligned_starts():
    with pytest.raises(ProblemError, match="timezone-aware"):
        TimeGrid(start_utc=datetime(2026, 1, 1), step_minutes=30, n_steps=4)
    with pytest.raises(ProblemError, match="boundary"):
        TimeGrid(start_utc=datetime(2026, 1, 1, 0, 10, tzinfo=UTC), step_minutes=30, n_steps=4)
    with pytest.raises(ProblemError, match="step_minutes"):
        TimeGrid(start_utc=START, step_minutes=20, n_steps=4)


@pytest.mark.parametrize(
    ("day", "slots"), [(date(2026, 3, 29), 46), (date(2026, 10, 25), 50), (date(2026, 6, 1), 48)]
)
def test_local_days_have_46_48_or_50_half_hours(day, slots):
    grid = TimeGrid.for_local_day(day)
    assert grid.n_steps == slots
    local = grid.local_index()
    assert local[0].hour == 0
    assert (grid.end_utc - grid.start_utc) == timedelta(minutes=30 * slots)


def test_starting_at_floors_to_the_step():
    grid = TimeGrid.starting_at(datetime(2026, 1, 1, 10, 47, tzinfo=UTC), step_minutes=15)
    assert grid.start_utc == datetime(2026, 1, 1, 10, 45, tzinfo=UTC)
    assert grid.n_steps == 192


def test_carbon_preference_maps_linearly_and_rejects_out_of_range():
    assert carbon_weight_from_preference(0.0) == 0.0
    assert carbon_weight_from_preference(0.5) == pytest.approx(0.25)
    with pytest.raises(ProblemError):
        carbon_weight_from_preference(1.5)
