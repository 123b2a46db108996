"""Strict test settings: float64 for accuracy work, rank promotion raising (a silent broadcast of a
(N,) against a (B, N) array is a bug here), strict dtype promotion (a float32 state times a float64
constant silently becoming float64, or a real field times ``1j``, is a bug too), a fixed PRNG key, and every annotated signature of the
package checked at run time (jaxtyping + beartype), so an annotation the suite contradicts fails."""

import os
from pathlib import Path

from _env import xla_flags  # noqa: E402

# Two virtual CPU devices so sharding code can be exercised on one machine, and the suite's XLA:CPU emitter setting
# (tests/_env.py says why); must precede jax import.
os.environ.setdefault("XLA_FLAGS", xla_flags(devices=2))
os.environ.setdefault("MPLBACKEND", "Agg")
# No persistent compilation cache in tests (``nnworld reproduce`` keeps one in the user's cache
# directory by default): a test run neither reads a developer's cached programs nor writes there,
# and the in-process reproduce calls do not turn JAX's cache on for the rest of a test worker.
# The tests of the cache itself pass a temporary directory.
os.environ["NNWORLD_COMPILE_CACHE"] = "off"

# Runtime type checking (issue #13): jaxtyping's import hook decorates every function and dataclass of
# nnworld_jax with @jaxtyped(typechecker=beartype), so each call checks its arguments and its result against
# the annotations (dtypes, and dimension names shared across arguments: f(p: Field, S: Field) needs one
# *grid). It must be installed before nnworld_jax is first imported (the hook acts on import), hence here.
# PEP 484's numeric tower (an int is a valid float, as for mypy and pyright) is switched on. Tests that
# assert the package's own error for input its annotations exclude are marked `unchecked` (below).
# Every module is hooked but nnworld_jax._checks: its helpers (is_traced, host_value, check, as_float, ...)
# take any object on purpose (they decide what is valid) and run a few dozen times per public call, so
# wrapping them cost ~36 of the 38 wrapper calls of one eager free_energy_eigen and checked nothing.
# NNWORLD_TYPECHECK=0 runs the suite without it (to measure its cost; tests/test_types.py then skips).
TYPECHECK = os.environ.get("NNWORLD_TYPECHECK", "1") != "0"
_PACKAGE = Path(__file__).resolve().parents[1] / "nnworld_jax"
CHECKED_MODULES = sorted(
    ".".join(("nnworld_jax", *p.relative_to(_PACKAGE).with_suffix("").parts)).removesuffix(".__init__")
    for p in _PACKAGE.rglob("*.py") if p.parent != _PACKAGE or p.stem not in ("__init__", "_checks"))
if TYPECHECK:
    import jaxtyping  # noqa: E402

    jaxtyping.install_import_hook(CHECKED_MODULES, "beartype.beartype(conf=beartype.BeartypeConf(is_pep484_tower=True))")

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")
# No implicit promotion between dtypes: every mix of precisions or of real and complex is spelled out.
jax.config.update("jax_numpy_dtype_promotion", "strict")


@pytest.fixture
def key():
    return jax.random.PRNGKey(20200804)  # the paper's arXiv date


@pytest.fixture(autouse=True)
def _unchecked(request):
    # @pytest.mark.unchecked: the test asserts the package's own error message for input that the
    # annotations exclude (a wrong shape, a bad method name), as a user meets it: users run without a
    # runtime type checker, and with one the jaxtyping error would come first. Such a test runs with
    # jaxtyping's checks off (its wrappers then call straight through).
    if not TYPECHECK or request.node.get_closest_marker("unchecked") is None:
        yield
        return
    import jaxtyping

    before = jaxtyping.config.jaxtyping_disable
    jaxtyping.config.update("jaxtyping_disable", True)
    try:
        yield
    finally:
        jaxtyping.config.update("jaxtyping_disable", before)


@pytest.fixture(scope="module", autouse=True)
def _free_compiled_programs():
    # Every jitted function keeps its compiled programs alive: a worker that runs ~1,000 tests grew to
    # 6 GB by the end of the suite (measured). Programs rarely outlive their module, so free them there.
    yield
    jax.clear_caches()
