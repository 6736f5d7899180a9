"""The lock follows pyproject.toml: every declared requirement is pinned at a version it allows."""

from __future__ import annotations

import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tools.lockfile import DEV_LOCK, LOCK_FILES, ROOT, read_pins


def test_every_requirement_of_pyproject_is_pinned_in_the_dev_lock_at_an_allowed_version() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = [Requirement(r) for r in project["dependencies"]]
    for extra in project["optional-dependencies"].values():
        declared += [Requirement(r) for r in extra]
    pinned = {pin.name: pin.version for pin in read_pins((DEV_LOCK,))}
    for req in declared:
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(req.name)
        assert name in pinned, f"{req.name} is in pyproject.toml but not locked: run make lock"
        assert req.specifier.contains(pinned[name], prereleases=True), (
            f"{req.name}=={pinned[name]} in the lock is outside {req.specifier}: run make lock"
        )


def test_every_pin_in_the_locks_carries_a_hash() -> None:
    for path in LOCK_FILES:
        text = path.read_text(encoding="utf-8")
        pins = [line for line in text.splitlines() if "==" in line and not line.startswith("#")]
        assert pins, f"{path} pins nothing"
        hashes = text.count("--hash=sha256:")
        assert hashes >= len(pins), f"{path}: a pin without a hash cannot be installed"


def test_a_package_pinned_per_python_version_has_one_pin_here() -> None:
    """The universal lock pins numpy at one version below Python 3.12 and another above: the
    pins for this interpreter name each package once (what `make test-latest` compares)."""
    every = read_pins()
    here = read_pins(this_python=True)
    names_here = [pin.name for pin in here]
    assert len(names_here) == len(set(names_here))
    assert len(every) > len(here)  # the lock does hold marker-split pins
