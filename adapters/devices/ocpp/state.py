"""What the CSMS knows of a connected charger, filled in by its messages.

Both OCPP versions feed the same record: BootNotification the identity, StatusNotification and
(2.0.1) TransactionEvent the plug state and the transaction, MeterValues (and the meter values
inside a TransactionEvent) power, energy and the car's SoC.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from kernel.devices import DeviceCapabilities

log = logging.getLogger(__name__)

# Multipliers to W / Wh for the units OCPP's UnitOfMeasure allows for power and energy.
_TO_BASE = {"W": 1.0, "kW": 1000.0, "Wh": 1.0, "kWh": 1000.0}
_DEFAULT_UNIT = {"SoC": "Percent", "Power.Active.Import": "W"}


@dataclass(frozen=True, slots=True)
class ChargerInfo:
    """A charger's identity as its BootNotification gave it."""

    vendor: str
    model: str
    serial: str | None
    firmware: str | None


class ChargerEvent(StrEnum):
    """What a CSMS listener hears about a charger (``Csms.subscribe``): a plug-in or out is
    the service's cue to re-plan, a boot or reconnection to send the plan again."""

    BOOTED = "booted"
    PLUGGED_IN = "plugged_in"
    UNPLUGGED = "unplugged"
    FAULTED = "faulted"
    DISCONNECTED = "disconnected"


def _ignore(event: ChargerEvent) -> None:
    """No listener."""


@dataclass(slots=True)
class ChargerLive:
    """A charger's last known state; written by its connection, read by its driver."""

    connected: bool = False
    ocpp_version: str | None = None
    info: ChargerInfo | None = None
    last_seen_monotonic_s: float = 0.0
    plugged_in: bool | None = None
    power_kw: float = 0.0
    energy_kwh: float | None = None
    soc: float | None = None
    transaction_id: str | None = None
    faulted: bool = False
    capabilities: DeviceCapabilities | None = None
    """What the charger reported it can do after its last boot (None: not asked yet)."""
    notify: Callable[[ChargerEvent], None] = field(default=_ignore, repr=False, compare=False)

    def set_plugged(self, plugged: bool) -> bool:
        """Record the plug state; a change is notified. Returns whether it changed."""
        changed = plugged != self.plugged_in
        self.plugged_in = plugged
        if not plugged:
            self.power_kw = 0.0
        if changed:
            self.notify(ChargerEvent.PLUGGED_IN if plugged else ChargerEvent.UNPLUGGED)
        return changed

    def set_faulted(self, faulted: bool) -> None:
        """Record whether the charger reports a fault; a new fault is notified."""
        if faulted and not self.faulted:
            self.notify(ChargerEvent.FAULTED)
        self.faulted = faulted

    def seen(self) -> None:
        """Any message from the charger shows it is alive."""
        self.last_seen_monotonic_s = time.monotonic()


@dataclass(frozen=True, slots=True)
class MeterReading:
    """What one MeterValues sample held; None where the charger did not report it."""

    power_w: float | None = None
    energy_wh: float | None = None
    soc_percent: float | None = None


def read_meter_values(identity: str, meter_value: Sequence[Mapping[str, Any]]) -> MeterReading:
    """The newest power, energy and SoC in a MeterValues list (1.6 or 2.0.1, snake_case keys).

    A sample the CSMS cannot read (not a number, unknown unit) is logged and skipped, so one
    bad value never drops the rest.
    """
    power_w: float | None = None
    energy_wh: float | None = None
    soc: float | None = None
    for entry in meter_value:
        for sample in entry.get("sampled_value", []):
            measurand = sample.get("measurand", "Energy.Active.Import.Register")
            if sample.get("phase") is not None:
                continue  # per-phase values: the totals are used
            try:
                value = float(sample["value"])
            except (KeyError, TypeError, ValueError):
                log.warning("charger %s: unreadable meter sample %r skipped", identity, sample)
                continue
            unit, multiplier = _unit_of(sample)
            if measurand == "SoC":
                soc = value
            elif measurand in ("Power.Active.Import", "Energy.Active.Import.Register"):
                scale = _TO_BASE.get(unit)
                if scale is None:
                    log.warning(
                        "charger %s: %s in unknown unit %r skipped", identity, measurand, unit
                    )
                    continue
                base = value * scale * 10.0**multiplier
                if measurand == "Power.Active.Import":
                    power_w = base
                else:
                    energy_wh = base
    return MeterReading(power_w=power_w, energy_wh=energy_wh, soc_percent=soc)


def _unit_of(sample: Mapping[str, Any]) -> tuple[str, int]:
    """(unit, power-of-ten multiplier): 1.6 has ``unit``, 2.0.1 ``unit_of_measure``."""
    measure = sample.get("unit_of_measure")
    if isinstance(measure, Mapping):
        multiplier = measure.get("multiplier", 0)
        return str(measure.get("unit", "Wh")), multiplier if isinstance(multiplier, int) else 0
    measurand = str(sample.get("measurand", ""))
    return str(sample.get("unit", _DEFAULT_UNIT.get(measurand, "Wh"))), 0


def apply_reading(live: ChargerLive, reading: MeterReading) -> None:
    """Fold a meter reading into the live record."""
    if reading.power_w is not None:
        live.power_kw = reading.power_w / 1000.0
    if reading.energy_wh is not None:
        live.energy_kwh = reading.energy_wh / 1000.0
    if reading.soc_percent is not None:
        live.soc = min(max(reading.soc_percent / 100.0, 0.0), 1.0)
