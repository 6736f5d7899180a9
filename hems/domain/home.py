"""A home as the CEM knows it: identity, location, tariff, grid connection and devices."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from hems.domain.base import DomainModel, PlainText
from hems.domain.devices import DeviceSpec
from hems.domain.tariffs import AgileTariff, Tariff, tariff_input


class HomeSpec(DomainModel):
    """A home's description (the admin creates it; ``hems run --demo`` builds one).

    Attributes:
        cem_manufacturer, cem_serial: the CEM's identity as the consumer types it into the
            DSRSP's "create an asset" screen; the serial is unique.
        region: the DNO region's GSP group letter (A-P without I and O), for tariffs and carbon.
        import_limit_kw, export_limit_kw: the grid connection [kW].
        tariff: the home's tariff product (:mod:`hems.domain.tariffs`; a bare product code
            takes its default rates). The old form, ``"agile"`` or ``"flat"`` with
            ``flat_import_gbp_per_kwh`` / ``flat_export_gbp_per_kwh``, is still read (homes
            stored before 2026-12-06).
    """

    name: PlainText = Field(min_length=1, max_length=100)
    cem_manufacturer: PlainText = Field(min_length=1, max_length=64)
    cem_serial: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9\-_.]+$")
    latitude: float = Field(ge=49.8, le=60.9)
    longitude: float = Field(ge=-8.7, le=1.8)
    region: str = Field(pattern=r"^[A-HJ-NP]$")
    tariff: Tariff = Field(default_factory=AgileTariff)
    import_limit_kw: float = Field(default=15.0, gt=0, le=100)
    export_limit_kw: float = Field(default=5.0, ge=0, le=100)
    devices: list[DeviceSpec] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _tariff_by_code(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        old = ("flat_import_gbp_per_kwh", "flat_export_gbp_per_kwh")
        legacy = {k: data[k] for k in old if k in data}
        if legacy or "tariff" in data:
            data = {k: v for k, v in data.items() if k not in legacy}
            data["tariff"] = tariff_input(data.get("tariff", "agile"), legacy)
        return data

    @model_validator(mode="after")
    def _unique_device_names(self) -> HomeSpec:
        names = [d.name for d in self.devices]
        if len(set(names)) != len(names):
            raise ValueError("device names must be unique within a home")
        return self
