"""A home as the CEM knows it: identity, location, tariff, grid connection and devices."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, model_validator

from hems.domain.base import DomainModel, PlainText
from hems.domain.devices import DeviceSpec


class TariffKind(StrEnum):
    AGILE = "agile"
    FLAT = "flat"


class HomeSpec(DomainModel):
    """A home's description (the admin creates it; ``hems run --demo`` builds one).

    Attributes:
        cem_manufacturer, cem_serial: the CEM's identity as the consumer types it into the
            DSRSP's "create an asset" screen; the serial is unique.
        region: the DNO region's GSP group letter (A-P without I and O), for tariffs and carbon.
        import_limit_kw, export_limit_kw: the grid connection [kW].
        flat_import_gbp_per_kwh, flat_export_gbp_per_kwh: rates for a flat tariff [GBP/kWh].
    """

    name: PlainText = Field(min_length=1, max_length=100)
    cem_manufacturer: PlainText = Field(min_length=1, max_length=64)
    cem_serial: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9\-_.]+$")
    latitude: float = Field(ge=49.8, le=60.9)
    longitude: float = Field(ge=-8.7, le=1.8)
    region: str = Field(pattern=r"^[A-HJ-NP]$")
    tariff: TariffKind = TariffKind.AGILE
    flat_import_gbp_per_kwh: float = Field(default=0.245, ge=0, le=2)
    flat_export_gbp_per_kwh: float = Field(default=0.15, ge=0, le=2)
    import_limit_kw: float = Field(default=15.0, gt=0, le=100)
    export_limit_kw: float = Field(default=5.0, ge=0, le=100)
    devices: list[DeviceSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_device_names(self) -> HomeSpec:
        names = [d.name for d in self.devices]
        if len(set(names)) != len(names):
            raise ValueError("device names must be unique within a home")
        return self
