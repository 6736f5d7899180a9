"""`hems run --demo --devices protocols` needs nothing of the test suite: its simulators are
`hems.simulation.protocols`, and no module of the service imports or runs anything under
tests/ (checked on the source, and on what importing the demo's modules loads)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEMO_MODULES = (
    "hems.cli",
    "hems.demo_protocols",
    "hems.simulation.protocols.ocpp_charge_point",
    "hems.simulation.protocols.sunspec_server",
    "hems.simulation.protocols.mqtt_heat_pump",
)


# an import of tests, a module of it run as a child process ("tests.x"), a path to it
REFERENCE = re.compile(
    r"^\s*(?:import|from)\s+tests\b|[\"']tests[./]|/\s*[\"']tests[\"']", re.MULTILINE
)


def test_no_module_of_the_service_refers_to_the_tests() -> None:
    found = [
        f"{path.relative_to(ROOT)}: {m.group(0).strip()}"
        for path in sorted((ROOT / "hems").rglob("*.py"))
        for m in REFERENCE.finditer(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_the_check_finds_what_the_demo_had_before() -> None:
    before = (
        'SIMULATORS = ROOT / "tests" / "adapters" / "devices"\n'
        '["-m", "tests.adapters.devices.ocpp_charge_point"]\n'
        "from tests.adapters.devices.sunspec_peer import SunSpecPeer\n"
    )
    assert len(REFERENCE.findall(before)) == 3


def test_importing_the_demo_loads_nothing_of_the_tests() -> None:
    code = (
        f"import importlib, sys\nfor m in {DEMO_MODULES!r}: importlib.import_module(m)\n"
        "print(sorted(m for m in sys.modules if m == 'tests' or m.startswith('tests.')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
