"""The part every SunSpec driver shares: one link, the map discovered on first contact, and
the reading of one model's registers."""

from __future__ import annotations

from collections.abc import Iterable

from adapters.devices.sunspec.discovery import FoundModel, SunSpecMap, discover
from adapters.devices.sunspec.errors import SunSpecMapError
from adapters.devices.sunspec.link import ModbusLink
from adapters.devices.sunspec.models import ModelBlock, model_def


class SunSpecDevice:
    """A SunSpec device behind ``link``. The map is discovered once and kept across
    reconnections; it is discovered again if a model is no longer where it was (the device
    was replaced or reconfigured)."""

    def __init__(self, link: ModbusLink):
        self.link = link
        self._map: SunSpecMap | None = None

    @property
    def discovered(self) -> bool:
        """Whether the map has been read (:meth:`sunspec_map` then costs no request)."""
        return self._map is not None

    async def sunspec_map(self) -> SunSpecMap:
        """The device's map, discovered on the first call."""
        if self._map is None:
            self._map = await discover(self.link)
        return self._map

    async def require(self, what: str, *groups: tuple[str, Iterable[int]]) -> list[FoundModel]:
        """The first model of each ``(label, ids)`` group, or a :class:`SunSpecMapError`
        naming what the device lacks for ``what`` and what it has."""
        found_map = await self.sunspec_map()
        found: list[FoundModel] = []
        missing: list[str] = []
        for label, ids in groups:
            ids = tuple(ids)
            model = found_map.first(ids)
            if model is None:
                missing.append(f"{label} ({' or '.join(str(i) for i in ids)})")
            else:
                found.append(model)
        if missing:
            raise SunSpecMapError(
                f"{self.link.where}: {found_map.identity.manufacturer} "
                f"{found_map.identity.model} cannot serve as {what}: it has no "
                f"{', no '.join(missing)} model; it has models {list(found_map.model_ids)}"
            )
        return found

    async def optional(self, ids: Iterable[int]) -> FoundModel | None:
        """The first model with one of ``ids``, if the device has one."""
        return (await self.sunspec_map()).first(ids)

    async def read_model(self, model: FoundModel) -> ModelBlock:
        """The registers of ``model`` (its defined points, from its ``ID`` register)."""
        definition = model_def(model.model_id)
        registers = await self.link.read(model.address, 2 + definition.length)
        if registers[0] != model.model_id:
            self._map = None  # discovered again on the next call
            raise SunSpecMapError(
                f"{self.link.where}: model {model.model_id} is no longer at {model.address} "
                f"(found id {registers[0]}); the map will be read again"
            )
        return ModelBlock(definition, registers)

    async def write_points(
        self, model: FoundModel, block: ModelBlock, first: str, registers: list[int]
    ) -> None:
        """Write ``registers`` into ``model`` (read as ``block``) from point ``first``."""
        offset = block.definition.point(first).offset
        await self.link.write(model.address + offset, registers)

    async def close(self) -> None:
        """Close the connection."""
        await self.link.close()
