"""A power as an FRBC operation mode and factor, and a plan as the changes of power to send:
hand-checkable cases on the test battery's system description (charge 0..5 kW, idle,
discharge -5..0 kW) and on a mode whose power depends on the fill level."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from s2python.common import CommodityQuantity, NumberRange, PowerRange
from s2python.frbc import FRBCActuatorDescription, FRBCOperationMode, FRBCOperationModeElement

from adapters.devices.s2.frbc import (
    PlanStep,
    choose_mode,
    fill_fraction,
    instruction_for,
    plan_powers,
    the_actuator,
)
from tests.adapters.devices.s2_resource_manager import (
    CHARGE,
    DISCHARGE,
    IDLE,
    system_description,
)

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
DESCRIPTION = system_description(5000.0)


@pytest.mark.parametrize(
    ("power_kw", "mode", "factor", "reached_kw"),
    [
        (2.5, CHARGE, 0.5, 2.5),
        (5.0, CHARGE, 1.0, 5.0),
        (7.0, CHARGE, 1.0, 5.0),  # beyond the range: its end
        (0.0, IDLE, 0.0, 0.0),
        (-2.0, DISCHARGE, 0.6, -2.0),
        (-9.0, DISCHARGE, 0.0, -5.0),
    ],
)
def test_a_power_is_the_mode_and_factor_that_give_it(
    power_kw: float, mode: uuid.UUID, factor: float, reached_kw: float
) -> None:
    choice = choose_mode(the_actuator(DESCRIPTION), 50.0, power_kw)
    assert choice.operation_mode_id == mode
    assert choice.factor == pytest.approx(factor)
    assert choice.power_kw == pytest.approx(reached_kw)


def test_the_element_for_the_fill_level_is_used_and_abnormal_modes_are_not() -> None:
    quantity = CommodityQuantity.ELECTRIC_POWER_L1

    def element(low: float, high: float, max_w: float) -> FRBCOperationModeElement:
        return FRBCOperationModeElement(
            fill_level_range=NumberRange(start_of_range=low, end_of_range=high),
            fill_rate=NumberRange(start_of_range=0.0, end_of_range=1.0),
            power_ranges=[
                PowerRange(start_of_range=0.0, end_of_range=max_w, commodity_quantity=quantity)
            ],
        )

    tapering = FRBCOperationMode(
        id=uuid.uuid4(),
        abnormal_condition_only=False,
        elements=[element(0.0, 80.0, 4000.0), element(80.0, 100.0, 1000.0)],
    )
    emergency = FRBCOperationMode(
        id=uuid.uuid4(), abnormal_condition_only=True, elements=[element(0.0, 100.0, 9000.0)]
    )
    actuator = FRBCActuatorDescription(
        id=uuid.uuid4(),
        supported_commodities=["ELECTRICITY"],
        operation_modes=[tapering, emergency],
        transitions=[],
        timers=[],
    )
    assert choose_mode(actuator, 50.0, 2.0).factor == pytest.approx(0.5)
    nearly_full = choose_mode(actuator, 90.0, 2.0)
    assert nearly_full.factor == 1.0
    assert nearly_full.power_kw == pytest.approx(1.0)
    assert choose_mode(actuator, None, 8.0).operation_mode_id == tapering.id
    with pytest.raises(ValueError, match="finite"):
        choose_mode(actuator, 50.0, math.inf)


def test_an_instruction_needs_an_aware_time() -> None:
    instruction, _ = instruction_for(DESCRIPTION, None, 1.0, T0)
    assert instruction.execution_time == T0
    assert instruction.operation_mode == CHARGE
    with pytest.raises(ValueError, match="timezone"):
        instruction_for(DESCRIPTION, None, 1.0, T0.replace(tzinfo=None))


def test_a_plan_is_its_changes_of_power_and_idles_at_its_end() -> None:
    half_hour = timedelta(minutes=30)
    steps = [PlanStep(T0, 2.0), PlanStep(T0 + half_hour, 2.0), PlanStep(T0 + 2 * half_hour, -1.0)]
    assert plan_powers(steps, None) == [(T0, 2.0), (T0 + 2 * half_hour, -1.0)]
    assert plan_powers(steps, T0 + 3 * half_hour)[-1] == (T0 + 3 * half_hour, 0.0)
    assert plan_powers([PlanStep(T0, 0.0)], T0 + half_hour) == [(T0, 0.0)]


@pytest.mark.parametrize(
    ("steps", "end", "reason"),
    [
        ([], None, "at least one step"),
        ([PlanStep(T0.replace(tzinfo=None), 1.0)], None, "timezone"),
        ([PlanStep(T0, 1.0), PlanStep(T0, 2.0)], None, "time order"),
        ([PlanStep(T0, 1.0), PlanStep(T0 + timedelta(1), 1.0), PlanStep(T0, 2.0)], None, "order"),
        ([PlanStep(T0, math.nan)], None, "finite"),
        ([PlanStep(T0, 1.0)], T0, "end"),
    ],
)
def test_steps_that_make_no_plan_are_refused(
    steps: list[PlanStep], end: datetime | None, reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        plan_powers(steps, end)


def test_the_fill_level_as_a_fraction_of_its_range() -> None:
    percent = NumberRange(start_of_range=0.0, end_of_range=100.0)
    assert fill_fraction(25.0, percent) == 0.25
    assert fill_fraction(120.0, percent) == 1.0
    assert fill_fraction(math.nan, percent) is None
    assert fill_fraction(5.0, NumberRange(start_of_range=5.0, end_of_range=5.0)) is None
