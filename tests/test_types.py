"""The annotation types of ``nnworld_jax.types``, and the runtime check that keeps them true.

tests/conftest.py installs jaxtyping's import hook (with beartype) before the package is first
imported, so every annotated function and dataclass of ``nnworld_jax`` checks its arguments and
its result, dtypes and related shapes included, on every call the suite makes: an annotation the
suite contradicts is a failing test. These tests check that the hook is really on (a call that
contradicts an annotation is refused before the function runs) and what each alias accepts.
"""

import inspect
import os

import jax
import jax.numpy as jnp
import jaxtyping
import numpy as np
import pytest
from beartype import BeartypeConf, beartype

import nnworld_jax as nw
from nnworld_jax import types as T

CHECKED = os.environ.get("NNWORLD_TYPECHECK", "1") != "0"
needs_hook = pytest.mark.skipif(not CHECKED, reason="NNWORLD_TYPECHECK=0: the suite runs without the runtime check")


def _checked(fn):
    """``fn`` checked as the import hook checks the package's functions."""
    return jaxtyping.jaxtyped(fn, typechecker=beartype(conf=BeartypeConf(is_pep484_tower=True)))


def _accepts(alias, value, other=None) -> bool:
    """Whether ``alias`` admits ``value`` (and ``other`` with it, dimension names shared). No
    ``from __future__ import annotations`` in this file: the local ``alias`` must be an object here."""
    @_checked
    def one(x: alias):
        return x

    @_checked
    def two(x: alias, y: alias):
        return x

    try:
        one(value) if other is None else two(value, other)
    except jaxtyping.TypeCheckError:
        return False
    return True


@needs_hook
def test_the_package_is_checked_at_run_time():
    # The hook wrapped the package's functions (it must run before nnworld_jax is first imported),
    # and a call that contradicts an annotation is refused before the function body runs: here
    # a permutation of 3 neurons applied to a state of 4 (both sizes are the dimension N).
    assert hasattr(nw.hidden.apply_permutation, "__wrapped__")
    with pytest.raises(jaxtyping.TypeCheckError, match="apply_permutation"):
        nw.hidden.apply_permutation(jnp.arange(3), jnp.ones(4))
    # a float field where the annotation says a permutation (integer indices)
    with pytest.raises(jaxtyping.TypeCheckError):
        nw.hidden.apply_permutation(jnp.zeros(4), jnp.ones(4))
    # and the same call with consistent arguments passes the check
    assert nw.hidden.apply_permutation(jnp.arange(4)[::-1], jnp.arange(4.0)).tolist() == [3.0, 2.0, 1.0, 0.0]
    # Two fields of one call share *grid: a filter of another grid is refused by the annotation (without
    # the hook the package's own check refuses it too, with its ValueError naming both shapes).
    f = jnp.ones((8, 8))
    assert nw.entropic.apply_filter(f, nw.entropic.spectral_filter(nw.grid.Grid((8, 8)))).shape == (8, 8)
    with pytest.raises(jaxtyping.TypeCheckError, match="apply_filter"):
        nw.entropic.apply_filter(f, jnp.ones((8, 4)))


@needs_hook
def test_a_return_value_is_checked_too():
    # spectral_norm is annotated (Weights) -> FloatScalar: a result of another shape would be an error.
    assert nw.experiments.spectral_norm(jnp.eye(3)).shape == ()
    with pytest.raises(jaxtyping.TypeCheckError):
        nw.experiments.spectral_norm(jnp.ones((2, 3)))


def test_scalar_is_a_real_number_in_any_form():
    # What a user writes for beta, hbar or dt: Python numbers, NumPy scalars, 0-d arrays.
    for v in (2, 2.5, np.float32(1.5), np.int64(3), jnp.asarray(1.0), jnp.asarray(3), np.asarray(0.5)):
        assert _accepts(T.Scalar, v), v
    for v in (jnp.ones(2), jnp.asarray(1j), 1j, "2.0", None):
        assert not _accepts(T.Scalar, v), v


def test_field_aliases_relate_shapes_across_arguments():
    # Two Field arguments of one call share *grid; a VectorField has K components on that grid.
    assert _accepts(T.Field, jnp.zeros((4, 5)), jnp.ones((4, 5)))
    assert not _accepts(T.Field, jnp.zeros((4, 5)), jnp.ones((5, 4)))
    assert not _accepts(T.Field, jnp.zeros(4, complex))  # a wavefunction is a ComplexField
    assert _accepts(T.ComplexField, jnp.zeros((4, 5), complex))
    assert _accepts(T.RealOrComplexField, jnp.zeros(4), jnp.zeros(4, complex))
    assert _accepts(T.RealOrComplexField, jnp.arange(4))  # an integer field is promoted

    @_checked
    def gradient(f: T.Field) -> T.VectorField:
        return jnp.stack(jnp.gradient(f))

    @_checked
    def wrong(f: T.Field) -> T.VectorField:
        return jnp.stack(jnp.gradient(f))[:, :-1]  # one point short of the grid

    assert gradient(jnp.ones((4, 5))).shape == (2, 4, 5)
    with pytest.raises(jaxtyping.TypeCheckError):
        wrong(jnp.ones((4, 5)))
    assert _accepts(T.MetricField, jnp.zeros((2, 2, 8, 8)))
    assert not _accepts(T.MetricField, jnp.zeros((2, 3, 8, 8)))


def test_network_aliases():
    assert _accepts(T.Weights, jnp.zeros((3, 3)))
    assert not _accepts(T.Weights, jnp.zeros((3, 4)))

    @_checked
    def matvec(w: T.Weights, x: T.State) -> T.State:
        return w @ x

    assert matvec(jnp.eye(3), jnp.ones(3)).shape == (3,)
    with pytest.raises(jaxtyping.TypeCheckError):
        matvec(jnp.eye(3), jnp.ones(4))
    assert _accepts(T.States, jnp.zeros((8, 3)))
    assert _accepts(T.Indices, jnp.arange(3))
    assert not _accepts(T.Indices, jnp.ones(3))
    assert _accepts(T.Key, jax.random.PRNGKey(0)) and _accepts(T.Key, jax.random.key(0))
    assert not _accepts(T.Key, 0)


def test_every_alias_is_exported():
    names = [n for n, v in vars(T).items()
             if not n.startswith("_") and n not in ("annotations", "Callable") and not inspect.ismodule(v)]
    assert sorted(names) == sorted(T.__all__)
