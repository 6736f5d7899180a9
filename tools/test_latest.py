"""`make test-latest`: the suite on the newest releases pyproject.toml allows.

The locks keep `make test` and CI on known versions; this finds the release that would break
us before a user does. It resolves pyproject.toml (with the dev extra) afresh with uv, installs
that into a throwaway virtual environment (the locked .venv is untouched), prints which
packages are newer than the lock, and runs the suite there. It needs the package registry.
Exit status: pytest's. If it fails and the locked suite passes, a new release broke something:
fix the code, or hold the package back in pyproject.toml with a comment saying why.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tools.lockfile import ROOT, Pin, read_pins


def _uv() -> str:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        raise SystemExit("uv not found: run `make test` once to install the dev tools")
    return uv


def newer_than_lock(resolved: list[Pin], locked: list[Pin]) -> list[tuple[str, str, str]]:
    """(name, locked version, newest version) for each package the fresh resolution moves."""
    lock = {pin.name: pin.version for pin in locked}
    return [
        (pin.name, lock.get(pin.name, "(new)"), pin.version)
        for pin in resolved
        if lock.get(pin.name) != pin.version
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the suite on the newest allowed releases.")
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest (default: the suite)")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway environment")
    args = parser.parse_args(argv)
    uv = _uv()
    work = Path(tempfile.mkdtemp(prefix="cem-latest-"))
    try:
        latest = work / "latest.txt"
        subprocess.run(
            [
                uv,
                "pip",
                "compile",
                "--quiet",
                "--upgrade",
                "--python-version",
                "3.11",
                str(ROOT / "pyproject.toml"),
                "--extra",
                "dev",
                "-o",
                str(latest),
            ],
            check=True,
        )
        moved = newer_than_lock(read_pins((latest,)), read_pins(this_python=True))
        print(f"{len(moved)} packages newer than the lock:")
        for name, old, new in moved:
            print(f"  {name}: {old} -> {new}")
        venv = work / "venv"
        subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
        python = str(venv / "bin" / "python")
        subprocess.run(
            [uv, "pip", "install", "--quiet", "--python", python, "-r", str(latest)], check=True
        )
        subprocess.run(
            [uv, "pip", "install", "--quiet", "--python", python, "--no-deps", "-e", str(ROOT)],
            check=True,
        )
        env = {**os.environ, "VIRTUAL_ENV": str(venv)}
        pytest_args = args.pytest_args or ["-q", "-p", "no:cacheprovider"]
        return subprocess.run([python, "-m", "pytest", *pytest_args], cwd=ROOT, env=env).returncode
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
