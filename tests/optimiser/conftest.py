"""Small hand-checkable problems shared by the optimiser tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from optimiser import TimeGrid

# A January day: UK local time equals UTC, so messages read the same in both.
START = datetime(2026, 1, 15, 0, 0, tzinfo=UTC)


@pytest.fixture
def hourly_grid() -> TimeGrid:
    """Ten one-hour slots from midnight."""
    return TimeGrid(start_utc=START, step_minutes=60, n_steps=10)
