"""What ``hems plan`` plans and prints.

Without ``--home`` it plans the service's demo home (``hems run --demo``): the same
:func:`hems.demo.demo_home_spec`, the consumer's default preferences, the devices' states read
from the simulated home as the service starts it now, and the bundled prices replayed onto
today, through the service's own :func:`hems.problem_builder.build_problem`. (Until issue 28 it
planned :func:`hems.demo.demo_problem`, a different home: a hot-water tank, other SoCs and car
stays, on the sample's own dates.) With ``--home`` it plans a home file of the user's from now.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
from rich.console import Console
from rich.table import Table

from hems.cli_errors import InputError, read_model
from hems.demo import demo_home_spec
from hems.domain.home import HomeSpec
from hems.domain.preferences import Preferences
from hems.market import ReplayedMarket
from hems.problem_builder import PlanInputs, build_problem
from hems.simulation.home import simulate_home
from hems.slot_setpoints import Safeguards
from kernel.devices import DeviceState
from optimiser import ModelExtension, Plan, Problem, TimeGrid

UK = ZoneInfo("Europe/London")
DEMO_SERIAL = "DEMO-0001"
"""The serial of the service's demo home (hems.runtime registers it under this one)."""
HORIZON_HOURS = 48


def _inputs(
    spec: HomeSpec,
    prefs: Preferences,
    states: dict[str, DeviceState],
    market: ReplayedMarket,
    now: datetime,
) -> tuple[Problem, list[ModelExtension]]:
    grid = TimeGrid.starting_at(now, step_minutes=30, horizon_hours=HORIZON_HOURS)
    inputs = PlanInputs(
        home=spec,
        preferences=prefs,
        states=states,
        market=market.series(grid, spec),
        grid=grid,
        now_utc=now,
        # planned for the dispatch's default safeguards, as the service plans (an EV's rises
        # lose their randomised delay and ramp)
        safeguards=Safeguards(),
    )
    return build_problem(inputs)


def demo_home_problem(
    series: pd.DataFrame, carbon_preference: float, now: datetime | None = None
) -> tuple[Problem, list[ModelExtension]]:
    """The service's demo home planned ``now`` (default: the clock) on ``series`` replayed,
    its devices in the states the service's simulation starts them in."""
    now = now or datetime.now(UTC)
    spec = demo_home_spec(DEMO_SERIAL)
    prefs = Preferences(carbon_preference=carbon_preference, dsr_consent=True)
    market = ReplayedMarket(series)
    sim = simulate_home(
        spec,
        now,
        days=2,
        market=market,
        comfort_min_c=lambda t: prefs.comfort_min_at(t.astimezone(UK)),
    )

    async def read_all() -> dict[str, DeviceState]:
        return {name: await d.read_state() for name, d in sim.drivers.items()}

    return _inputs(spec, prefs, asyncio.run(read_all()), market, now)


def home_file_problem(
    home_file: Path,
    prefs_file: Path | None,
    ev_soc: float | None,
    battery_soc: float,
    series: pd.DataFrame,
) -> tuple[Problem, list[ModelExtension]]:
    """The problem of a home file planned now (UTC), with states given on the command line."""
    spec = read_model(home_file, HomeSpec)
    prefs = read_model(prefs_file, Preferences) if prefs_file else Preferences()
    now = datetime.now(UTC)
    if (refusal := prefs.next_trip_refusal(now)) is not None:
        raise InputError(f"{prefs_file}: ev_next_trip.leave_at: {refusal}")
    states = {}
    for d in spec.devices:
        if d.kind == "battery":
            states[d.name] = DeviceState(at_utc=now, power_kw=0.0, soc=battery_soc)
        elif d.kind == "ev_charger" and ev_soc is not None:
            states[d.name] = DeviceState(at_utc=now, power_kw=0.0, soc=ev_soc, plugged_in=True)
    return _inputs(spec, prefs, states, ReplayedMarket(series), now)


def print_plan(console: Console, result: Plan) -> None:
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
