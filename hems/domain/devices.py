"""Device (ESA) descriptions: what each device can physically do. Powers [kW], energies [kWh],
temperatures [°C]."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from hems.domain.base import DomainModel


class DeviceKind(StrEnum):
    PV = "pv"
    BATTERY = "battery"
    EV_CHARGER = "ev_charger"
    HEAT_PUMP = "heat_pump"


class _Spec(DomainModel):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9 _\-]+$")


class PvSpec(_Spec):
    """A PV array: peak power [kWp], orientation [degrees] and inverter limit [kW]."""

    kind: Literal[DeviceKind.PV] = DeviceKind.PV
    peak_kw: float = Field(gt=0, le=100)
    tilt_deg: float = Field(default=35.0, ge=0, le=90)
    azimuth_deg: float = Field(default=180.0, ge=0, lt=360)
    inverter_limit_kw: float | None = Field(default=None, gt=0, le=100)


class BatterySpec(_Spec):
    """A home battery."""

    kind: Literal[DeviceKind.BATTERY] = DeviceKind.BATTERY
    capacity_kwh: float = Field(gt=0, le=200)
    max_charge_kw: float = Field(gt=0, le=50)
    max_discharge_kw: float = Field(gt=0, le=50)
    charge_efficiency: float = Field(default=0.95, gt=0, le=1)
    discharge_efficiency: float = Field(default=0.95, gt=0, le=1)
    min_soc: float = Field(default=0.05, ge=0, lt=1)
    degradation_gbp_per_kwh: float = Field(default=0.02, ge=0, le=1)


class EvChargerSpec(_Spec):
    """An EV charger and the car that uses it."""

    kind: Literal[DeviceKind.EV_CHARGER] = DeviceKind.EV_CHARGER
    vehicle_capacity_kwh: float = Field(gt=0, le=250)
    min_charge_kw: float = Field(default=1.4, ge=0)
    max_charge_kw: float = Field(default=7.4, gt=0, le=22)
    charge_efficiency: float = Field(default=0.9, gt=0, le=1)

    @model_validator(mode="after")
    def _range(self) -> EvChargerSpec:
        if self.min_charge_kw > self.max_charge_kw:
            raise ValueError("min_charge_kw must not exceed max_charge_kw")
        return self


class HeatPumpSpec(_Spec):
    """An air-to-water heat pump and the building it heats (first-order 1R1C model).

    COP follows the hplib parameters p1-p4 (defaults: the demo's Advantix unit). A modulating
    unit runs anywhere from ``min_power_kw`` to ``max_power_kw`` (0: down to off); an on/off
    unit (``modulating`` False) runs at ``max_power_kw`` or not at all, and its controller may
    hold each run and pause for ``min_run_minutes`` / ``min_off_minutes`` (0: none), which
    the plan then keeps too. The defaults are what specs stored before these fields meant."""

    kind: Literal[DeviceKind.HEAT_PUMP] = DeviceKind.HEAT_PUMP
    max_power_kw: float = Field(gt=0, le=20)
    min_power_kw: float = Field(default=0.0, ge=0, le=20)
    modulating: bool = True
    min_run_minutes: float = Field(default=0.0, ge=0, le=240)
    min_off_minutes: float = Field(default=0.0, ge=0, le=240)
    heat_loss_kw_per_k: float = Field(gt=0, le=2)
    thermal_capacity_kwh_per_k: float = Field(gt=0, le=200)
    internal_gain_kw: float = Field(default=0.3, ge=0, le=5)
    hplib_p1: float = -40.3607005486704
    hplib_p2: float = -0.042594098129816
    hplib_p3: float = 4.862191860731595
    hplib_p4: float = 40.502337728959205

    # field validators (not a model validator) so that a refusal names its field; each reads
    # the fields declared before it
    @field_validator("min_power_kw")
    @classmethod
    def _min_power(cls, value: float, info: ValidationInfo) -> float:
        max_power_kw = info.data.get("max_power_kw")
        if max_power_kw is not None and value > max_power_kw:
            raise ValueError(f"must not exceed max_power_kw ({max_power_kw} kW)")
        return value

    @field_validator("min_run_minutes", "min_off_minutes")
    @classmethod
    def _on_off_only(cls, value: float, info: ValidationInfo) -> float:
        if value > 0 and info.data.get("modulating", True):
            raise ValueError("is for an on/off unit (modulating false) only")
        return value


DeviceSpec = Annotated[
    PvSpec | BatterySpec | EvChargerSpec | HeatPumpSpec, Field(discriminator="kind")
]


def least_running_kw(spec: PvSpec | BatterySpec | EvChargerSpec | HeatPumpSpec) -> float:
    """The least power [kW] the device draws when it runs at all: an EV charger's minimum, a
    modulating heat pump's ``min_power_kw``, an on/off heat pump's full power; 0 for the rest.
    A turn-down below it is a stop, and a ramp from off starts at it."""
    if isinstance(spec, EvChargerSpec):
        return spec.min_charge_kw
    if isinstance(spec, HeatPumpSpec):
        return spec.min_power_kw if spec.modulating else spec.max_power_kw
    return 0.0
