"""`make audit`: the locked versions against advisory data, and never a false clean.

Two sources, in order:

1. **PyPI's advisory data**, through pip-audit (``--vulnerability-service pypi``), when PyPI's
   JSON API answers. pip-audit prints "No known vulnerabilities found" and exits 0 even when it
   could not look a single package up (each is only *skipped*), so this tool reads its JSON
   report and counts a package as audited only if it was looked up.
2. **The vendored snapshot of PyPA's advisory database** (``tools/advisories/pypa_snapshot.json``,
   rebuilt by ``tools.advisories.build_snapshot``) for the packages the online source could not
   check. It is only as new as its date, so it is reported as such, and a snapshot older than
   ``--max-snapshot-age-days`` does not count as an audit.

Exit status: 0 every locked package was audited against current data and none is affected;
1 a locked version is affected by an advisory; 2 NOT AUDITED: some packages could be checked
only against stale data or not at all (the output says which and why).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from tools.advisories.build_snapshot import SNAPSHOT
from tools.lockfile import LOCK_FILES, Pin, read_pins

EXIT_CLEAN, EXIT_VULNERABLE, EXIT_NOT_AUDITED = 0, 1, 2


@dataclass(frozen=True)
class Finding:
    """A locked version that an advisory affects."""

    pin: Pin
    advisory_id: str
    aliases: tuple[str, ...]
    fixed_in: tuple[str, ...]
    source: str


@dataclass
class AuditResult:
    """What each source could check, and what it found."""

    findings: list[Finding] = field(default_factory=list)
    audited_current: set[Pin] = field(default_factory=set)
    audited_stale: set[Pin] = field(default_factory=set)
    not_audited: dict[Pin, str] = field(default_factory=dict)


def _version_affected(version: Version, affected: dict[str, Any]) -> bool:
    """OSV's rule for one package entry: listed explicitly, or inside an ECOSYSTEM range."""
    if str(version) in affected.get("versions", []):
        return True
    for rng in affected.get("ranges", []):
        # Events in order: the version is affected after an `introduced` until a `fixed`
        # (exclusive) or `last_affected` (inclusive).
        inside = False
        for event in rng.get("events", []):
            try:
                if "introduced" in event:
                    start = event["introduced"]
                    if start == "0" or version >= Version(start):
                        inside = True
                elif ("fixed" in event and version >= Version(event["fixed"])) or (
                    "last_affected" in event and version > Version(event["last_affected"])
                ):
                    inside = False
            except InvalidVersion:
                continue
        if inside:
            return True
    return False


def check_snapshot(pins: list[Pin], snapshot: dict[str, Any]) -> list[Finding]:
    """The findings for `pins` in a vendored OSV snapshot."""
    by_name: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    for advisory in snapshot["advisories"]:
        if advisory.get("withdrawn"):
            continue
        for affected in advisory["affected"]:
            by_name.setdefault(affected["name"], []).append((advisory, affected))
    findings = []
    for pin in pins:
        try:
            version = Version(pin.version)
        except InvalidVersion:
            continue
        for advisory, affected in by_name.get(pin.name, []):
            if _version_affected(version, affected):
                fixed = tuple(
                    e["fixed"] for r in affected["ranges"] for e in r["events"] if "fixed" in e
                )
                findings.append(
                    Finding(pin, advisory["id"], tuple(advisory["aliases"]), fixed, "snapshot")
                )
    return findings


def run_pip_audit(timeout_s: float) -> dict[str, Any] | None:
    """pip-audit's JSON report over the locks against PyPI, or None if it could not run."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        cmd = [sys.executable, "-m", "pip_audit", "--disable-pip", "--no-deps"]
        for lock in LOCK_FILES:
            cmd += ["-r", str(lock)]
        cmd += ["-s", "pypi", "-f", "json", "-o", str(out), "--progress-spinner", "off"]
        cmd += ["--timeout", str(int(timeout_s))]
        try:
            subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s * 20)
        except subprocess.TimeoutExpired:
            return None
        if not out.exists():
            return None
        report: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        return report


def audit(
    pins: list[Pin],
    online_report: dict[str, Any] | None,
    snapshot: dict[str, Any] | None,
    today: date,
    max_snapshot_age_days: int,
) -> AuditResult:
    """Combine the online report (where it looked a package up) with the snapshot."""
    result = AuditResult()
    looked_up: dict[str, dict[str, Any]] = {}
    if online_report is not None:
        for dep in online_report.get("dependencies", []):
            if "skip_reason" not in dep:
                looked_up[canonicalize_name(dep["name"])] = dep
    rest = []
    for pin in pins:
        dep = looked_up.get(pin.name)
        if dep is not None and dep.get("version") == pin.version:
            result.audited_current.add(pin)
            for vuln in dep.get("vulns", []):
                result.findings.append(
                    Finding(
                        pin,
                        vuln["id"],
                        tuple(vuln.get("aliases", [])),
                        tuple(vuln.get("fix_versions", [])),
                        "PyPI",
                    )
                )
        else:
            rest.append(pin)
    if not rest:
        return result
    if snapshot is None:
        for pin in rest:
            result.not_audited[pin] = "PyPI unreachable and no vendored snapshot"
        return result
    result.findings += check_snapshot(rest, snapshot)
    age_days = (today - date.fromisoformat(snapshot["snapshot_date"])).days
    covered = set(snapshot["packages_covered"])
    for pin in rest:
        if pin.name not in covered:
            result.not_audited[pin] = "PyPI unreachable, not in the snapshot (build_snapshot)"
        elif age_days > max_snapshot_age_days:
            result.audited_stale.add(pin)
        else:
            result.audited_current.add(pin)
    return result


def report(result: AuditResult, snapshot: dict[str, Any] | None, out: Any = sys.stdout) -> int:
    """Print what was and was not audited; the exit status by the module's rule."""
    for f in sorted(result.findings, key=lambda f: (f.pin, f.advisory_id)):
        fixed = ", ".join(f.fixed_in) or "no fix listed"
        aliases = " ".join(f.aliases)
        print(
            f"VULNERABLE {f.pin.name}=={f.pin.version}: {f.advisory_id} {aliases} "
            f"(fixed in {fixed}; from {f.source})",
            file=out,
        )
    print(f"{len(result.audited_current)} packages audited against current advisory data", file=out)
    if result.audited_stale and snapshot is not None:
        print(
            f"{len(result.audited_stale)} packages checked only against the vendored PyPA "
            f"snapshot of {snapshot['snapshot_date']}: advisories published since then were "
            "NOT checked",
            file=out,
        )
    for pin, why in sorted(result.not_audited.items()):
        print(f"NOT AUDITED {pin.name}=={pin.version}: {why}", file=out)
    if result.findings:
        return EXIT_VULNERABLE
    if result.audited_stale or result.not_audited:
        print("Result: NOT AUDITED (no current advisory data for every locked package)", file=out)
        return EXIT_NOT_AUDITED
    print("Result: no known vulnerabilities in the locked versions", file=out)
    return EXIT_CLEAN


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Audit the locked versions (make audit).")
    parser.add_argument("--offline", action="store_true", help="skip PyPI; the snapshot only")
    parser.add_argument("--max-snapshot-age-days", type=int, default=30)
    parser.add_argument("--timeout-s", type=float, default=15.0)
    args = parser.parse_args(argv)
    pins = read_pins()
    online = None if args.offline else run_pip_audit(args.timeout_s)
    snapshot = json.loads(SNAPSHOT.read_text(encoding="utf-8")) if SNAPSHOT.exists() else None
    result = audit(pins, online, snapshot, datetime.now(UTC).date(), args.max_snapshot_age_days)
    return report(result, snapshot)


if __name__ == "__main__":
    raise SystemExit(main())
