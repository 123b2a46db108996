"""The network's own hidden-variable action in a per-neuron metric, paper §9, eqs. (77)-(83).

§7 splits the state vectors into D + 1 subsystems x^(μ), μ = 0..D (49)-(58), each evolving through
the same network; §9 lets every neuron i carry its own metric g^i_μν and writes (77)

    A = g^i_μν [ (α/2) ⟨x_i^(μ) G_ij x_j^(ν)⟩_x + (dx̄_i^(μ)/dτ)(dx̄_i^(ν)/dτ) ],           (77)

summed over neurons i, j and (being an action in τ) integrated over τ; G is the operator (8)-(9)
(:func:`nnworld_jax.partition.gauss_newton_operator`, G = JᵀJ). Reading implemented here:

* ``x`` holds the mean states x̄_i^(μ)(τ), shape (K, N, Nτ), K = D + 1, on a periodic τ grid
  (a 1-D :class:`~nnworld_jax.grid.Grid`), with τ derivatives by :mod:`nnworld_jax.grid`.
* ⟨x_i^(μ) G_ij x_j^(ν)⟩_x is the ensemble average over the states at fixed neuron i (no sum over i
  inside the bracket, j summed): x̄_i^(μ) (G x̄^(ν))_i + δ^{μν} (G C^(μ))_ii, where C^(μ) is the
  covariance of subsystem μ's states; distinct subsystems are uncorrelated ("non-interacting", §7).
  The covariance term does not depend on x̄, so it shifts A and never the equation of motion.
* ``form="printed"`` is (77) as printed. ``form="corrected"`` is A = g^i_μν[ẋ̄_i^μ ẋ̄_i^ν - α²⟨x^μ G x^ν⟩_i]:
  the relative sign and the α² that the π/πᵀ ensemble of §8 produces (docs/conventions.md §5:
  ∂²_τx̄ = -α²G x̄ - αG∂_τx̄ exactly for G = G(π)). Only this form has the string limit (73)/(76):
  the printed one gives ẍ̄ = +(α/2)Gx̄, an elliptic (Euclidean) equation whose modes grow.

The equation of motion is ``jax.grad`` of the discrete action (:func:`hidden_eom`). For the printed
form, δA/δx̄_k^ρ = -2 ∂_τ(g^k_ρν ẋ̄_k^ν) + (α/2)[g^k_ρν (Gx̄^ν)_k + (G g x̄)_k^ρ]: the second potential
term comes from the neuron j ≠ i factor of the double sum. (78) as printed,
g^i_μν[∂²_τx̄_i^ν - (α/2)G_ij x̄_j^ν] = 0 (:func:`printed_eom`, reading the garbled ⟨G_ij x_i^(ν)⟩ as
G_ij x̄_j^ν), equals -½δA/δx̄ only when g^i is the same for all neurons (and constant in τ); for
per-neuron metrics -½δA/δx̄ = (78) + (α/4)(g G x̄ - G g x̄): (78) misses the commutator [g, G] acting
on x̄ (g the block-diagonal matrix of the g^i).

(79)-(80): the same action as a space-time integral, A = ∫ d^{D+1}X g_μν(X) 𝒯^{μν}(X), with the point
sources 𝒯^{μν}(X) = √-g T^{μν} = ∫dτ Σ_i w_i^{μν}(τ) δ^{D+1}(X - x̄_i(τ)), w the bracket of (77). Here
(79) is read with d^{D+1}X (docs/conventions.md §6), the δ over all D + 1 coordinates, the τ
integral of (77) kept, and the indices of (77): the metric lower, the state vectors (coordinates)
upper. g^i is then g(x̄_i(τ)), the metric field at the neuron's position (:func:`metric_at_neurons`).
:func:`deposit_sources` puts the δ's on a periodic space-time grid as normalized Gaussians of width σ;
∫g 𝒯 → A as O(σ²). In this reading 𝒯 does not depend on g, so (82) δ/δg_αβ ∫ g_μν 𝒯^{μν} = 𝒯^{αβ}
holds (:func:`source_variation`, ``jax.grad``).

(81): S_x[g] = ∫ d^{D+1}X √-g R + κ(A - ∫ g_μν 𝒯^{μν}); (83)-(84) are the same with L_M = -g_μν T^{μν}
(all trainable variables kept, none averaged). √-g R comes from :func:`nnworld_jax.curvature.curvature_on_grid`
(the one curvature core). Its metric equation from ``jax.grad`` (:func:`entropy_production_equation`)
is -√-g G^{αβ} - κ𝒯^{αβ} = 0, i.e. G^{αβ} = -κ T^{αβ}: (95) (with Λ = 0) up to the sign of the
Lagrange multiplier κ.

Conventions: mostly-plus η = diag(-1, 1, ..., 1); metrics are used as ½(g + gᵀ); actions are
Σ density · cell volume; the periodic space-time box is the grid's (default [0, 2π)^K), positions
taken modulo its lengths.
"""

from __future__ import annotations

import functools
import string

import jax
import jax.numpy as jnp

from ._checks import as_float, check, check_finite, check_square, check_symmetric, float_dtype, scalar_param
from ._fields import _derivative
from .curvature import curvature_on_grid
from .gravity import euler_lagrange
from .grid import METHODS, Grid
from .types import Array, ArrayLike, Float, FloatScalar, MetricField, Real, Scalar

__all__ = ["state_average", "source_weights", "hidden_lagrangian", "hidden_action", "hidden_eom",
           "printed_eom", "metric_at_neurons", "deposit_sources", "spacetime_action", "source_variation",
           "entropy_production_action", "entropy_production_equation"]

# g^i_μν per neuron: constant in τ, (N, K, K), or one per τ, (N, K, K, Nτ)
_NeuronMetric = Real[ArrayLike, "N K K"] | Real[ArrayLike, "N K K Nt"]

FORMS = ("printed", "corrected")


# ----------------------------------------------------------------------------------------------
# Validation (eager ValueError for concrete inputs, a runtime error under jit)


def _tau_grid(grid: Grid, name: str = "grid"):
    if not isinstance(grid, Grid) or grid.ndim != 1:
        raise ValueError(f"{name} must be a 1-D Grid (the periodic τ axis), got {grid!r}")
    return grid


def _options(form, method):
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def _states(x, grid: Grid):
    x = as_float(x, "x")
    if x.ndim != 3 or x.shape[2] != grid.shape[0]:
        raise ValueError(f"x must have shape (K, N, {grid.shape[0]}) (subsystem, neuron, τ), got {x.shape}; "
                         "kernels take one set of trajectories, use jax.vmap to batch")
    return check_finite(x, "x")


def _operator(operator, n, dtype):
    g = check_finite(check_square(as_float(operator, "operator", dtype), "operator", n), "operator")
    return check_symmetric(g, "operator")


def _metric(metric, k, n, nt, dtype):
    metric = as_float(metric, "metric", dtype)
    if metric.shape not in ((n, k, k), (n, k, k, nt)):
        raise ValueError(f"metric must have shape {(n, k, k)} or {(n, k, k, nt)} (one g^i_μν per neuron, "
                         f"optionally per τ), got {metric.shape}; use jax.vmap to batch")
    metric = check_finite(metric, "metric")
    return metric if metric.ndim == 4 else jnp.broadcast_to(metric[..., None], (n, k, k, nt))


def _covariance(covariance, k, n, dtype):
    if covariance is None:
        return None
    c = as_float(covariance, "covariance", dtype)
    if c.shape != (k, n, n):
        raise ValueError(f"covariance must have shape {(k, n, n)} (one state covariance per subsystem), "
                         f"got {c.shape}; use jax.vmap to batch")
    return check_finite(c, "covariance")


def _network_args(x, operator, metric, grid, alpha, covariance, form, method):
    grid = _tau_grid(grid)
    _options(form, method)
    x = _states(x, grid)
    k, n, nt = x.shape
    dtype = float_dtype(x)
    operator = _operator(operator, n, dtype)
    metric = None if metric is None else _metric(metric, k, n, nt, dtype)
    alpha = scalar_param(alpha, "alpha", dtype, positive=True)
    return x, operator, metric, alpha, _covariance(covariance, k, n, dtype)


# ----------------------------------------------------------------------------------------------
# (77)-(78): kernels (unchecked)


def _dtau(x, grid, method, order=1):
    flat = x.reshape((-1, x.shape[-1]))
    return jax.vmap(lambda f: _derivative(grid, f, 0, order, method))(flat).reshape(x.shape)


def _average(x, operator, covariance):
    # ⟨x_i^μ G_ij x_j^ν⟩ at fixed i: x̄_i^μ (G x̄^ν)_i + δ^{μν}(G C^μ)_ii; shape (K, K, N, Nτ)
    gx = jnp.einsum("ij,njt->nit", operator, x)
    avg = jnp.einsum("mit,nit->mnit", x, gx)
    if covariance is not None:
        fluct = jnp.einsum("ij,mji->mi", operator, covariance)  # (G C^μ)_ii
        k = x.shape[0]
        avg = avg + (jnp.eye(k, dtype=x.dtype)[:, :, None] * fluct[:, None, :])[..., None]
    return avg


def _weights(x, operator, alpha, grid, covariance, form, method):
    v = _dtau(x, grid, method)
    kin = jnp.einsum("mit,nit->mnit", v, v)
    avg = _average(x, operator, covariance)
    avg = 0.5 * (avg + jnp.swapaxes(avg, 0, 1))  # g^i is symmetric: only the symmetric part enters
    if form == "printed":
        return 0.5 * alpha * avg + kin
    return kin - alpha**2 * avg


def _lagrangian(x, operator, metric, alpha, grid, covariance, form, method):
    g = 0.5 * (metric + jnp.swapaxes(metric, 1, 2))
    return jnp.einsum("imnt,mnit->it", g, _weights(x, operator, alpha, grid, covariance, form, method))


def _action(x, operator, metric, alpha, grid, covariance, form, method):
    return jnp.sum(_lagrangian(x, operator, metric, alpha, grid, covariance, form, method)) * grid.cell_volume


@functools.partial(jax.jit, static_argnames=("form", "method"))
def _eom(x, operator, metric, alpha, grid, covariance, form, method):
    return jax.grad(_action)(x, operator, metric, alpha, grid, covariance, form, method) / grid.cell_volume


_average_jit = jax.jit(_average)
_lagrangian_jit = jax.jit(_lagrangian, static_argnames=("form", "method"))
_action_jit = jax.jit(_action, static_argnames=("form", "method"))
_weights_jit = jax.jit(_weights, static_argnames=("form", "method"))


@functools.partial(jax.jit, static_argnames=("method",))
def _printed_eom(x, operator, metric, alpha, grid, method):
    acc = _dtau(x, grid, method, order=2)
    gx = jnp.einsum("ij,njt->nit", operator, x)
    g = 0.5 * (metric + jnp.swapaxes(metric, 1, 2))
    return jnp.einsum("imnt,nit->mit", g, acc - 0.5 * alpha * gx)


# ----------------------------------------------------------------------------------------------
# (77)-(78): public


def state_average(x: Real[ArrayLike, "K N Nt"], operator: Real[ArrayLike, "N N"], *,
                  covariance: Real[ArrayLike, "K N N"] | None = None) -> Float[Array, "K K N Nt"]:
    """⟨x_i^(μ) G_ij x_j^(ν)⟩_x of eq. (77) at every neuron i and time, shape (K, K, N, Nτ).

    The average over the state ensemble at fixed neuron i (j summed): x̄_i^μ (G x̄^ν)_i +
    δ^{μν}(G C^μ)_ii, with C^μ the covariance of subsystem μ (distinct subsystems uncorrelated, §7).

    Arguments:
        x: mean states x̄_i^(μ)(τ), shape (K, N, Nτ).
        operator: G (N, N), symmetric (eqs. (8)-(9)).
        covariance: C^μ, shape (K, N, N), or None (a sharp ensemble).

    Example:
        >>> import jax.numpy as jnp
        >>> state_average(jnp.ones((1, 2, 3)), jnp.eye(2))[0, 0, :, 0].tolist()
        [1.0, 1.0]
    """
    x = as_float(x, "x")
    if x.ndim != 3:
        raise ValueError(f"x must have shape (K, N, Nτ), got {x.shape}; use jax.vmap to batch")
    x = check_finite(x, "x")
    k, n, _ = x.shape
    operator = _operator(operator, n, x.dtype)
    return _average_jit(x, operator, _covariance(covariance, k, n, x.dtype))


def source_weights(x: Real[ArrayLike, "K N Nt"], operator: Real[ArrayLike, "N N"], grid: Grid, *, alpha: Scalar,
                   covariance=None, form: str = "printed", method: str = "spectral") -> Float[Array, "K K N Nt"]:
    """The bracket of eqs. (77) and (80), w_i^{μν}(τ) = (α/2)⟨x_i^μ G_ij x_j^ν⟩ + ẋ̄_i^μ ẋ̄_i^ν.

    ``form="corrected"`` gives ẋ̄_i^μ ẋ̄_i^ν - α²⟨x_i^μ G_ij x_j^ν⟩ (module docstring). Upper indices
    (the state vectors are the emergent coordinates). At fixed i the average is not symmetric in μν;
    it meets only the symmetric g^i_μν, so w is its symmetric part (T^{μν} of (80) is symmetric).

    Arguments:
        x: x̄_i^(μ)(τ), shape (K, N, Nτ). operator: G (N, N), symmetric. grid: the periodic 1-D τ grid.
        alpha: α > 0 of (53). covariance: (K, N, N) or None. form: ``"printed"`` or ``"corrected"``.
        method: τ-derivative method of :mod:`nnworld_jax.grid`.

    Returns: w, shape (K, K, N, Nτ).
    """
    x, operator, _, alpha, covariance = _network_args(x, operator, None, grid, alpha, covariance, form, method)
    return _weights_jit(x, operator, alpha, grid, covariance, form, method)


def hidden_lagrangian(x: Real[ArrayLike, "K N Nt"], operator: Real[ArrayLike, "N N"], metric: _NeuronMetric, grid: Grid, *,
                      alpha: Scalar, covariance=None, form: str = "printed",
                      method: str = "spectral") -> Float[Array, "N Nt"]:
    """Per-neuron Lagrangian of eq. (77), g^i_μν w_i^{μν}(τ), shape (N, Nτ).

    Arguments: as :func:`source_weights`, and ``metric`` g^i_μν of shape (N, K, K) (constant in τ)
    or (N, K, K, Nτ), used as ½(g + gᵀ).
    """
    x, operator, metric, alpha, covariance = _network_args(x, operator, metric, grid, alpha, covariance, form, method)
    return _lagrangian_jit(x, operator, metric, alpha, grid, covariance, form, method)


def hidden_action(x: Real[ArrayLike, "K N Nt"], operator: Real[ArrayLike, "N N"], metric: _NeuronMetric, grid: Grid, *,
                  alpha: Scalar, covariance=None, form: str = "printed", method: str = "spectral") -> FloatScalar:
    """The discrete action (77): A = Σ_τ Σ_i g^i_μν w_i^{μν}(τ) h_τ on the periodic τ grid.

    Arguments: as :func:`hidden_lagrangian`. Returns: the scalar A.

    Example:
        >>> import jax.numpy as jnp
        >>> from nnworld_jax.grid import Grid
        >>> x = jnp.zeros((2, 3, 8))
        >>> float(hidden_action(x, jnp.eye(3), jnp.broadcast_to(jnp.diag(jnp.array([-1.0, 1.0])), (3, 2, 2)),
        ...                     Grid((8,)), alpha=2.0))
        0.0
    """
    x, operator, metric, alpha, covariance = _network_args(x, operator, metric, grid, alpha, covariance, form, method)
    return _action_jit(x, operator, metric, alpha, grid, covariance, form, method)


def hidden_eom(x: Real[ArrayLike, "K N Nt"], operator: Real[ArrayLike, "N N"], metric: _NeuronMetric, grid: Grid, *,
               alpha: Scalar, covariance=None, form: str = "printed", method: str = "spectral") -> Float[Array, "K N Nt"]:
    """δA/δx̄_i^(ρ)(τ) of the discrete action (77): ``jax.grad`` / h_τ, the corrected eq. (78).

    Continuum form (printed (77), g^i constant in τ): -2 g^i_ρν ẍ̄_i^ν + (α/2)[g^i_ρν (Gx̄^ν)_i +
    (G g x̄)_i^ρ]; -½ of it is (78) as printed when every neuron has the same metric. Zero on
    solutions. The metric is held fixed, as in (77)-(78); for (79)'s reading g^i = g(x̄_i(τ)),
    differentiate :func:`hidden_action` through :func:`metric_at_neurons` instead (this adds the
    Christoffel term: with G = 0 the geodesic equation; ``tests/test_network_gravity.py``).
    Arguments: as :func:`hidden_action`. Returns: shape (K, N, Nτ) (index ρ first).
    """
    x, operator, metric, alpha, covariance = _network_args(x, operator, metric, grid, alpha, covariance, form, method)
    return _eom(x, operator, metric, alpha, grid, covariance, form, method)


def printed_eom(x: Real[ArrayLike, "K N Nt"], operator: Real[ArrayLike, "N N"], metric: _NeuronMetric, grid: Grid, *,
                alpha: Scalar, method: str = "spectral") -> Float[Array, "K N Nt"]:
    """Eq. (78) as printed: g^i_μν [∂²_τ x̄_i^ν - (α/2) G_ij x̄_j^ν] at every neuron and time (index μ).

    The garbled ⟨G_ij x_i^(ν)⟩ is read as G_ij x̄_j^ν (j summed). Kept for comparison with
    :func:`hidden_eom`: they agree (as -½ δA/δx̄) only for one metric shared by all neurons.
    Arguments: as :func:`hidden_action` (no covariance: it drops out of the equation of motion).
    """
    x, operator, metric, alpha, _ = _network_args(x, operator, metric, grid, alpha, None, "printed", method)
    return _printed_eom(x, operator, metric, alpha, grid, method)


# ----------------------------------------------------------------------------------------------
# (79)-(82): point sources in the emergent space-time


def metric_at_neurons(metric_fn, x: Real[ArrayLike, "K N Nt"]) -> Float[Array, "N K K Nt"]:
    """g^i_μν(τ) = g_μν(x̄_i(τ)): a metric field read at the neurons' positions, eqs. (79)-(80).

    The reading under which (77) is the space-time integral (79). ``metric_fn`` maps X (K,) to
    g (K, K); returns shape (N, K, K, Nτ), ready for :func:`hidden_action`.
    """
    x = check_finite(as_float(x, "x"), "x")
    if x.ndim != 3:
        raise ValueError(f"x must have shape (K, N, Nτ), got {x.shape}; use jax.vmap to batch")
    k = x.shape[0]
    out = jax.eval_shape(metric_fn, jax.ShapeDtypeStruct((k,), x.dtype))
    if out.shape != (k, k):
        raise ValueError(f"metric_fn must map X ({k},) to g ({k}, {k}), got {out.shape}")
    g = jax.vmap(jax.vmap(metric_fn, in_axes=1, out_axes=-1), in_axes=1, out_axes=0)(x)  # (N, K, K, Nτ)
    return check_finite(g, "metric_fn(x)")


def _kernel_1d(grid: Grid, axis: int, centers, width):
    # Periodic Gaussian of one axis, normalized so that Σ_n k h = 1 on the grid: (P, n_axis)
    length, h = grid.lengths[axis], grid.spacing[axis]
    d = grid.axis(axis, centers.dtype)[None, :] - centers[:, None]
    d = d - length * jnp.round(d / length)  # nearest image
    k = jnp.exp(-0.5 * (d / width) ** 2)
    return k / (jnp.sum(k, axis=1, keepdims=True) * h)


@jax.jit
def _deposit(x, weights, tau_grid, grid, width):
    k = x.shape[0]
    pos = x.reshape((k, -1))  # (K, P), P = N·Nτ
    w = weights.reshape((k, k, -1)) * tau_grid.cell_volume  # ∫dτ → Σ h_τ
    kernels = [_kernel_1d(grid, a, pos[a], width) for a in range(k)]
    letters = string.ascii_lowercase[:k]
    spec = "mnp," + ",".join(f"p{c}" for c in letters) + "->mn" + letters
    return jnp.einsum(spec, w, *kernels)


def deposit_sources(x: Real[ArrayLike, "K N Nt"], weights: Real[ArrayLike, "K K N Nt"], tau_grid: Grid, grid: Grid, *,
                    width: Scalar) -> Float[Array, "K K *grid"]:
    """𝒯^{μν}(X) = √-g T^{μν} = ∫dτ Σ_i w_i^{μν}(τ) δ^{D+1}(X - x̄_i(τ)), eq. (80), on a space-time grid.

    Each δ is a periodic Gaussian of standard deviation ``width`` per axis, normalized on the grid
    (Σ_X δ · cell volume = 1 exactly), so ∫ f 𝒯 = ∫dτ Σ_i w_i (f(x̄_i) + (width²/2) ∇²f(x̄_i) + O(width⁴)):
    the deposit converges as O(width²). Positions are taken modulo the box; the kernel must be resolved
    (width ≥ the largest grid spacing) and local (width ≤ a tenth of the shortest box length).

    Arguments:
        x: x̄_i^(μ)(τ), shape (K, N, Nτ): the neurons' positions in the emergent space-time.
        weights: w_i^{μν}(τ), shape (K, K, N, Nτ), e.g. :func:`source_weights`.
        tau_grid: the periodic 1-D τ grid that ``x`` and ``weights`` live on (the second grid).
        grid: the periodic space-time grid with K axes (coordinates X^μ) that 𝒯 is deposited on.
        width: kernel width σ > 0.

    Returns: 𝒯^{μν}, shape (K, K, *grid.shape).
    """
    tau_grid = _tau_grid(tau_grid, "tau_grid")
    x = _states(x, tau_grid)
    k, n, nt = x.shape
    if not isinstance(grid, Grid) or grid.ndim != k:
        raise ValueError(f"grid must be a Grid with K = {k} axes (one per subsystem), got {grid!r}")
    weights = as_float(weights, "weights", x.dtype)
    if weights.shape != (k, k, n, nt):
        raise ValueError(f"weights must have shape {(k, k, n, nt)}, got {weights.shape}; use jax.vmap to batch")
    weights = check_finite(weights, "weights")
    width = scalar_param(width, "width", x.dtype, positive=True)
    width = check(width, (width < max(grid.spacing)) | (width > 0.1 * min(grid.lengths)),
                  f"width must lie in [{max(grid.spacing):.4g}, {0.1 * min(grid.lengths):.4g}] "
                  "(resolved by the grid, local in the box)")
    return _deposit(x, weights, tau_grid, grid, width)


def _field_args(grid, metric, density):
    if not isinstance(grid, Grid):
        raise ValueError(f"grid must be a Grid, got {grid!r}")
    k = grid.ndim
    metric = as_float(metric, "metric")
    want = (k, k, *grid.shape)
    if metric.shape != want:
        raise ValueError(f"metric must have shape {want}, got {metric.shape}; use jax.vmap to batch")
    density = as_float(density, "density", metric.dtype)
    if density.shape != want:
        raise ValueError(f"density must have shape {want}, got {density.shape}; use jax.vmap to batch")
    return check_finite(metric, "metric"), check_finite(density, "density")


def _spacetime_action(metric, density, grid):
    return jnp.sum(metric * density) * grid.cell_volume


def spacetime_action(metric: MetricField, density: MetricField, grid: Grid) -> FloatScalar:
    """Eq. (79): A = ∫ d^{D+1}X g_μν(X) 𝒯^{μν}(X) (= ∫√-g g_μν T^{μν}), Σ · cell volume on the grid.

    With 𝒯 from :func:`deposit_sources` it equals :func:`hidden_action` with g^i = g(x̄_i(τ)) up to
    the kernel's O(width²).

    Arguments: metric g_μν and density 𝒯^{μν}, both (K, K, *grid.shape); the space-time grid (K axes).
    """
    metric, density = _field_args(grid, metric, density)
    return _spacetime_action_jit(metric, density, grid)


def source_variation(metric: MetricField, density: MetricField,
                     grid: Grid) -> Float[Array, "K K *grid"]:
    """Eq. (82): δ/δg_αβ ∫ g_μν 𝒯^{μν} by ``jax.grad`` (:func:`nnworld_jax.gravity.euler_lagrange`).

    𝒯 does not depend on the metric, so this is 𝒯^{αβ} symmetrized, ½(𝒯 + 𝒯ᵀ).
    Arguments: as :func:`spacetime_action`. Returns: shape (K, K, *grid.shape).
    """
    metric, density = _field_args(grid, metric, density)
    return _source_variation(metric, density, grid)


@jax.jit
def _source_variation(metric, density, grid):
    return euler_lagrange(lambda m: _spacetime_action(m, density, grid), metric, grid)


def _entropy_action(metric, density, kappa, average, grid, method):
    c = curvature_on_grid(metric, grid, method=method)
    production = jnp.sum(jnp.sqrt(jnp.abs(c.det)) * c.ricci_scalar) * grid.cell_volume
    return production + kappa * (average - _spacetime_action(metric, density, grid))


_entropy_action_jit = jax.jit(_entropy_action, static_argnames="method")
_spacetime_action_jit = jax.jit(_spacetime_action)


def _entropy_args(grid, metric, density, kappa, average, method):
    metric, density = _field_args(grid, metric, density)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    kappa = scalar_param(kappa, "kappa", metric.dtype)
    average = scalar_param(average, "average", metric.dtype)
    return metric, density, kappa, average


def entropy_production_action(metric: MetricField, density: MetricField, grid: Grid, *,
                              kappa: Scalar, average: Scalar = 0.0, method: str = "spectral") -> FloatScalar:
    """Eq. (81): S_x[g] = ∫ d^{D+1}X √-g R(g) + κ(A - ∫ g_μν 𝒯^{μν}) on a periodic space-time grid.

    √-g R from :func:`nnworld_jax.curvature.curvature_on_grid`; (83)-(84) are this with
    L_M = -g_μν T^{μν}. ``average`` is the constant A (the average action); κ the Lagrange multiplier.

    Arguments: metric g_μν (non-degenerate) and density 𝒯^{μν}, both (K, K, *grid.shape); the
    space-time grid (K ≥ 2 axes); kappa, average scalars; method: grid derivative method.
    """
    metric, density, kappa, average = _entropy_args(grid, metric, density, kappa, average, method)
    return _entropy_action_jit(metric, density, kappa, average, grid, method)


def entropy_production_equation(metric: MetricField, density: MetricField, grid: Grid, *,
                                kappa: Scalar, method: str = "spectral") -> Float[Array, "K K *grid"]:
    """The metric equation of (81), E^{αβ} = δS_x/δg_αβ by ``jax.grad``, to compare with eq. (95).

    Continuum form: E^{αβ} = -√-g G^{αβ} - κ𝒯^{αβ}, so E = 0 is G^{αβ} = -κT^{αβ} ((95) with Λ = 0
    and κ → -κ). Arguments: as :func:`entropy_production_action` (A drops out). Returns: (K, K, *grid).
    """
    metric, density, kappa, _ = _entropy_args(grid, metric, density, kappa, 0.0, method)
    return _entropy_equation(metric, density, kappa, grid, method)


@functools.partial(jax.jit, static_argnames="method")
def _entropy_equation(metric, density, kappa, grid, method):
    return euler_lagrange(lambda m: _entropy_action(m, density, kappa, 0.0, grid, method), metric, grid)
