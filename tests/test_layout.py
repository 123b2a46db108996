"""The package's layout rules (issue #13), read from the source with ``ast``:

* no module imports a private name (``_x``) from a *public* module of the package: shared helpers
  live in private modules (``_fields``, ``_geometry``, ``_netcore``, ...), which say whom they serve;
* every module declares ``__all__``;
* one test for "is this a tracer": ``_checks.is_traced``, not ``isinstance(x, jax.core.Tracer)``
  scattered through the modules;
* one curvature core: the determinant/inverse of the metric, Christoffel symbols, Riemann, Ricci,
  R, Einstein and Kretschmann are written once, in ``_curvature_core``; a module that defines a
  curvature function is a wrapper that imports the core, and none redefines the core's helpers
  (the claims keep their own independent references on purpose and are not scanned);
* PRNG keys are keyword-only, as in equinox (``eqx.nn.Linear(in, out, *, key)``): every public
  function (and method of a public class) of a public module with a parameter named ``key`` takes
  it after ``*``, so a key passed positionally is a TypeError, never a silently shifted argument.
"""

from __future__ import annotations

import ast
import re
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
            here = path.parent if node.level <= 1 else path.parents[node.level - 1]
            folder = here.joinpath(*(node.module or "").split(".")) if node.module else here
            bad += [f"from {'.' * node.level}{node.module or ''} import {a.name}" for a in node.names
                    if a.name.startswith("_") and not a.name.startswith("__")
                    and not (folder / f"{a.name}.py").exists()]  # `from . import _core`: a private module
    assert not bad, f"{path.name} imports private names of public modules: {bad}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_every_module_declares_all(path):
    declared = any(isinstance(n, (ast.Assign, ast.AnnAssign))
                   and any(isinstance(t, ast.Name) and t.id == "__all__"
                           for t in (n.targets if isinstance(n, ast.Assign) else [n.target]))
                   for n in _tree(path).body)
    assert declared, f"{path.relative_to(PACKAGE)} has no __all__"


CORE = "_curvature_core.py"
CURVATURE_NAME = re.compile(r"christoffel|riemann|ricci|einstein|kretschmann")
# the helpers each curvature module used to carry its own copy of
CORE_HELPERS = {"_christoffel_first", "_lower_christoffel", "_christoffel_components", "_riemann_from", "_ricci",
                "_scalar_curvature", "_inverse", "_inverse_components", "_det_inv", "_det_adj4", "_det_and_adjugate",
                "_ein", "_tp", "_curvature_components"}


def _curvature_violations(tree: ast.Module) -> list[str]:
    imports_core = any(isinstance(n, ast.ImportFrom) and n.level > 0
                       and ((n.module or "").endswith("_curvature_core") or any(a.name == "_curvature_core" for a in n.names))
                       for n in ast.walk(tree))
    defs = [n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    bad = [f"defines {d} (a copy of a core helper)" for d in defs if d in CORE_HELPERS]
    if not imports_core:
        bad += [f"defines {d} without the core" for d in defs if CURVATURE_NAME.search(d)]
    return bad


def test_the_curvature_rule_flags_a_second_implementation():
    # negative control: a hand-written Christoffel beside the core, and a copy of a core helper
    assert _curvature_violations(ast.parse("def christoffel(g, dg): ...\ndef _ein(s, x, y): ...")) == [
        "defines _ein (a copy of a core helper)", "defines christoffel without the core"]
    assert not _curvature_violations(ast.parse("from ._curvature_core import ricci\ndef ricci_tensor(m, x): ..."))


@pytest.mark.parametrize("path", [p for p in MODULES if p.name != CORE and "claims" not in p.parts],
                         ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_one_curvature_core(path):
    bad = _curvature_violations(_tree(path))
    assert not bad, f"{path.relative_to(PACKAGE)}: {bad}"


def test_one_tracer_test():
    sites = [f"{p.relative_to(PACKAGE)}:{n.lineno}" for p in MODULES if p.name != "_checks.py"
             for n in ast.walk(_tree(p))
             if isinstance(n, ast.Attribute) and n.attr == "Tracer"]
    assert not sites, f"use _checks.is_traced instead of jax.core.Tracer at {sites}"


def test_one_wavenumber_builder():
    # Every spectral operator takes its modes from _fields.fft_modes / fft_wavenumbers (grid
    # re-exports them); a second fftfreq would be a second convention for order, Nyquist and scale.
    sites = [f"{p.relative_to(PACKAGE)}:{n.lineno}" for p in MODULES if p.name != "_fields.py"
             for n in ast.walk(_tree(p))
             if isinstance(n, ast.Attribute) and n.attr in ("fftfreq", "rfftfreq")]
    assert not sites, f"use grid.fft_modes / grid.fft_wavenumbers instead of fftfreq at {sites}"
    assert any(isinstance(n, ast.Attribute) and n.attr == "fftfreq"  # negative control: the scan sees it
               for n in ast.walk(_tree(PACKAGE / "_fields.py")))


def _dtype_switches(tree: ast.Module) -> list[int]:
    """Lines of ``a if <...float64...> else b`` with a number on either side: a tolerance picked by
    dtype outside the one policy (_config.dtype_tol)."""
    def numeric(node):
        return any(isinstance(c, ast.Constant) and isinstance(c.value, float) for c in ast.walk(node))

    return [n.lineno for n in ast.walk(tree) if isinstance(n, ast.IfExp) and "float64" in ast.unparse(n.test)
            and (numeric(n.body) or numeric(n.orelse))]


def test_the_tolerance_rule_flags_a_dtype_switch():
    assert _dtype_switches(ast.parse("tol = 1e-12 if x.dtype == jnp.float64 else 1e-6")) == [1]
    assert not _dtype_switches(ast.parse("name = 'float64' if wide else 'float32'"))


@pytest.mark.parametrize("path", [p for p in MODULES if p.name != "_config.py"],
                         ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_one_tolerance_policy(path):
    lines = _dtype_switches(_tree(path))
    assert not lines, f"{path.name}:{lines}: pick a dtype's tolerance with _config.dtype_tol"


def _positional_keys(tree: ast.Module) -> list[str]:
    """``name:line`` of every public function or public method whose parameter ``key`` can be
    passed positionally (any parameter before ``*``)."""
    bad = []

    def visit(body, prefix):
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
                if any(a.arg == "key" for a in (*node.args.posonlyargs, *node.args.args)):
                    bad.append(f"{prefix}{node.name}:{node.lineno}")
            elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                visit(node.body, f"{prefix}{node.name}.")

    visit(tree.body, "")
    return bad


PUBLIC_MODULES = [p for p in MODULES if not any(part.startswith("_") for part in p.relative_to(PACKAGE).parts)]


def test_the_key_rule_flags_positional_keys():
    # Negative control: a positional key, a defaulted positional key and a method's positional key
    # are flagged; keyword-only keys, private functions and nested helpers are not.
    source = """
def positional(key, n): ...
def defaulted(n, key=None): ...
class Model:
    def sample(self, key): ...
    def fine(self, x, *, key): ...
def fine(n, *, key): ...
def _private(key): ...
def outer(n, *, key):
    def inner(key): ...
"""
    assert _positional_keys(ast.parse(source)) == ["positional:2", "defaulted:3", "Model.sample:5"]
    assert "nnworld_jax/reference.py" in {p.relative_to(PACKAGE.parent).as_posix() for p in PUBLIC_MODULES}


@pytest.mark.parametrize("path", PUBLIC_MODULES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_prng_keys_are_keyword_only(path):
    bad = _positional_keys(_tree(path))
    assert not bad, f"{path.relative_to(PACKAGE)}: PRNG key not keyword-only (write `*, key`) in {bad}"


def test_a_positional_key_is_a_type_error():
    # The rule's consequence at run time: the old positional call orders fail before any work.
    import jax

    import nnworld_jax as nw

    key = jax.random.PRNGKey(0)
    calls = (lambda: nw.reference.random_network(key, 4), lambda: nw.lanczos.rademacher_probes(key, 4, 2),
             lambda: nw.teacher_student_task(key), lambda: nw.experiments.check_key(key))
    for call in calls:
        with pytest.raises(TypeError, match=r"positional argument|keyword-only argument: 'key'"):
            call()
