"""SG-Ready for heat pumps that take nothing else: the plan's power mapped to one of the four
SG-Ready operating states (docs/devices.md, "MQTT", SG-Ready).

SG-Ready (the German heat-pump association's label) drives a heat pump through two relay
contacts; the four states are what the heat pump may do, not a power it holds, so the mapping
compares the planned power with the heat pump's rated electrical power.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum


class SgReadyState(IntEnum):
    """The four SG-Ready operating states."""

    BLOCKED = 1  # the utility's block: the heat pump stays off (limited by the heat pump)
    NORMAL = 2  # the heat pump's own control
    RECOMMENDED_ON = 3  # run more: raise the set temperatures (cheap or surplus power)
    FORCED_ON = 4  # run now at full power (and heat the tank's top up)


# (contact 1, contact 2) for each state, as the SG-Ready label defines them.
RELAYS: dict[SgReadyState, tuple[bool, bool]] = {
    SgReadyState.BLOCKED: (True, False),
    SgReadyState.NORMAL: (False, False),
    SgReadyState.RECOMMENDED_ON: (False, True),
    SgReadyState.FORCED_ON: (True, True),
}


@dataclass(frozen=True, slots=True)
class SgReadyThresholds:
    """Where the plan's power [kW] changes state, as fractions of ``rated_power_kw``.

    power < ``blocked_below`` x rated: 1 blocked (the plan wants the heat pump off);
    below ``recommended_from`` x rated: 2 normal; below ``forced_from`` x rated: 3 recommended
    on; from ``forced_from`` x rated: 4 forced on.
    """

    rated_power_kw: float
    blocked_below: float = 0.1
    recommended_from: float = 0.6
    forced_from: float = 0.9

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rated_power_kw) and self.rated_power_kw > 0):
            raise ValueError(f"rated_power_kw must be > 0, got {self.rated_power_kw}")
        if not 0 <= self.blocked_below <= self.recommended_from <= self.forced_from:
            raise ValueError(
                "SG-Ready thresholds must rise: 0 <= blocked_below <= recommended_from "
                f"<= forced_from, got {self.blocked_below}, {self.recommended_from}, "
                f"{self.forced_from}"
            )


def sg_ready_state(power_kw: float, thresholds: SgReadyThresholds) -> SgReadyState:
    """The SG-Ready state for a planned power [kW]."""
    if not math.isfinite(power_kw):
        raise ValueError(f"power_kw must be a finite number, got {power_kw}")
    # A hair of tolerance so a power exactly at a threshold (0.3 kW of 3 kW) is not put
    # below it by floating-point division.
    fraction = power_kw / thresholds.rated_power_kw + 1e-9
    if fraction < thresholds.blocked_below:
        return SgReadyState.BLOCKED
    if fraction < thresholds.recommended_from:
        return SgReadyState.NORMAL
    if fraction < thresholds.forced_from:
        return SgReadyState.RECOMMENDED_ON
    return SgReadyState.FORCED_ON
