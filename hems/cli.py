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
from typing import Annotated

import typer
from rich.console import Console

from hems.backtest.config import MODEL_CACHE_SHAPES, PLANNER_MIP_REL_GAP
from hems.cli_conformance import conformance_app
from hems.cli_devices import devices_app
from hems.cli_errors import DEBUG_ENV, ErrorBoundaryGroup, InputError, writable_file
from hems.demo import read_demo_series
from hems.settings import Settings, load_settings
from hems.storage.engine import make_engine, upgrade_schema
from hems.storage.store import Store
from optimiser import SolverOptions, optimise

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
# hems backtest --scheduler's security, read from the service's variables too (docs/backtest.md)
SchedulerCaOption = Annotated[
    Path | None,
    typer.Option(envvar="HEMS_PLANNER_TLS_CA_FILE", help="tls:// scheduler: the cluster's CA"),
]
SchedulerCertOption = Annotated[
    Path | None,
    typer.Option(envvar="HEMS_PLANNER_TLS_CERT_FILE", help="tls://: our client certificate"),
]
SchedulerKeyOption = Annotated[
    Path | None,
    typer.Option(envvar="HEMS_PLANNER_TLS_KEY_FILE", help="tls://: its unencrypted key"),
]
NetworkPrivateOption = Annotated[
    bool,
    typer.Option(
        envvar="HEMS_PLANNER_NETWORK_PRIVATE",
        help="allow a tcp:// scheduler that is not loopback: only we reach its network",
    ),
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
    devices: Annotated[str | None, typer.Option(help="with --demo: simulated or protocols")] = None,
    scheduler: Annotated[str | None, typer.Option(help="plan on this Dask scheduler")] = None,
) -> None:
    """Run the service: the planning loop, dispatch and the HTTP API."""
    import uvicorn

    from hems.app import create_app
    from hems.runtime import build_runtime

    given: tuple[tuple[str, object], ...] = (("demo", demo or None), ("api_host", host))
    given += (("live_market", live or None), ("api_port", port), ("demo_devices", devices))
    given += (("planner_scheduler", scheduler),)
    overrides: dict[str, object] = {name: value for name, value in given if value is not None}
    settings = _settings(config, **overrides)
    demo_dsrsp = None
    if settings.demo and dsrsp and not settings.vtn_url:
        from hems.dsrsp_process import DemoDsrspProcess

        demo_dsrsp = DemoDsrspProcess(  # started and stopped with the API
            port=dsrsp_port, console_port=dsrsp_port + 1, state_dir=settings.state_dir
        )
        settings = settings.model_copy(update={"vtn_url": demo_dsrsp.url})
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for noisy in ("apscheduler", "openleadr", "httpx", "aiohttp.access", "ocpp", "websockets"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    _check_port_free(settings.api_host, settings.api_port)
    if settings.devices.has_chargers and (ocpp := settings.devices.ocpp).port:
        _check_port_free(ocpp.host, ocpp.port, "the CSMS (devices.ocpp)")
    if settings.devices.has_s2 and (s2 := settings.devices.s2).port:
        _check_port_free(s2.host, s2.port, "the S2 server (devices.s2)")
    runtime = build_runtime(settings)
    runtime.dsrsp = demo_dsrsp
    base = f"{settings.api_scheme}://{settings.api_host}:{settings.api_port}"
    console.rule("Customer Energy Manager")
    console.print(f"database   {settings.resolved_database_url}")
    console.print(f"API        {base}  (docs: {base}/docs, schema: {base}/openapi.json)")
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
    if demo_dsrsp is not None:
        console.print(f"DSRSP page {demo_dsrsp.console_url}  (the demo DSRSP's console)")
    for home_id in runtime.simulations:
        console.print(f"demo home  {base}/homes/{home_id}/plan  (Authorization: Bearer <token>)")
    if runtime.demo_protocols is not None:
        console.print("devices    EV over OCPP, battery, PV over Modbus/SunSpec (child processes)")
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


def _check_port_free(host: str, port: int, what: str = "the API") -> None:
    """Refuse an address another process listens on before anything starts (uvicorn finds
    out only after the database, the tokens and the demo DSRSP are up)."""
    try:
        socket.create_server((host, port)).close()
    except OSError as exc:
        reason = f"{what} cannot listen on {host}:{port}: {exc.strerror}"
        raise OSError(exc.errno, reason) from None


@app.command("dsrsp-sim")
def dsrsp_sim(
    port: Annotated[int, typer.Option(help="port on 127.0.0.1")] = 8081,
    event_after_s: Annotated[
        float, typer.Option(help="delay from registration to event [s]")
    ] = 180,
    event_kw: Annotated[
        float, typer.Option(help="the site import the event asks to hold [kW]")
    ] = 1.5,
    console_port: Annotated[
        int, typer.Option(help="its console page's port on 127.0.0.1 (0: no console)")
    ] = 8082,
    state_dir: Annotated[
        Path,
        typer.Option(envvar="HEMS_STATE_DIR", help="where it keeps its registrations and events"),
    ] = Path("var"),
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
    sim = DemoDsrsp(
        port=port,
        event_after_s=event_after_s,
        event_kw=event_kw,
        state_dir=state_dir,
        console_port=console_port or None,
    )
    ready_out = sys.stdout

    def say_ready() -> None:
        if supervised:  # the parent waits for this line (hems/dsrsp_process.py)
            ready_out.write("ready\n")
            ready_out.flush()
        else:
            console.print(f"demo DSRSP at {sim.url}; point a CEM at it: HEMS_VTN_URL={sim.url}")
            if sim.console_url:
                console.print(f"its console: {sim.console_url}")

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
    """Plan the service's demo home from now on the bundled prices replayed onto today (or,
    with --home, a home of yours), print a summary and write the plan as CSV."""
    from hems.cli_plan import demo_home_problem, home_file_problem, print_plan

    series = read_demo_series(data)
    if home is None:
        problem, extensions = demo_home_problem(series, carbon_preference)
    else:
        problem, extensions = home_file_problem(home, preferences, ev_soc, battery_soc, series)
    result = optimise(problem, SolverOptions(time_limit_s=time_limit_s), extensions)
    result.schedule.to_csv(out, date_format="%Y-%m-%dT%H:%M:%SZ", float_format="%.4f")
    print_plan(console, result)
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
        str | None,
        typer.Option(
            help="start of the period (ISO date or time, UTC); default: 5 days into --data's "
            "data, or 2026-01-12 on the bundled sample"
        ),
    ] = None,
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
        typer.Option(min=0.0, max=0.99, help="the planner's relative MIP gap (the bound: 0.05 %)"),
    ] = PLANNER_MIP_REL_GAP,
    model_cache_shapes: Annotated[
        int, typer.Option(min=0, help="home shapes a planner keeps a built model for (0: none)")
    ] = MODEL_CACHE_SHAPES,
    noise: Annotated[
        float, typer.Option(min=0.0, help="demo data only: how far load, PV and weather stray")
    ] = 0.1,
    seed: Annotated[int, typer.Option(help="seed of the actuals and the car's arrivals")] = 0,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Dask scheduler address, tls:// or tcp:// (default: a LocalCluster)"),
    ] = None,
    planner_tls_ca_file: SchedulerCaOption = None,
    planner_tls_cert_file: SchedulerCertOption = None,
    planner_tls_key_file: SchedulerKeyOption = None,
    planner_network_private: NetworkPrivateOption = False,
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
    plot: Annotated[
        Path | None,
        typer.Option(help="also write an interactive chart of bills, SoC and prices (FILE.html)"),
    ] = None,
) -> None:
    """Backtest strategies for one or many homes over a period: on real data with --data (or
    $HEMS_DATA_DIR), else the bundled market sample replayed onto the period. Writes the KPIs
    per strategy to --out (CSV and parquet) and per day, per slot, per DSR event and the data
    report beside it. Several homes, --scheduler or --workers run on Dask."""
    from hems.backtest.command import BacktestInputError, PlotError, backtest_command

    try:
        backtest_command(
            console,
            out=out,
            plot=plot,
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
            model_cache_shapes=model_cache_shapes,
            noise=noise,
            seed=seed,
            scheduler=scheduler,
            planner_tls_ca_file=planner_tls_ca_file,
            planner_tls_cert_file=planner_tls_cert_file,
            planner_tls_key_file=planner_tls_key_file,
            planner_network_private=planner_network_private,
            workers=workers,
            chunk_days=chunk_days,
        )
    except (BacktestInputError, PlotError) as exc:
        raise InputError(str(exc)) from None


if __name__ == "__main__":
    app()
