"""The exact versions pinned in the project's hashed lock files (requirements*.txt).

The locks are written by `uv pip compile` (`make lock`); each pin is a line
``name==version \\`` optionally followed by an environment marker. Only the pins are read
here: hashes and comments are for pip.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import Marker
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
DEV_LOCK = ROOT / "requirements-dev.txt"
LOCK_FILES = (DEV_LOCK, ROOT / "requirements.txt", ROOT / "requirements-build.txt")

_PIN = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==(?P<version>[^\s;\\]+)"
    r"(\s*;\s*(?P<marker>[^\\]+?))?\s*\\?$"
)


@dataclass(frozen=True, order=True)
class Pin:
    """One locked distribution: its canonical name and exact version."""

    name: str
    version: str


def read_pins(paths: tuple[Path, ...] = LOCK_FILES, *, this_python: bool = False) -> list[Pin]:
    """Every distinct pin in `paths`, sorted by name; a missing lock file is an error.

    The locks are universal, so one package may be pinned at two versions under environment
    markers (numpy for Python < 3.12 and >= 3.12). By default every pin is returned (the audit
    checks them all); with `this_python`, only those whose marker holds here (what an install
    on this interpreter gets)."""
    pins: set[Pin] = set()
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            match = _PIN.match(line)
            if not match:
                continue
            if this_python and match["marker"] and not Marker(match["marker"]).evaluate():
                continue
            pins.add(Pin(canonicalize_name(match["name"]), match["version"]))
    return sorted(pins)
