"""Reported capabilities are checked before they are kept: a value no home device has (not a
number, zero, negative, beyond any home device) is logged and dropped, never raised."""

from __future__ import annotations

import logging
import math

import pytest

from adapters.devices.capabilities import reported_capabilities
from kernel.devices import DeviceCapabilities


def test_plausible_values_are_kept() -> None:
    values: dict[str, float] = {
        "max_charge_kw": 7.4,
        "max_discharge_kw": 3,
        "max_power_kw": 22.0,
        "capacity_kwh": 13.5,
        "phases": 3,
        "min_current_a": 6.0,
    }
    assert reported_capabilities("ev", **values) == DeviceCapabilities(**values)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_charge_kw", 0.0),
        ("max_charge_kw", -5.0),
        ("max_charge_kw", math.nan),
        ("max_charge_kw", math.inf),
        ("max_charge_kw", 1e9),
        ("max_discharge_kw", True),
        ("capacity_kwh", 1e6),
        ("phases", 0),
        ("phases", 4),
        ("phases", 2.5),
        ("min_current_a", -6.0),
        ("min_current_a", "6"),
    ],
)
def test_nonsense_is_logged_and_dropped(
    field: str, value: object, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    caps = reported_capabilities("battery", **{field: value, "max_power_kw": 4.0})  # type: ignore[arg-type]
    assert getattr(caps, field) is None
    assert caps.max_power_kw == 4.0  # the sound value beside it kept
    assert any(
        f"device battery reported an implausible {field}" in r.getMessage() for r in caplog.records
    )
