"""A run's results and the files they are written to: ``junit.xml`` (one testsuite, a testcase
per case: CI systems read it), ``summary.html`` (for people) and ``summary.json`` (for the REST
API), next to the ``tracelogs/`` directory."""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

JUNIT_FILE = "junit.xml"
HTML_FILE = "summary.html"
JSON_FILE = "summary.json"
SUITE = "openadr-2.0b-ven-conformance"
OUTCOMES = ("passed", "failed", "error", "skipped")


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseResult:
    """One case's verdict; ``tracelog`` is relative to the run's directory (None: no message
    was exchanged)."""

    case_id: str
    rules: tuple[str, ...]
    checks: str
    outcome: str
    message: str
    started_utc: datetime
    duration_s: float
    tracelog: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "rules": list(self.rules),
            "checks": self.checks,
            "outcome": self.outcome,
            "message": self.message,
            "started_utc": self.started_utc.isoformat(),
            "duration_s": round(self.duration_s, 3),
            "tracelog": self.tracelog,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResult:
    mode: str
    target: str
    started_utc: datetime
    duration_s: float
    results: tuple[CaseResult, ...]

    def count(self, outcome: str) -> int:
        return sum(1 for result in self.results if result.outcome == outcome)

    @property
    def ok(self) -> bool:
        """No case failed or crashed (skipped ones do not count against the VEN)."""
        return self.count("failed") == 0 and self.count("error") == 0

    def as_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "target": self.target,
            "started_utc": self.started_utc.isoformat(),
            "duration_s": round(self.duration_s, 3),
            "counts": {outcome: self.count(outcome) for outcome in OUTCOMES},
            "cases": [result.as_json() for result in self.results],
        }


def write_reports(run: RunResult, out_dir: Path) -> None:
    (out_dir / JUNIT_FILE).write_bytes(junit_xml(run))
    (out_dir / HTML_FILE).write_text(summary_html(run), encoding="utf-8")
    (out_dir / JSON_FILE).write_text(json.dumps(run.as_json(), indent=2), encoding="utf-8")


def junit_xml(run: RunResult) -> bytes:
    """JUnit XML: failures as <failure>, crashes as <error>, skips as <skipped>, the tracelog's
    path in <system-out>."""
    suite = ET.Element(
        "testsuite",
        name=SUITE,
        tests=str(len(run.results)),
        failures=str(run.count("failed")),
        errors=str(run.count("error")),
        skipped=str(run.count("skipped")),
        time=f"{run.duration_s:.3f}",
        timestamp=run.started_utc.isoformat(timespec="seconds"),
    )
    ET.SubElement(ET.SubElement(suite, "properties"), "property", name="target", value=run.target)
    for result in run.results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"openadr.conformance.{run.mode}",
            name=result.case_id,
            time=f"{result.duration_s:.3f}",
        )
        tag = {"failed": "failure", "error": "error", "skipped": "skipped"}.get(result.outcome)
        if tag is not None:
            ET.SubElement(case, tag, message=result.message).text = result.message
        rules = ", ".join(result.rules)
        out = f"rules: {rules}\nchecks: {result.checks}\ntracelog: {result.tracelog or '-'}\n"
        ET.SubElement(case, "system-out").text = out
    root = ET.Element("testsuites")
    root.append(suite)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data


def summary_html(run: RunResult) -> str:
    """A standalone page (no script, no external resource): counts, then a row per case."""
    rows = "\n".join(_row(result) for result in run.results)
    counts = ", ".join(f"{run.count(outcome)} {outcome}" for outcome in OUTCOMES)
    target = html.escape(run.target)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>OpenADR 2.0b VEN conformance</title>
<style>body{{font-family:sans-serif}} td,th{{border:1px solid #999;padding:4px;vertical-align:top}}
table{{border-collapse:collapse}} .passed{{background:#dfd}} .failed,.error{{background:#fdd}}
.skipped{{background:#eee}}</style></head><body>
<h1>OpenADR 2.0b VEN conformance</h1>
<p>{html.escape(run.mode)} run against {target}, started {run.started_utc:%Y-%m-%d %H:%M:%S} UTC,
{run.duration_s:.1f} s: {counts}.</p>
<table><tr><th>case</th><th>rules</th><th>checks</th><th>outcome</th><th>tracelog</th></tr>
{rows}
</table></body></html>
"""


def _row(result: CaseResult) -> str:
    outcome = html.escape(result.outcome)
    if result.message:
        outcome += f"<br>{html.escape(result.message)}"
    link = (
        f'<a href="{html.escape(result.tracelog)}">{html.escape(result.tracelog)}</a>'
        if result.tracelog
        else "-"
    )
    return (
        f'<tr class="{html.escape(result.outcome)}"><td>{html.escape(result.case_id)}</td>'
        f"<td>{html.escape(', '.join(result.rules))}</td><td>{html.escape(result.checks)}</td>"
        f"<td>{outcome}</td><td>{link}</td></tr>"
    )
