"""``hems backtest --plot FILE.html``: one interactive chart of a backtest, readable offline.

Three panels sharing the time axis: each strategy's running bill [GBP], the batteries' state of
charge [%] under each strategy, and the actual import price [p/kWh]. The file carries plotly.js
inside it (no CDN), so it opens without the network; hovering names the strategy and the value.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from hems.backtest.kpis import BacktestResults


class PlotError(ValueError):
    """The results cannot be drawn (no per-slot rows), or the file cannot be written."""


def backtest_figure(results: BacktestResults) -> go.Figure:
    """The chart of ``results``' per-slot rows (one line per home and strategy)."""
    slots = results.slots
    if slots.empty:
        raise PlotError("the results have no per-slot rows to plot")
    homes = slots["home"].astype(str).unique()
    figure = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.06,
        row_heights=[0.45, 0.3, 0.25],
        subplot_titles=("Running bill (£)", "Battery state of charge (%)", "Import price (p/kWh)"),
    )
    for (home, strategy), rows in slots.groupby(["home", "strategy"], sort=False):
        name = str(strategy) if len(homes) == 1 else f"{home} {strategy}"
        times = pd.DatetimeIndex(rows["slot_start_utc"])
        figure.add_trace(
            go.Scatter(
                x=times,
                y=rows["bill_gbp"].cumsum(),
                name=name,
                legendgroup=name,
                hovertemplate=f"{name}: £%{{y:.2f}} by %{{x}}<extra></extra>",
            ),
            row=1,
            col=1,
        )
        if "battery_soc_pct" in rows and rows["battery_soc_pct"].notna().any():
            figure.add_trace(
                go.Scatter(
                    x=times,
                    y=rows["battery_soc_pct"],
                    name=name,
                    legendgroup=name,
                    showlegend=False,
                    hovertemplate=f"{name}: battery %{{y:.0f}} %<extra></extra>",
                ),
                row=2,
                col=1,
            )
    _add_prices(figure, slots)
    figure.update_layout(
        title="Backtest: bills, battery and prices (UTC)",
        hovermode="x unified",
        height=800,
        legend={"orientation": "h", "y": -0.08},
    )
    return figure


def _add_prices(figure: go.Figure, slots: pd.DataFrame) -> None:
    """The import price, once (every strategy meets the same prices)."""
    if "import_price_gbp_per_kwh" not in slots:
        return
    first = slots.drop_duplicates("slot_start_utc").sort_values("slot_start_utc")
    figure.add_trace(
        go.Scatter(
            x=pd.DatetimeIndex(first["slot_start_utc"]),
            y=100.0 * first["import_price_gbp_per_kwh"],
            name="import price",
            line={"shape": "hv", "color": "grey"},
            hovertemplate="price %{y:.1f} p/kWh<extra></extra>",
        ),
        row=3,
        col=1,
    )


def check_plot_path(path: Path | None) -> None:
    """Refuse a ``--plot`` file that is not HTML before the backtest runs (None: no plot)."""
    if path is not None and path.suffix.lower() not in {".html", ".htm"}:
        raise PlotError(f"--plot {path}: the chart is written as HTML; name it FILE.html")


def write_plot(results: BacktestResults, path: Path) -> Path:
    """Write the chart as a self-contained HTML file (plotly.js inside) and return its path."""
    check_plot_path(path)
    figure = backtest_figure(results)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.write_html(path, include_plotlyjs=True, full_html=True)
    except OSError as exc:
        raise PlotError(f"--plot {path}: {exc.strerror}") from None
    return path
