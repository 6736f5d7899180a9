"""SunSpec model layouts read from pysunspec2's JSON model definitions, and the decoding and
encoding of their points.

The definitions (``sunspec2/models/json/model_<id>.json``) give each point's type, size in
registers and scale factor; the offsets follow from the order of the points. Reading them
rather than typing offsets by hand keeps the driver true to the published models. Only a
model's top-level points are laid out: the models the drivers use (1, 101-103, 120, 121, 123,
124, 201-204, 701, 802) have no repeating groups there.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sunspec2 import device as sunspec_device
from sunspec2 import mdef

from adapters.devices.driver import DeviceUnavailableError

_SIGNED = frozenset({"int16", "int32", "int64", "sunssf"})
_NOT_IMPLEMENTED: Mapping[str, int] = {
    "int16": 0x8000,
    "sunssf": 0x8000,
    "uint16": 0xFFFF,
    "enum16": 0xFFFF,
    "bitfield16": 0xFFFF,
    "count": 0xFFFF,
    "int32": 0x8000_0000,
    "uint32": 0xFFFF_FFFF,
    "enum32": 0xFFFF_FFFF,
    "bitfield32": 0xFFFF_FFFF,
    "int64": 0x8000_0000_0000_0000,
    "uint64": 0xFFFF_FFFF_FFFF_FFFF,
    "acc16": 0,
    "acc32": 0,
    "acc64": 0,
}
"""The raw value that means "not implemented" per point type (SunSpec's rule)."""


class UnknownModelError(LookupError):
    """pysunspec2 has no definition for a model id."""


class GarbageValueError(DeviceUnavailableError):
    """A register holds what its point cannot hold (a scale factor outside -10..10)."""


@dataclass(frozen=True, slots=True)
class PointDef:
    """One point of a model.

    Attributes:
        name: the point's SunSpec name (``W``, ``ChaState``...).
        offset: registers from the model's ``ID`` register.
        size: registers it takes.
        type: SunSpec type (``int16``, ``uint16``, ``acc32``, ``sunssf``, ``string``...).
        scale: the name of its scale-factor point, a fixed exponent, or None.
        writable: the definition marks it read-write.
    """

    name: str
    offset: int
    size: int
    type: str
    scale: str | int | None
    writable: bool


@dataclass(frozen=True, slots=True)
class ModelDef:
    """A model's fixed layout: ``length`` is the ``L`` it declares (registers after ``ID``
    and ``L``)."""

    model_id: int
    name: str
    length: int
    points: Mapping[str, PointDef]

    def point(self, name: str) -> PointDef:
        """The point ``name``; a KeyError names the model when it has none."""
        try:
            return self.points[name]
        except KeyError:
            raise KeyError(f"SunSpec model {self.model_id} has no point {name!r}") from None


@functools.cache
def model_def(model_id: int) -> ModelDef:
    """The layout of model ``model_id`` from pysunspec2's definitions; raises
    :class:`UnknownModelError` for an id it does not define."""
    try:
        raw: dict[str, Any] = sunspec_device.get_model_def(model_id, mapping=False)
    except mdef.ModelDefinitionError as e:
        raise UnknownModelError(f"no SunSpec definition for model {model_id}") from e
    group = raw[mdef.GROUP]
    points: dict[str, PointDef] = {}
    offset = 0
    for p in group[mdef.POINTS]:
        size = int(p[mdef.SIZE])
        sf = p.get(mdef.SF)
        scale: str | int | None = int(sf) if isinstance(sf, int) else sf
        points[p[mdef.NAME]] = PointDef(
            name=p[mdef.NAME],
            offset=offset,
            size=size,
            type=p[mdef.TYPE],
            scale=scale,
            writable=p.get(mdef.ACCESS) == mdef.ACCESS_RW,
        )
        offset += size
    return ModelDef(model_id=model_id, name=group[mdef.NAME], length=offset - 2, points=points)


def _raw(registers: Sequence[int], point: PointDef) -> int:
    value = 0
    for r in registers[point.offset : point.offset + point.size]:
        value = (value << 16) | r
    return value


@dataclass(frozen=True, slots=True)
class ModelBlock:
    """A model's registers as read from a device (starting at its ``ID`` register), decoded
    point by point."""

    definition: ModelDef
    registers: Sequence[int]

    def integer(self, name: str) -> int | None:
        """Point ``name``'s raw integer (signed where its type is), None when not
        implemented."""
        point = self.definition.point(name)
        if point.offset + point.size > len(self.registers):
            return None
        raw = _raw(self.registers, point)
        if _NOT_IMPLEMENTED.get(point.type) == raw:
            return None
        bits = 16 * point.size
        if point.type in _SIGNED and raw >= 1 << (bits - 1):
            raw -= 1 << bits
        return raw

    def scale(self, name: str) -> int | None:
        """Point ``name``'s scale-factor exponent (0 for an unscaled point), None when its
        scale-factor point is not implemented; a :class:`GarbageValueError` outside the
        -10..10 SunSpec allows (garbage in the registers, not a reading to scale by)."""
        scale = self.definition.point(name).scale
        if scale is None:
            return 0
        if isinstance(scale, int):
            return scale
        exponent = self.integer(scale)
        if exponent is not None and not -10 <= exponent <= 10:
            raise GarbageValueError(
                f"SunSpec model {self.definition.model_id}: {scale} = {exponent} is outside "
                "the -10..10 a scale factor may take"
            )
        return exponent

    def value(self, name: str) -> float | None:
        """Point ``name`` in its unit (raw x 10^scale factor), None when it or its scale
        factor is not implemented."""
        raw = self.integer(name)
        exponent = self.scale(name)
        if raw is None or exponent is None:
            return None
        return float(raw) * 10.0**exponent

    def text(self, name: str) -> str:
        """String point ``name`` (NUL padding removed)."""
        point = self.definition.point(name)
        data = b"".join(
            r.to_bytes(2, "big") for r in self.registers[point.offset : point.offset + point.size]
        )
        return data.split(b"\x00", 1)[0].decode("utf-8", errors="replace").strip()


def encode(block: ModelBlock, name: str, value: float) -> list[int]:
    """The registers that set point ``name`` of ``block``'s model to ``value`` (in the point's
    unit, scaled by the scale factor ``block`` holds); a ValueError when it does not fit."""
    point = block.definition.point(name)
    exponent = block.scale(name)
    if exponent is None:
        raise ValueError(f"{name}: the device does not implement its scale factor")
    raw = round(value / 10.0**exponent)
    bits = 16 * point.size
    signed = point.type in _SIGNED
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, 2**bits - 1)
    masked = raw & ((1 << bits) - 1)
    if not low <= raw <= high or masked == _NOT_IMPLEMENTED.get(point.type):
        raise ValueError(f"{name} = {value} does not fit a {point.type} at scale 10^{exponent}")
    raw = masked
    return [(raw >> (16 * (point.size - 1 - i))) & 0xFFFF for i in range(point.size)]
