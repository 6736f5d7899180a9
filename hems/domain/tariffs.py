"""The tariffs UK homes with EVs, batteries and heat pumps are on, by product code, with their
rules (docs/service.md, "Tariffs").

A home's tariff is one of these products (``product`` is the code); each says its import and
export rates and its standing charge. The rates are parameters: the defaults are published
example rates (sources and dates in docs/service.md), not a region's current prices. Windows
are UK local wall-clock times (Economy 7 may keep GMT: ``clock="utc"``).

Intelligent Octopus Go's extra smart-charge slots: when Octopus schedules the car's charging
outside the 23:30-05:30 window, the whole home pays the off-peak rate in those slots. Octopus
decides them; the home is told them (``smart_charge_slots_utc``, from its planned dispatches)
and the planner sees those slots at the off-peak rate; none are assumed otherwise.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from hems.domain.base import DomainModel, LocalTime

Rate = Annotated[float, Field(ge=-2, le=5)]
"""A unit rate [GBP/kWh] (Agile's can be negative)."""
StandingCharge = Annotated[float, Field(ge=0, le=5)]
"""A standing charge [GBP/day]."""


class TariffProduct(DomainModel):
    """What every product has: its code and a standing charge [GBP/day]."""

    product: str
    standing_charge_gbp_per_day: StandingCharge = 0.60


class AgileTariff(TariffProduct):
    """Octopus Agile import with Agile Outgoing export: both half-hourly from the market (the
    service fetches them live; a backtest replays its data)."""

    product: Literal["agile"] = "agile"


class FlatTariff(TariffProduct):
    """One import rate all day, one export rate (Smart Export Guarantee or Outgoing Fixed)."""

    product: Literal["flat"] = "flat"
    import_gbp_per_kwh: Rate = 0.245
    export_gbp_per_kwh: Rate = 0.15


class OctopusGo(TariffProduct):
    """Octopus Go: ``off_peak`` 00:30-05:30 local, ``peak`` otherwise; flat export."""

    product: Literal["octopus_go"] = "octopus_go"
    peak_gbp_per_kwh: Rate = 0.245
    off_peak_gbp_per_kwh: Rate = 0.085
    export_gbp_per_kwh: Rate = 0.15


class IntelligentOctopusGo(TariffProduct):
    """Intelligent Octopus Go: ``off_peak`` 23:30-05:30 local and in the smart-charge slots
    Octopus grants (module docstring), ``peak`` otherwise; flat export."""

    product: Literal["intelligent_octopus_go"] = "intelligent_octopus_go"
    peak_gbp_per_kwh: Rate = 0.245
    off_peak_gbp_per_kwh: Rate = 0.075
    export_gbp_per_kwh: Rate = 0.15
    smart_charge_slots_utc: tuple[datetime, ...] = Field(default=(), max_length=96)

    @field_validator("smart_charge_slots_utc")
    @classmethod
    def _aware_half_hours(cls, slots: tuple[datetime, ...]) -> tuple[datetime, ...]:
        for slot in slots:
            if slot.tzinfo is None:
                raise ValueError("smart-charge slots need a UTC offset")
            if slot.minute % 30 or slot.second or slot.microsecond:
                raise ValueError(f"smart-charge slot {slot.isoformat()} is not a half-hour start")
        return slots

    def smart_charge_spans_utc(self) -> tuple[tuple[datetime, datetime], ...]:
        """The smart-charge slots as ``(start, end)`` spans, consecutive half-hours joined
        (what the consumer is shown)."""
        spans: list[tuple[datetime, datetime]] = []
        for slot in sorted(set(self.smart_charge_slots_utc)):
            end = slot + timedelta(minutes=30)
            if spans and spans[-1][1] == slot:
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((slot, end))
        return tuple(spans)


class CosyOctopus(TariffProduct):
    """Cosy Octopus: ``cosy`` 04:00-07:00, 13:00-16:00 and 22:00-00:00, ``peak`` 16:00-19:00,
    ``standard`` otherwise (local); flat export."""

    product: Literal["cosy_octopus"] = "cosy_octopus"
    standard_gbp_per_kwh: Rate = 0.2581
    cosy_gbp_per_kwh: Rate = 0.1265
    peak_gbp_per_kwh: Rate = 0.3742
    export_gbp_per_kwh: Rate = 0.15


class Flux(TariffProduct):
    """Octopus Flux: import and export each in three bands, night 02:00-05:00, peak
    16:00-19:00, day otherwise (local)."""

    product: Literal["flux"] = "flux"
    import_night_gbp_per_kwh: Rate = 0.2011
    import_day_gbp_per_kwh: Rate = 0.3352
    import_peak_gbp_per_kwh: Rate = 0.4693
    export_night_gbp_per_kwh: Rate = 0.0911
    export_day_gbp_per_kwh: Rate = 0.2252
    export_peak_gbp_per_kwh: Rate = 0.3593


class Economy7(TariffProduct):
    """Economy 7: ``night`` for seven hours (by the meter: GMT all year by default), ``day``
    otherwise; flat export."""

    product: Literal["economy_7"] = "economy_7"
    day_gbp_per_kwh: Rate = 0.30
    night_gbp_per_kwh: Rate = 0.13
    night_start: LocalTime = time(0, 30)
    night_end: LocalTime = time(7, 30)
    clock: Literal["local", "utc"] = "utc"
    export_gbp_per_kwh: Rate = 0.15


Tariff = Annotated[
    AgileTariff | FlatTariff | OctopusGo | IntelligentOctopusGo | CosyOctopus | Flux | Economy7,
    Field(discriminator="product"),
]
"""A home's tariff, chosen by its ``product`` code."""

PRODUCTS: dict[str, type[TariffProduct]] = {
    "agile": AgileTariff,
    "flat": FlatTariff,
    "octopus_go": OctopusGo,
    "intelligent_octopus_go": IntelligentOctopusGo,
    "cosy_octopus": CosyOctopus,
    "flux": Flux,
    "economy_7": Economy7,
}
"""Every product by its code."""


def _unknown(code: str) -> str:
    return f"unknown tariff product {code!r}; known: {', '.join(PRODUCTS)}"


def tariff_input(value: Any, legacy: dict[str, Any]) -> Any:
    """A tariff as given, with a bare product code (``"flux"``) taken as that product with its
    default rates, and the old ``"flat"`` taking the old ``flat_*`` rates from ``legacy``.

    Raises:
        ValueError: an unknown product code (the message lists the known ones).
    """
    if isinstance(value, dict):
        given = value.get("product")
        if isinstance(given, str) and given not in PRODUCTS:
            raise ValueError(_unknown(given))
        return value
    if not isinstance(value, str):
        return value
    code = value.strip().lower()
    if code not in PRODUCTS:
        raise ValueError(_unknown(value))
    out: dict[str, Any] = {"product": code}
    if code == "flat":
        for old, new in (
            ("flat_import_gbp_per_kwh", "import_gbp_per_kwh"),
            ("flat_export_gbp_per_kwh", "export_gbp_per_kwh"),
        ):
            if old in legacy:
                out[new] = legacy[old]
    return out
