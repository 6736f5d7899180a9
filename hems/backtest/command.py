"""``hems backtest``'s work: the request checked, run with a progress bar, saved, plotted and
printed (``hems/cli.py`` holds only the options)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from hems.backtest.plot import PlotError, check_plot_path, write_plot
from hems.backtest.report import print_backtest
from hems.backtest.request import (
    BacktestInputError,
    backtest_configs,
    backtest_request,
    run_request,
    runs_here,
)

__all__ = ["BacktestInputError", "PlotError", "backtest_command"]


def backtest_command(
    console: Console,
    *,
    out: Path,
    plot: Path | None,
    strategies: str,
    start: str | None,
    end: str | None,
    days: int,
    home_files: list[Path],
    **options: object,
) -> None:
    """Run the backtest the command line asks for (``options``: :class:`BacktestRequest`'s
    other fields). Bad input raises :class:`BacktestInputError` or :class:`PlotError` before
    anything runs."""
    request = backtest_request(
        strategies=strategies,
        start=start,
        end=end,
        days=days,
        home_files=home_files,
        **options,
    )
    configs = backtest_configs(request)  # loads and checks the data first
    check_plot_path(plot)
    if not runs_here(request, configs):
        results = run_request(request, configs)  # Dask shows its own progress
    else:
        slots = request.days * 24 * 60 // request.slot_minutes * len(request.strategies)
        with Progress(console=console, transient=True) as bar:
            label = f"{len(request.strategies)} strategies, {request.days} d"
            task = bar.add_task(label, total=slots)
            results = run_request(request, configs, progress=lambda: bar.advance(task))
    written = results.save(out)
    if plot is not None:
        written.append(write_plot(results, plot))
    print_backtest(console, results, request.days, request.start_utc, written)
