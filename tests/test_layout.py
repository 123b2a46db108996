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
  it after ``*``, so a key passed positionally is a TypeError, never a silently shifted argument;
* one set of annotation types: the jaxtyping aliases (``Scalar``, ``Field``, ``Weights``, ...) and
  builders are defined in ``nnworld_jax.types``, the one module that imports ``jaxtyping``;
* one grid argument (checked on the signatures, not the source): a parameter that takes a
  :class:`~nnworld_jax.grid.Grid` is named ``grid`` (a second grid ``<what>_grid``), and every
  public function takes the arrays that live on the grid first, then ``grid``, then coefficients,
  physical parameters and ``dt``, then keyword-only options: ``f(fields..., grid, coefficients...,
  *, options)``; with no field argument ``grid`` comes first.
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
    # The rule's consequence at run time: the old positional call orders fail before any work (Python's
    # message; or, where the suite's runtime type check wraps the function, the one of its signature.bind).
    import jax

    import nnworld_jax as nw

    key = jax.random.PRNGKey(0)
    calls = (lambda: nw.reference.random_network(key, 4), lambda: nw.lanczos.rademacher_probes(key, 4, 2),
             lambda: nw.teacher_student_task(key), lambda: nw.experiments.check_key(key))
    for call in calls:
        with pytest.raises(TypeError, match=r"positional argument|keyword-only argument: 'key'|missing a required argument: 'key'"):
            call()


def _jaxtyping_imports(tree: ast.Module) -> list[int]:
    """Lines that import ``jaxtyping`` (or a submodule of it) directly."""
    return [n.lineno for n in ast.walk(tree)
            if (isinstance(n, ast.Import) and any(a.name.split(".")[0] == "jaxtyping" for a in n.names))
            or (isinstance(n, ast.ImportFrom) and n.level == 0 and (n.module or "").split(".")[0] == "jaxtyping")]


def test_the_types_rule_flags_a_direct_jaxtyping_import():
    # Negative control: every spelling of a direct import is flagged; the types module's aliases are not.
    source = """
from jaxtyping import Array, Float
import jaxtyping
import jaxtyping as jt
from jaxtyping._array_types import AbstractArray
from .types import Field, Float
from nnworld_jax.types import Scalar
"""
    assert _jaxtyping_imports(ast.parse(source)) == [2, 3, 4, 5]
    assert _jaxtyping_imports(_tree(PACKAGE / "types.py"))  # the scan sees the one real import


@pytest.mark.parametrize("path", [p for p in MODULES if p.name != "types.py" or p.parent != PACKAGE],
                         ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_annotation_types_come_from_the_types_module(path):
    lines = _jaxtyping_imports(_tree(path))
    assert not lines, (f"{path.relative_to(PACKAGE)}:{lines}: import annotation types from nnworld_jax.types "
                       "(define a new alias there), not from jaxtyping")


# ------------------------------------------------------------------------------------------------
# One name and one position for the grid (docs/design.md, "One grid argument"): read from the
# signatures (``inspect.signature`` with the annotations evaluated), not from the source.

_POSITIONAL = ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")
_LIKE_A_GRID = re.compile(r"^(grid|space|spacetime|box|lattice)$|_grid$")  # not tau: a time elsewhere


def _kinds(annotation) -> set[str]:
    """What an evaluated annotation admits: ``grid`` (a Grid), ``field`` (an array with two or more
    axes, or any number: the fields, densities, metrics and potentials that live on a grid),
    ``vector`` (an array of exactly one axis: a point, a drift, or a field on a 1-D grid),
    ``scalar`` (a 0-d array), ``callable``, ``other`` (anything else, or no annotation)."""
    import collections.abc
    import types
    import typing

    from nnworld_jax.grid import Grid

    union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    kinds = set()
    for member in (typing.get_args(annotation) if union else (annotation,)):
        dims = getattr(member, "dims", None)  # a jaxtyping array type: its parsed shape string
        if member is type(None):
            continue
        if isinstance(member, type) and issubclass(member, Grid):
            kinds.add("grid")
        elif isinstance(dims, tuple):
            variadic = any("Variadic" in type(d).__name__ for d in dims)  # "..." or "*grid"
            kinds.add("scalar" if not dims else "field" if variadic or len(dims) > 1 else "vector")
        elif member is collections.abc.Callable or typing.get_origin(member) is collections.abc.Callable:
            kinds.add("callable")
        else:
            kinds.add("other")
    return kinds


def _grid_violations(fn) -> list[str]:
    """The grid rule for one function: a Grid parameter is named ``grid`` (a second one ``<what>_grid``),
    only a Grid is named like one; the parameters before ``grid`` are arrays of the problem (a leading
    callable it transforms allowed, e.g. ``functional_derivative(action, field, grid)``), and no
    positional field comes after it (coefficients, parameters, ``dt``; fields after it are keyword-only)."""
    import inspect

    try:
        params = list(inspect.signature(fn, eval_str=True).parameters.values())
    except Exception as e:  # an annotation that does not evaluate: the runtime type checks would fail too
        return [f"annotations do not evaluate ({type(e).__name__}: {e})"]
    bad = []
    grids = [p for p in params if "grid" in _kinds(p.annotation) or _LIKE_A_GRID.search(p.name)]
    for p in grids:
        if "grid" not in _kinds(p.annotation):
            bad.append(f"{p.name} is named like a grid but not annotated Grid")
        elif not (p.name == "grid" or p.name.endswith("_grid")):
            bad.append(f"the Grid parameter {p.name} is not named grid (a second grid: <what>_grid)")
    if len(grids) > 1 and [p.name for p in grids].count("grid") != 1:
        bad.append(f"of the grids {[p.name for p in grids]} exactly one is named grid")
    main = next((i for i, p in enumerate(params) if p.name == "grid"), None)
    if main is None:
        return bad
    if params[main].kind.name not in _POSITIONAL:
        bad.append("grid is keyword-only")
    for i, p in enumerate(params[:main]):
        k = _kinds(p.annotation)
        if not (k & {"field", "vector", "grid"} or (i == 0 and "callable" in k)):
            bad.append(f"{p.name} comes before grid but is not an array of the problem")
    bad += [f"the field {p.name} comes after grid" for p in params[main + 1:]
            if p.kind.name in _POSITIONAL and "field" in _kinds(p.annotation)]
    return bad


def _public_functions() -> list[tuple[str, object]]:
    """(name, function) of every public function, and public method of a public class, in the
    ``__all__`` of every public module."""
    import importlib
    import inspect

    seen, out = set(), []
    for path in PUBLIC_MODULES:
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", ()):
            obj = getattr(module, attr, None)
            members = [(attr, obj)] if inspect.isfunction(obj) else [
                (f"{attr}.{k}", v) for k, v in vars(obj).items()
                if inspect.isfunction(v) and not k.startswith("_")] if inspect.isclass(obj) else []
            for qual, fn in members:
                if id(fn) not in seen and (fn.__module__ or "").startswith("nnworld_jax"):
                    seen.add(id(fn))
                    out.append((f"{name}.{qual}", fn))
    return out


def test_the_grid_rule_flags_a_misplaced_or_misnamed_grid():
    # Negative control: each rule is seen to fail on a function that breaks it, and the allowed
    # forms (no field: grid first; a transformed callable first; two grids; keyword-only fields) pass.
    from collections.abc import Callable

    from jaxtyping import Array, Float

    from nnworld_jax.grid import Grid

    source = '''
def grid_first(grid: Grid, f: Float[Array, "..."], c): ...
def named_space(f: Float[Array, "..."], space: Grid, c): ...
def coefficient_first(c: float, f: Float[Array, "n1 n2"], grid: Grid): ...
def two_grids(x: Float[Array, "K N Nt"], tau: Grid, grid: Grid, *, width): ...
def untyped_grid(f: Float[Array, "..."], grid, c): ...
def unannotated_field(f, grid: Grid, c): ...
def good(p: Float[Array, "..."], F: Float[Array, "..."], grid: Grid, c, dt, *, method="spectral"): ...
def no_field(grid: Grid, c, omega: Float[Array, ""], center: Float[Array, " 2"] | None = None): ...
def transformed(action: Callable[[Array], Array], field: Float[Array, "..."], grid: Grid): ...
def deposit(x: Float[Array, "K N Nt"], w: Float[Array, "K K N Nt"], tau_grid: Grid, grid: Grid, *, width): ...
def optional_field(metric: Float[Array, "K K ..."], grid: Grid, *, matter: Float[Array, "m ..."] | None = None): ...
'''
    namespace = {"Grid": Grid, "Float": Float, "Array": Array, "Callable": Callable}
    exec(source, namespace)
    flagged = {name: _grid_violations(namespace[name]) for name in
               ("grid_first", "named_space", "coefficient_first", "two_grids", "untyped_grid", "unannotated_field",
                "good", "no_field", "transformed", "deposit", "optional_field")}
    assert flagged["grid_first"] == ["the field f comes after grid"]
    assert flagged["named_space"] == ["the Grid parameter space is not named grid (a second grid: <what>_grid)"]
    assert flagged["coefficient_first"] == ["c comes before grid but is not an array of the problem"]
    assert flagged["two_grids"] == ["the Grid parameter tau is not named grid (a second grid: <what>_grid)"]
    assert flagged["untyped_grid"] == ["grid is named like a grid but not annotated Grid"]
    assert flagged["unannotated_field"] == ["f comes before grid but is not an array of the problem"]
    assert not any(flagged[n] for n in ("good", "no_field", "transformed", "deposit", "optional_field")), flagged


def test_every_public_function_takes_one_grid_in_one_place():
    functions = _public_functions()
    # the scan sees the modules the rule is about (and their grids)
    names = {n for n, _ in functions}
    assert {"nnworld_jax.grid.derivative", "nnworld_jax.gravity.gravity_action",
            "nnworld_jax.network_gravity.deposit_sources",
            "nnworld_jax.emergence.learning_fokker_planck.grid_solution"} <= names
    bad = {name: v for name, fn in functions if (v := _grid_violations(fn))}
    assert not bad, f"the grid rule (docs/design.md, 'One grid argument') is broken by {bad}"


def test_the_package_loads_its_names_on_first_use():
    """``nnworld_jax/__init__`` re-exports lazily (PEP 562): importing the package imports no JAX
    (so ``nnworld reproduce`` starts its workers before this process imports it), and every name of ``__all__`` is then the
    very object its module defines, ``nw.<submodule>`` the module itself."""
    import importlib
    import subprocess
    import sys
    import types

    import nnworld_jax as nw

    # ... nor does what `reproduce` does before it starts the workers
    program = ("import sys, nnworld_jax, nnworld_jax.cli as cli, nnworld_jax._claim_runner as runner; "
               "cli._prefer_fast_compile(); cli._accelerator_plugin_installed(); runner.prepare_compile_cache('off'); "
               "print(sorted(m for m in sys.modules if m.split('.')[0] == 'jax'))")
    proc = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stdout + proc.stderr
    for name in nw.__all__:
        obj = getattr(nw, name)
        if isinstance(obj, types.ModuleType):
            assert obj is importlib.import_module(f"nnworld_jax.{name}"), name
        else:
            assert obj is getattr(importlib.import_module(f"nnworld_jax.{nw._SOURCE[name]}"), name), name
    assert set(nw._SOURCE) <= set(nw.__all__) and set(nw.__all__) <= set(dir(nw))
    assert nw.learning is importlib.import_module("nnworld_jax.learning")  # a module outside __all__ too
    with pytest.raises(AttributeError, match="no attribute 'free_enrgy'"):
        nw.free_enrgy  # noqa: B018  (a typo is an AttributeError, not an import error)
