"""Small hand-checkable problems shared by the optimiser tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from optimiser import Battery, TimeGrid

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
