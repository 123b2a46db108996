"""Bad input for nnworld_jax.curvature: points, metrics (NaN, asymmetric, degenerate, singular
derivatives), the many-point helper and the grid route, eagerly and under jit / vmap / grad.

Every metric here is a module-level object, so each kernel compiles once per metric and shape."""

import jax
import jax.numpy as jnp

from nnworld_jax import curvature as cv
from nnworld_jax import grid as gr
from nnworld_jax import metrics as mt

from ._harness import Case

SPHERE = mt.sphere(1.0)
SCHW = mt.schwarzschild(1.0)
OK = jnp.array([1.0, 0.3])        # a regular point of the sphere
POLE = jnp.array([0.0, 0.3])      # θ = 0: sin θ = 0, det g = 0
NAN = jnp.array([jnp.nan, 0.3])
INF = jnp.array([1.0, jnp.inf])


def _nonsymmetric(X):
    # the upper triangle the component route used to mirror silently
    return jnp.array([[1.0, 0.3], [0.0, 1.0]]) + 0.1 * jnp.sin(X[0]) * jnp.eye(2)


def _kink(X):
    # g finite and invertible at x = 0, but ∂²g ~ |x|^(-1/2): the curvature is not finite there
    return jnp.diag(jnp.stack([jnp.ones_like(X[0]), 1.0 + jnp.abs(X[0]) ** 1.5]))


def _nan_tensor(X):
    return jnp.full((2, 2), jnp.nan) * X[0]


def _upper(X):
    return jnp.eye(2) * (1.0 + 0.1 * X[0])


def run(fn, *args, **kw):
    return lambda: jax.block_until_ready(fn(*args, **kw))


def jit_grad(fn, X, metric=SPHERE):
    """d(scalar)/dX under jax.jit(jax.grad): the check must guard the derivative too."""
    def scalar(x):
        return jnp.sum(jnp.asarray(jax.tree_util.tree_leaves(fn(metric, x))[0]))
    return lambda: jax.block_until_ready(jax.jit(jax.grad(scalar))(X))


def jit_vmap_grad(fn, Xs, metric=SPHERE):
    def scalar(x):
        return jnp.sum(jax.tree_util.tree_leaves(fn(metric, x))[0])
    return lambda: jax.block_until_ready(jax.jit(jax.vmap(jax.grad(scalar)))(Xs))


def vmapped(fn, Xs, metric=SPHERE):
    return lambda: jax.block_until_ready(jax.vmap(lambda x: fn(metric, x))(Xs))


def jitted(fn, X, metric=SPHERE):
    return lambda: jax.block_until_ready(jax.jit(lambda x: fn(metric, x))(X))


DEGENERATE = r"metric is degenerate or not finite at X"
SYMMETRIC = r"metric\(X\) must be symmetric"
GRID = gr.Grid((8, 8))
FLAT = jnp.broadcast_to(jnp.eye(2).reshape(2, 2, 1, 1), (2, 2, 8, 8))

CASES = []

# The pointwise kernels share one input policy; each is checked on every condition.
for name in ("curvature", "christoffel", "riemann", "ricci_tensor", "ricci_scalar", "einstein_tensor", "kretschmann"):
    fn = getattr(cv, name)
    f = f"curvature.{name}"
    CASES += [
        Case(f, "batched X (2, 2)", run(fn, SPHERE, jnp.ones((2, 2))), r"X must be one point.*jax\.vmap", "input"),
        Case(f, "NaN in X", run(fn, SPHERE, NAN), r"X contains NaN", "input"),
        Case(f, "non-symmetric metric", run(fn, _nonsymmetric, OK), SYMMETRIC, "domain"),
        Case(f, "sphere at the pole θ = 0", run(fn, SPHERE, POLE), DEGENERATE, "domain"),
        Case(f, "pole under vmap", vmapped(fn, jnp.stack([OK, POLE])), DEGENERATE, "transform"),
    ]

CASES += [
    # curvature: the remaining inputs, and the checks under every transformation
    Case("curvature.curvature", "inf in X", run(cv.curvature, SPHERE, INF), r"X contains NaN or inf", "input"),
    Case("curvature.curvature", "X of the wrong dimension", run(cv.curvature, SPHERE, jnp.zeros(3)),
         r"X must be one point of shape \(2,\)", "input"),  # the sphere's own shape check
    Case("curvature.curvature", "scalar X", run(cv.curvature, SPHERE, 1.0), r"X must be one point", "input"),
    Case("curvature.curvature", "string X", run(cv.curvature, SPHERE, "x"), r"X must be a number", "input"),
    Case("curvature.curvature", "complex X", run(cv.curvature, SPHERE, OK.astype(complex)), r"X must be real", "input"),
    Case("curvature.curvature", "metric not callable", run(cv.curvature, jnp.eye(2), OK), r"metric must be a callable",
         "input"),
    Case("curvature.curvature", "Schwarzschild at the horizon r = 2M", run(cv.curvature, SCHW, jnp.array([0.0, 2.0, 1.0, 0.0])),
         DEGENERATE, "domain"),
    Case("curvature.curvature", "NaN metric", run(cv.curvature, _nan_tensor, OK), DEGENERATE, "domain"),
    Case("curvature.curvature", "singular second derivatives (|x|^1.5 at 0)", run(cv.curvature, _kink, jnp.zeros(2)),
         r"curvature is not finite at X", "domain"),
    Case("curvature.curvature", "pole under jit", jitted(cv.curvature, POLE), DEGENERATE, "transform"),
    Case("curvature.curvature", "NaN under jit", jitted(cv.curvature, NAN), r"X contains NaN", "transform"),
    Case("curvature.ricci_scalar", "pole under jit(grad)", jit_grad(cv.ricci_scalar, POLE), DEGENERATE, "transform"),
    Case("curvature.ricci_scalar", "NaN under jit(grad)", jit_grad(cv.ricci_scalar, NAN), r"X contains NaN", "transform"),
    Case("curvature.ricci_scalar", "pole under jit(vmap(grad))", jit_vmap_grad(cv.ricci_scalar, jnp.stack([OK, POLE])),
         DEGENERATE, "transform"),
    Case("curvature.kretschmann", "non-symmetric metric under jit(grad)", jit_grad(cv.kretschmann, OK, _nonsymmetric),
         SYMMETRIC, "transform"),
    Case("curvature.christoffel", "pole under jit(grad)", jit_grad(cv.christoffel, POLE), DEGENERATE, "transform"),
    Case("curvature.christoffel", "metric not callable", run(cv.christoffel, None, OK), r"metric must be a callable",
         "input"),
    # covariant_divergence: the tensor field is checked like the metric
    Case("curvature.covariant_divergence", "T_upper_fn not callable", run(cv.covariant_divergence, SPHERE, jnp.eye(2), OK),
         r"T_upper_fn must be a callable", "input"),
    Case("curvature.covariant_divergence", "T of the wrong shape",
         run(cv.covariant_divergence, SPHERE, lambda x: jnp.eye(3), OK), r"T_upper_fn\(X\) must have shape", "input"),
    Case("curvature.covariant_divergence", "NaN in T", run(cv.covariant_divergence, SPHERE, _nan_tensor, OK),
         r"T_upper_fn\(X\) contains NaN", "input"),
    Case("curvature.covariant_divergence", "NaN in X", run(cv.covariant_divergence, SPHERE, _upper, NAN),
         r"X contains NaN", "input"),
    Case("curvature.covariant_divergence", "metric at the pole", run(cv.covariant_divergence, SPHERE, _upper, POLE),
         DEGENERATE, "domain"),
    Case("curvature.covariant_divergence", "non-symmetric metric", run(cv.covariant_divergence, _nonsymmetric, _upper, OK),
         SYMMETRIC, "domain"),
    # on_points
    Case("curvature.on_points", "points of shape (n,)", run(cv.on_points, cv.ricci_scalar, SPHERE, OK),
         r"points must have shape \(N, n\)", "input"),
    Case("curvature.on_points", "no points", run(cv.on_points, cv.ricci_scalar, SPHERE, jnp.zeros((0, 2))),
         r"points is empty", "input"),
    Case("curvature.on_points", "NaN point", run(cv.on_points, cv.ricci_scalar, SPHERE, jnp.stack([OK, NAN])),
         r"points contains NaN", "input"),
    Case("curvature.on_points", "a point at the pole", run(cv.on_points, cv.ricci_scalar, SPHERE, jnp.stack([OK, POLE])),
         DEGENERATE, "domain"),
    Case("curvature.on_points", "chunk_size 0", run(cv.on_points, cv.ricci_scalar, SPHERE, OK[None], chunk_size=0),
         r"chunk_size must be an integer >= 1", "domain"),
    Case("curvature.on_points", "chunk_size 2.5 (would truncate)",
         run(cv.on_points, cv.ricci_scalar, SPHERE, OK[None], chunk_size=2.5), r"chunk_size must be an integer", "input"),
    Case("curvature.on_points", "chunk_size True", run(cv.on_points, cv.ricci_scalar, SPHERE, OK[None], chunk_size=True),
         r"chunk_size must be an integer", "input"),
    Case("curvature.on_points", "fn not callable", run(cv.on_points, "ricci", SPHERE, OK[None]), r"fn must be a callable",
         "input"),
    Case("curvature.on_points", "metric not callable", run(cv.on_points, cv.ricci_scalar, 1.0, OK[None]),
         r"metric must be a callable", "input"),
    Case("curvature.on_points", "string points", run(cv.on_points, cv.ricci_scalar, SPHERE, "points"),
         r"points must be a number", "input"),
    # curvature_on_grid
    Case("curvature.curvature_on_grid", "field for another grid", run(cv.curvature_on_grid, FLAT[..., :4], GRID),
         r"g_field must have shape \(2, 2, 8, 8\).*jax\.vmap", "input"),
    Case("curvature.curvature_on_grid", "NaN in the field", run(cv.curvature_on_grid, FLAT.at[0, 0, 1, 2].set(jnp.nan), GRID),
         r"g_field contains NaN", "input"),
    Case("curvature.curvature_on_grid", "non-symmetric field", run(cv.curvature_on_grid, FLAT.at[0, 1].set(0.2), GRID),
         r"g_field must be symmetric", "domain"),
    Case("curvature.curvature_on_grid", "degenerate at one point", run(cv.curvature_on_grid, FLAT.at[1, 1, 3, 3].set(0.0), GRID),
         r"g_field is degenerate", "domain"),
    Case("curvature.curvature_on_grid", "grid is not a Grid", run(cv.curvature_on_grid, FLAT, (8, 8)),
         r"grid must be a nnworld_jax\.grid\.Grid", "input"),
    Case("curvature.curvature_on_grid", "unknown method", run(cv.curvature_on_grid, FLAT, GRID, method="fd3"),
         r"method must be one of", "input"),
    Case("curvature.curvature_on_grid", "NaN under jit(grad)",
         lambda: jax.block_until_ready(jax.jit(jax.grad(lambda g: jnp.sum(cv.curvature_on_grid(g, GRID).ricci_scalar)))(
             FLAT.at[0, 0, 1, 2].set(jnp.nan))), r"g_field contains NaN", "transform"),
    Case("curvature.curvature_on_grid", "degenerate under vmap",
         lambda: jax.block_until_ready(jax.vmap(lambda g: cv.curvature_on_grid(g, GRID).ricci_scalar)(
             jnp.stack([FLAT, FLAT.at[1, 1, 3, 3].set(0.0)]))), r"g_field is degenerate", "transform"),
]

EXEMPT = {"curvature.Curvature": "a NamedTuple of results (no input to check); built by the kernels"}
