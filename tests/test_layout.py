"""The package's layout rules (issue #13), read from the source with ``ast``:

* no module imports a private name (``_x``) from a *public* module of the package: shared helpers
  live in private modules (``_fields``, ``_geometry``, ``_netcore``, ...), which say whom they serve;
* every module declares ``__all__``;
* one test for "is this a tracer": ``_checks.is_traced``, not ``isinstance(x, jax.core.Tracer)``
  scattered through the modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "nnworld_jax"
MODULES = sorted(PACKAGE.rglob("*.py"))


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def test_the_rules_see_every_module():
    # The negative control of the scans below: they read the package's files, not an empty list.
    names = {p.relative_to(PACKAGE).as_posix() for p in MODULES}
    assert {"grid.py", "_checks.py", "claims/_registry.py", "emergence/__init__.py"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_private_name_is_imported_from_a_public_module(path):
    bad = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.ImportFrom) and (node.level > 0 or (node.module or "").startswith("nnworld_jax")):
            source = (node.module or "").rsplit(".", 1)[-1]
            if source.startswith("_"):
                continue  # a private module: its names are the package's shared helpers
            bad += [f"from {'.' * node.level}{node.module or ''} import {a.name}" for a in node.names
                    if a.name.startswith("_") and not a.name.startswith("__")]
    assert not bad, f"{path.name} imports private names of public modules: {bad}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_every_module_declares_all(path):
    declared = any(isinstance(n, (ast.Assign, ast.AnnAssign))
                   and any(isinstance(t, ast.Name) and t.id == "__all__"
                           for t in (n.targets if isinstance(n, ast.Assign) else [n.target]))
                   for n in _tree(path).body)
    assert declared, f"{path.relative_to(PACKAGE)} has no __all__"


def test_one_tracer_test():
    sites = [f"{p.relative_to(PACKAGE)}:{n.lineno}" for p in MODULES if p.name != "_checks.py"
             for n in ast.walk(_tree(p))
             if isinstance(n, ast.Attribute) and n.attr == "Tracer"]
    assert not sites, f"use _checks.is_traced instead of jax.core.Tracer at {sites}"
