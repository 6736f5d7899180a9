"""The bound re-plans when its building is colder than its plan said."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from hems.backtest.foresight_drift import DRIFT_TOLERANCE_K, building_colder_than_planned
from hems.demo import demo_home_spec
from kernel.devices import DeviceState

START = datetime(2026, 1, 12, tzinfo=UTC)
SLOT = timedelta(minutes=30)


def _schedule() -> pd.DataFrame:
    """A plan from START whose building ends its first slot at 20.0 °C, its second at 20.5."""
    index = pd.DatetimeIndex([START, START + SLOT, START + 2 * SLOT])
    return pd.DataFrame({"Heat pump.indoor_c": [20.0, 20.5, 20.5]}, index=index)


def _states(indoor_c: float, at: datetime) -> dict[str, DeviceState]:
    return {"Heat pump": DeviceState(at_utc=at, power_kw=1.0, temperature_c=indoor_c)}


@pytest.mark.parametrize(
    ("indoor_c", "drifted"),
    [
        (20.0, False),  # as planned
        (20.3, False),  # warmer than planned: no comfort at stake
        (20.0 - DRIFT_TOLERANCE_K / 2, False),  # within the tolerance
        (20.0 - 2 * DRIFT_TOLERANCE_K, True),
    ],
)
def test_a_building_colder_than_its_plan_said_is_a_drift(indoor_c: float, drifted: bool) -> None:
    now = START + SLOT  # the plan said 20.0 °C at the end of its first slot
    home = demo_home_spec()
    assert building_colder_than_planned(home, _schedule(), _states(indoor_c, now), now, SLOT) is (
        drifted
    )


def test_the_plans_first_slot_and_slots_past_its_end_are_never_a_drift() -> None:
    home = demo_home_spec()
    for now in (START, START + 4 * SLOT):
        assert not building_colder_than_planned(home, _schedule(), _states(0.0, now), now, SLOT)


def test_a_home_without_a_heat_pump_never_drifts() -> None:
    home = demo_home_spec()
    home = home.model_copy(update={"devices": [d for d in home.devices if d.name != "Heat pump"]})
    now = START + SLOT
    assert not building_colder_than_planned(home, _schedule(), _states(0.0, now), now, SLOT)
