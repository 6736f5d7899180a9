"""What a device reports and what it is asked to hold: the types the device drivers
(``adapters.devices``), the controller and dispatch (``hems``) and the simulated devices share.

The driver interface itself is ``adapters.devices.driver.DeviceDriver``. Sign convention:
positive power flows into the device from the home (charging, heating); negative power flows
out (battery discharge, PV generation).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


class DeviceUnavailableError(Exception):
    """The device did not answer or refused the request."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceState:
    """What a device reports.

    Attributes:
        at_utc: when the state was read (UTC).
        power_kw: power now [kW], signed as in the module docstring.
        soc: state of charge [0-1] (battery, EV), else None.
        temperature_c: indoor temperature [°C] (heat pump), else None.
        plugged_in: for an EV charger, whether a car is connected; else None.
        manual_override: the consumer overrode the device locally (reported to the DSRSP).
    """

    at_utc: datetime
    power_kw: float
    soc: float | None = None
    temperature_c: float | None = None
    plugged_in: bool | None = None
    manual_override: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Setpoint:
    """A power to hold [kW] (signed as in the module docstring) until the next setpoint.

    Attributes:
        power_kw: the power to hold [kW].
        follow_site: for a battery, ``power_kw`` is then a limit in the plan's direction
            rather than a power to hold, and the battery neither exports nor imports on its
            own: a discharge (``power_kw`` <= 0) covers the rest of the home's net load, up to
            ``|power_kw|``; a charge (``power_kw`` > 0) stores the home's net surplus, up to
            ``power_kw``, and covers a net deficit up to the battery's own limit (a battery
            inverter's self-consumption mode). Other devices ignore it.
        store_surplus: for a battery following the site with a discharge or no power
            (``power_kw`` <= 0), a net surplus of the home is stored too, up to the battery's
            own charge limit: PV the plan did not foresee, in a slot where it discharges for
            the home's load or keeps the battery's energy for later, is kept, not exported.
    """

    power_kw: float
    follow_site: bool = False
    store_surplus: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceCapabilities:
    """What a device reports it can do, read from the device itself (a SunSpec nameplate, an
    OCPP charger's configuration, an S2 system description, an MQTT device's ``capabilities``
    message): the optimiser's device spec is capped by it, so a plan never asks more than the
    device can do. Each field is None when the protocol or the device does not report it.

    Attributes:
        max_charge_kw: the most a battery charges or an EV charger delivers [kW].
        max_discharge_kw: the most a battery discharges [kW].
        max_power_kw: a PV inverter's rated AC power, a heat pump's electrical maximum [kW].
        capacity_kwh: a battery's usable energy capacity [kWh].
        phases: the AC phases the device is connected on (1-3).
        min_current_a: the least current per phase a charger can offer a car [A].
    """

    max_charge_kw: float | None = None
    max_discharge_kw: float | None = None
    max_power_kw: float | None = None
    capacity_kwh: float | None = None
    phases: int | None = None
    min_current_a: float | None = None


@dataclass(frozen=True, slots=True)
class MeterReading:
    """The site's meter (a SunSpec or Modbus energy meter, an MQTT consumer access device).

    Attributes:
        at_utc: when it was read.
        grid_kw: net power, positive importing [kW].
        import_kwh: energy imported so far (the meter's register) [kWh], None if not kept.
        export_kwh: energy exported so far [kWh], None if not kept.
    """

    at_utc: datetime
    grid_kw: float
    import_kwh: float | None
    export_kwh: float | None
