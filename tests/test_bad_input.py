"""No silent wrong answers (issue #11): every public function rejects bad input by name.

The cases live in ``tests/bad_input/<module>.py`` (see its ``__init__``). Each must raise an error
whose message matches the case's pattern (the argument's name or the violated condition); a call
that returns, or raises something that names neither, fails here. A public function of a covered
module without a case or a stated exemption fails the coverage test, so a new function cannot
slip in unchecked.

The cases run as a user runs the package, without a runtime type checker: the suite checks every
annotated signature (tests/conftest.py installs jaxtyping's import hook), and a jaxtyping error
about a wrong shape would otherwise stand in for the package's own message, which is what this
file tests. So each case runs with jaxtyping's checks switched off (marked ``unchecked``), and
tests/test_types.py checks the other side: with them on, a contradicted annotation is an error.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import nnworld_jax
from bad_input import _harness

# One case file per package module, named after it (``_config`` included); a module of a subpackage,
# e.g. ``emergence.waves``, has its file ``emergence_waves.py`` with ``MODULE = "emergence.waves"``.
# ``_harness`` is the tooling.
_FILES = sorted(m.name for m in pkgutil.iter_modules(importlib.import_module("bad_input").__path__)
                if m.name != "_harness")
_loaded_files = {name: importlib.import_module(f"bad_input.{name}") for name in _FILES}
_loaded = {getattr(mod, "MODULE", name): mod for name, mod in _loaded_files.items()}
CASE_MODULES = sorted(_loaded)
CASES = [c for mod in _loaded.values() for c in mod.CASES]
EXEMPT = {k: v for mod in _loaded.values() for k, v in getattr(mod, "EXEMPT", {}).items()}


@pytest.mark.unchecked  # the package's own checks, as users meet them (see the module docstring)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input_fails_loudly_and_by_name(case):
    outcome, detail = _harness.classify(case)
    assert outcome == "clear", f"{outcome}: expected an error matching {case.match!r}, got {detail}"


def public_functions(module_name: str) -> list[str]:
    """``module.name`` of every public function or class defined in ``nnworld_jax.<module_name>``."""
    module = importlib.import_module(f"nnworld_jax.{module_name}")
    names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
    out = []
    for n in names:
        obj = getattr(module, n)
        if (inspect.isfunction(obj) or inspect.isclass(obj)) and getattr(obj, "__module__", "") == module.__name__:
            out.append(f"{module_name}.{n}")
    return out


@pytest.mark.parametrize("module_name", CASE_MODULES)
def test_every_public_function_has_a_bad_input_case(module_name):
    covered = {c.function for c in CASES} | set(EXEMPT)
    missing = [f for f in public_functions(module_name) if f not in covered]
    assert not missing, f"public functions without a bad-input case (add one, or a reason to EXEMPT): {missing}"


def test_cases_name_existing_functions():
    known = {f for m in CASE_MODULES for f in public_functions(m)}
    stale = sorted({c.function for c in CASES} - known) + sorted(set(EXEMPT) - known)
    assert not stale, f"cases or exemptions for names that do not exist: {stale}"


@pytest.mark.slow
def test_sweep_survives_hangs_crashes_and_silent_cases(tmp_path):
    """tools/bad_input_sweep.py: a hung case is killed and counted, a crashing worker is replaced,
    and the cases after them still run (the sweep's per-case timeout is what detects hangs)."""
    import json
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    pkg = tmp_path / "bad_input"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    shutil.copy(root / "tests" / "bad_input" / "_harness.py", pkg / "_harness.py")
    (pkg / "fake.py").write_text(
        "import os, time\n"
        "from ._harness import Case\n"
        "def boom():\n    raise ValueError('beta must be > 0')\n"
        "def vague():\n    raise ValueError('something went wrong')\n"
        "CASES = [Case('fake.f', 'clear', boom, 'beta'), Case('fake.f', 'hangs', lambda: time.sleep(600), 'x'),\n"
        "         Case('fake.f', 'crashes', lambda: os._exit(3), 'x'), Case('fake.f', 'silent', lambda: 1.0, 'x'),\n"
        "         Case('fake.f', 'unclear', vague, 'beta')]\n")
    out = tmp_path / "sweep.json"
    # The hang is detected when the per-case timeout runs out, so the test waits that long: 5 s, not 20. The
    # timeout covers a case's call only (importing the module has its own --import-timeout), and these cases
    # return or raise in microseconds, so 5 s cannot mistake a slow but finished case for a hang.
    proc = subprocess.run([sys.executable, str(root / "tools" / "bad_input_sweep.py"), "--tests-dir", str(tmp_path),
                           "--timeout", "5", "--min-cases", "1", "--json", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # silent, hang and crash: criterion not met
    outcomes = [r["outcome"] for r in json.loads(out.read_text())["records"]]
    assert outcomes == ["clear", "hang", "crash", "silent", "unclear"], proc.stdout + proc.stderr


def test_every_package_module_has_a_case_file():
    # A new public module cannot slip in without its bad-input cases (or stated exemptions).
    package = [m.name for m in pkgutil.iter_modules(nnworld_jax.__path__) if not m.name.startswith("_") and not m.ispkg]
    # Subpackages of physics code (the claims registry is tested by tests/test_claims.py instead).
    for sub in ("emergence",):
        path = importlib.import_module(f"nnworld_jax.{sub}").__path__
        package += [f"{sub}.{m.name}" for m in pkgutil.iter_modules(path) if not m.name.startswith("_")]
    missing = sorted(set(package) - set(CASE_MODULES))
    assert not missing, f"modules without tests/bad_input/<module>.py: {missing}"
