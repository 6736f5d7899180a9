"""A battery inverter over SunSpec: inverter model (101-103 or 701) for its AC power, storage
model 124 for SoC, limits and control.

Model 124 bounds the battery's power to a window: ``InWRte`` is the most it may charge, as a
percentage of ``WChaMax``, and ``OutWRte`` the most it may discharge, as a percentage of the
maximum discharge power, each active when its bit of ``StorCtl_Mod`` is set; a negative rate
forces the opposite direction (``OutWRte`` = -40 % means "charge at least 40 %"). Within the
window the inverter runs its own mode, self-consumption on a battery inverter: it covers the
home's net load and stores its net surplus. So each :class:`Setpoint` is a window
(:func:`storage_command`):

* a power to hold ``p``: the window [p, p] (both rates at p, one of them negative), charging
  from the grid allowed (``ChaGriSet`` = GRID) when ``p`` > 0;
* ``follow_site`` with a discharge or no power (``p`` <= 0): [p, 0], the discharge capped at
  ``|p|`` and no charge, or [p, max charge] with ``store_surplus``; from the PV only;
* ``follow_site`` with a charge (``p`` > 0): [-max discharge, p]: stores the surplus up to
  ``p`` and covers a deficit up to its own limit; from the PV only.

That is exactly what the setpoint asks for, on an inverter whose default mode is
self-consumption (the common case, and the test peer's). Every write also sets
``InOutWRte_RvrtTms``: when the CEM has not written for that long the inverter clears the
limits and returns to its own mode, so a CEM that goes silent leaves a battery that
serves the home on its own rather than one stuck charging from the grid. The service must
re-apply the setpoint well within that timeout (:attr:`SunSpecBatteryDriver.revert_timeout_s`).
The battery's power is the inverter's AC power (an AC-coupled battery inverter); a hybrid
inverter whose AC power includes PV is not told apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from adapters.devices.driver import DeviceState, DeviceUnavailableError, Setpoint
from adapters.devices.sunspec.device import SunSpecDevice
from adapters.devices.sunspec.discovery import (
    INVERTERS,
    SETTINGS,
    STORAGE,
    STORAGE_8XX,
    FoundModel,
    SunSpecMap,
)
from adapters.devices.sunspec.link import ModbusLink
from adapters.devices.sunspec.models import ModelBlock, encode
from adapters.devices.sunspec.nameplate import battery_capabilities
from kernel.devices import DeviceCapabilities

STOR_CTL_CHARGE = 1 << 0
STOR_CTL_DISCHARGE = 1 << 1
CHA_GRI_PV = 0
CHA_GRI_GRID = 1
DEFAULT_REVERT_TIMEOUT_S = 300
"""Five minutes: twenty of the service's 15 s apply intervals, short enough that a CEM that
stopped leaves the battery in the plan's mode for a few minutes at most."""


def checked_revert_timeout_s(revert_timeout_s: int) -> int:
    """``revert_timeout_s`` if a SunSpec ``*_RvrtTms`` register can hold it (1-65534 s; 0 and
    0xFFFF would mean "never revert"), else ValueError."""
    if not 1 <= revert_timeout_s <= 0xFFFE:
        raise ValueError(f"revert_timeout_s {revert_timeout_s} is outside 1-65534 s")
    return revert_timeout_s


@dataclass(frozen=True, slots=True)
class StorageCommand:
    """What model 124 is written: the charge and discharge rates [% of the maximum] and
    whether it may charge from the grid."""

    in_pct: float
    out_pct: float
    grid_charging: bool


@dataclass(frozen=True, slots=True)
class BatteryLimits:
    """The battery's limits as the device reports them.

    Attributes:
        max_charge_kw: ``WChaMax``.
        max_discharge_kw: ``WMax`` of model 121 when present, else ``WChaMax``.
        min_reserve_soc: ``MinRsvPct`` [0-1], None when not reported.
        capacity_kwh: ``WHRtg`` of battery model 802 when the device has it (model 124
            gives no energy capacity), else None.
    """

    max_charge_kw: float
    max_discharge_kw: float
    min_reserve_soc: float | None
    capacity_kwh: float | None = None


def storage_command(
    setpoint: Setpoint, max_charge_kw: float, max_discharge_kw: float
) -> StorageCommand:
    """The model 124 window that makes the inverter do what ``setpoint`` asks (module
    docstring); the power is first clipped to the limits."""
    p = min(max(setpoint.power_kw, -max_discharge_kw), max_charge_kw)
    if not setpoint.follow_site:
        # the rates stay within +-100 %: a forced charge above the discharge limit (or the
        # reverse) becomes the window [that limit, p], the inverter's own mode within it
        return StorageCommand(
            in_pct=max(100 * p / max_charge_kw, -100.0),
            out_pct=max(-100 * p / max_discharge_kw, -100.0),
            grid_charging=p > 0,
        )
    if p <= 0:
        return StorageCommand(
            in_pct=100.0 if setpoint.store_surplus else 0.0,
            out_pct=-100 * p / max_discharge_kw,
            grid_charging=False,
        )
    return StorageCommand(in_pct=100 * p / max_charge_kw, out_pct=100.0, grid_charging=False)


class SunSpecBatteryDriver:
    """A battery inverter at ``host``:``port`` (Modbus TCP, unit ``unit_id``), implementing
    :class:`~adapters.devices.driver.DeviceDriver`.

    The device must have an inverter model (101, 102, 103 or 701) and storage model 124;
    one without is refused with a :class:`~adapters.devices.sunspec.errors.SunSpecMapError`
    saying what it has.
    """

    def __init__(
        self,
        name: str,
        host: str,
        port: int = 502,
        *,
        unit_id: int = 1,
        timeout_s: float = 2.0,
        revert_timeout_s: int = DEFAULT_REVERT_TIMEOUT_S,
    ):
        self.name = name
        self.revert_timeout_s = checked_revert_timeout_s(revert_timeout_s)
        self.device = SunSpecDevice(ModbusLink(host, port, unit_id=unit_id, timeout_s=timeout_s))
        self._capabilities: DeviceCapabilities | None = None

    async def connect(self) -> SunSpecMap:
        """Discover the device and check it has the models a battery needs."""
        await self._models()
        return await self.device.sunspec_map()

    async def read_state(self) -> DeviceState:
        """AC power (negative when discharging) and SoC."""
        inverter, storage, _ = await self._models()
        inv = await self.device.read_model(inverter)
        sto = await self.device.read_model(storage)
        w = inv.value("W")
        if w is None:
            raise DeviceUnavailableError(f"{self.device.link.where}: the inverter reports no W")
        soc_pct = sto.value("ChaState")
        soc = None if soc_pct is None else min(max(soc_pct / 100, 0.0), 1.0)
        return DeviceState(at_utc=datetime.now(UTC), power_kw=0.0 - w / 1000, soc=soc)

    async def read_limits(self) -> BatteryLimits:
        """The charge and discharge limits, reserve and capacity the device reports (the
        capabilities the optimiser's battery spec can be checked against)."""
        _, storage, settings = await self._models()
        limits = _limits(
            self.device.link.where,
            await self.device.read_model(storage),
            None if settings is None else await self.device.read_model(settings),
        )
        battery = await self.device.optional((STORAGE_8XX,))
        if battery is None:
            return limits
        capacity_wh = (await self.device.read_model(battery)).value("WHRtg")
        if capacity_wh is None or capacity_wh <= 0:
            return limits
        return replace(limits, capacity_kwh=capacity_wh / 1000)

    async def apply(self, setpoint: Setpoint) -> None:
        """Write the window for ``setpoint`` with the revert timeout, then read it back;
        raises :class:`DeviceUnavailableError` when the device did not take it, and a
        ValueError for a power that is not a finite number (nothing is written)."""
        if not math.isfinite(setpoint.power_kw):
            raise ValueError(f"{self.name}: {setpoint.power_kw} kW is not a finite power")
        _, storage, settings = await self._models()
        sto = await self.device.read_model(storage)
        limits = _limits(
            self.device.link.where,
            sto,
            None if settings is None else await self.device.read_model(settings),
        )
        cmd = storage_command(setpoint, limits.max_charge_kw, limits.max_discharge_kw)
        try:
            rates = (
                encode(sto, "OutWRte", cmd.out_pct)
                + encode(sto, "InWRte", cmd.in_pct)
                + [0, self.revert_timeout_s, 0]  # window, revert, ramp [s]
                + [CHA_GRI_GRID if cmd.grid_charging else CHA_GRI_PV]
            )
        except ValueError as e:
            raise DeviceUnavailableError(f"{self.device.link.where}: {e}") from e
        mode = STOR_CTL_CHARGE | STOR_CTL_DISCHARGE
        await self.device.write_points(storage, sto, "OutWRte", rates)
        await self.device.write_points(storage, sto, "StorCtl_Mod", [mode])
        back = await self.device.read_model(storage)
        start = back.definition.point("OutWRte").offset
        if (
            back.integer("StorCtl_Mod") != mode
            or list(back.registers[start : start + len(rates)]) != rates
        ):
            raise DeviceUnavailableError(
                f"{self.device.link.where}: the inverter did not take the setpoint "
                f"{setpoint.power_kw} kW (wrote StorCtl_Mod={mode}, rates {rates}; read back "
                f"{back.integer('StorCtl_Mod')}, {list(back.registers[start : start + 6])})"
            )

    async def capabilities(self) -> DeviceCapabilities:
        """What the device reports it can do (``WChaMax``, model 121's ``WMax`` as the
        discharge limit, model 802's ``WHRtg``), read on the first call and kept: a nameplate
        does not change while the service runs. Raises :class:`DeviceUnavailableError` when
        the device does not answer."""
        if self._capabilities is None:
            self._capabilities = await battery_capabilities(self.device, self.name)
        return self._capabilities

    async def close(self) -> None:
        """Close the connection (the next call opens it again)."""
        await self.device.close()

    async def _models(self) -> tuple[FoundModel, FoundModel, FoundModel | None]:
        inverter, storage = await self.device.require(
            "a battery", ("inverter", INVERTERS), ("storage", (STORAGE,))
        )
        return inverter, storage, await self.device.optional((SETTINGS,))


def _limits(where: str, storage: ModelBlock, settings: ModelBlock | None) -> BatteryLimits:
    charge_w = storage.value("WChaMax")
    if charge_w is None or charge_w <= 0:
        raise DeviceUnavailableError(f"{where}: the storage model reports no WChaMax")
    discharge_w = settings.value("WMax") if settings is not None else None
    if discharge_w is None or discharge_w <= 0:
        discharge_w = charge_w
    reserve = storage.value("MinRsvPct")
    return BatteryLimits(
        max_charge_kw=charge_w / 1000,
        max_discharge_kw=discharge_w / 1000,
        min_reserve_soc=None if reserve is None else reserve / 100,
    )
