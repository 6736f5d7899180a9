"""The ``hems`` command line (also installed as ``cem``).

``hems run`` runs the service (``--demo``: a simulated home), ``hems plan`` plans the demo home
once, ``hems backtest`` compares strategies over a simulated period, ``hems db upgrade``
migrates the database, ``hems token create`` makes an API token, ``hems devices`` registers a
home's devices (:mod:`hems.cli_devices`).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from hems.backtest.config import PLANNER_MIP_REL_GAP
from hems.cli_conformance import conformance_app
from hems.cli_devices import devices_app
from hems.cli_errors import DEBUG_ENV, ErrorBoundaryGroup, InputError, read_model, writable_file
from hems.demo import demo_problem, read_demo_series
from hems.settings import Settings, load_settings
from hems.storage.engine import make_engine, upgrade_schema
from hems.storage.store import Store
from optimiser import ModelExtension, Plan, Problem, SolverOptions, TimeGrid, optimise

if TYPE_CHECKING:
    from hems.backtest.kpis import BacktestResults

app = typer.Typer(
    cls=ErrorBoundaryGroup,  # failures -> one line on stderr (hems/cli_errors.py)
    help="Customer Energy Manager",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(width=None if Console().is_terminal else 132)

db_app = typer.Typer(help="Database schema", no_args_is_help=True)
token_app = typer.Typer(help="API tokens", no_args_is_help=True)
for name, sub_app in (("db", db_app), ("token", token_app), ("conformance", conformance_app)):
    app.add_typer(sub_app, name=name)
app.add_typer(devices_app, name="devices")

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="settings file (TOML); HEMS_* variables override")
]


SQL_ID_MAX = 2**63 - 1
"""The largest id a database row can have (SQLite INTEGER, PostgreSQL bigint)."""


@app.callback()
def main(
    debug: Annotated[
        bool, typer.Option(envvar=DEBUG_ENV, help="show the traceback of an unexpected error")
    ] = False,
) -> None:
    """Customer Energy Manager: plans a home's EV, heat pump, battery and PV."""


def _settings(config: Path | None, **overrides: object) -> Settings:
    return load_settings(config, **overrides)  # SettingsError: exit 2 (ErrorBoundaryGroup)


@app.command()
def run(
    demo: Annotated[bool, typer.Option(help="run the demo home with simulated devices")] = False,
    live: Annotated[
        bool, typer.Option(help="fetch live prices, carbon and weather (needs the network)")
    ] = False,
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="API address (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="API port (default 8000)")] = None,
    access_log: Annotated[bool, typer.Option(help="log every HTTP request")] = False,
    dsrsp: Annotated[
        bool, typer.Option(help="with --demo and no VTN configured: run the demo DSRSP too")
    ] = True,
    dsrsp_port: Annotated[int, typer.Option(help="the demo DSRSP's port")] = 8081,
) -> None:
    """Run the service: the planning loop, dispatch and the HTTP API."""
    import uvicorn

    from hems.app import create_app
    from hems.runtime import build_runtime

    overrides: dict[str, object] = {"demo": True} if demo else {}
    if live:
        overrides["live_market"] = True
    if host is not None:
        overrides["api_host"] = host
    if port is not None:
        overrides["api_port"] = port
    settings = _settings(config, **overrides)
    demo_dsrsp = None
    if settings.demo and dsrsp and not settings.vtn_url:
        from hems.dsrsp_process import DemoDsrspProcess

        demo_dsrsp = DemoDsrspProcess(port=dsrsp_port)  # started and stopped with the API
        settings = settings.model_copy(update={"vtn_url": demo_dsrsp.url})
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for noisy in ("apscheduler", "openleadr", "httpx", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    _check_port_free(settings.api_host, settings.api_port)
    runtime = build_runtime(settings)
    runtime.dsrsp = demo_dsrsp
    base = f"{settings.api_scheme}://{settings.api_host}:{settings.api_port}"
    console.rule("Customer Energy Manager")
    console.print(f"database   {settings.resolved_database_url}")
    console.print(f"API        {base}  (OpenAPI schema: {base}/openapi.json)")
    console.print(f"web app    {base}/app  (sign in with a home's token)")
    for who, token in runtime.new_tokens.items():
        console.print(f"[bold]{who} token[/bold] (shown once, keep it safe): {token}")
    if not runtime.new_tokens:
        console.print("tokens     existing (make another: hems token create)")
    if settings.vtn_url:
        console.print(
            f"DSRSP      {settings.vtn_url}"
            + ("  (demo VTN, sends an event in 3 min)" if demo_dsrsp else "")
        )
    for home_id in runtime.simulations:
        console.print(f"demo home  {base}/homes/{home_id}/plan  (Authorization: Bearer <token>)")
    uvicorn.run(
        create_app(settings, runtime),
        host=settings.api_host,
        port=settings.api_port,
        log_level="info",
        access_log=access_log,
        # Forwarded headers are believed only from settings.trusted_proxies (create_app);
        # uvicorn's own default would believe any local process on 127.0.0.1.
        proxy_headers=False,
        ssl_certfile=settings.api_tls_cert_file,
        ssl_keyfile=settings.api_tls_key_file,
    )


def _check_port_free(host: str, port: int) -> None:
    """Refuse an API address another process listens on before anything starts (uvicorn finds
    out only after the database, the tokens and the demo DSRSP are up)."""
    try:
        socket.create_server((host, port)).close()
    except OSError as exc:
        reason = f"the API cannot listen on {host}:{port}: {exc.strerror}"
        raise OSError(exc.errno, reason) from None


@app.command("dsrsp-sim")
def dsrsp_sim(
    port: Annotated[int, typer.Option(help="port on 127.0.0.1")] = 8081,
    event_after_s: Annotated[
        float, typer.Option(help="delay from registration to event [s]")
    ] = 180,
    event_kw: Annotated[float, typer.Option(help="the event's site setpoint [kW]")] = 1.5,
    supervised: Annotated[
        bool,
        typer.Option(
            hidden=True,
            help="run as hems run's child: say 'ready' on stdout, stop when stdin closes",
        ),
    ] = False,
) -> None:
    """Run a demo DSRSP (openleadr's VTN) that registers CEMs and sends them an event."""
    from hems.dsrsp_sim import DemoDsrsp, serve_until_stopped

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("openleadr").setLevel(logging.WARNING)
    sim = DemoDsrsp(port=port, event_after_s=event_after_s, event_kw=event_kw)
    ready_out = sys.stdout

    def say_ready() -> None:
        if supervised:  # the parent waits for this line (hems/dsrsp_process.py)
            ready_out.write("ready\n")
            ready_out.flush()
        else:
            console.print(f"demo DSRSP at {sim.url}; point a CEM at it: HEMS_VTN_URL={sim.url}")

    # supervised, stdout carries the ready line alone: the rest (openleadr's banner, an error)
    # goes to stderr, the service's log
    with contextlib.redirect_stdout(sys.stderr) if supervised else contextlib.nullcontext():
        try:
            serve_until_stopped(sim, on_ready=say_ready, supervised=supervised)
        except OSError as exc:
            console.print(f"[red]demo DSRSP cannot listen on 127.0.0.1:{port}: {exc}[/red]")
            raise typer.Exit(1) from None


@app.command("openadr-fingerprint")
def openadr_fingerprint(
    certificate: Annotated[Path, typer.Argument(help="a PEM or DER certificate file")],
) -> None:
    """Print a certificate's OpenADR fingerprint (last 10 bytes of its SHA-256), as a DSRSP
    asks for it."""
    from adapters.openadr.tls import fingerprint_file

    try:
        console.print(fingerprint_file(certificate))
    except (OSError, ValueError) as exc:
        console.print(f"[red]cannot read {certificate}: {exc}[/red]")
        raise typer.Exit(1) from None


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None) -> None:
    """Bring the database schema up to date."""
    settings = _settings(config)
    upgrade_schema(make_engine(settings.resolved_database_url))
    console.print(f"database at the latest schema: {settings.resolved_database_url}")


@token_app.command("create")
def token_create(
    home: Annotated[
        int | None, typer.Option(min=1, max=SQL_ID_MAX, help="home id (omit for an admin token)")
    ] = None,
    label: Annotated[str, typer.Option(help="a note on what the token is for")] = "cli",
    config: ConfigOption = None,
) -> None:
    """Create an API token and print it once (only its hash is stored)."""
    settings = _settings(config)
    engine = make_engine(settings.resolved_database_url)
    upgrade_schema(engine)
    store = Store(engine)
    token = store.create_token(
        "admin" if home is None else "home", home, datetime.now(UTC), label=label
    )
    console.print(token)


@app.command()
def plan(
    out: Annotated[
        Path, typer.Option(callback=writable_file, help="CSV file for the full per-slot plan")
    ] = Path("out/plan.csv"),
    data: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="input series CSV (default: the demo)"),
    ] = None,
    carbon_preference: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="0 = cost only, 1 = carbon")
    ] = 0.2,
    time_limit_s: Annotated[float, typer.Option(min=0.1, help="solver time limit [s]")] = 10.0,
    home: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="a home file (JSON, as POST /homes takes) to plan from now instead",
        ),
    ] = None,
    preferences: Annotated[
        Path | None,
        typer.Option(
            exists=True, dir_okay=False, help="with --home: the consumer's preferences (JSON)"
        ),
    ] = None,
    ev_soc: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="with --home: the car is plugged in at this SoC"),
    ] = None,
    battery_soc: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="with --home: the batteries' SoC now")
    ] = 0.5,
) -> None:
    """Plan the demo home's bundled 48 h once (or, with --home, a home of yours from now on the
    bundled prices replayed onto today), print a summary and write the plan as CSV."""
    if home is None:
        problem = demo_problem(read_demo_series(data), carbon_preference=carbon_preference)
        extensions: list[ModelExtension] = []
    else:
        problem, extensions = _home_problem(home, preferences, ev_soc, battery_soc)
    result = optimise(problem, SolverOptions(time_limit_s=time_limit_s), extensions)
    result.schedule.to_csv(out, date_format="%Y-%m-%dT%H:%M:%SZ", float_format="%.4f")
    print_plan(result)
    console.print(f"\nFull plan ({len(result.schedule)} slots, UTC): [bold]{out}[/bold]")


@app.command()
def backtest(
    days: Annotated[int, typer.Option(min=1, help="length of the period [d] (or --end)")] = 2,
    strategies: Annotated[
        str,
        typer.Option(
            help="comma-separated: planner, perfect_foresight, naive, ev_cheap_window, "
            "battery_self_consumption, battery_timer, ev_window_battery_timer"
        ),
    ] = "planner,naive",
    out: Annotated[
        Path, typer.Option(help="KPIs, one row per strategy (.csv and .parquet); others beside")
    ] = Path("out/backtest.csv"),
    start: Annotated[
        str, typer.Option(help="start of the period (ISO date or time, UTC)")
    ] = "2026-01-12",
    end: Annotated[
        str | None, typer.Option(help="end of the period (ISO date, UTC; whole days)")
    ] = None,
    home: Annotated[
        list[Path] | None,
        typer.Option(help="home file (JSON HomeSpec); repeat for several homes"),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(help="real data folder (../shared/data layout); default $HEMS_DATA_DIR"),
    ] = None,
    allow_fill: Annotated[
        bool, typer.Option(help="run even when the loaders filled slots of the period")
    ] = False,
    slot_minutes: Annotated[int, typer.Option(help="slot length [min]: 5, 15, 30 or 60")] = 30,
    cadence: Annotated[
        str, typer.Option(help="the planner's re-plan cadence: slot, hourly or daily")
    ] = "hourly",
    horizon_hours: Annotated[int, typer.Option(min=1, help="planning horizon [h]")] = 36,
    planner_gap: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=0.99,
            help="the planner's relative MIP gap (perfect foresight keeps 0.05 %)",
        ),
    ] = PLANNER_MIP_REL_GAP,
    noise: Annotated[
        float, typer.Option(min=0.0, help="demo data only: how far load, PV and weather stray")
    ] = 0.1,
    seed: Annotated[int, typer.Option(help="seed of the actuals and the car's arrivals")] = 0,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address (default: a LocalCluster)")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="LocalCluster worker processes (default: cores)")
    ] = None,
    chunk_days: Annotated[
        int,
        typer.Option(
            min=0,
            help="one home: split the period into chunks of this many days run in parallel, "
            "each after the first starting a warm-up day early (0: one run)",
        ),
    ] = 0,
    warmup_cadence: Annotated[
        str,
        typer.Option(help="with --chunk-days: a planner's cadence in the warm-up day"),
    ] = "daily",
) -> None:
    """Backtest strategies for one or many homes over a period: on real data with --data (or
    $HEMS_DATA_DIR), else the bundled market sample replayed onto the period. Writes the KPIs
    per strategy to --out (CSV and parquet) and per day, per slot, per DSR event and the data
    report beside it. Several homes, --scheduler or --workers run on Dask."""
    from rich.progress import Progress

    from hems.backtest.request import (
        BacktestInputError,
        backtest_configs,
        backtest_request,
        run_request,
        runs_here,
    )

    try:
        request = backtest_request(
            strategies=strategies,
            start=start,
            end=end,
            days=days,
            home_files=home or [],
            data=data,
            allow_fill=allow_fill,
            slot_minutes=slot_minutes,
            cadence=cadence,
            warmup_cadence=warmup_cadence,
            horizon_hours=horizon_hours,
            planner_gap=planner_gap,
            noise=noise,
            seed=seed,
            scheduler=scheduler,
            workers=workers,
            chunk_days=chunk_days,
        )
        configs = backtest_configs(request)  # loads and checks the data first
    except BacktestInputError as exc:
        raise InputError(str(exc)) from None
    if not runs_here(request, configs):
        results = run_request(request, configs)  # Dask shows its own progress
    else:
        slots = request.days * 24 * 60 // slot_minutes * len(request.strategies)
        with Progress(console=console, transient=True) as bar:
            label = f"{len(request.strategies)} strategies, {request.days} d"
            task = bar.add_task(label, total=slots)
            results = run_request(request, configs, progress=lambda: bar.advance(task))
    written = results.save(out)
    _print_backtest(results, request.days, request.start_utc, written)


def _print_backtest(
    results: BacktestResults, days: int, start_utc: datetime, written: list[Path]
) -> None:
    """The KPIs per home and strategy as a table, the data report and the files written."""
    table = Table(title=f"Backtest, {days} d from {start_utc:%Y-%m-%d %H:%M} UTC")
    shown = {
        "bill_gbp": ("bill £", ".2f"),
        "import_kwh": ("import kWh", ".1f"),
        "export_kwh": ("export kWh", ".1f"),
        "carbon_kg": ("CO2 kg", ".1f"),
        "comfort_deficit_kelvin_hours": ("comfort K·h", ".2f"),
        "ev_short_kwh": ("EV short kWh", ".1f"),
        "battery_throughput_kwh": ("battery kWh", ".1f"),
        "peak_import_kw": ("peak kW", ".1f"),
        "plans": ("plans", ".0f"),
        "plans_per_s": ("plans/s", ".1f"),
    }
    table.add_column("home")
    table.add_column("strategy")
    for header, _ in shown.values():
        table.add_column(header, justify="right")
    for name, row in results.summary.iterrows():
        table.add_row(
            str(row["home"]),
            str(name),
            *(format(float(row[c]), f) for c, (_, f) in shown.items()),
        )
    console.print(table)
    if results.data_report is not None:
        console.print(f"Data: {results.data_report.summary()}")
    console.print("Written: " + ", ".join(str(p) for p in written))


def _home_problem(
    home_file: Path, prefs_file: Path | None, ev_soc: float | None, battery_soc: float
) -> tuple[Problem, list[ModelExtension]]:
    """The problem of a home file planned now (UTC), with states given on the command line."""
    from hems.domain.home import HomeSpec
    from hems.domain.preferences import Preferences
    from hems.market import ReplayedMarket
    from hems.problem_builder import PlanInputs, build_problem
    from kernel.devices import DeviceState

    spec = read_model(home_file, HomeSpec)
    prefs = read_model(prefs_file, Preferences) if prefs_file else Preferences()
    now = datetime.now(UTC)
    if (refusal := prefs.next_trip_refusal(now)) is not None:
        raise InputError(f"{prefs_file}: ev_next_trip.leave_at: {refusal}")
    grid = TimeGrid.starting_at(now, step_minutes=30, horizon_hours=48)
    states = {}
    for d in spec.devices:
        if d.kind == "battery":
            states[d.name] = DeviceState(at_utc=now, power_kw=0.0, soc=battery_soc)
        elif d.kind == "ev_charger" and ev_soc is not None:
            states[d.name] = DeviceState(at_utc=now, power_kw=0.0, soc=ev_soc, plugged_in=True)
    inputs = PlanInputs(
        home=spec,
        preferences=prefs,
        states=states,
        market=ReplayedMarket().series(grid, spec),
        grid=grid,
        now_utc=now,
    )
    return build_problem(inputs)


def print_plan(result: Plan) -> None:
    """A readable summary: an hourly table in UK local time, totals, wishes missed, solver."""
    s = result.schedule
    hourly = s.resample("1h").mean()
    table = Table(title="Plan, hourly averages (UK local time; kW, + = consumption / import)")
    suffixes = {".power_kw": "", ".soc_pct": " %", ".indoor_c": " °C", ".tank_c": " tank °C"}
    device_columns = [
        c for c in s.columns if any(c.endswith(x) for x in suffixes) and c != "grid_kw"
    ]
    columns = [
        ("price p/kWh", "import_price_gbp_per_kwh", 100.0, ".1f"),
        ("CO2 g/kWh", "carbon_intensity_g_per_kwh", 1.0, ".0f"),
        ("load", "base_load_kw", 1.0, ".2f"),
    ]
    for c in device_columns:
        name, suffix = next((c[: -len(x)], u) for x, u in suffixes.items() if c.endswith(x))
        fmt = "+.2f" if suffix == "" else ".0f" if suffix == " %" else ".1f"
        columns.append((f"{name}{suffix}", c, 1.0, fmt))
    columns.append(("grid", "grid_kw", 1.0, "+.2f"))
    table.add_column("time", justify="right")
    for header, *_ in columns:
        table.add_column(header, justify="right")
    for ts, row in hourly.iterrows():
        local = pd.Timestamp(str(ts)).tz_convert("Europe/London")
        cells = [
            "" if pd.isna(row[c]) else format(scale * row[c], fmt) for _, c, scale, fmt in columns
        ]
        table.add_row(local.strftime("%a %H:%M"), *cells)
    console.print(table)
    t = result.totals
    console.print(
        f"[bold]Totals[/bold]: import {t.import_kwh:.1f} kWh (£{t.import_cost_gbp:.2f}), "
        f"export {t.export_kwh:.1f} kWh (£{t.export_revenue_gbp:.2f}), "
        f"net energy cost £{t.net_energy_cost_gbp:.2f}, carbon {t.carbon_kg:.1f} kg, "
        f"battery wear £{t.degradation_gbp:.2f}, PV curtailed {t.pv_curtailed_kwh:.1f} kWh"
    )
    if result.violations:
        console.print("[bold yellow]Wishes not met[/bold yellow]:")
        for v in result.violations:
            console.print(f"  - {v.message}")
    else:
        console.print("[green]Every wish is met[/green] (EV targets, comfort band, hot water).")
    r = result.solver
    console.print(
        f"[bold]Solver[/bold]: {r.status.value} ({r.message}), objective £{r.objective_gbp:.4f}, "
        f"gap {r.gap:.2e}, {r.n_binaries} binaries, {r.rounds} round(s); "
        f"build {1000 * r.build_s:.0f} ms, "
        f"solve {1000 * r.solve_s:.0f} ms, extract {1000 * r.extract_s:.0f} ms"
    )


if __name__ == "__main__":
    app()
