"""Small hand-checkable problems shared by the optimiser tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from optimiser import Battery, ElectricVehicle, PlugInSession, TimeGrid

# A January day: UK local time equals UTC, so messages read the same in both.
START = datetime(2026, 1, 15, 0, 0, tzinfo=UTC)


@pytest.fixture
def hourly_grid() -> TimeGrid:
    """Ten one-hour slots from midnight."""
    return TimeGrid(start_utc=START, step_minutes=60, n_steps=10)


def battery(**overrides: object) -> Battery:
    """A 10 kWh, 5 kW battery at 50 %, with any field overridden."""
    args: dict[str, object] = {
        "capacity_kwh": 10.0,
        "initial_soc": 0.5,
        "max_charge_kw": 5.0,
        "max_discharge_kw": 5.0,
    }
    args.update(overrides)
    return Battery(**args)  # type: ignore[arg-type]


def plugged_ev(
    *,
    arrive_h: float,
    leave_h: float,
    arrival_soc: float,
    target_soc: float,
    capacity_kwh: float,
    charge_efficiency: float = 1.0,
    min_charge_kw: float = 1.4,
    max_charge_kw: float = 7.4,
    charge_now: bool = False,
) -> ElectricVehicle:
    """An EV named "EV" with one session from ``arrive_h`` to ``leave_h`` hours after START."""
    return ElectricVehicle(
        battery_capacity_kwh=capacity_kwh,
        charge_efficiency=charge_efficiency,
        min_charge_kw=min_charge_kw,
        max_charge_kw=max_charge_kw,
        sessions=(
            PlugInSession(
                arrival_utc=START + timedelta(hours=arrive_h),
                departure_utc=START + timedelta(hours=leave_h),
                arrival_soc=arrival_soc,
                target_soc=target_soc,
                charge_now=charge_now,
            ),
        ),
    )
