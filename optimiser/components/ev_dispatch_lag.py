"""The energy an EV's charger does not deliver because a rise of its setpoint takes time.

The service's dispatch (``hems/dispatch.py``, the Smart Charge Points Regulations) applies an
EV charge start or rate rise after a random delay, uniform in [0, max] (the previous setpoint
holds meanwhile), then walks the rise up at a ramp rate [kW/min]. A stop or a reduction to
zero is immediate; a reduction to a lower power is delayed too, but then the car gets *more*
than planned, which the model leaves out (it can only make the car exceed its target). So a
rise ``Δ = s_t - s_{t-1}`` of the setpoint (the power while the car is plugged in) at the start
of slot ``t`` loses, in expectation,

    g(Δ) = D Δ + Δ² / (2 r)    [kWh]   (D the expected delay [h], r the ramp rate [kW/h])

(the rise waits D at the old power, then climbs at r; the apply job's 15 s ticks add half a
tick of waiting and take away half a tick of ramp, so they cancel). ``g`` is convex, so the
model bounds the slot's loss ``l_t`` below by the chords of ``g`` over [0, P_max]
(``CHORDS`` pieces): ``l_t >= a_k (s_t - s_{t-1}) + b_k``, ``l_t >= 0``; the optimum sits on
the piecewise-linear interpolation of ``g``, which is above ``g`` by at most
``P_max² / (8 r CHORDS²)`` (0.004 kWh for 7.4 kW at 2 kW/min). The car's energy balance
loses ``η l_t``, but the site still draws ``p_t``: the lost energy is not drawn either, yet
a draw of ``p_t - l_t / Δ`` would let the plan raise ``l_t`` above the loss (only bounded
below) where energy is dear, a setpoint kept high for free, and the true draw, ``p_t`` less
a convex function, is not linear. So the plan pays for a rise's loss twice (once not
delivered, once replaced), which makes it a little shy of rises.

The plan's energy and SoC count the expected delay, but the departure target is planned
against the delay's bound (``longest_delay_s``): the car's energy at departure, less what its
rises would lose more at their longest delays, must reach the target. A kWh short costs the
consumer a 5 GBP penalty's worth, a kWh of margin only its price, and the next plan (every
slot) takes back a margin the delays did not use, while a deficit near a departure charged at
full power cannot be made up: the expected delay alone left a car arriving mid-slot 0.25 kWh
short in ``tests/hems/backtest/test_plug_events.py``.

The delay is 0 in slots a DSR request is in force (the dispatch draws none during a DSR
event) and in a "charge now" session (the consumer's boost is not delayed), and at most the
slot's plugged-in time. The first slot's previous setpoint is the power the charger runs at
when the plan is made (``ElectricVehicle.charging_kw``): a plan that keeps it draws no delay;
any other session starts from 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from optimiser.checks import FloatArray, number

CHORDS = 4
"""Pieces of the loss's piecewise-linear interpolation over [0, P_max]."""

Line = tuple[float, float]
"""A chord of the loss: slope [kWh/kW] and intercept [kWh]."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EvDispatchLag:
    """How a rise of an EV's charging setpoint reaches the car (all 0: at once, as before).

    Attributes:
        rise_delay_s: expected wait before a charge start or rate rise takes effect [s]
            (half the dispatch's randomised delay bound: 300 s for the regulations' 600 s).
        ramp_kw_per_min: rate at which a rise is then walked up [kW/min]; 0 = at once.
        longest_delay_s: the delay's bound [s]: the departure target is planned against
            it (0: against the expected one).
    """

    rise_delay_s: float = 0.0
    ramp_kw_per_min: float = 0.0
    longest_delay_s: float = 0.0

    def checked(self, where: str) -> EvDispatchLag:
        number(f"{where}.rise_delay_s", self.rise_delay_s, minimum=0)
        number(f"{where}.ramp_kw_per_min", self.ramp_kw_per_min, minimum=0)
        number(f"{where}.longest_delay_s", self.longest_delay_s, minimum=0)
        return self

    @property
    def active(self) -> bool:
        return self.rise_delay_s > 0 or self.ramp_kw_per_min > 0 or self.longest_delay_s > 0

    @property
    def planned_delay_s(self) -> float:
        """The delay the departure target is planned against [s]."""
        return max(self.rise_delay_s, self.longest_delay_s)

    def loss_kwh(self, rise_kw: float, delay_h: float) -> float:
        """``g(Δ)``: the exact expected loss of a rise [kWh] with the slot's delay [h]."""
        if rise_kw <= 0:
            return 0.0
        ramp = 0.0 if self.ramp_kw_per_min == 0 else rise_kw**2 / (120.0 * self.ramp_kw_per_min)
        return delay_h * rise_kw + ramp

    def chords(self, max_rise_kw: float, delay_h: float) -> list[Line]:
        """The chords of ``g`` over [0, ``max_rise_kw``] (one line when it is linear)."""
        pieces = CHORDS if self.ramp_kw_per_min > 0 else 1
        points = np.linspace(0.0, max(max_rise_kw, 1e-9), pieces + 1)
        lines: list[Line] = []
        for lo, hi in pairwise(points.tolist()):
            g_lo, g_hi = self.loss_kwh(lo, delay_h), self.loss_kwh(hi, delay_h)
            slope = (g_hi - g_lo) / (hi - lo)
            lines.append((slope, g_lo - slope * lo))
        return lines


def modelled_loss_kwh(lines: Sequence[Line], rise_kw: float) -> float:
    """The loss the model counts for a rise [kWh]: the interpolation of ``g`` (0 for none)."""
    return max(0.0, *(a * rise_kw + b for a, b in lines))


@dataclass(frozen=True, slots=True)
class RiseSlot:
    """A slot where a rise of the setpoint may lose energy: its predecessor in the session
    (None for the session's first slot, which starts from ``start_kw``), the plugged-in
    shares of both (a setpoint is the slot's average power over its share) and the chords
    of its expected loss and of its loss at the longest delay."""

    slot: int
    fraction: float
    previous: int | None
    previous_fraction: float
    start_kw: float
    lines: tuple[Line, ...]
    longest_lines: tuple[Line, ...]


def rise_slots(
    lag: EvDispatchLag,
    slots: Sequence[int],
    fractions: Sequence[float],
    *,
    step_h: float,
    max_rise_kw: float,
    start_kw: float,
    undelayed: set[int],
) -> list[RiseSlot]:
    """One session's slots with their loss chords: the delay is none in ``undelayed`` slots
    (a DSR request in force, a "charge now" session) and at most the slot's plugged-in time;
    the first slot rises from ``start_kw``."""
    out: list[RiseSlot] = []
    for i, (t, f) in enumerate(zip(slots, fractions, strict=True)):
        most_h = 0.0 if t in undelayed else f * step_h
        expected_h = min(lag.rise_delay_s / 3600.0, most_h)
        longest_h = min(lag.planned_delay_s / 3600.0, most_h)
        out.append(
            RiseSlot(
                slot=t,
                fraction=f,
                previous=slots[i - 1] if i else None,
                previous_fraction=fractions[i - 1] if i else 1.0,
                start_kw=start_kw if i == 0 else 0.0,
                lines=tuple(lag.chords(max_rise_kw, expected_h)),
                longest_lines=tuple(lag.chords(max_rise_kw, longest_h)),
            )
        )
    return out


def losses_kwh(
    rises: Sequence[RiseSlot], charge_kw: FloatArray, *, longest: bool = False
) -> FloatArray:
    """The loss the model counts per slot [kWh] for slot-average charging powers: expected,
    or with the ``longest`` delay."""
    out = np.zeros(len(charge_kw))
    for r in rises:
        before = r.start_kw if r.previous is None else charge_kw[r.previous] / r.previous_fraction
        lines = r.longest_lines if longest else r.lines
        out[r.slot] = modelled_loss_kwh(lines, float(charge_kw[r.slot] / r.fraction - before))
    return out
