"""Rebuild the vendored advisory snapshot from a local copy of PyPA's advisory database.

    python -m tools.advisories.build_snapshot PATH/TO/advisory-database [--commit SHA --date DAY]

The PyPA advisory database (https://github.com/pypa/advisory-database, CC BY 4.0) holds one
OSV-format YAML file per advisory under ``vulns/<package>/``. The snapshot keeps the advisories
of the packages in the project's locks, trimmed to what the audit reads (id, aliases, summary,
affected ranges and versions), in ``tools/advisories/pypa_snapshot.json`` with the source
commit and date, so `make audit` can check the locked versions where no advisory service can be
reached. Re-run it after `make lock` adds packages, and whenever a newer copy is at hand.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml
from packaging.utils import canonicalize_name

from tools.lockfile import read_pins

SNAPSHOT = Path(__file__).resolve().parent / "pypa_snapshot.json"


def _trim(advisory: dict[str, Any]) -> dict[str, Any]:
    """The fields the audit needs; `details` cut to a line so the snapshot stays small."""
    details = str(advisory.get("summary") or advisory.get("details") or "").strip()
    return {
        "id": advisory["id"],
        "aliases": advisory.get("aliases", []),
        "summary": details.splitlines()[0][:200] if details else "",
        "withdrawn": advisory.get("withdrawn"),
        "affected": [
            {
                "name": canonicalize_name(a["package"]["name"]),
                "ranges": [r for r in a.get("ranges", []) if r.get("type") == "ECOSYSTEM"],
                "versions": a.get("versions", []),
            }
            for a in advisory.get("affected", [])
            if a.get("package", {}).get("ecosystem") == "PyPI"
        ],
    }


def build(database: Path, commit: str, date: str) -> dict[str, Any]:
    """The snapshot of `database` (a checkout of pypa/advisory-database) for the locked names."""
    names = {pin.name for pin in read_pins()}
    advisories = []
    for folder in sorted((database / "vulns").iterdir()):
        if canonicalize_name(folder.name) not in names:
            continue
        for path in sorted(folder.glob("*.yaml")):
            advisories.append(_trim(yaml.safe_load(path.read_text(encoding="utf-8"))))
    return {
        "source": "https://github.com/pypa/advisory-database (CC BY 4.0)",
        "commit": commit,
        "snapshot_date": date,
        "packages_covered": sorted(names),
        "advisories": advisories,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", type=Path, help="a checkout of pypa/advisory-database")
    parser.add_argument("--commit", required=True, help="the checkout's commit")
    parser.add_argument("--date", required=True, help="the commit's date, YYYY-MM-DD")
    args = parser.parse_args()
    snapshot = build(args.database, args.commit, args.date)
    SNAPSHOT.write_text(json.dumps(snapshot, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    n_advisories, n_packages = len(snapshot["advisories"]), len(snapshot["packages_covered"])
    print(f"{n_advisories} advisories for {n_packages} packages")


if __name__ == "__main__":
    main()
