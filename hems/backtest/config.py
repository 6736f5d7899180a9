"""What a backtest replays: the home, the consumer's wishes, the period and the market."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from hems.demo import demo_home_spec
from hems.domain.home import HomeSpec
from hems.domain.preferences import Preferences
from hems.market import MarketSource, ReplayedMarket
from hems.settings import LOAD_SPREAD_COVER
from hems.simulation.devices import Stay
from hems.slot_setpoints import Safeguards
from kernel.dsr import DsrKind
from optimiser import DsrRequest, SolverOptions
from optimiser.model_cache import DEFAULT_MAX_MODELS

if TYPE_CHECKING:
    from hems.backtest.data import DataReport


class Cadence(StrEnum):
    """How often the planner re-plans (it also re-plans when a car plugs in or leaves)."""

    SLOT = "slot"
    HOURLY = "hourly"
    DAILY = "daily"
    ONCE = "once"  # one plan over the whole period (the perfect-foresight bound)


ROLLING_CADENCES = tuple(c.value for c in Cadence if c is not Cadence.ONCE)
"""The cadences a rolling planner re-plans at (``"slot"``, ``"hourly"``, ``"daily"``)."""


def _default_market() -> MarketSource:
    return ReplayedMarket()


DEFAULT_HORIZON_HOURS = 36
DEFAULT_FORESIGHT_HORIZON_HOURS = 48
PLANNER_MIP_REL_GAP = 5e-4
"""Relative MIP gap of the planner with forecasts in a backtest (see ``planner_mip_rel_gap``):
the service's own (``optimiser.SolverOptions``)."""
MODEL_CACHE_SHAPES = DEFAULT_MAX_MODELS
"""Home shapes a planning strategy keeps a built model for by default: the service's
``planner_model_cache_shapes`` default."""


def data_horizon_hours(
    horizon_hours: int = DEFAULT_HORIZON_HOURS,
    foresight_horizon_hours: int = DEFAULT_FORESIGHT_HORIZON_HOURS,
) -> int:
    """How far past the period a backtest's data must reach [h]: the longer of the planner's
    and perfect foresight's horizons."""
    return max(horizon_hours, foresight_horizon_hours)


@dataclass(frozen=True, kw_only=True)
class BacktestConfig:
    """One home over one period.

    Attributes:
        home: the home (default: the demo home).
        preferences: the consumer's wishes (default: car leaves 07:30 with 80 %, 20 °C by day).
        start_utc: start of the period; a UK local midnight keeps the per-day rows whole days.
        days: length of the period [d].
        slot_minutes: dispatch and planning slot [min] (5, 15, 30 or 60).
        horizon_hours: the rolling planner's horizon [h]. 36 h: on eight runs of 4-5 days
            across 2020 it planned bills as good as 48 h (0.14 GBP lower over the 34 days) for
            15-27 % less CPU (docs/performance.md); beyond ~31 h not even Agile's published
            prices are known.
        foresight_horizon_hours: ``perfect_foresight``'s horizon when it rolls [h] (the bound
            plans on the actuals, so a longer horizon can only help it).
        market: where the planner's forecasts come from (any :class:`hems.market.MarketSource`).
        noise: how far the actuals stray from ``market``: relative on base load and PV, five
            times this in kelvin on the outdoor temperature (0 = the forecast is the truth).
        seed: seed of the actuals' noise and of the car's arrivals.
        solver: HiGHS settings for every plan (the planner with forecasts changes only its
            relative gap, ``planner_mip_rel_gap``).
        planner_mip_rel_gap: the relative MIP gap at which the planner with forecasts stops
            (None = ``solver``'s own). The default is the service's 0.05 %: the backtest plans
            as the service does. 1 % (the default until 2026-11-29) is faster on days of
            negative prices (22-23 May 2020: 80 s of CPU at 0.05 %, 49 s at 1 %, 34 s at 2 %)
            but over the reference year cost 0.44 GBP (239.04 against 238.60) for 10 %
            less wall time (docs/performance.md). Perfect foresight, the bound, keeps
            ``solver``'s gap.
        ev_window_local: the ``ev_cheap_window`` strategy's charging window (local "HH:MM").
        actuals: what actually happens (e.g. ``ReplayedMarket(load_home_data(...).actuals)``);
            when given, ``noise`` is not used and ``market`` is only the planner's forecast.
        ev_stays: the car's stays at home (default: a commuter, 18:00-07:30 local).
        dsr_events: DSR requests (``DsrKind.IMPORT_CAP`` only) the planner is told about
            ``dsr_notice_hours`` ahead; delivery is scored against them (docs/backtest.md).
        dsr_notice_hours: how long before an event's start the planner knows of it [h].
        data_report: what the data loaders filled (copied into the results).
        battery_timer_local: the ``battery_timer`` strategy's charge window and discharge
            window (local "HH:MM": charge start, charge end, discharge start, discharge end).
        foresight_once_max_days: up to this many days ``perfect_foresight`` is one plan over
            the period; longer periods roll on the actuals at ``foresight_cadence`` (default
            daily) with the horizon ``horizon_hours``.
        home_id: the home's name in the results.
        departures_told: the consumer tells the planner, when the car plugs in, when this stay
            ends (a one-off trip with the weekly target); False: the weekly departures only.
        warmup_until_utc: before this instant the run only warms the home up (a chunk's
            warm-up, dropped from its results: :mod:`hems.backtest.chunks`); None: none.
        warmup_cadence: how often a rolling planner re-plans during the warm-up, when that is
            less often than its own cadence, and at least once per its horizon. The planner
            with forecasts also re-plans when a car comes or goes, and every rolling planner at
            ``warmup_until_utc``; a planner at ``Cadence.ONCE`` plans once regardless. Daily:
            the warm-up only sets the battery, car and building to a state of the planner's
            making, and re-planning it every slot was 6 % of a year's plans
            (docs/performance.md).
        plug_notice_minutes: how long after a car plugs in or leaves in the middle of a slot
            the planner with forecasts re-plans [min] (the service notices within its 60 s
            telemetry); None: at the next slot start (the behaviour until 2026-11-29).
        safeguards: the dispatch's safeguards the planners' setpoints go through (default:
            the service's: an EV's randomised delay up to 600 s, ramp-up limits, an unchanged
            setpoint not re-sent; :mod:`hems.backtest.service_dispatch`).
        load_spread_cover: the planner with forecasts plans on the expected base load plus
            this share (0-1) of its spread up to the P90, where its market gives the P90
            (``optimiser.Problem.load_spread_cover``; :class:`HistoricalForecast` does); 0:
            the expected load. Default :data:`hems.settings.LOAD_SPREAD_COVER`.
        model_cache_shapes: home shapes each planning strategy (the planner, the bound) keeps
            a built model for, as the service's planner workers do
            (``planner_model_cache_shapes``, :mod:`optimiser.model_cache`): a re-plan writes
            new numbers into the kept model; 0: every plan builds a fresh one (the behaviour
            until 2026-12-07). Plans equal fresh ones to the solver's gap.
    """

    home: HomeSpec = field(default_factory=demo_home_spec)
    preferences: Preferences = field(default_factory=Preferences)
    start_utc: datetime = datetime(2026, 1, 12, tzinfo=UTC)
    days: int = 2
    slot_minutes: int = 30
    horizon_hours: int = DEFAULT_HORIZON_HOURS
    foresight_horizon_hours: int = DEFAULT_FORESIGHT_HORIZON_HOURS
    market: MarketSource = field(default_factory=_default_market)
    noise: float = 0.1
    seed: int = 0
    solver: SolverOptions = field(default_factory=lambda: SolverOptions(time_limit_s=10.0))
    planner_mip_rel_gap: float | None = PLANNER_MIP_REL_GAP
    ev_window_local: tuple[str, str] = ("00:30", "04:30")
    actuals: MarketSource | None = None
    ev_stays: tuple[Stay, ...] | None = None
    dsr_events: tuple[DsrRequest, ...] = ()
    dsr_notice_hours: float = 24.0
    data_report: DataReport | None = None
    battery_timer_local: tuple[str, str, str, str] = ("00:30", "04:30", "16:00", "19:00")
    foresight_once_max_days: int = 3
    foresight_cadence: Cadence = Cadence.DAILY
    departures_told: bool = False
    home_id: str = "home"
    warmup_until_utc: datetime | None = None
    warmup_cadence: Cadence = Cadence.DAILY
    plug_notice_minutes: float | None = 1.0
    safeguards: Safeguards = field(default_factory=Safeguards)
    load_spread_cover: float = LOAD_SPREAD_COVER
    model_cache_shapes: int = MODEL_CACHE_SHAPES

    def __post_init__(self) -> None:
        if self.start_utc.tzinfo is None:
            raise ValueError("start_utc must be timezone-aware")
        if self.days < 1:
            raise ValueError(f"days must be at least 1, got {self.days}")
        if self.slot_minutes not in (5, 15, 30, 60):
            raise ValueError(f"slot_minutes must be 5, 15, 30 or 60, got {self.slot_minutes}")
        if self.horizon_hours < 1 or self.foresight_horizon_hours < 1:
            raise ValueError(
                "horizon_hours and foresight_horizon_hours must be at least 1, got "
                f"{self.horizon_hours} and {self.foresight_horizon_hours}"
            )
        for event in self.dsr_events:
            if event.kind is not DsrKind.IMPORT_CAP:
                raise ValueError(f"DSR event {event.event_id}: only import caps are scored")
            if event.start_utc.tzinfo is None or event.end_utc <= event.start_utc:
                raise ValueError(f"DSR event {event.event_id}: needs aware start < end")
            whole = (event.end_utc - event.start_utc) % self.slot
            if whole or (event.start_utc - self.start_utc) % self.slot:
                raise ValueError(
                    f"DSR event {event.event_id}: start and end must fall on slot boundaries"
                )
        if self.warmup_until_utc is not None and self.warmup_until_utc.tzinfo is None:
            raise ValueError("warmup_until_utc must be timezone-aware")
        object.__setattr__(self, "warmup_cadence", Cadence(self.warmup_cadence))  # a str too
        if self.warmup_cadence is Cadence.ONCE:
            raise ValueError("warmup_cadence must be slot, hourly or daily, not once")
        if self.dsr_notice_hours < 0:
            raise ValueError("dsr_notice_hours must be >= 0")
        if self.foresight_once_max_days < 0:
            raise ValueError("foresight_once_max_days must be >= 0")
        if self.plug_notice_minutes is not None and not self.plug_notice_minutes >= 0:
            raise ValueError("plug_notice_minutes must be >= 0 or None")
        if not 0.0 <= self.load_spread_cover <= 1.0:
            raise ValueError(f"load_spread_cover must be in [0, 1], got {self.load_spread_cover}")
        if self.model_cache_shapes < 0:
            raise ValueError(
                f"model_cache_shapes must be 0 (none) or more, got {self.model_cache_shapes}"
            )
        gap = self.planner_mip_rel_gap
        if gap is not None and not 0.0 <= gap < 1.0:
            raise ValueError(f"planner_mip_rel_gap must be in [0, 1), got {gap}")

    @property
    def end_utc(self) -> datetime:
        return self.start_utc + timedelta(days=self.days)

    @property
    def data_horizon_hours(self) -> int:
        """How far past the period the data must reach [h] (the longer horizon)."""
        return data_horizon_hours(self.horizon_hours, self.foresight_horizon_hours)

    @property
    def slot(self) -> timedelta:
        return timedelta(minutes=self.slot_minutes)
