"""Discovery of a device's SunSpec map: the ``SunS`` marker, then the chain of models.

A SunSpec device holds, from a base address (40000, else 0, else 50000), the two registers
"SunS" and then models one after another, each ``ID``, ``L`` (its length in registers after
these two) and its points, ended by ``ID`` 0xFFFF. Discovery reads only the headers and the
common model; the drivers read the models they use. Anything that is not such a chain is a
:class:`SunSpecMapError` naming what was found where, never a crash.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from adapters.devices.sunspec.errors import ModbusExceptionError, SunSpecMapError
from adapters.devices.sunspec.link import ModbusLink
from adapters.devices.sunspec.models import ModelBlock, UnknownModelError, model_def

SUNS_MARKER = (0x5375, 0x6E53)
"""'SunS' in two registers."""
BASE_ADDRESSES = (40000, 0, 50000)
"""Where SunSpec maps start, in the order the specification says to look."""
END_MODEL_ID = 0xFFFF
MAX_MODELS = 100
"""More models than this in one chain is taken for garbage rather than read for ever."""
ILLEGAL_ADDRESS = 2

COMMON = 1
INVERTERS = (101, 102, 103, 701)
"""Single-phase, split-phase and three-phase inverters (1xx) and the DER AC measurement
model (701): each has the AC power ``W`` with ``W_SF``."""
SETTINGS = 121
"""Basic settings: ``WMax``, the inverter's maximum output power."""
NAMEPLATE = 120
CONTROLS = 123
"""Immediate controls: ``WMaxLimPct``, curtailment."""
STORAGE = 124
"""Basic storage controls: charge and discharge rates, SoC."""
STORAGE_8XX = 802
METERS = (201, 202, 203, 204)
"""AC meters: single-phase, split-phase, three-phase wye and delta."""


@dataclass(frozen=True, slots=True)
class FoundModel:
    """One model in the chain: its id, the address of its ``ID`` register and its ``L``."""

    model_id: int
    address: int
    length: int


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """Common model 1: who made the device and what it is."""

    manufacturer: str
    model: str
    serial: str
    version: str


@dataclass(frozen=True, slots=True)
class SunSpecMap:
    """A device's discovered map."""

    base_address: int
    models: tuple[FoundModel, ...]
    identity: DeviceIdentity

    def first(self, model_ids: Iterable[int]) -> FoundModel | None:
        """The first model in the chain whose id is in ``model_ids``."""
        wanted = set(model_ids)
        return next((m for m in self.models if m.model_id in wanted), None)

    @property
    def model_ids(self) -> tuple[int, ...]:
        """The ids in chain order."""
        return tuple(m.model_id for m in self.models)


async def discover(link: ModbusLink) -> SunSpecMap:
    """Find the marker and walk the model chain of the device behind ``link``.

    Raises :class:`SunSpecMapError` for a map that is not SunSpec or breaks off, and
    :class:`~adapters.devices.driver.DeviceUnavailableError` when the device does not answer.
    """
    base = await _find_base(link)
    models: list[FoundModel] = []
    address = base + 2
    while True:
        if len(models) >= MAX_MODELS:
            raise SunSpecMapError(
                f"{link.where}: more than {MAX_MODELS} models from {base} without the end "
                "marker 0xFFFF"
            )
        if address + 2 > 0x10000:
            raise SunSpecMapError(_past_end(link, base, models, address))
        try:
            model_id, length = await link.read(address, 2)
        except ModbusExceptionError as e:
            if e.code != ILLEGAL_ADDRESS:
                raise
            raise SunSpecMapError(_past_end(link, base, models, address)) from e
        if model_id == END_MODEL_ID:
            break
        try:
            needed = model_def(model_id).length
        except UnknownModelError:
            needed = 0  # a vendor's model: skipped by its length
        if length < needed:
            raise SunSpecMapError(
                f"{link.where}: model {model_id} at {address} declares {length} registers, "
                f"its definition has {needed}"
            )
        models.append(FoundModel(model_id=model_id, address=address, length=length))
        address += 2 + length
    if not models or models[0].model_id != COMMON:
        raise SunSpecMapError(
            f"{link.where}: the SunSpec map at {base} does not start with the common model 1 "
            f"(models {[m.model_id for m in models]})"
        )
    common = models[0]
    try:
        registers = await link.read(common.address, 2 + model_def(COMMON).length)
    except ModbusExceptionError as e:
        raise SunSpecMapError(f"{link.where}: the common model at {common.address}: {e}") from e
    block = ModelBlock(model_def(COMMON), registers)
    identity = DeviceIdentity(
        manufacturer=block.text("Mn"),
        model=block.text("Md"),
        serial=block.text("SN"),
        version=block.text("Vr"),
    )
    return SunSpecMap(base_address=base, models=tuple(models), identity=identity)


async def _find_base(link: ModbusLink) -> int:
    seen: list[str] = []
    for base in BASE_ADDRESSES:
        try:
            marker = await link.read(base, 2)
        except ModbusExceptionError as e:
            seen.append(f"exception {e.code} at {base}")
            continue
        if tuple(marker) == SUNS_MARKER:
            return base
        seen.append(f"{marker[0]:04x} {marker[1]:04x} at {base}")
    raise SunSpecMapError(
        f"{link.where}: not a SunSpec device, no 'SunS' marker ({'; '.join(seen)})"
    )


def _past_end(link: ModbusLink, base: int, models: list[FoundModel], address: int) -> str:
    last = (
        f"model {models[-1].model_id} at {models[-1].address} (length {models[-1].length})"
        if models
        else "the marker"
    )
    return (
        f"{link.where}: the SunSpec map at {base} breaks off: {last} leads to {address}, "
        "past the device's registers, without the end marker 0xFFFF"
    )
