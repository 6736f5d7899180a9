"""The notebooks run from top to bottom (committed without outputs) in this interpreter."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = Path(__file__).resolve().parents[3] / "notebooks"


@pytest.fixture
def kernel_path(tmp_path, monkeypatch):
    """A ``python3`` kernel spec that runs this interpreter (the venv's), in a temporary
    directory searched first, so nothing is installed for the user."""
    spec_dir = tmp_path / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (test)",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("name", ["quick_start.ipynb"])
def test_the_notebook_runs_and_is_committed_without_outputs(name, kernel_path):
    from jupyter_client.kernelspec import KernelSpecManager

    path = NOTEBOOKS / name
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    ksm = KernelSpecManager()
    assert ksm.get_kernel_spec("python3").argv[0] == sys.executable
    client = nbclient.NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",  # found in JUPYTER_PATH first: the spec above
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()
