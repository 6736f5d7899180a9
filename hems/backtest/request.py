"""A backtest as the command line asks for it: the request checked, turned into configs, run.

``hems backtest`` parses its options into a :class:`BacktestRequest` with
:func:`backtest_request` (bad input raises :class:`BacktestInputError`, a ``ValueError``, naming
what is wrong), then :func:`run_request` builds one :class:`BacktestConfig` per home (real data
from a folder in the ``../shared/data`` layout, or the bundled market sample replayed onto the
period) and runs it in this process, on Dask for several homes, or in chunks for one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
from pydantic import ValidationError

from hems.backtest.chunks import run_chunked
from hems.backtest.config import (
    MODEL_CACHE_SHAPES,
    ROLLING_CADENCES,
    BacktestConfig,
    Cadence,
    data_horizon_hours,
)
from hems.backtest.data import DATA_DIR_ENV, DataGapError, DataMissingError
from hems.backtest.engine import Progress
from hems.backtest.home_data import load_home_data
from hems.backtest.kpis import BacktestResults
from hems.backtest.parallel import run_many
from hems.backtest.period import DataCoverage, data_coverage
from hems.backtest.reference import real_data_config, reference_home
from hems.backtest.runner import run_backtest
from hems.backtest.strategies import STRATEGY_NAMES
from hems.domain.home import HomeSpec
from hems.planner_security import TLS_FILES, ClusterAccess, access_problem

SAMPLE_START = datetime(2026, 1, 12, tzinfo=UTC)
"""The default start on the bundled sample (replayed onto any period)."""


class BacktestInputError(ValueError):
    """A backtest request that cannot run: the message names the option or file at fault."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BacktestRequest:
    """What to backtest.

    Attributes:
        strategies: strategy names (:data:`STRATEGY_NAMES`).
        start_utc, days: the period: whole days from ``start_utc``.
        homes: the homes (empty: the reference home on real data, the demo home otherwise).
        data: a real data folder, or None for the bundled sample (``$HEMS_DATA_DIR`` counts).
        allow_fill: run even where the loaders filled slots of the period.
        slot_minutes, horizon_hours, planner_gap: the planner's slot [min], horizon [h] and
            relative MIP gap.
        model_cache_shapes: home shapes each planning strategy keeps a built model for (0:
            none; :attr:`BacktestConfig.model_cache_shapes`).
        cadence, warmup_cadence: the planner's re-plan cadence, and in a chunk's warm-up day.
        noise, seed: demo data only: how far actuals stray; the seed of actuals and arrivals.
        scheduler, workers: a Dask scheduler (its address and TLS files, checked), or
            LocalCluster worker processes.
        chunk_days: one home's period split into chunks of this many days (0: one run).
    """

    strategies: tuple[str, ...]
    start_utc: datetime
    days: int
    homes: tuple[HomeSpec, ...] = ()
    data: Path | None = None
    allow_fill: bool = False
    slot_minutes: int = 30
    horizon_hours: int = 36
    planner_gap: float = 0.0005
    model_cache_shapes: int = MODEL_CACHE_SHAPES
    cadence: str = "hourly"
    warmup_cadence: str = "daily"
    noise: float = 0.1
    seed: int = 0
    scheduler: ClusterAccess | None = None
    workers: int | None = None
    chunk_days: int = 0

    @property
    def real_data(self) -> bool:
        return self.data is not None or bool(os.environ.get(DATA_DIR_ENV))


def _utc(text: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BacktestInputError(f"{option}: not an ISO date or time: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _coverage(data: object) -> DataCoverage | None:
    """The dates the data folder (``data`` or ``$HEMS_DATA_DIR``) covers; None on the sample."""
    if data is None and not os.environ.get(DATA_DIR_ENV):
        return None
    try:
        return data_coverage(data if isinstance(data, Path) else None)
    except DataMissingError as exc:
        raise BacktestInputError(str(exc)) from None


def backtest_request(
    *,
    strategies: str,
    start: str | None,
    end: str | None,
    days: int,
    home_files: list[Path],
    **options: object,
) -> BacktestRequest:
    """The request from the command line's text: strategy names, the period (``--end`` in
    whole days after ``--start`` wins over ``--days``; without ``--start``, a few days into a
    data folder's data, else :data:`SAMPLE_START`), the home files; ``options`` are
    :class:`BacktestRequest`'s other fields, but for ``scheduler`` (an address) with the
    ``planner_tls_*_file`` and ``planner_network_private`` options, checked as the service's
    planner settings are. On real data a period outside the data is refused with the dates
    they cover."""
    options["scheduler"] = _cluster_access(options)
    names = tuple(s.strip() for s in strategies.split(",") if s.strip())
    unknown = [n for n in names if n not in STRATEGY_NAMES]
    if unknown or not names:
        raise BacktestInputError(
            f"--strategies: {', '.join(unknown) or 'none given'}; choose among "
            f"{', '.join(STRATEGY_NAMES)}"
        )
    for option, label in (("cadence", "re-plan cadence"), ("warmup_cadence", "warm-up cadence")):
        if options.get(option, "hourly") not in ROLLING_CADENCES:
            raise BacktestInputError(
                f"--{option.replace('_', '-')}: the {label} is one of "
                f"{', '.join(ROLLING_CADENCES)}, not {options[option]!r}"
            )
    coverage = _coverage(options.get("data"))
    if start is not None:
        begin = _utc(start, "--start")
    else:
        begin = SAMPLE_START if coverage is None else coverage.default_start_utc
    if end is not None:
        span = _utc(end, "--end") - begin
        if span <= timedelta(0) or span.total_seconds() % 86400:
            raise BacktestInputError(f"--end must be whole days after --start, got {span}")
        days = span.days
    if coverage is not None and (refusal := coverage.refusal(begin, days)) is not None:
        raise BacktestInputError(refusal)
    homes = []
    for path in home_files:
        try:
            homes.append(HomeSpec.model_validate_json(path.read_bytes()))
        except OSError as exc:
            raise BacktestInputError(f"--home {path}: {exc.strerror}") from None
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise BacktestInputError(f"--home {path}: {problems}") from None
    # the other fields come typed from the command line's options
    request = BacktestRequest(
        strategies=names,
        start_utc=begin,
        days=days,
        homes=tuple(homes),
        **options,  # type: ignore[arg-type]
    )
    if request.chunk_days and len(request.homes) > 1:
        raise BacktestInputError("--chunk-days splits one home's period; give one --home")
    return request


def _cluster_access(options: dict[str, object]) -> ClusterAccess | None:
    """The scheduler option with its security options (taken out of ``options``), or None
    (a LocalCluster here, the security options unused: they may come from the service's
    environment); refused as the service refuses its ``planner_scheduler``
    (:mod:`hems.planner_security`)."""
    address = options.pop("scheduler", None)
    ca, cert, key = (options.pop(name, None) for name in TLS_FILES)
    private = bool(options.pop("planner_network_private", False))
    if address is None:
        return None
    access = ClusterAccess(
        str(address),
        planner_tls_ca_file=Path(str(ca)) if ca is not None else None,
        planner_tls_cert_file=Path(str(cert)) if cert is not None else None,
        planner_tls_key_file=Path(str(key)) if key is not None else None,
        planner_network_private=private,
    )
    problem = access_problem(access)
    if problem:  # named as this command's options
        problem = problem.replace("planner_network_private = true", "planner_network_private")
        for name in ("planner_scheduler", *TLS_FILES, "planner_network_private"):
            option = "scheduler" if name == "planner_scheduler" else name
            problem = problem.replace(name, f"--{option.replace('_', '-')}")
        raise BacktestInputError(problem)
    return access


def backtest_configs(request: BacktestRequest) -> list[BacktestConfig]:
    """One config per home; real data is loaded (and checked for gaps) here, so a missing or
    gappy data folder raises :class:`BacktestInputError` before anything runs."""
    if not request.real_data:
        configs = []
        for i, given in enumerate(request.homes or (None,)):
            config = BacktestConfig(
                start_utc=request.start_utc,
                days=request.days,
                slot_minutes=request.slot_minutes,
                horizon_hours=request.horizon_hours,
                planner_mip_rel_gap=request.planner_gap,
                model_cache_shapes=request.model_cache_shapes,
                noise=request.noise,
                seed=request.seed + i,
            )
            if given is not None:
                config = replace(config, home=given, home_id=f"{i}:{given.cem_serial}")
            configs.append(config)
        return configs
    try:
        loaded = load_home_data(
            request.data,
            request.start_utc,
            request.start_utc + pd.Timedelta(days=request.days),
            horizon_hours=data_horizon_hours(request.horizon_hours),
            allow_fill=request.allow_fill,
        )
    except (DataMissingError, DataGapError) as exc:
        raise BacktestInputError(str(exc)) from None
    return [
        real_data_config(
            request.data,
            request.start_utc,
            request.days,
            home=spec,
            seed=request.seed + i,
            data=loaded,
            slot_minutes=request.slot_minutes,
            horizon_hours=request.horizon_hours,
            home_id=f"{i}:{spec.cem_serial}",
            planner_mip_rel_gap=request.planner_gap,
            model_cache_shapes=request.model_cache_shapes,
        )
        for i, spec in enumerate(request.homes or (reference_home(),))
    ]


def runs_here(request: BacktestRequest, configs: list[BacktestConfig]) -> bool:
    """Whether :func:`run_request` runs in this process (one home, not chunked, no Dask), so
    its caller's ``progress`` is called; otherwise Dask reports progress itself."""
    return not (
        request.chunk_days
        or len(configs) > 1
        or request.scheduler is not None
        or request.workers is not None
    )


def run_request(
    request: BacktestRequest,
    configs: list[BacktestConfig] | None = None,
    progress: Progress | None = None,
) -> BacktestResults:
    """Run the request (on ``configs``, made by :func:`backtest_configs` if not given): chunked
    for one home with ``chunk_days``, on Dask for several homes (or a scheduler or workers
    given), else in this process (``progress`` called per slot run)."""
    configs = configs if configs is not None else backtest_configs(request)
    names = list(request.strategies)
    if request.chunk_days:
        return run_chunked(
            configs[0],
            names,
            chunk_days=request.chunk_days,
            cadence=request.cadence,
            scheduler=request.scheduler,
            workers=request.workers,
            warmup_cadence=request.warmup_cadence,
        )
    if not runs_here(request, configs):
        return run_many(
            configs,
            names,
            cadence=request.cadence,
            scheduler=request.scheduler,
            workers=request.workers,
            progress=True,
        )
    return run_backtest(configs[0], names, cadence=Cadence(request.cadence), progress=progress)
