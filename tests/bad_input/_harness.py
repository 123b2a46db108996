"""The shape of a bad-input case, shared by the per-module case files and the sweep."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable


@dataclasses.dataclass(frozen=True)
class Case:
    """One bad call of one public function.

    Attributes:
        function: ``"module.name"`` of the public function under test (e.g. ``"thermo.free_energy"``).
        label: what is wrong, e.g. ``"beta shape (2,)"``, ``"NaN in w under jit(grad)"``.
        call: a thunk performing the bad call (wrap it in ``jax.jit``/``jax.grad``/``jax.vmap`` for
            the transformed variants) and forcing its result (``jax.block_until_ready``).
        match: a regular expression the error message must contain: the argument's name or the
            violated condition (searched case-insensitively in ``str(exception)``).
        kind: ``"input"`` for wrong shape/dtype/NaN, ``"domain"`` for out-of-domain values,
            ``"transform"`` for the same under jit/vmap/grad, ``"io"`` for files and CLIs.
    """

    function: str
    label: str
    call: Callable[[], object]
    match: str
    kind: str = "input"

    @property
    def id(self) -> str:
        return f"{self.function}: {self.label}"


def classify(case: Case) -> tuple[str, str]:
    """Run one case: ``("clear", msg)`` when it raises with a message matching ``case.match``,
    ``("unclear", msg)`` when it raises without naming the argument or condition, ``("silent",
    repr(result))`` when it returns."""
    import re

    try:
        result = case.call()
    except Exception as e:  # noqa: BLE001 - the point is to see what comes out
        msg = f"{type(e).__name__}: {e}"
        return ("clear" if re.search(case.match, msg, re.IGNORECASE | re.DOTALL) else "unclear"), msg
    return "silent", repr(result)[:300]


# --- thunk builders shared by the case files -------------------------------------------------


def run(fn, *args, **kw):
    """The bad call, forced (``block_until_ready``) so that runtime errors surface inside the case."""
    import jax

    return lambda: jax.block_until_ready(fn(*args, **kw))


def jitted(fn, *args, **kw):
    """The same bad call under ``jax.jit`` (arguments traced, keywords static)."""
    import jax

    return lambda: jax.block_until_ready(jax.jit(lambda *a: fn(*a, **kw))(*args))


def jit_grad(scalar_fn, x):
    """``jax.jit(jax.grad(scalar_fn))(x)``: the check must survive both transformations."""
    import jax

    return lambda: jax.block_until_ready(jax.jit(jax.grad(scalar_fn))(x))


def jit_vmap_grad(scalar_fn, xs):
    """``jax.jit(jax.vmap(jax.grad(scalar_fn)))(xs)``: one bad entry of a batch must raise."""
    import jax

    return lambda: jax.block_until_ready(jax.jit(jax.vmap(jax.grad(scalar_fn)))(xs))


def in_dir(action, setup=None):
    """``action(d)`` in a fresh temporary directory ``d`` (after ``setup(d)``); the directory goes."""
    import shutil
    import tempfile
    from pathlib import Path

    def thunk():
        d = Path(tempfile.mkdtemp(prefix="nnworld-bad-input-"))
        try:
            if setup is not None:
                setup(d)
            return action(d)
        finally:
            shutil.rmtree(d, ignore_errors=True)
    return thunk
