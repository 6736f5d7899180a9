"""The shared vocabulary: one type per concept, whichever package names it, and the strings
that storage and the OpenADR wire already hold."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import get_type_hints

import optimiser
from adapters.openadr import hooks, vocab
from kernel import SITE, DsrKind, OptType, TimeGrid, grid_index


def test_the_packages_share_one_grid_and_one_dsr_kind():
    assert optimiser.TimeGrid is TimeGrid
    assert optimiser.DsrKind is DsrKind
    assert get_type_hints(hooks.DispatchRequest)["kind"] is DsrKind  # the VEN's requests


def test_the_enum_values_are_the_strings_already_stored_and_sent():
    assert [k.value for k in DsrKind] == ["import_cap", "export_floor", "setpoint", "reduction"]
    assert [o.value for o in OptType] == ["optIn", "optOut"]
    assert OptType("optOut") is OptType.OPT_OUT
    assert f"event.{OptType.OPT_IN}" == "event.optIn"  # the audit action's spelling
    assert SITE == "site"
    assert not hasattr(vocab, "OptType")  # one enum, not a second copy in the VEN's vocab


def test_grid_index_is_the_utc_slot_starts_in_nanoseconds():
    grid = TimeGrid(start_utc=datetime(2026, 3, 29, tzinfo=UTC), step_minutes=30, n_steps=4)
    index = grid_index(grid)
    assert index.name == "slot_start_utc"
    assert str(index.tz) == "UTC"
    assert index.unit == "ns"
    assert list(index.strftime("%H:%M")) == ["00:00", "00:30", "01:00", "01:30"]
    index.name = "renamed"  # a view: the cached index keeps its name
    assert grid_index(grid).name == "slot_start_utc"


def test_drivers_and_the_house_share_the_device_types():
    from adapters.devices import driver
    from kernel import devices

    for name in ("DeviceState", "Setpoint", "DeviceUnavailableError"):
        assert getattr(driver, name) is getattr(devices, name), name
    assert sorted(driver.__all__) == [
        "DeviceDriver",
        "DeviceState",
        "DeviceUnavailableError",
        "Setpoint",
    ]
