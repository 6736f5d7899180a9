"""A power in kW as an FRBC operation mode and factor, and a plan as FRBC instructions.

Under fill-rate based control (FRBC) the RM describes its actuator as operation modes (for a
battery: charge, idle, discharge), each with a power range per fill-level band; the CEM picks
a mode and an ``operation_mode_factor`` in [0, 1] that places the power within the mode's
range. The RM carries out each instruction at its ``execution_time`` on its own clock, so a
plan sent as instructions with start times is followed without the CEM in the loop.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from s2python.common import CommodityQuantity, NumberRange
from s2python.frbc import (
    FRBCActuatorDescription,
    FRBCInstruction,
    FRBCOperationMode,
    FRBCOperationModeElement,
    FRBCSystemDescription,
)

from adapters.devices.capabilities import reported_capabilities
from kernel.devices import DeviceCapabilities

_ELECTRIC = frozenset(
    {
        CommodityQuantity.ELECTRIC_POWER_L1,
        CommodityQuantity.ELECTRIC_POWER_L2,
        CommodityQuantity.ELECTRIC_POWER_L3,
        CommodityQuantity.ELECTRIC_POWER_3_PHASE_SYMMETRIC,
    }
)


@dataclass(frozen=True, slots=True)
class PlanStep:
    """From ``start_utc`` the device should hold ``power_kw`` [kW] (until the next step)."""

    start_utc: datetime
    power_kw: float


@dataclass(frozen=True, slots=True)
class ModeChoice:
    """An operation mode of an actuator and the factor that gives the power asked."""

    actuator_id: uuid.UUID
    operation_mode_id: uuid.UUID
    factor: float
    power_kw: float  # the power this choice gives (the one asked, clipped to what the RM offers)


def electric_power_kw(element: FRBCOperationModeElement, factor: float) -> float:
    """The element's electric power at ``factor`` [kW], summed over phases (S2: W, positive
    consumed from the grid, as this project's convention)."""
    total_w = 0.0
    for power_range in element.power_ranges:
        if power_range.commodity_quantity in _ELECTRIC:
            start, end = power_range.start_of_range, power_range.end_of_range
            total_w += start + (end - start) * factor
    return total_w / 1000.0


def fill_fraction(level: float, fill_range: NumberRange) -> float | None:
    """``level`` as a fraction of the storage's fill-level range, clipped to [0, 1]; None when
    the range is empty or the level not finite (garbage)."""
    span = fill_range.end_of_range - fill_range.start_of_range
    if span == 0 or not math.isfinite(level):
        return None
    return min(max((level - fill_range.start_of_range) / span, 0.0), 1.0)


def _element_at(mode: FRBCOperationMode, fill_level: float | None) -> FRBCOperationModeElement:
    """The mode's element for ``fill_level`` (the first one when the level is not known)."""
    if fill_level is not None:
        for element in mode.elements:
            band = element.fill_level_range
            if (
                min(band.start_of_range, band.end_of_range)
                <= fill_level
                <= max(band.start_of_range, band.end_of_range)
            ):
                return element
    return mode.elements[0]


def choose_mode(
    actuator: FRBCActuatorDescription, fill_level: float | None, power_kw: float
) -> ModeChoice:
    """The normal (not abnormal-condition-only) mode and factor whose power is nearest to
    ``power_kw`` at ``fill_level``: exact inside a mode's range, else the nearest end of the
    nearest range (a battery asked for more than it offers runs at its limit). Of modes that
    give the power equally well, the one with the narrowest range: 0 kW is a battery's idle
    mode, not its charge mode at factor 0.

    Raises:
        ValueError: ``power_kw`` is not finite, or the actuator has no normal mode with an
            electric power range.
    """
    if not math.isfinite(power_kw):
        raise ValueError(f"power {power_kw!r} kW is not a finite number")
    best: tuple[tuple[float, float], ModeChoice] | None = None
    for mode in actuator.operation_modes:
        if mode.abnormal_condition_only:
            continue
        element = _element_at(mode, fill_level)
        if not any(r.commodity_quantity in _ELECTRIC for r in element.power_ranges):
            continue
        low_kw, high_kw = electric_power_kw(element, 0.0), electric_power_kw(element, 1.0)
        if low_kw == high_kw:
            factor = 0.0
        else:
            factor = min(max((power_kw - low_kw) / (high_kw - low_kw), 0.0), 1.0)
        reached_kw = electric_power_kw(element, factor)
        choice = ModeChoice(actuator.id, mode.id, factor, reached_kw)
        # nearest first; on a tie the narrowest range (0 kW is idle, not charge at factor 0)
        rank = (abs(reached_kw - power_kw), abs(high_kw - low_kw))
        if best is None or rank < best[0]:
            best = (rank, choice)
    if best is None:
        raise ValueError(f"actuator {actuator.id} has no normal operation mode with electric power")
    return best[1]


_PHASES = {
    CommodityQuantity.ELECTRIC_POWER_L1,
    CommodityQuantity.ELECTRIC_POWER_L2,
    CommodityQuantity.ELECTRIC_POWER_L3,
}
_ENERGY_LABELS_KWH = {"kwh": 1.0, "wh": 0.001}
"""Fill-level labels that are an energy (the storage's range is then its capacity) [kWh each]."""


def system_capabilities(rm: str, description: FRBCSystemDescription) -> DeviceCapabilities:
    """What an RM's FRBC system description says its device can do: the highest electric
    power of the actuator's normal modes as ``max_charge_kw`` and ``max_power_kw`` (a battery
    charging, a heat pump running), the lowest below zero as ``max_discharge_kw``, the phases
    its power ranges name (three for ``3_PHASE_SYMMETRIC``) and, when the fill level is an
    energy (label ``kWh`` or ``Wh``), the storage's range as ``capacity_kwh``."""
    highest = lowest = None
    quantities: set[CommodityQuantity] = set()
    for mode in the_actuator(description).operation_modes:
        if mode.abnormal_condition_only:
            continue
        for element in mode.elements:
            quantities |= {r.commodity_quantity for r in element.power_ranges}
            for factor in (0.0, 1.0):
                kw = electric_power_kw(element, factor)
                highest = kw if highest is None else max(highest, kw)
                lowest = kw if lowest is None else min(lowest, kw)
    phases = len(quantities & _PHASES) or None
    if CommodityQuantity.ELECTRIC_POWER_3_PHASE_SYMMETRIC in quantities:
        phases = 3
    storage = description.storage
    unit_kwh = _ENERGY_LABELS_KWH.get((storage.fill_level_label or "").strip().lower())
    capacity = None
    if unit_kwh is not None:
        fill = storage.fill_level_range
        capacity = abs(fill.end_of_range - fill.start_of_range) * unit_kwh
    return reported_capabilities(
        rm,
        max_charge_kw=highest if highest is not None and highest > 0 else None,
        max_power_kw=highest if highest is not None and highest > 0 else None,
        max_discharge_kw=-lowest if lowest is not None and lowest < 0 else None,
        phases=phases,
        capacity_kwh=capacity,
    )


def the_actuator(description: FRBCSystemDescription) -> FRBCActuatorDescription:
    """The actuator the driver commands: the system's only one (S2 allows several; a battery
    or heat pump has one). With several, the first is used."""
    return description.actuators[0]


def instruction_for(
    description: FRBCSystemDescription,
    fill_level: float | None,
    power_kw: float,
    execution_utc: datetime,
) -> tuple[FRBCInstruction, ModeChoice]:
    """The FRBC.Instruction that holds ``power_kw`` from ``execution_utc`` (timezone-aware)."""
    if execution_utc.tzinfo is None:
        raise ValueError("an instruction's execution time needs a timezone")
    choice = choose_mode(the_actuator(description), fill_level, power_kw)
    instruction = FRBCInstruction(
        message_id=uuid.uuid4(),
        id=uuid.uuid4(),
        actuator_id=choice.actuator_id,
        operation_mode=choice.operation_mode_id,
        operation_mode_factor=choice.factor,
        execution_time=execution_utc.astimezone(UTC),
        abnormal_condition=False,
    )
    return instruction, choice


def plan_powers(
    steps: Sequence[PlanStep], end_utc: datetime | None
) -> list[tuple[datetime, float]]:
    """The (start, power) changes of a plan, in time order, with 0 kW (idle) at ``end_utc``.

    Raises:
        ValueError: no steps, times not timezone-aware or out of order, a power that is not
            finite, or an end not after the last step.
    """
    if not steps:
        raise ValueError("a plan needs at least one step")
    if any(step.start_utc.tzinfo is None for step in steps):
        raise ValueError("plan steps need timezone-aware start times")
    changes: list[tuple[datetime, float]] = []
    for previous, step in zip([None, *steps[:-1]], steps, strict=True):
        if not math.isfinite(step.power_kw):
            raise ValueError(f"plan step at {step.start_utc}: power is not a finite number")
        if previous is not None and step.start_utc <= previous.start_utc:
            raise ValueError("plan steps must be in time order")
        if changes and changes[-1][1] == step.power_kw:
            continue
        changes.append((step.start_utc, step.power_kw))
    if end_utc is not None:
        if end_utc <= steps[-1].start_utc:
            raise ValueError("the plan's end must come after its last step")
        if changes[-1][1] != 0.0:
            changes.append((end_utc, 0.0))
    return changes
