"""Shared helpers for the adapter tests: the fixtures folder, a fast retry policy, a grid."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.http import RetryPolicy
from optimiser import TimeGrid

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# three attempts, no waiting: retry behaviour without slowing the suite
FAST = RetryPolicy(timeout_s=1.0, attempts=3, backoff_s=0.0)
START = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def fixture_json(relative: str) -> Any:
    """A recorded payload from tests/fixtures."""
    return json.loads((FIXTURES / relative).read_text(encoding="utf-8"))


@pytest.fixture
def grid() -> TimeGrid:
    """Four hours of half-hours from 12:00 UTC on a January day (local time = UTC)."""
    return TimeGrid(start_utc=START, step_minutes=30, n_steps=8)
