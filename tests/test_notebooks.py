"""The notebooks run top to bottom in this interpreter, and are committed without outputs."""

import json
import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.fixture
def kernel_name(tmp_path, monkeypatch):
    # A kernel spec pinned to this interpreter: a user-level "python3" spec elsewhere on the
    # machine must not decide which environment the notebook runs in.
    spec = tmp_path / "kernels" / "nnworld-test"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "nnworld", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    # The kernel inherits the suite's XLA_FLAGS (tests/_env.py), LLVM -O0 included: a notebook runs each
    # of its programs once, as `nnworld reproduce` does (notebook 01: 69 s of CPU at XLA's default
    # level, 43 s at -O0). Nothing in a notebook depends on bitwise rounding.
    return "nnworld-test"


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no notebook"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_executes(path, kernel_name):
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name=kernel_name, resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
