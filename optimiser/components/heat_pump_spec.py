"""Heat pump specs (the heat pump, its building and tank) and the per-slot inputs derived
from them; the model, replay and rule-based plan are in :mod:`optimiser.components.heat_pump`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kernel.errors import ProblemError
from kernel.timegrid import TimeGrid
from optimiser.checks import FloatArray, SeriesLike, number, series
from optimiser.components.cop import CopModel, HplibCop
from optimiser.components.thermal import WATER_HEAT_CAPACITY_KWH_PER_LITRE_K, FirstOrderStep


@dataclass(frozen=True, slots=True, kw_only=True)
class Building:
    """A 1R1C building.

    Attributes:
        heat_loss_kw_per_k: conductance to outdoors [kW/K] (a 3-bed semi: ~0.15-0.25).
        thermal_capacity_kwh_per_k: effective heat capacity [kWh/K] (~5-15).
        initial_indoor_temperature_c: indoor temperature now [°C].
        solar_gain_kw, internal_gain_kw: free heat per slot [kW], scalar or series.
    """

    heat_loss_kw_per_k: float
    thermal_capacity_kwh_per_k: float
    initial_indoor_temperature_c: float
    solar_gain_kw: SeriesLike = 0.0
    internal_gain_kw: SeriesLike = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class HotWaterTank:
    """A domestic hot-water cylinder heated by the heat pump.

    Attributes:
        volume_litres: water volume [L].
        initial_temperature_c, min_temperature_c, max_temperature_c: [°C]; min is a soft wish,
            max a hard limit.
        draw_kw: hot water drawn as heat per slot [kW thermal], scalar or series.
        standby_loss_kw_per_k: conductance to the room [kW/K] (~0.002 for a modern cylinder).
        room_temperature_c: temperature around the tank [°C].
        flow_temperature_c: flow temperature when heating the tank [°C] (sets an hplib COP).
    """

    volume_litres: float
    initial_temperature_c: float
    min_temperature_c: float = 45.0
    max_temperature_c: float = 60.0
    draw_kw: SeriesLike = 0.0
    standby_loss_kw_per_k: float = 0.002
    room_temperature_c: float = 18.0
    flow_temperature_c: float = 55.0

    @property
    def capacity_kwh_per_k(self) -> float:
        return self.volume_litres * WATER_HEAT_CAPACITY_KWH_PER_LITRE_K


@dataclass(frozen=True, slots=True, kw_only=True)
class HeatPump:
    """A heat pump with its building, comfort band and optional tank.

    Attributes:
        name: unique asset name.
        max_power_kw: electrical power at full output [kW].
        min_power_kw: lowest modulating power when running [kW] (0 = down to off).
        modulating: False = on/off unit running at ``max_power_kw``.
        cop: COP model for space heating (curve, or hplib at the space-heating flow temperature).
        building: the building it heats.
        comfort_min_c, comfort_max_c: comfort band per slot [°C] (soft), scalar or series.
        tank: optional hot-water tank.
        tank_cop: COP model for the tank; default: the hplib model at the tank's flow
            temperature, or ``cop`` minus 1 for a curve.
        min_run_minutes, min_off_minutes: an on/off unit's shortest run and pause [min]
            (0 = none), as a compressor's controller enforces them; rounded up to whole
            slots (:mod:`optimiser.components.heat_pump_min_times`).
    """

    name: str = "Heat pump"
    max_power_kw: float
    min_power_kw: float = 0.0
    modulating: bool = True
    cop: CopModel
    building: Building
    comfort_min_c: SeriesLike = 19.0
    comfort_max_c: SeriesLike = 23.0
    tank: HotWaterTank | None = None
    tank_cop: CopModel | None = None
    min_run_minutes: float = 0.0
    min_off_minutes: float = 0.0

    def checked(self, grid: TimeGrid, where: str) -> HeatPump:
        n = grid.n_steps
        number(f"{where}.max_power_kw", self.max_power_kw, minimum=0, strict_minimum=True)
        number(f"{where}.min_power_kw", self.min_power_kw, minimum=0, maximum=self.max_power_kw)
        self.cop.check(f"{where}.cop")
        self._check_min_times(where)
        bld = self.building
        number(
            f"{where}.building.heat_loss_kw_per_k",
            bld.heat_loss_kw_per_k,
            minimum=0,
            strict_minimum=True,
        )
        number(
            f"{where}.building.thermal_capacity_kwh_per_k",
            bld.thermal_capacity_kwh_per_k,
            minimum=0,
            strict_minimum=True,
        )
        number(
            f"{where}.building.initial_indoor_temperature_c",
            bld.initial_indoor_temperature_c,
            minimum=-30,
            maximum=50,
        )
        lo = series(f"{where}.comfort_min_c", self.comfort_min_c, n, minimum=0, maximum=35)
        hi = series(f"{where}.comfort_max_c", self.comfort_max_c, n, minimum=0, maximum=35)
        if (lo > hi).any():
            t = int(np.argmax(lo > hi))
            raise ProblemError(f"{where}.comfort_min_c", f"is above comfort_max_c at slot {t}")
        building = Building(
            heat_loss_kw_per_k=bld.heat_loss_kw_per_k,
            thermal_capacity_kwh_per_k=bld.thermal_capacity_kwh_per_k,
            initial_indoor_temperature_c=bld.initial_indoor_temperature_c,
            solar_gain_kw=series(
                f"{where}.building.solar_gain_kw", bld.solar_gain_kw, n, minimum=0
            ),
            internal_gain_kw=series(
                f"{where}.building.internal_gain_kw", bld.internal_gain_kw, n, minimum=0
            ),
        )
        tank = self.tank
        if tank is not None:
            w = f"{where}.tank"
            number(f"{w}.volume_litres", tank.volume_litres, minimum=0, strict_minimum=True)
            number(f"{w}.standby_loss_kw_per_k", tank.standby_loss_kw_per_k, minimum=0)
            if tank.min_temperature_c > tank.max_temperature_c:
                raise ProblemError(f"{w}.min_temperature_c", "is above max_temperature_c")
            number(
                f"{w}.initial_temperature_c",
                tank.initial_temperature_c,
                minimum=0,
                maximum=tank.max_temperature_c,
            )
            tank = HotWaterTank(
                volume_litres=tank.volume_litres,
                initial_temperature_c=tank.initial_temperature_c,
                min_temperature_c=tank.min_temperature_c,
                max_temperature_c=tank.max_temperature_c,
                draw_kw=series(f"{w}.draw_kw", tank.draw_kw, n, minimum=0),
                standby_loss_kw_per_k=tank.standby_loss_kw_per_k,
                room_temperature_c=tank.room_temperature_c,
                flow_temperature_c=tank.flow_temperature_c,
            )
        if self.tank_cop is not None:
            self.tank_cop.check(f"{where}.tank_cop")
        return HeatPump(
            name=self.name,
            max_power_kw=self.max_power_kw,
            min_power_kw=self.min_power_kw,
            modulating=self.modulating,
            cop=self.cop,
            building=building,
            comfort_min_c=lo,
            comfort_max_c=hi,
            tank=tank,
            tank_cop=self.tank_cop,
            min_run_minutes=self.min_run_minutes,
            min_off_minutes=self.min_off_minutes,
        )

    def _check_min_times(self, where: str) -> None:
        """Minimum run and off times: >= 0, and on an on/off unit only."""
        for field_name in ("min_run_minutes", "min_off_minutes"):
            minutes = number(f"{where}.{field_name}", getattr(self, field_name), minimum=0)
            if minutes > 0 and self.modulating:
                raise ProblemError(
                    f"{where}.{field_name}", "is for an on/off unit (modulating=False) only"
                )

    @property
    def binary_key(self) -> str:
        return f"hp:{self.name}"

    @property
    def needs_binaries(self) -> bool:
        return (not self.modulating) or self.min_power_kw > 0

    def tank_cop_model(self) -> CopModel:
        if self.tank_cop is not None:
            return self.tank_cop
        if isinstance(self.cop, HplibCop) and self.tank is not None:
            return self.cop.with_flow_temperature(self.tank.flow_temperature_c)
        return self.cop


@dataclass(frozen=True, slots=True)
class HeatPumpInputs:
    """Per-slot arrays derived once from the spec and the weather.

    ``running`` is each slot's share the unit can run (``Problem.running_fraction``: less than
    1 in the first slot of a plan made inside it); the first slot's thermal steps
    (``first_building_step``, ``first_tank_step``) span only that share, from the measured
    temperatures to the slot's end."""

    cop: FloatArray
    tank_cop: FloatArray
    gains_kw: FloatArray
    building_step: FirstOrderStep
    tank_step: FirstOrderStep | None
    running: FloatArray
    first_building_step: FirstOrderStep
    first_tank_step: FirstOrderStep | None

    @classmethod
    def of(
        cls,
        hp: HeatPump,
        grid: TimeGrid,
        outdoor_temperature_c: FloatArray,
        running: FloatArray | None = None,
    ) -> HeatPumpInputs:
        bld = hp.building
        cop = hp.cop.cop_at(outdoor_temperature_c)
        tank_cop = hp.tank_cop_model().cop_at(outdoor_temperature_c)
        if hp.tank_cop is None and not isinstance(hp.cop, HplibCop):
            tank_cop = np.maximum(cop - 1.0, 1.0)
        running = np.ones(grid.n_steps) if running is None else running
        first_h = grid.step_hours * float(running[0])

        def building_step(hours: float) -> FirstOrderStep:
            return FirstOrderStep.of(bld.heat_loss_kw_per_k, bld.thermal_capacity_kwh_per_k, hours)

        def tank_step(hours: float) -> FirstOrderStep | None:
            if hp.tank is None:
                return None
            return FirstOrderStep.of(
                hp.tank.standby_loss_kw_per_k, hp.tank.capacity_kwh_per_k, hours
            )

        return cls(
            cop=cop,
            tank_cop=tank_cop,
            gains_kw=np.asarray(bld.solar_gain_kw) + np.asarray(bld.internal_gain_kw),
            building_step=building_step(grid.step_hours),
            tank_step=tank_step(grid.step_hours),
            running=running,
            first_building_step=building_step(first_h),
            first_tank_step=tank_step(first_h),
        )

    def building_step_at(self, t: int) -> FirstOrderStep:
        return self.first_building_step if t == 0 else self.building_step

    def tank_step_at(self, t: int) -> FirstOrderStep | None:
        return self.first_tank_step if t == 0 else self.tank_step


@dataclass(frozen=True, slots=True)
class HeatPumpDispatch:
    """Electrical power per slot [kW] for space heating and for the tank."""

    space_kw: FloatArray
    tank_kw: FloatArray
