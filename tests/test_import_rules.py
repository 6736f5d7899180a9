"""The direction of imports (docs/architecture.md): kernel imports none of the four packages
(only the standard library and pandas); optimiser, forecasts and adapters never import hems,
nor each other."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LEAVES = ("optimiser", "forecasts", "adapters")
KERNEL_MAY_IMPORT = {"kernel", "pandas", *sys.stdlib_module_names}


def _imported_top_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


@pytest.mark.parametrize("package", LEAVES)
def test_leaf_packages_import_neither_hems_nor_each_other(package):
    forbidden = {"hems", *LEAVES} - {package}
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported_top_packages(path) & forbidden)
        for path in (ROOT / package).rglob("*.py")
        if _imported_top_packages(path) & forbidden
    }
    assert offenders == {}


def test_the_optimiser_knows_nothing_of_storage_http_or_devices():
    banned = {"sqlalchemy", "fastapi", "httpx", "lxml", "apscheduler"}
    used = set().union(*(_imported_top_packages(p) for p in (ROOT / "optimiser").rglob("*.py")))
    assert used & banned == set()


def test_the_kernel_imports_only_itself_the_standard_library_and_pandas():
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported_top_packages(path) - KERNEL_MAY_IMPORT)
        for path in (ROOT / "kernel").rglob("*.py")
        if _imported_top_packages(path) - KERNEL_MAY_IMPORT
    }
    assert offenders == {}
