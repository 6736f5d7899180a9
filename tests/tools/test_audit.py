"""`make audit` reports what it could not check instead of a false clean (tools/audit.py)."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from tools.audit import EXIT_CLEAN, EXIT_NOT_AUDITED, EXIT_VULNERABLE, audit, report
from tools.lockfile import Pin

PINS = [Pin("aiohttp", "3.9.1"), Pin("lxml", "6.2.0")]
TODAY = date(2026, 12, 6)


def _snapshot(snapshot_date: str) -> dict[str, Any]:
    return {
        "snapshot_date": snapshot_date,
        "packages_covered": ["aiohttp", "lxml"],
        "advisories": [
            {
                "id": "PYSEC-2024-26",
                "aliases": ["CVE-2024-23829"],
                "summary": "request smuggling",
                "withdrawn": None,
                "affected": [
                    {
                        "name": "aiohttp",
                        "ranges": [
                            {
                                "type": "ECOSYSTEM",
                                "events": [{"introduced": "0"}, {"fixed": "3.9.2"}],
                            }
                        ],
                        "versions": [],
                    }
                ],
            }
        ],
    }


def _all_skipped() -> dict[str, Any]:
    """pip-audit's report when PyPI cannot be reached: every package skipped, no vulns."""
    return {
        "dependencies": [
            {"name": p.name, "skip_reason": "Dependency not found on PyPI and could not be audited"}
            for p in PINS
        ]
    }


def _run(online: dict[str, Any] | None, snapshot: dict[str, Any] | None) -> tuple[int, str]:
    out = io.StringIO()
    status = report(audit(PINS, online, snapshot, TODAY, 30), snapshot, out)
    return status, out.getvalue()


def test_every_package_skipped_and_no_snapshot_is_not_audited() -> None:
    status, text = _run(_all_skipped(), None)
    assert status == EXIT_NOT_AUDITED
    assert "NOT AUDITED aiohttp==3.9.1" in text
    assert "no known vulnerabilities" not in text


def test_a_stale_snapshot_finds_old_advisories_but_is_not_a_clean_audit() -> None:
    status, text = _run(_all_skipped(), _snapshot("2024-10-10"))
    assert status == EXIT_VULNERABLE  # aiohttp 3.9.1 is before the fix
    assert "VULNERABLE aiohttp==3.9.1: PYSEC-2024-26" in text
    out = io.StringIO()
    fixed = [Pin("aiohttp", "3.9.2"), Pin("lxml", "6.2.0")]
    status = report(audit(fixed, None, _snapshot("2024-10-10"), TODAY, 30), None, out)
    assert status == EXIT_NOT_AUDITED


def test_a_current_snapshot_that_covers_every_package_is_clean() -> None:
    out = io.StringIO()
    fixed = [Pin("aiohttp", "3.9.2"), Pin("lxml", "6.2.0")]
    status = report(audit(fixed, None, _snapshot("2026-12-01"), TODAY, 30), None, out)
    assert status == EXIT_CLEAN
    assert "2 packages audited against current advisory data" in out.getvalue()


def test_pypi_findings_count_only_for_packages_it_looked_up() -> None:
    online = {
        "dependencies": [
            {
                "name": "AIOHTTP",
                "version": "3.9.1",
                "vulns": [{"id": "GHSA-x", "aliases": [], "fix_versions": ["3.9.2"]}],
            },
            {"name": "lxml", "skip_reason": "not found"},
        ]
    }
    status, text = _run(online, None)
    assert status == EXIT_VULNERABLE
    assert "GHSA-x" in text
    assert "NOT AUDITED lxml==6.2.0" in text


def test_last_affected_is_inclusive_and_explicit_versions_match() -> None:
    snap = _snapshot("2026-12-01")
    snap["advisories"][0]["affected"][0]["ranges"][0]["events"] = [
        {"introduced": "6.0"},
        {"last_affected": "6.2.0"},
    ]
    snap["advisories"][0]["affected"][0]["name"] = "lxml"
    status, text = _run(None, snap)
    assert status == EXIT_VULNERABLE
    assert "VULNERABLE lxml==6.2.0" in text
