"""The house's shape (issue 24, "Checks"): SQLAlchemy only in the storage layer, the API and the
web app apart, no module past 500 lines and no function past 80, and the settings table in
docs/service.md equal to the settings.

Each rule has an explicit allow-list of today's exceptions, each with why. The lists only
shrink: a new offender fails, and so does an allowed module or function that grows past the
size recorded here. When an exception is fixed, delete its entry (a stale entry does not fail:
the refactors that remove them land in parallel).
"""

from __future__ import annotations

import ast
import fnmatch
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80

# Modules that import SQLAlchemy outside hems/storage/ today. Each should ask the storage layer
# instead (a readiness check, an error type, URL parsing) and leave this list.
SQLALCHEMY_OUTSIDE_STORAGE = {
    "hems/cli_errors.py",  # maps SQLAlchemyError to "database unreachable" (exit 1)
    "hems/settings.py",  # validates database_url with sqlalchemy's make_url
}

# Modules of hems/web that import hems.api, and of hems/api that import hems.web: none. Both
# call the operations (hems/usecases) and share hems/serving; the app is assembled in hems/app.py.
WEB_IMPORTS_API: set[str] = set()
API_IMPORTS_WEB: set[str] = set()

# Modules over MAX_MODULE_LINES today, with their line count now (the most they may have).
LONG_MODULES: dict[str, int] = {}

# Functions over MAX_FUNCTION_LINES today ("path::qualified name"), with their length now.
LONG_FUNCTIONS = {
    "hems/cli.py::backtest": 113,  # 22 typer options fill 74 lines of its signature
    "forecasts/pv.py::forecast_pv": 101,
    "optimiser/components/ev.py::add_ev_block": 92,
    "optimiser/components/heat_pump.py::add_heat_pump_block": 97,
    "optimiser/plan.py::assemble_plan": 88,
    "hems/backtest/parallel.py::run_many": 86,
    "adapters/openadr/reporting.py::Catalogue.build": 81,
}

# Alembic revisions are frozen records of a schema change, never edited after release: their
# upgrade() lists whole tables and is exempt from the function length.
FROZEN = ("hems/storage/migrations/versions/",)


def _packages() -> list[str]:
    """The project's packages: those pyproject.toml installs (a new one is scanned without
    editing this test) and tools/. Tests, benchmarks and examples are not scanned."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["packages"]["find"]["include"]
    found = {
        d.name
        for d in ROOT.iterdir()
        if (d / "__init__.py").is_file() and any(fnmatch.fnmatch(d.name, p) for p in patterns)
    }
    return sorted(found | {"tools"})


def _modules() -> Iterator[tuple[str, Path]]:
    for package in _packages():
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), path


def _imported_names(relative: str, tree: ast.Module) -> set[str]:
    """Every dotted name the module imports, anywhere in it (lazy imports in functions too),
    relative imports resolved: ``from hems import api`` gives ``hems`` and ``hems.api``."""
    package = relative.removesuffix(".py").split("/")[:-1]  # a module's or __init__'s package
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _imports_any(names: set[str], prefixes: tuple[str, ...]) -> bool:
    return any(n == p or n.startswith(p + ".") for n in names for p in prefixes)


def _offenders(relative_prefix: str, forbidden: tuple[str, ...]) -> set[str]:
    out = set()
    for relative, path in _modules():
        if relative.startswith(relative_prefix):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=relative)
            if _imports_any(_imported_names(relative, tree), forbidden):
                out.add(relative)
    return out


def _functions(tree: ast.Module) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every function and method with its qualified name (``Class.method``, ``outer.inner``)."""

    def walk(
        node: ast.AST, prefix: str
    ) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                yield prefix + child.name, child
                yield from walk(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                yield from walk(child, f"{prefix}{child.name}.")
            else:
                yield from walk(child, prefix)

    yield from walk(tree, "")


def _function_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """From the ``def`` line to the last line of its body (decorators not counted; the
    signature and docstring are)."""
    assert node.end_lineno is not None
    return node.end_lineno - node.lineno + 1


def _too_big(limit: int, allowed: dict[str, int], sizes: dict[str, int]) -> dict[str, str]:
    """What breaks the rule: over the limit and not allowed, or allowed and grown."""
    out = {}
    for name, size in sizes.items():
        if size > allowed.get(name, limit):
            recorded = allowed.get(name)
            out[name] = f"{size} lines" + (f" (allowed {recorded})" if recorded else "")
    return out


def test_every_package_is_scanned():
    assert {"hems", "optimiser", "forecasts", "adapters", "tools"} <= set(_packages())


def test_only_the_storage_layer_imports_sqlalchemy():
    outside = {
        relative
        for relative in _offenders("", ("sqlalchemy", "alembic"))
        if not relative.startswith("hems/storage/")
    }
    assert outside - SQLALCHEMY_OUTSIDE_STORAGE == set(), "import it through hems.storage"


def test_the_web_app_does_not_import_the_api():
    assert _offenders("hems/web/", ("hems.api",)) - WEB_IMPORTS_API == set()


def test_the_api_does_not_import_the_web_app():
    assert _offenders("hems/api/", ("hems.web",)) - API_IMPORTS_WEB == set()


VEN_HOOK_MODULES = ("hems/ven_bridge.py", "hems/vens.py")
"""The home's VEN and its hooks: they call the service's operations (hems.usecases), the ones
the API and the web app call, and never read or write the store themselves."""


def test_the_ven_hooks_go_through_the_use_cases_not_the_store():
    touching = {
        f"{relative}:{node.lineno}"
        for relative in VEN_HOOK_MODULES
        for node in ast.walk(ast.parse((ROOT / relative).read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute) and node.attr == "store"
    }
    assert touching == set(), "call an operation of hems.usecases"


def test_no_module_grows_past_500_lines():
    sizes = {
        relative: len(path.read_text(encoding="utf-8").splitlines())
        for relative, path in _modules()
    }
    assert _too_big(MAX_MODULE_LINES, LONG_MODULES, sizes) == {}


def test_no_function_grows_past_80_lines():
    sizes = {}
    for relative, path in _modules():
        if relative.startswith(FROZEN):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=relative)
        for name, node in _functions(tree):
            key = f"{relative}::{name}"
            sizes[key] = max(sizes.get(key, 0), _function_lines(node))
    assert _too_big(MAX_FUNCTION_LINES, LONG_FUNCTIONS, sizes) == {}


def _documented_settings(service_md: str) -> list[str]:
    """The setting names in the first column of docs/service.md's settings table."""
    section = service_md.split("## Settings", 1)[1].split("\n## ", 1)[0]
    names = []
    for line in section.splitlines():
        if line.startswith("| `"):
            names += re.findall(r"`([a-z_]+)`", line.split("|")[1])
    return names


def test_the_settings_table_lists_every_setting_once():
    from hems.settings import Settings

    documented = _documented_settings((ROOT / "docs" / "service.md").read_text(encoding="utf-8"))
    assert sorted(documented) == sorted(Settings.model_fields)


@pytest.mark.parametrize(
    ("relative", "source", "expected"),
    [
        ("hems/web/x.py", "from ..api import auth", {"hems.api", "hems.api.auth"}),
        ("hems/web/__init__.py", "from .views import v", {"hems.web.views", "hems.web.views.v"}),
        ("hems/web/x.py", "from hems import api", {"hems", "hems.api"}),
        ("hems/x.py", "def f():\n    import sqlalchemy.exc", {"sqlalchemy.exc"}),
    ],
)
def test_imports_are_resolved(relative, source, expected):
    assert _imported_names(relative, ast.parse(source)) == expected
