"""``hems conformance run``: the OpenADR 2.0b conformance cases against the VEN, with a tracelog
per case, JUnit XML and an HTML summary (docs/openadr.md, "Conformance runner").

Exit code 0 when no case failed (skipped ones do not count), 1 when one did, 2 for bad input.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hems.cli_errors import InputError
from hems.settings import load_settings

conformance_app = typer.Typer(help="OpenADR 2.0b conformance runs", no_args_is_help=True)
console = Console(width=None if Console().is_terminal else 132)
COLOURS = {"passed": "green", "failed": "red", "error": "red", "skipped": "yellow"}


@conformance_app.command("run")
def conformance_run(
    self_: Annotated[
        bool,
        typer.Option("--self", help="against the runner's own reference VTN (openleadr, mTLS)"),
    ] = False,
    vtn: Annotated[
        str | None,
        typer.Option(help="against this VTN with the settings' TLS and signature profile"),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="folder for junit.xml, summary.html and tracelogs/ (default: a new one)"),
    ] = None,
    case: Annotated[
        list[str] | None, typer.Option(help="run only this case (repeat for several)")
    ] = None,
    manufacturer: Annotated[str, typer.Option(help="--vtn: the VEN's manufacturer")] = (
        "CEM-conformance"
    ),
    serial: Annotated[str, typer.Option(help="--vtn: the VEN's serial number")] = (
        "CONFORMANCE-0001"
    ),
    max_duration_s: Annotated[
        float, typer.Option(min=1.0, help="the run's bound [s]; cases left are skipped")
    ] = 300.0,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="settings file (TOML); HEMS_* variables override"),
    ] = None,
) -> None:
    """Drive the OpenADR 2.0b B-profile cases against the VEN (--self or --vtn URL)."""
    from hems.conformance import RunRequest, check_request, run_blocking  # the VEN's imports

    if self_ == (vtn is not None):
        raise InputError("give exactly one of --self and --vtn URL")
    settings = load_settings(config)
    request = RunRequest(
        mode="self" if self_ else "vtn",
        vtn_url=vtn or "",
        cases=tuple(case or ()),
        manufacturer=manufacturer,
        serial_number=serial,
        max_duration_s=max_duration_s,
    )
    problem = check_request(request, settings)
    if problem is not None:
        raise InputError(problem)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = out or settings.state_dir / "conformance" / f"cli-{stamp}"
    out_dir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    result = run_blocking(request, settings, out_dir)
    table = Table(title=f"OpenADR 2.0b conformance ({result.mode}: {result.target})")
    for column in ("case", "rules", "outcome", "s", "why"):
        table.add_column(column)
    for r in result.results:
        colour = COLOURS.get(r.outcome, "white")
        outcome = f"[{colour}]{r.outcome}[/{colour}]"
        table.add_row(r.case_id, ", ".join(r.rules), outcome, f"{r.duration_s:.1f}", r.message)
    console.print(table)
    counts = ", ".join(f"{result.count(o)} {o}" for o in ("passed", "failed", "error", "skipped"))
    console.print(f"{counts} in {result.duration_s:.1f} s; JUnit, HTML and tracelogs in {out_dir}")
    if not result.ok:
        raise typer.Exit(1)
