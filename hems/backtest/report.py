"""What ``hems backtest`` prints: the KPIs per home and strategy as a
table whose names are never cut off, the headline, the data report and the files written."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from hems.backtest.headline import headlines
from hems.backtest.kpis import BacktestResults

SHOWN = {
    "bill_gbp": ("bill\n£", ".2f"),
    "import_kwh": ("import\nkWh", ".1f"),
    "export_kwh": ("export\nkWh", ".1f"),
    "carbon_kg": ("CO2\nkg", ".1f"),
    "comfort_deficit_kelvin_hours": ("comfort\nK·h", ".2f"),
    "ev_short_kwh": ("EV short\nkWh", ".1f"),
    "battery_throughput_kwh": ("battery\nkWh", ".1f"),
    "peak_import_kw": ("peak\nkW", ".1f"),
    "plans": ("plans", ".0f"),
    "plans_per_s": ("plans\n/s", ".1f"),
}
"""The summary's columns in the table: header (on two lines, so that no header is cut off in
a 132-character console) and format."""


def kpi_table(results: BacktestResults, days: int, start_utc: datetime) -> Table:
    """The KPIs per strategy (and home, when there are several); no name or header is wrapped
    or cut off."""
    table = Table(title=f"Backtest, {days} d from {start_utc:%Y-%m-%d %H:%M} UTC")
    rows = results.summary
    names = [str(n) for n in rows.index]
    homes = [str(h) for h in rows["home"]]
    several = len(set(homes)) > 1
    if several:
        table.add_column("home", no_wrap=True, min_width=max(map(len, homes)))
    table.add_column("strategy", no_wrap=True, min_width=max(map(len, names), default=8))
    for header, _ in SHOWN.values():
        width = max(map(len, header.split("\n")))
        table.add_column(header, justify="right", no_wrap=True, min_width=width)
    for (name, row), home in zip(rows.iterrows(), homes, strict=True):
        cells = [format(float(row[c]), f) for c, (_, f) in SHOWN.items()]
        table.add_row(*([home] if several else []), str(name), *cells)
    return table


def print_backtest(
    console: Console,
    results: BacktestResults,
    days: int,
    start_utc: datetime,
    written: list[Path],
) -> None:
    """The KPI table, the headline under it, the data report and the files written."""
    console.print(kpi_table(results, days, start_utc))
    for line in headlines(results.summary):
        console.print(f"[bold]{line}[/bold]", soft_wrap=True)
    if results.data_report is not None:
        console.print(f"Data: {results.data_report.summary()}")
    console.print("Written: " + ", ".join(str(p) for p in written), soft_wrap=True)
