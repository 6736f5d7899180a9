"""The ``hems`` command line (also installed as ``cem``).

``hems run`` runs the service (``--demo``: a simulated home), ``hems plan`` plans the demo home
once, ``hems db upgrade`` migrates the database, ``hems token create`` makes an API token.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from hems.demo import demo_problem, read_demo_series
from hems.settings import Settings, SettingsError, load_settings
from hems.storage.engine import make_engine, upgrade_schema
from hems.storage.store import NotFoundError, Store
from optimiser import Plan, SolverOptions, optimise

app = typer.Typer(help="Customer Energy Manager", no_args_is_help=True, add_completion=False)
console = Console(width=None if Console().is_terminal else 132)


db_app = typer.Typer(help="Database schema", no_args_is_help=True)
token_app = typer.Typer(help="API tokens", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(token_app, name="token")

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="settings file (TOML); HEMS_* variables override")
]


@app.callback()
def main() -> None:
    """Customer Energy Manager: plans a home's EV, heat pump, battery and PV."""


def _settings(config: Path | None, **overrides: object) -> Settings:
    try:
        return load_settings(config, **overrides)
    except SettingsError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


@app.command()
def run(
    demo: Annotated[bool, typer.Option(help="run the demo home with simulated devices")] = False,
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="API address (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="API port (default 8000)")] = None,
    access_log: Annotated[bool, typer.Option(help="log every HTTP request")] = False,
) -> None:
    """Run the service: the planning loop, dispatch and the HTTP API."""
    import uvicorn

    from hems.api.app import create_app
    from hems.runtime import build_runtime

    overrides: dict[str, object] = {"demo": True} if demo else {}
    if host is not None:
        overrides["api_host"] = host
    if port is not None:
        overrides["api_port"] = port
    settings = _settings(config, **overrides)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    runtime = build_runtime(settings)
    base = f"http://{settings.api_host}:{settings.api_port}"
    console.rule("Customer Energy Manager")
    console.print(f"database   {settings.resolved_database_url}")
    console.print(f"API        {base}  (OpenAPI: {base}/docs)")
    console.print(f"web app    {base}/app  (sign in with a home's token)")
    for who, token in runtime.new_tokens.items():
        console.print(f"[bold]{who} token[/bold] (shown once, keep it safe): {token}")
    if not runtime.new_tokens:
        console.print("tokens     existing (make another: hems token create)")
    for home_id in runtime.simulations:
        console.print(f"demo home  {base}/homes/{home_id}/plan  (Authorization: Bearer <token>)")
    uvicorn.run(
        create_app(settings, runtime),
        host=settings.api_host,
        port=settings.api_port,
        log_level="info",
        access_log=access_log,
    )


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None) -> None:
    """Bring the database schema up to date."""
    settings = _settings(config)
    upgrade_schema(make_engine(settings.resolved_database_url))
    console.print(f"database at the latest schema: {settings.resolved_database_url}")


@token_app.command("create")
def token_create(
    home: Annotated[int | None, typer.Option(help="home id (omit for an admin token)")] = None,
    label: Annotated[str, typer.Option(help="a note on what the token is for")] = "cli",
    config: ConfigOption = None,
) -> None:
    """Create an API token and print it once (only its hash is stored)."""
    settings = _settings(config)
    engine = make_engine(settings.resolved_database_url)
    upgrade_schema(engine)
    store = Store(engine)
    try:
        token = store.create_token(
            "admin" if home is None else "home", home, datetime.now(UTC), label=label
        )
    except NotFoundError:
        console.print(f"[red]no home {home}[/red]")
        raise typer.Exit(1) from None
    console.print(token)


@app.command()
def plan(
    out: Annotated[Path, typer.Option(help="CSV file for the full per-slot plan")] = Path(
        "out/plan.csv"
    ),
    data: Annotated[
        Path | None, typer.Option(help="input series CSV (default: the bundled demo)")
    ] = None,
    carbon_preference: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="0 = cost only, 1 = carbon")
    ] = 0.2,
    time_limit_s: Annotated[float, typer.Option(min=0.1, help="solver time limit [s]")] = 10.0,
) -> None:
    """Plan the demo home for the next 48 h, print a summary and write the plan as CSV."""
    problem = demo_problem(read_demo_series(data), carbon_preference=carbon_preference)
    result = optimise(problem, SolverOptions(time_limit_s=time_limit_s))
    out.parent.mkdir(parents=True, exist_ok=True)
    result.schedule.to_csv(out, date_format="%Y-%m-%dT%H:%M:%SZ", float_format="%.4f")
    print_plan(result)
    console.print(f"\nFull plan ({len(result.schedule)} slots, UTC): [bold]{out}[/bold]")


def print_plan(result: Plan) -> None:
    """A readable summary: an hourly table in UK local time, totals, wishes missed, solver."""
    s = result.schedule
    hourly = s.resample("1h").mean()
    table = Table(title="Plan, hourly averages (UK local time; kW, + = consumption / import)")
    for name in (
        "time",
        "price p/kWh",
        "CO2 g/kWh",
        "load",
        "PV",
        "battery",
        "batt %",
        "EV",
        "EV %",
        "heat pump",
        "indoor °C",
        "tank °C",
        "grid",
    ):
        table.add_column(name, justify="right")
    for ts, row in hourly.iterrows():
        local = pd.Timestamp(ts).tz_convert("Europe/London")
        table.add_row(
            local.strftime("%a %H:%M"),
            f"{100 * row['import_price_gbp_per_kwh']:.1f}",
            f"{row['carbon_intensity_g_per_kwh']:.0f}",
            f"{row['base_load_kw']:.2f}",
            f"{row['PV.power_kw']:.2f}",
            f"{row['Battery.power_kw']:+.2f}",
            f"{row['Battery.soc_pct']:.0f}",
            f"{row['EV.power_kw']:.2f}",
            "" if pd.isna(row["EV.soc_pct"]) else f"{row['EV.soc_pct']:.0f}",
            f"{row['Heat pump.power_kw']:.2f}",
            f"{row['Heat pump.indoor_c']:.1f}",
            f"{row['Heat pump.tank_c']:.1f}",
            f"{row['grid_kw']:+.2f}",
        )
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
