"""Private: ``jax.jit`` with XLA:CPU compiler options, for the programs the package compiles itself.

Used by :mod:`~nnworld_jax.curvature` (its per-metric point kernels) and :mod:`~nnworld_jax.gravity`
(the grid Euler-Lagrange program): programs with a large elementwise graph that run a few times, for
which compile time dominates.
"""

from __future__ import annotations

import functools
import os

__all__ = ["ADDED_FLAGS_ENV", "_CPU_COMPILER_OPTIONS", "_cpu_options_ok", "_jit", "optimized_options"]

# ``nnworld reproduce`` compiles its ~1,600 run-once programs with LLVM at -O0 (cli._FAST_COMPILE_FLAGS)
# and names the XLA_FLAGS options it added in this variable (inherited by its worker processes).
ADDED_FLAGS_ENV = "NNWORLD_ADDED_XLA_FLAGS"


def optimized_options() -> dict:
    """Compiler options for a program that runs long (a batch of trainings): XLA's default LLVM level
    (2) where ``nnworld reproduce`` lowered it, nothing otherwise (a user's own XLA_FLAGS stand).
    Measured: the full ``learning.second-law`` claim (256 students x 400 steps) takes 66 s at -O0, 32 s so."""
    if "xla_backend_optimization_level" in os.environ.get(ADDED_FLAGS_ENV, ""):
        return {"xla_backend_optimization_level": 2}
    return {}


# XLA:CPU options for the programs this module compiles itself (one per metric and kernel, run a
# few times): the legacy elemental emitters instead of the new fusion emitters halve their compile
# time (Kerr's R, G_ab, K chunk program: 1.9 -> 1.0 s CPU) and run as fast (benchmarks/bench_curvature.py).
# Other backends compile unchanged; an XLA that no longer knows the option falls back to the default.
_CPU_COMPILER_OPTIONS = {"xla_cpu_use_fusion_emitters": False}
_cpu_options_ok = [True]


def _jit(fn, **kwargs):
    """``jax.jit(fn, **kwargs)`` that compiles with ``_CPU_COMPILER_OPTIONS`` when the default backend
    is the CPU at call time (checked per call: GPU/TPU programs compile unchanged). Inside a
    caller's jit/vmap/grad it is the plain jit (JAX takes compiler options on top-level jits only;
    the caller's program is compiled with the caller's options)."""
    import jax  # (here, not at the top: ``nnworld reproduce`` reads ADDED_FLAGS_ENV before JAX starts)

    from ._checks import is_traced

    plain = jax.jit(fn, **kwargs)
    cpu = jax.jit(fn, compiler_options=_CPU_COMPILER_OPTIONS, **kwargs)

    @functools.wraps(fn)
    def call(*args):
        traced = any(is_traced(a) for a in jax.tree_util.tree_leaves(args))
        if not traced and _cpu_options_ok[0] and jax.default_backend() == "cpu":
            try:
                return cpu(*args)
            except ValueError as err:  # under a trace that the arguments do not show (closures)
                if "top-level" not in str(err):
                    raise
            except jax.errors.JaxRuntimeError as err:  # an XLA without this option: the default
                if "compile option" not in str(err):
                    raise
                _cpu_options_ok[0] = False
        return plain(*args)

    return call
