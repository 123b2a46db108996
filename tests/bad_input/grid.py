"""Bad input for nnworld_jax.grid: grids, derivatives, integrals, functional derivatives."""

import math

import jax
import jax.numpy as jnp

from nnworld_jax import grid as gr

from ._harness import Case

G = gr.Grid((8,))
G2 = gr.Grid((8, 6))
F = jnp.sin(G.axis(0))
NAN = F.at[3].set(jnp.nan)
INF = F.at[0].set(jnp.inf)
V2 = jnp.zeros((2, 8, 6))


def run(fn, *args, **kw):
    return lambda: jax.block_until_ready(fn(*args, **kw))


def jit_grad(scalar_fn, x):
    """The same bad value under jax.jit(jax.grad(...)): the check must survive both."""
    return lambda: jax.block_until_ready(jax.jit(jax.grad(scalar_fn))(x))


def jit_vmap_grad(scalar_fn, xs):
    return lambda: jax.block_until_ready(jax.jit(jax.vmap(jax.grad(scalar_fn)))(xs))


CASES = [
    # Grid: point counts are integers >= 2; lengths finite and > 0, one per axis.
    Case("grid.Grid", "shape (8.7,) (would truncate to 8)", run(gr.Grid, (8.7,)), r"integer point counts", "domain"),
    Case("grid.Grid", "empty shape", run(gr.Grid, ()), r"grid shape", "input"),
    Case("grid.Grid", "one-point axis", run(gr.Grid, (1,)), r">= 2", "domain"),
    Case("grid.Grid", "negative point count", run(gr.Grid, (-8,)), r">= 2", "domain"),
    Case("grid.Grid", "string point count", run(gr.Grid, ("8",)), r"grid shape", "input"),
    Case("grid.Grid", "bool point count", run(gr.Grid, (True, 8)), r"grid shape", "input"),
    Case("grid.Grid", "lengths=inf", run(gr.Grid, (8,), math.inf), r"lengths must be .*finite", "domain"),
    Case("grid.Grid", "lengths=nan", run(gr.Grid, (8,), math.nan), r"lengths must be .*finite", "input"),
    Case("grid.Grid", "lengths=-1", run(gr.Grid, (8,), -1.0), r"lengths must be .*> 0", "domain"),
    Case("grid.Grid", "lengths=0", run(gr.Grid, (8,), 0.0), r"lengths must be .*> 0", "domain"),
    Case("grid.Grid", "two lengths for one axis", run(gr.Grid, (8,), (1.0, 2.0)), r"lengths must be 1", "input"),
    Case("grid.Grid", "string length", run(gr.Grid, (8,), ("a",)), r"lengths must be", "input"),
    # check_field: the static shape check every kernel uses.
    Case("grid.check_field", "batched field", run(gr.check_field, jnp.zeros((2, 8)), G), r"use jax\.vmap", "input"),
    Case("grid.check_field", "vector field without components", run(gr.check_field, V2[0], G2, components=2),
         r"shape \(2, 8, 6\)", "input"),
    Case("grid.check_field", "grid is not a Grid", run(gr.check_field, F, (8,)), r"grid must be a Grid", "input"),
    # derivative
    Case("grid.derivative", "batched f", run(gr.derivative, jnp.zeros((3, 8)), G, 0), r"use jax\.vmap", "input"),
    Case("grid.derivative", "NaN in f", run(gr.derivative, NAN, G, 0), r"f contains NaN", "input"),
    Case("grid.derivative", "inf in f", run(gr.derivative, INF, G, 0), r"f contains NaN or inf", "input"),
    Case("grid.derivative", "unknown method", run(gr.derivative, F, G, 0, method="fd3"), r"method must be", "input"),
    Case("grid.derivative", "order 3", run(gr.derivative, F, G, 0, 3), r"order must be 1 or 2", "domain"),
    Case("grid.derivative", "axis 1 on a 1-D grid", run(gr.derivative, F, G, 1), r"axis must be", "domain"),
    Case("grid.derivative", "axis -1", run(gr.derivative, F, G, -1), r"axis must be", "domain"),
    Case("grid.derivative", "string f", run(gr.derivative, "f", G, 0), r"f must (be a number|have shape)", "input"),
    Case("grid.derivative", "NaN under jit(grad)", jit_grad(lambda f: jnp.sum(gr.derivative(f, G, 0) ** 2), NAN),
         r"f contains NaN", "transform"),
    Case("grid.derivative", "NaN under jit(vmap(grad))",
         jit_vmap_grad(lambda f: jnp.sum(gr.derivative(f, G, 0, method="fd4") ** 2), jnp.stack([F, NAN])),
         r"f contains NaN", "transform"),
    # gradient
    Case("grid.gradient", "batched f", run(gr.gradient, jnp.zeros((2, 8, 6)), G2), r"use jax\.vmap", "input"),
    Case("grid.gradient", "NaN in f", run(gr.gradient, NAN, G), r"f contains NaN", "input"),
    Case("grid.gradient", "unknown method", run(gr.gradient, F, G, method="cheb"), r"method must be", "input"),
    Case("grid.gradient", "NaN under jit(grad)", jit_grad(lambda f: jnp.sum(gr.gradient(f, G) ** 2), NAN),
         r"f contains NaN", "transform"),
    # divergence
    Case("grid.divergence", "scalar field given", run(gr.divergence, V2[0], G2), r"v must have shape \(2, 8, 6\)",
         "input"),
    Case("grid.divergence", "NaN in v", run(gr.divergence, V2.at[1, 2, 3].set(jnp.nan), G2), r"v contains NaN",
         "input"),
    Case("grid.divergence", "unknown method", run(gr.divergence, V2, G2, method="x"), r"method must be", "input"),
    Case("grid.divergence", "inf under jit(grad)",
         jit_grad(lambda v: jnp.sum(gr.divergence(v, G2) ** 2), V2.at[0, 0, 0].set(jnp.inf)), r"v contains NaN or inf",
         "transform"),
    # laplacian
    Case("grid.laplacian", "batched f", run(gr.laplacian, jnp.zeros((2, 8)), G), r"use jax\.vmap", "input"),
    Case("grid.laplacian", "NaN in f", run(gr.laplacian, NAN, G), r"f contains NaN", "input"),
    Case("grid.laplacian", "unknown method", run(gr.laplacian, F, G, method="fd6"), r"method must be", "input"),
    Case("grid.laplacian", "NaN under jit(grad)", jit_grad(lambda f: jnp.sum(gr.laplacian(f, G) ** 2), NAN),
         r"f contains NaN", "transform"),
    Case("grid.laplacian", "NaN under jit(vmap(grad))",
         jit_vmap_grad(lambda f: jnp.sum(gr.laplacian(f, G) ** 2), jnp.stack([NAN, F])), r"f contains NaN",
         "transform"),
    # integral
    Case("grid.integral", "wrong shape", run(gr.integral, jnp.zeros(9), G), r"f must have shape \(8,\)", "input"),
    Case("grid.integral", "NaN in f", run(gr.integral, NAN, G), r"f contains NaN", "input"),
    Case("grid.integral", "None f", run(gr.integral, None, G), r"f must (be a number|have shape)", "input"),
    Case("grid.integral", "NaN under jit(grad)", jit_grad(lambda f: gr.integral(f, G), NAN), r"f contains NaN",
         "transform"),
    # functional_derivative
    Case("grid.functional_derivative", "action not callable", run(gr.functional_derivative, 1.0, F, G),
         r"action must be a callable", "input"),
    Case("grid.functional_derivative", "batched field", run(gr.functional_derivative, jnp.sum, jnp.zeros((2, 8)), G),
         r"field must have shape", "input"),
    Case("grid.functional_derivative", "NaN in field", run(gr.functional_derivative, jnp.sum, NAN, G),
         r"field contains NaN", "input"),
    Case("grid.functional_derivative", "non-scalar action", run(gr.functional_derivative, lambda f: f**2, F, G),
         r"scalar-output", "input"),
    Case("grid.functional_derivative", "NaN under jit",
         lambda: jax.block_until_ready(jax.jit(lambda f: gr.functional_derivative(lambda x: jnp.sum(x**2), f, G))(NAN)),
         r"field contains NaN", "transform"),
]
