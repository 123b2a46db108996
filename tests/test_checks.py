"""The input checks of ``nnworld_jax._checks``: a concrete CPU value is checked in NumPy (no XLA
program compiled), with the same verdict as the device-side check that runs under ``jit``."""

from __future__ import annotations

import logging

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnworld_jax import _checks as C


class _Compiles(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.names = []

    def emit(self, record):
        if "Finished XLA compilation" in record.getMessage():
            self.names.append(record.getMessage())


@pytest.fixture
def compiles():
    handler = _Compiles()
    loggers = [logging.getLogger(n) for n in ("jax._src.dispatch", "jax._src.interpreters.pxla", "jax._src.compiler")]
    saved = [(lg.level, lg.propagate) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    try:
        with jax.log_compiles(True):
            yield handler.names
    finally:
        for lg, (level, propagate) in zip(loggers, saved):
            lg.removeHandler(handler)
            lg.setLevel(level)
            lg.propagate = propagate


def test_the_compile_counter_sees_an_eager_jnp_op(compiles):
    # The negative control: without it the next test would pass with a counter that sees nothing.
    # A shape no other test uses, so the op is not in JAX's cache yet.
    jnp.isfinite(jnp.ones((3, 1, 7, 2)))
    assert compiles, "jax.log_compiles reported no compilation of a fresh eager op"


def test_eager_checks_of_cpu_values_compile_nothing(compiles):
    x = jnp.asarray(np.linspace(1.0, 2.0, 13 * 5).reshape(13, 5))
    g = jnp.asarray(np.eye(9) + 0.5)
    compiles.clear()
    C.check_finite(x, "x")
    C.check_positive(x, "x")
    C.check_symmetric(g, "G")
    C.check(x, np.zeros(3, bool), "never")
    C.float_array(x, "a", ndim=2)
    assert compiles == [], compiles


CASES = {  # value -> (finite?, finite and > 0?) as the device computes them
    "ones": (np.ones(4), True, True),
    "nan": (np.array([1.0, np.nan]), False, False),
    "inf": (np.array([np.inf]), False, False),
    "zero": (np.array([1.0, 0.0]), True, False),
    "minus_zero": (np.array([-0.0]), True, False),
    "negative": (np.array([2.0, -1e-300]), True, False),
    "smallest_normal": (np.array([np.finfo(np.float64).tiny]), True, True),
    "int": (np.array([1, 2]), True, True),
    "int_zero": (np.array([0, 2]), True, False),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_host_verdicts_equal_the_device_verdicts(case):
    value, finite, positive = CASES[case]
    x = jnp.asarray(value)

    def eager(fn):
        try:
            fn(x, "x")
            return True
        except ValueError:
            return False

    def traced(fn):
        try:
            jax.block_until_ready(jax.jit(lambda v: fn(v, "x"))(x))
            return True
        except (eqx.EquinoxRuntimeError, jax.errors.JaxRuntimeError):
            return False

    # The device-side verdict is the reference; the table above states it, so both routes are
    # checked against it rather than only against each other.
    assert (traced(C.check_finite), traced(C.check_positive)) == (finite, positive)
    assert (eager(C.check_finite), eager(C.check_positive)) == (finite, positive)


@pytest.mark.parametrize("value", [np.array([1e-310]), np.array([1e-40], np.float32)])
def test_a_subnormal_is_positive_on_the_host(value):
    # Left out of the comparison above: XLA:CPU flushes subnormals to zero in some compiled
    # comparisons and not in others (eager ``x > 0`` and the same test inside ``jit`` disagree), so
    # the device gives no reference. NumPy's answer is the mathematical one.
    x = jnp.asarray(value)
    np.testing.assert_array_equal(C.check_positive(x, "x"), x)  # returned unchanged, not refused


def test_symmetric_check_host_and_device_agree_at_the_tolerance():
    # 4 N ε max|a| is the documented tolerance: an asymmetry just below it passes, one just above fails,
    # on both routes.
    n = 6
    a = np.eye(n) * 3.0
    tol = 4 * n * np.finfo(np.float64).eps * 3.0
    for delta, ok in ((0.5 * tol, True), (2.0 * tol, False)):
        b = a.copy()
        b[0, 1] += delta
        eager_ok = True
        try:
            C.check_symmetric(jnp.asarray(b), "G")
        except ValueError:
            eager_ok = False
        try:
            jax.block_until_ready(jax.jit(lambda m: C.check_symmetric(m, "G"))(jnp.asarray(b)))
            traced_ok = True
        except (eqx.EquinoxRuntimeError, jax.errors.JaxRuntimeError):
            traced_ok = False
        assert (eager_ok, traced_ok) == (ok, ok)


def test_host_value_leaves_tracers_on_the_device():
    seen = []
    jax.jit(lambda v: seen.append(C.host_value(v)) or v)(jnp.ones(2))
    assert seen == [None]
    assert isinstance(C.host_value(jnp.ones(2)), np.ndarray)


def test_raise_if_under_jit_vmap_and_grad():
    """The traced route of every check (``_checks.raise_if``): a bad value raises its message when
    the program runs, a clean one passes through bit for bit; under ``vmap`` one bad member fails
    the batch and a clean batch never calls the host (the flag is reduced over the batch: the
    program keeps its ``cond``, where a batched flag would have made it a ``select`` running the
    raising callback every time); ``grad`` sees the identity, tangent unchanged."""
    def f(x):
        return jnp.sum(C.raise_if(x, x < 0, "x must be >= 0") ** 2)

    # JAX raises a host callback's error as JaxRuntimeError from a program's first run, as ValueError
    # from a later run through its C++ dispatch path (equinox.error_if's alike): either carries the message.
    runtime_error = (jax.errors.JaxRuntimeError, ValueError)

    x = jnp.array([1.0, 2.0])
    assert jax.jit(f)(x) == 5.0
    with pytest.raises(runtime_error, match="x must be >= 0"):
        jax.block_until_ready(jax.jit(f)(-x))
    np.testing.assert_array_equal(jax.jit(jax.grad(f))(x), 2 * x)  # d/dx Σx² exactly: nothing added
    batch = jnp.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(jax.jit(jax.vmap(jax.grad(f)))(batch), 2 * batch)
    with pytest.raises(runtime_error, match="x must be >= 0"):
        jax.block_until_ready(jax.jit(jax.vmap(jax.grad(f)))(batch.at[1, 0].set(-3.0)))
    with pytest.raises(runtime_error, match="x must be >= 0"):  # nested vmap
        jax.block_until_ready(jax.jit(jax.vmap(jax.vmap(f)))(batch[:, :, None].at[0, 1, 0].set(-1.0)))
    program = str(jax.make_jaxpr(jax.vmap(f))(batch))
    assert "cond" in program and "select_n" not in program
    # the callback is there, so a clean run is not merely unchecked
    assert program.count("pure_callback") == 1


def test_validated_leaves_traced_checks_out_and_keeps_eager_ones():
    """``validated()`` (for a package loop whose entry checked its inputs) drops a check of a traced
    value from the program, still checks a concrete value, and restores the policy on exit."""

    def f(x):
        return C.check(x, x < 0, "x must be >= 0")

    with pytest.raises(Exception, match="x must be >= 0"):
        jax.block_until_ready(jax.jit(f)(-1.0))
    with C.validated():
        # A fresh function: jit caches traces by function, so a jitted f traced before would keep
        # its check (the reason validated() is only for programs that only checked callers run).
        assert float(jax.jit(lambda x: f(x)).lower(-1.0).compile()(-1.0)) == -1.0  # no check in this program
        with pytest.raises(ValueError, match="x must be >= 0"):
            f(np.float64(-1.0))  # concrete: checked on the host as always
        with C.validated():
            pass
        assert float(jax.jit(lambda x: f(x) + 0.0).lower(-2.0).compile()(-2.0)) == -2.0  # nested exit keeps it on
    with pytest.raises(Exception, match="x must be >= 0"):
        jax.block_until_ready(jax.jit(lambda x: f(x) * 1.0)(-1.0))  # off again after the block
