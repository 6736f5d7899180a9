"""The optimiser's input: one home over one time grid.

Sign convention (the whole project): **positive power flows into the home's devices or is
imported from the grid**. A device's draw is positive when it consumes (EV charging, battery
charging, heat pump) and negative when it supplies the home (PV, battery discharge, V2G). Grid
import and export are both reported as non-negative magnitudes; ``grid_kw = import - export``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt

from kernel.errors import ProblemError
from kernel.timegrid import TimeGrid
from optimiser.checks import FloatArray, SeriesLike, fraction, number, series
from optimiser.components.appliance import DeferrableAppliance
from optimiser.components.battery import Battery
from optimiser.components.ev_dispatch_lag import EvDispatchLag
from optimiser.components.ev_spec import ElectricVehicle
from optimiser.components.heat_pump import HeatPump
from optimiser.components.pv import PvArray
from optimiser.dsr import DsrRequest
from optimiser.import_rewards import ImportReward, reward_price_gbp_per_kwh
from optimiser.registry import ASSET_KINDS

MAX_CARBON_WEIGHT_GBP_PER_KG = 0.5
"""Carbon weight at a "cost vs carbon" preference of 1 [GBP/kgCO2]."""


def carbon_weight_from_preference(preference: float) -> float:
    """Map the consumer's 0-1 "cost vs carbon" slider to a carbon weight [GBP/kgCO2].

    Linear: 0 = cost only (0 GBP/kg); 0.5 = 0.25 GBP/kg, close to the UK government's central
    carbon value for appraisal (about GBP 250-280/tCO2 in the mid 2020s); 1 = 0.5 GBP/kg, where
    at 200 gCO2/kWh carbon weighs 0.10 GBP/kWh, as much as a typical Agile day-night spread.
    """
    return fraction("carbon_preference", preference) * MAX_CARBON_WEIGHT_GBP_PER_KG


@dataclass(frozen=True, slots=True, kw_only=True)
class Penalties:
    """Prices of missed wishes in the objective. They are well above energy prices so that a
    wish is only missed when physics (or a costlier wish) forbids it.

    Attributes:
        ev_shortfall_gbp_per_kwh: per kWh below an EV's departure target.
        comfort_gbp_per_kelvin_hour: per K·h outside the comfort band or below the tank minimum.
        battery_target_gbp_per_kwh: per kWh below a battery's terminal target.
        battery_bounds_gbp_per_kwh_hour: per kWh·h a battery that starts outside its SoC
            bounds (below its reserve) stays outside them: at 1 GBP, waiting an hour to
            recover a kWh costs more than a day's usual price spread, so the plan recovers
            at once.
        appliance_skip_gbp: for an appliance cycle that does not run.
    """

    ev_shortfall_gbp_per_kwh: float = 5.0
    comfort_gbp_per_kelvin_hour: float = 1.0
    battery_target_gbp_per_kwh: float = 2.0
    battery_bounds_gbp_per_kwh_hour: float = 1.0
    appliance_skip_gbp: float = 20.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """A home's planning problem. Construction validates every field (:class:`ProblemError`
    names the field); arrays are stored read-only at the grid's length.

    Attributes:
        grid: the time grid.
        import_price_gbp_per_kwh, export_price_gbp_per_kwh: per slot [GBP/kWh], may be negative.
        carbon_intensity_g_per_kwh: grid carbon intensity per slot [gCO2/kWh].
        carbon_weight_gbp_per_kg: consumer's carbon weight [GBP/kgCO2] (see
            :func:`carbon_weight_from_preference`); applied to imported energy.
        base_load_kw: forecast uncontrolled load per slot [kW].
        import_limit_kw, export_limit_kw: site connection limits [kW] (export default: G98's
            16 A per phase, 3.68 kW).
        outdoor_temperature_c: per slot [°C]; needed when there is a heat pump.
        pv, batteries, evs, heat_pumps, appliances: assets, any subset, several of a kind.
        dsr_requests: DSR requests in force.
        import_rewards: consumer DSR sessions paying for import below a baseline
            (:mod:`optimiser.import_rewards`).
        penalties: prices of missed wishes.
        plan_start_utc: the moment the plan is made, within the first slot (None: its start).
            Batteries and heat pumps run only from then in the first slot (a plan made at
            10:07 counts 23 of the 10:00 slot's 30 minutes); their powers stay slot averages,
            and their ``setpoint_kw`` columns give the power while they run. EVs count from
            their sessions' arrival, which the service sets to the same moment.
        hard_comfort: the heat pumps' comfort bands are hard, not soft (analysts compare with
            tools that use one): a home that cannot hold one gets the rule-based plan, status
            ``infeasible``, and the solver report's message says which heat pump, when and
            why (:mod:`optimiser.hard_comfort`).
        ev_dispatch_lag: how a rise of an EV's charging setpoint reaches the car once
            dispatched (the randomised delay's expected wait and the ramp rate); the plan
            counts the energy each rise loses (:mod:`optimiser.components.ev_dispatch_lag`).
            Default all 0: delivered at once.
        base_load_p90_kw: the base load's P90 forecast per slot [kW] (>= ``base_load_kw``,
            the expected load); only read with ``load_spread_cover`` above 0.
        load_spread_cover: plan on the expected load plus this share (0-1) of its spread up
            to the P90, so the batteries keep energy for load above its forecast in dear
            slots rather than buy it there at the peak price (docs/optimiser.md, "Planning
            on the load's spread"). Only in the :attr:`dear_slots`: elsewhere a higher load
            would only make the battery fill for load the PV covers. 0 (default): the
            expected load, as before.
    """

    grid: TimeGrid
    import_price_gbp_per_kwh: SeriesLike
    export_price_gbp_per_kwh: SeriesLike = 0.0
    carbon_intensity_g_per_kwh: SeriesLike = 0.0
    carbon_weight_gbp_per_kg: float = 0.0
    base_load_kw: SeriesLike = 0.0
    import_limit_kw: float = 23.0
    export_limit_kw: float = 3.68
    outdoor_temperature_c: SeriesLike | None = None
    pv: tuple[PvArray, ...] = ()
    batteries: tuple[Battery, ...] = ()
    evs: tuple[ElectricVehicle, ...] = ()
    heat_pumps: tuple[HeatPump, ...] = ()
    appliances: tuple[DeferrableAppliance, ...] = ()
    dsr_requests: tuple[DsrRequest, ...] = ()
    import_rewards: tuple[ImportReward, ...] = ()
    penalties: Penalties = field(default_factory=Penalties)
    hard_comfort: bool = False
    plan_start_utc: datetime | None = None
    ev_dispatch_lag: EvDispatchLag = field(default_factory=EvDispatchLag)
    base_load_p90_kw: SeriesLike | None = None
    load_spread_cover: float = 0.0

    def __post_init__(self) -> None:
        n = self.grid.n_steps
        s = object.__setattr__
        s(
            self,
            "import_price_gbp_per_kwh",
            series("import_price_gbp_per_kwh", self.import_price_gbp_per_kwh, n),
        )
        s(
            self,
            "export_price_gbp_per_kwh",
            series("export_price_gbp_per_kwh", self.export_price_gbp_per_kwh, n),
        )
        s(
            self,
            "carbon_intensity_g_per_kwh",
            series("carbon_intensity_g_per_kwh", self.carbon_intensity_g_per_kwh, n, minimum=0),
        )
        number("carbon_weight_gbp_per_kg", self.carbon_weight_gbp_per_kg, minimum=0)
        s(self, "base_load_kw", series("base_load_kw", self.base_load_kw, n, minimum=0))
        number("import_limit_kw", self.import_limit_kw, minimum=0)
        self._check_load_spread()
        self._check_plan_start()
        if not isinstance(self.ev_dispatch_lag, EvDispatchLag):
            raise ProblemError("ev_dispatch_lag", "must be an EvDispatchLag")
        self.ev_dispatch_lag.checked("ev_dispatch_lag")
        if not isinstance(self.hard_comfort, bool):
            raise ProblemError("hard_comfort", f"must be true or false, got {self.hard_comfort!r}")
        number("export_limit_kw", self.export_limit_kw, minimum=0)
        if self.outdoor_temperature_c is not None:
            s(
                self,
                "outdoor_temperature_c",
                series(
                    "outdoor_temperature_c", self.outdoor_temperature_c, n, minimum=-50, maximum=50
                ),
            )
        else:
            for kind in ASSET_KINDS:
                if kind.needs_outdoor_temperature and kind.assets(self):
                    what = kind.describe_one
                    raise ProblemError(
                        "outdoor_temperature_c", f"is needed when the home has {what}"
                    )
        for kind in ASSET_KINDS:
            checked = (
                a.checked(self.grid, f"{kind.field}[{i}]") for i, a in enumerate(kind.assets(self))
            )
            s(self, kind.field, tuple(checked))
        self._check_requests()
        names = [a.name for a in self.assets]
        dupes = sorted({x for x in names if names.count(x) > 1})
        if dupes:
            raise ProblemError(
                "assets", f"asset names must be unique, repeated: {', '.join(dupes)}"
            )
        for field_name in (
            "ev_shortfall_gbp_per_kwh",
            "comfort_gbp_per_kelvin_hour",
            "battery_target_gbp_per_kwh",
            "battery_bounds_gbp_per_kwh_hour",
            "appliance_skip_gbp",
        ):
            number(f"penalties.{field_name}", getattr(self.penalties, field_name), minimum=0)
        generation = (k.generation_kw(a) for k in ASSET_KINDS for a in k.assets(self))
        most_generated_kw = sum((g for g in generation if g is not None), np.zeros(n))
        over = self.base_load - most_generated_kw > self.import_limit_kw + 1e-9
        if over.any():
            t = int(np.argmax(over))
            raise ProblemError(
                "base_load_kw",
                f"{self.base_load[t]:g} kW at slot {t} exceeds the import limit of "
                f"{self.import_limit_kw:g} kW even with all PV: the forecast is impossible",
            )

    def _check_requests(self) -> None:
        """Check the DSR requests and the consumer's rewarded sessions against the grid."""
        grid, s = self.grid, object.__setattr__
        s(
            self,
            "dsr_requests",
            tuple(r.checked(grid, f"dsr_requests[{i}]") for i, r in enumerate(self.dsr_requests)),
        )
        s(
            self,
            "import_rewards",
            tuple(
                r.checked(grid, f"import_rewards[{i}]") for i, r in enumerate(self.import_rewards)
            ),
        )

    def _check_load_spread(self) -> None:
        """The P90 load: finite, not below the expected load; the cover a share."""
        fraction("load_spread_cover", self.load_spread_cover)
        if self.base_load_p90_kw is None:
            if self.load_spread_cover > 0:
                raise ProblemError(
                    "base_load_p90_kw", "is needed when load_spread_cover is above 0"
                )
            return
        p90 = series("base_load_p90_kw", self.base_load_p90_kw, self.grid.n_steps, minimum=0)
        below = p90 < np.asarray(self.base_load_kw) - 1e-9
        if below.any():
            t = int(np.argmax(below))
            raise ProblemError(
                "base_load_p90_kw",
                f"{p90[t]:g} kW at slot {t} is below the expected load "
                f"({float(np.asarray(self.base_load_kw)[t]):g} kW): the quantiles are inconsistent",
            )
        object.__setattr__(self, "base_load_p90_kw", p90)

    def _check_plan_start(self) -> None:
        start = self.plan_start_utc
        if start is None:
            return
        if start.tzinfo is None:
            raise ProblemError("plan_start_utc", "must be timezone-aware")
        if not self.grid.start_utc <= start < self.grid.slot_start(1):
            raise ProblemError(
                "plan_start_utc",
                f"{start.isoformat()} is not within the first slot "
                f"({self.grid.start_utc.isoformat()} to {self.grid.slot_start(1).isoformat()})",
            )

    @property
    def first_slot_fraction(self) -> float:
        """The share of the first slot left when the plan is made (1 without a
        ``plan_start_utc``)."""
        if self.plan_start_utc is None:
            return 1.0
        left_s = (self.grid.slot_start(1) - self.plan_start_utc).total_seconds()
        return left_s / (self.grid.step_minutes * 60.0)

    @property
    def running_fraction(self) -> FloatArray:
        """The share of each slot a battery or heat pump can run: the first slot's share left,
        then 1."""
        out = np.ones(self.grid.n_steps)
        out[0] = self.first_slot_fraction
        return out

    @property
    def assets(
        self,
    ) -> tuple[PvArray | Battery | ElectricVehicle | HeatPump | DeferrableAppliance, ...]:
        return tuple(a for kind in ASSET_KINDS for a in kind.assets(self))

    @property
    def import_price(self) -> FloatArray:
        return np.asarray(self.import_price_gbp_per_kwh, dtype=np.float64)

    @property
    def export_price(self) -> FloatArray:
        return np.asarray(self.export_price_gbp_per_kwh, dtype=np.float64)

    @property
    def carbon_intensity(self) -> FloatArray:
        return np.asarray(self.carbon_intensity_g_per_kwh, dtype=np.float64)

    @property
    def expected_base_load(self) -> FloatArray:
        """The base load forecast as given (its expected value) [kW]."""
        return np.asarray(self.base_load_kw, dtype=np.float64)

    @property
    def dear_slots(self) -> npt.NDArray[np.bool_]:
        """The slots whose effective import price is more than one standard deviation above
        the horizon's mean (none on a flat price): where load above its forecast is bought
        dear, and where the plan keeps energy for it (``load_spread_cover``)."""
        price = self.effective_import_price
        return np.asarray(price > price.mean() + price.std() + 1e-12)

    @property
    def base_load(self) -> FloatArray:
        """The base load the plan is made on [kW]: the expected load, plus in the
        :attr:`dear_slots` ``load_spread_cover`` of its spread up to the P90 (never above the
        import limit where the expected load is below it)."""
        expected = np.asarray(self.base_load_kw, dtype=np.float64)
        if self.load_spread_cover <= 0 or self.base_load_p90_kw is None:
            return expected
        p90 = np.asarray(self.base_load_p90_kw, dtype=np.float64)
        margin = np.where(self.dear_slots, self.load_spread_cover * (p90 - expected), 0.0)
        return np.minimum(expected + margin, np.maximum(expected, self.import_limit_kw))

    @property
    def outdoor_temperature(self) -> FloatArray:
        if self.outdoor_temperature_c is None:
            return np.full(self.grid.n_steps, 10.0)
        return np.asarray(self.outdoor_temperature_c, dtype=np.float64)

    @property
    def effective_import_price(self) -> FloatArray:
        """Import price plus the carbon weight on imported energy and the reward a session
        pays for import saved (:mod:`optimiser.import_rewards`) [GBP/kWh]."""
        carbon = self.carbon_weight_gbp_per_kg * self.carbon_intensity / 1000.0
        if not self.import_rewards:
            return self.import_price + carbon
        return self.import_price + carbon + reward_price_gbp_per_kwh(self.import_rewards, self.grid)
