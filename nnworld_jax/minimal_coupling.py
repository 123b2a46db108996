"""Scalar fields minimally coupled to an emergent metric: this toolkit's own matter model, NOT the
paper's (77)-(80).

The paper's §9 action (77)-(80) is about the network itself (the state vectors x̄_i^(μ) of its
neurons as point sources in the emergent space-time): that is :mod:`nnworld_jax.network_gravity`.
This module is a different, standard construction, kept because it gives the paper's matter
Lagrangian L_M of (84)-(85) a concrete field-theory example and checks covariant conservation, which
(95) with the contracted Bianchi identity requires. Fields φ_A(X), A = 1..m, on the emergent
space-time couple to it only through g (minimal coupling):

    S_x[φ, g] = ∫ d^{D+1}X √|g| L_x,   L_x = -½ g^{μν} ∂_μφ_A ∂_νφ_A - V(φ),
    V(φ) = Σ_A (½ m² φ_A² + ¼ λ φ_A⁴)

(mostly-plus signature, so T_{00} ≥ 0 for V ≥ 0), and the energy-momentum tensor *density* is

    𝒯^{μν} = 2 δS_x/δg_{μν} = √|g| T^{μν},
    T^{μν} = ∂^μφ_A ∂^νφ_A - g^{μν}(½ ∂_αφ_A ∂^αφ_A + V(φ)),

the standard normalization (twice (85) as printed, whose -δ/δg^{αβ} lowers the indices of δ/δg_{μν}).
Diffeomorphism invariance of S_x gives, for *any* fields and metric (off shell), the Noether identity

    √|g| ∇_μ T^μ_ν = E_A ∂_νφ_A,   E_A = δS_x/δφ_A = ∂_μ(√|g| g^{μν}∂_νφ_A) - √|g| V'(φ_A),

so ∇_μ T^{μν} = 0 wherever the equations of motion E_A = 0 hold (conversely, conservation forces
E_A ∂_νφ_A = 0). Every form above is checked in ``tests/test_minimal_coupling.py`` against an
independent computation (autodiff of analytic fields, :func:`nnworld_jax.curvature.covariant_divergence`).
No claim of ``nnworld reproduce`` cites this module: the paper states none of it.

Also here: §8's Polyakov string (76) of the subsystems' states x̄^μ(τ, σ), with the flat target η
replaced by a curved metric, S = -(T/2) ∫ dτ dσ √|h| h^{ab} ∂_a x̄^μ ∂_b x̄^ν g_{μν}(x̄)
(conformal gauge h = diag(-1, 1)); :func:`string_action`, :func:`string_eom` (``jax.grad``). For
g = η it is :func:`nnworld_jax.strings.polyakov_action` (tested).

The metric "built from the network states": :func:`emergent_metric` pulls the Minkowski metric back
through x̄^μ(Y) = Y^μ + u^μ(Y), the subsystems' average states as functions of lattice coordinates Y
(σ = i/α per axis, as in §7-§8) with a periodic displacement u: g_{ab} = ∂_a x̄^μ ∂_b x̄^ν η_{μν}. That
is flat space in curvilinear coordinates; a conformal factor e^{2ω} on top (ω any smooth
periodic field) makes it curved. Every metric of the right shape is accepted.

Conventions:

* Grid: a periodic :class:`~nnworld_jax.grid.Grid` with K = D + 1 axes, axis 0 the time-like one by
  convention (nothing here depends on which axis is time). ``metric`` has shape (K, K, *grid.shape)
  and is used as ½(g + gᵀ); ``fields`` has shape (m, *grid.shape).
* Actions are Σ density · cell volume (trapezoid); derivatives by :mod:`nnworld_jax.grid`
  (``"spectral"`` default, ``"fd2"``, ``"fd4"``).
* Euler-Lagrange equations and 𝒯^{μν} come from ``jax.grad`` of the discrete action divided by the
  cell volume (never hand-coded): E_A as :func:`nnworld_jax.grid.functional_derivative`,
  𝒯^{μν} = 2 E^{μν}[g] with :func:`nnworld_jax.gravity.euler_lagrange`'s convention (all K² entries
  independent, so 𝒯 is symmetric and δS = ½ Σ_{μ,ν} 𝒯^{μν} δg_{μν}).
* Accuracy: the discrete identities hold to the aliasing error of products of fields. For smooth
  periodic (analytic) inputs that error falls exponentially with n under spectral derivatives
  (test fields: ~1e-11 relative at n = 48, ~1e-3 at n = 24) and like h² / h⁴ with ``"fd2"`` / ``"fd4"``.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from ._checks import all_concrete, check
from ._curvature_core import christoffel_first_kind, christoffel_second_kind, det_inv
from ._geometry import _metric_derivatives, _points_last_to_first
from ._matter import scalar_lagrangian
from .gravity import euler_lagrange
from .grid import METHODS, Grid, derivative
from .strings import worldsheet_derivatives
from .types import Array, ArrayLike, Field, Float, FloatScalar, MetricField, Real, Scalar, VectorField

__all__ = [
    "christoffel_field",
    "covariant_divergence_density",
    "emergent_metric",
    "energy_momentum_density",
    "hidden_action",
    "hidden_density",
    "hidden_euler_lagrange",
    "noether_residual",
    "string_action",
    "string_eom",
]


# ----------------------------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------------------------

def _check_method(method):
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def _check_metric(grid: Grid, metric):
    k = grid.ndim
    if jnp.shape(metric) != (k, k, *grid.shape):
        raise ValueError(f"metric must have shape {(k, k, *grid.shape)} (one K x K metric per point of a "
                         f"{k}-axis grid), got {jnp.shape(metric)}; use jax.vmap to batch")


def _check_fields(grid: Grid, fields):
    shape = jnp.shape(fields)
    if len(shape) != grid.ndim + 1 or shape[1:] != grid.shape:
        raise ValueError(f"fields must have shape (m, *{grid.shape}) (m hidden-variable fields), got {shape}; "
                         "use jax.vmap to batch")


def _check_params(mass, coupling):
    for name, value in (("mass", mass), ("coupling", coupling)):
        try:
            v = float(value)
        except (TypeError, jax.errors.ConcretizationTypeError):
            continue  # traced: checked under jit below
        if not math.isfinite(v):
            raise ValueError(f"{name} must be finite, got {value}")
    try:
        if float(coupling) < 0:
            raise ValueError(f"coupling must be >= 0 (V bounded below), got {coupling}")
    except (TypeError, jax.errors.ConcretizationTypeError):
        pass


def _concrete(*xs):
    return all_concrete(*xs)


def _eager_values(metric, fields=None, name="fields"):
    # Eager ValueError for concrete inputs (NumPy: no XLA compile, no batched LAPACK under vmap);
    # traced inputs are checked inside the jitted kernels (a runtime error).
    if not _concrete(metric, fields):
        return
    m = np.asarray(metric)
    if not np.all(np.isfinite(m)):
        raise ValueError("metric contains NaN or inf")
    k = m.shape[0]
    det = np.linalg.det(np.moveaxis(m.reshape(k, k, -1), -1, 0))
    if not np.all(np.abs(det) > 0):
        raise ValueError("metric is degenerate (det g = 0) somewhere on the grid")
    if fields is not None and not np.all(np.isfinite(np.asarray(fields))):
        raise ValueError(f"{name} contain NaN or inf")


def _validate(grid, metric, fields, mass, coupling, method):
    _check_metric(grid, metric)
    if fields is not None:
        _check_fields(grid, fields)
    _check_params(mass, coupling)
    _check_method(method)
    _eager_values(metric, fields)


def _checked(grid, metric, fields, mass, coupling):
    # Runtime checks (eager ValueError, a runtime error under jit).
    metric = check(metric, ~jnp.isfinite(metric), "metric contains NaN or inf")
    det = jax.vmap(lambda a: det_inv(a)[0])(_points_last_to_first(metric, 2))
    metric = check(metric, ~(jnp.abs(det) > 0), "metric is degenerate (det g = 0) somewhere on the grid")
    if fields is not None:
        fields = check(fields, ~jnp.isfinite(fields), "fields contain NaN or inf")
    mass, coupling = jnp.asarray(mass), jnp.asarray(coupling)  # ~ of a Python bool is -2, not False
    mass = check(mass, ~jnp.isfinite(mass), "mass must be finite")
    coupling = check(coupling, ~(coupling >= 0), "coupling must be finite and >= 0")
    return metric, fields, mass, coupling


# ----------------------------------------------------------------------------------------------
# Kernels (unchecked)
# ----------------------------------------------------------------------------------------------

def _field_gradients(grid: Grid, fields, method):
    # (m, K, *grid): dq[A, μ] = ∂_μ φ_A
    return jnp.stack([jax.vmap(lambda f: derivative(f, grid, mu, 1, method=method))(fields)
                      for mu in range(grid.ndim)], axis=1)


def _density(grid: Grid, metric, fields, mass, coupling, method):
    k, m = grid.ndim, fields.shape[0]
    metric = 0.5 * (metric + jnp.swapaxes(metric, 0, 1))
    det, ginv = jax.vmap(det_inv)(_points_last_to_first(metric, 2))  # (P,), (P, K, K)
    dq = _field_gradients(grid, fields, method).reshape((m, k, -1))
    q = fields.reshape((m, -1))
    lagrangian = scalar_lagrangian(jnp.moveaxis(ginv, 0, -1), q, dq, mass, coupling)
    return (jnp.sqrt(jnp.abs(det)) * lagrangian).reshape(grid.shape)


def _action(grid, metric, fields, mass, coupling, method):
    return jnp.sum(_density(grid, metric, fields, mass, coupling, method)) * grid.cell_volume


def _euler_lagrange(grid, metric, fields, mass, coupling, method):
    return jax.grad(lambda f: _action(grid, metric, f, mass, coupling, method))(fields) / grid.cell_volume


def _energy_momentum(grid, metric, fields, mass, coupling, method):
    return 2 * euler_lagrange(lambda g: _action(grid, g, fields, mass, coupling, method), metric, grid)


def _christoffel(grid, metric, method):
    # Γ^a_bc (93) by the curvature core, from the grid derivatives of the symmetrized field
    metric = 0.5 * (metric + jnp.swapaxes(metric, 0, 1))
    ginv = det_inv(metric)[1]
    return christoffel_second_kind(ginv, christoffel_first_kind(_metric_derivatives(grid, metric, False, method)))


def _divergence(grid, metric, dens, method):
    k = grid.ndim
    gamma = _christoffel(grid, metric, method)
    div = sum(jax.vmap(lambda f: derivative(f, grid, mu, 1, method=method))(dens[mu]) for mu in range(k))
    return div + jnp.einsum("vml...,ml...->v...", gamma, dens)


def _noether(grid, metric, fields, mass, coupling, method):
    dens = _energy_momentum(grid, metric, fields, mass, coupling, method)
    div = _divergence(grid, metric, dens, method)
    sym = 0.5 * (metric + jnp.swapaxes(metric, 0, 1))
    lowered = jnp.einsum("nr...,r...->n...", sym, div)  # √|g| ∇_μ T^μ_ν
    e = _euler_lagrange(grid, metric, fields, mass, coupling, method)
    source = jnp.einsum("a...,an...->n...", e, _field_gradients(grid, fields, method))
    return lowered - source, lowered, source


@functools.partial(jax.jit, static_argnames=("method",))
def _density_jit(grid, metric, fields, mass, coupling, method):
    metric, fields, mass, coupling = _checked(grid, metric, fields, mass, coupling)
    return _density(grid, metric, fields, mass, coupling, method)


@functools.partial(jax.jit, static_argnames=("method",))
def _action_jit(grid, metric, fields, mass, coupling, method):
    metric, fields, mass, coupling = _checked(grid, metric, fields, mass, coupling)
    return _action(grid, metric, fields, mass, coupling, method)


@functools.partial(jax.jit, static_argnames=("method",))
def _el_jit(grid, metric, fields, mass, coupling, method):
    metric, fields, mass, coupling = _checked(grid, metric, fields, mass, coupling)
    return _euler_lagrange(grid, metric, fields, mass, coupling, method)


@functools.partial(jax.jit, static_argnames=("method",))
def _em_jit(grid, metric, fields, mass, coupling, method):
    metric, fields, mass, coupling = _checked(grid, metric, fields, mass, coupling)
    return _energy_momentum(grid, metric, fields, mass, coupling, method)


@functools.partial(jax.jit, static_argnames=("method",))
def _noether_jit(grid, metric, fields, mass, coupling, method):
    metric, fields, mass, coupling = _checked(grid, metric, fields, mass, coupling)
    return _noether(grid, metric, fields, mass, coupling, method)


@functools.partial(jax.jit, static_argnames=("method",))
def _christoffel_jit(grid, metric, method):
    metric, _, _, _ = _checked(grid, metric, None, 0.0, 0.0)
    return _christoffel(grid, metric, method)


@functools.partial(jax.jit, static_argnames=("method",))
def _divergence_jit(grid, metric, dens, method):
    metric, _, _, _ = _checked(grid, metric, None, 0.0, 0.0)
    dens = check(dens, ~jnp.isfinite(dens), "density contains NaN or inf")
    return _divergence(grid, metric, dens, method)


# ----------------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------------

def emergent_metric(displacement: VectorField, grid: Grid, *, eta: Real[ArrayLike, "K K"] | None = None,
                    conformal: Field | None = None,
                    method: str = "spectral") -> Float[Array, "K K *grid"]:
    """A metric g_μν of eq. (56) seen from lattice coordinates: Minkowski η (55) pulled back, times e^{2ω}.

    The subsystems' average states x̄^μ(Y) = Y^μ + u^μ(Y) (μ = 0..D, Y the lattice coordinates,
    u periodic) pull the flat metric back: g_{ab}(Y) = e^{2ω(Y)} ∂_a x̄^μ ∂_b x̄^ν η_{μν}. With ω = 0
    this is Minkowski space in curvilinear coordinates (non-interacting subsystems, §8); ω ≠ 0 gives
    a curved, conformally flat metric (in two dimensions every metric is locally of this form).

    Arguments:
        displacement: u^μ(Y), shape (K, *grid.shape); x̄ = Y + u must be invertible (det ∂x̄/∂Y ≠ 0).
        grid: periodic grid with K = D + 1 axes.
        eta: constant target metric (K, K); default diag(-1, 1, ..., 1).
        conformal: ω(Y), shape ``grid.shape``, or None.
        method: derivative method of :mod:`nnworld_jax.grid`.

    Returns: g_{ab}, shape (K, K, *grid.shape), dtype of ``displacement``.

    Example:
        >>> import jax.numpy as jnp
        >>> from nnworld_jax.grid import Grid
        >>> g = emergent_metric(jnp.zeros((2, 8, 8)), Grid((8, 8)))
        >>> g[:, :, 0, 0].tolist()
        [[-1.0, 0.0], [0.0, 1.0]]
    """
    k = grid.ndim
    _check_method(method)
    if jnp.shape(displacement) != (k, *grid.shape):
        raise ValueError(f"displacement must have shape {(k, *grid.shape)}, got {jnp.shape(displacement)}; "
                         "use jax.vmap to batch")
    dtype = jnp.result_type(displacement)
    if eta is None:
        eta = jnp.diag(jnp.asarray((-1.0,) + (1.0,) * (k - 1), dtype=dtype))
    if jnp.shape(eta) != (k, k):
        raise ValueError(f"eta must have shape {(k, k)}, got {jnp.shape(eta)}")
    if conformal is not None and jnp.shape(conformal) != grid.shape:
        raise ValueError(f"conformal must have shape {grid.shape}, got {jnp.shape(conformal)}")
    if _concrete(displacement) and not np.all(np.isfinite(np.asarray(displacement))):
        raise ValueError("displacement contains NaN or inf")
    if conformal is not None and _concrete(conformal) and not np.all(np.isfinite(np.asarray(conformal))):
        raise ValueError("conformal contains NaN or inf")
    return _emergent_jit(grid, displacement, jnp.asarray(eta, dtype=dtype), conformal, method)


@functools.partial(jax.jit, static_argnames=("method",))
def _emergent_jit(grid, displacement, eta, conformal, method):
    k = grid.ndim
    displacement = check(displacement, ~jnp.isfinite(displacement), "displacement contains NaN or inf")
    du = jnp.stack([jax.vmap(lambda f: derivative(f, grid, a, 1, method=method))(displacement)
                    for a in range(k)], axis=1)  # du[μ, a] = ∂_a u^μ
    jac = du + jnp.eye(k, dtype=displacement.dtype).reshape((k, k) + (1,) * k)  # J[μ, a] = ∂_a x̄^μ
    g = jnp.einsum("ma...,mn,nb...->ab...", jac, eta, jac)
    if conformal is not None:
        g = g * jnp.exp(2 * conformal).reshape((1, 1, *grid.shape))
    return g


def hidden_density(metric: MetricField, fields: Real[ArrayLike, "m *grid"], grid: Grid, *,
                   mass: Scalar = 0.0, coupling: Scalar = 0.0, method: str = "spectral") -> Float[Array, "*grid"]:
    """Density √|g| L_x of scalar matter at every grid point: a model for L_M of eqs. (84)-(85).

    L_x = -½ g^{μν} ∂_μφ_A ∂_νφ_A - Σ_A (½ m² φ_A² + ¼ λ φ_A⁴), mostly-plus signature.

    Arguments:
        metric: g_{μν}, shape (K, K, *grid.shape), non-degenerate, any signature; symmetrized.
        fields: φ_A, shape (m, *grid.shape).
        grid: periodic grid with K axes (the emergent space-time coordinates X^μ).
        mass: m (finite). coupling: λ ≥ 0.
        method: derivative method.

    Returns: the density, shape ``grid.shape``.
    """
    _validate(grid, metric, fields, mass, coupling, method)
    return _density_jit(grid, metric, fields, mass, coupling, method)


def hidden_action(metric: MetricField, fields: Real[ArrayLike, "m *grid"], grid: Grid, *,
                  mass: Scalar = 0.0, coupling: Scalar = 0.0, method: str = "spectral") -> FloatScalar:
    """S_x = ∫ d^{D+1}X √|g| L_x = Σ density · cell volume: the matter term of eq. (84) for scalar fields.

    Arguments: as :func:`hidden_density`. Returns: the scalar action.

    Example:
        >>> import jax.numpy as jnp
        >>> from nnworld_jax.grid import Grid
        >>> grid = Grid((8, 8))
        >>> flat = jnp.broadcast_to(jnp.diag(jnp.array([-1.0, 1.0])).reshape(2, 2, 1, 1), (2, 2, 8, 8))
        >>> float(hidden_action(flat, jnp.zeros((1, 8, 8)), grid))
        0.0
    """
    _validate(grid, metric, fields, mass, coupling, method)
    return _action_jit(grid, metric, fields, mass, coupling, method)


def hidden_euler_lagrange(metric: MetricField, fields: Real[ArrayLike, "m *grid"], grid: Grid, *,
                          mass: Scalar = 0.0, coupling: Scalar = 0.0,
                          method: str = "spectral") -> Float[Array, "m *grid"]:
    """E_A = δS_x/δφ_A of the discrete scalar-matter action (matter of eq. (84)): ``jax.grad`` / cell volume.

    Continuum form (the tests' reference): E_A = ∂_μ(√|g| g^{μν}∂_νφ_A) - √|g|(m²φ_A + λφ_A³), i.e.
    √|g| times the covariant Klein-Gordon operator (□ - V'). Zero on solutions of the equations of
    motion.

    Arguments: as :func:`hidden_density`. Returns: E_A, shape (m, *grid.shape).
    """
    _validate(grid, metric, fields, mass, coupling, method)
    return _el_jit(grid, metric, fields, mass, coupling, method)


def energy_momentum_density(metric: MetricField, fields: Real[ArrayLike, "m *grid"], grid: Grid, *,
                            mass: Scalar = 0.0, coupling: Scalar = 0.0,
                            method: str = "spectral") -> Float[Array, "K K *grid"]:
    """Energy-momentum tensor density 𝒯^{μν} = 2 δS_x/δg_{μν} = √|g| T^{μν} (eq. (85), standard factor 2), by ``jax.grad``.

    The gradient of the discrete action with respect to the metric field, divided by the cell
    volume, with :func:`nnworld_jax.gravity.euler_lagrange`'s symmetric convention. Continuum form
    (tests only): T^{μν} = ∂^μφ_A∂^νφ_A - g^{μν}(½∂_αφ_A∂^αφ_A + V). Mostly-plus: T^{00} ≥ 0 in
    Minkowski space for V ≥ 0. Upper indices, weight one (divide by √|g| for the tensor).

    Arguments: as :func:`hidden_density`. Returns: 𝒯^{μν}, shape (K, K, *grid.shape), symmetric.
    """
    _validate(grid, metric, fields, mass, coupling, method)
    return _em_jit(grid, metric, fields, mass, coupling, method)


def christoffel_field(metric: MetricField, grid: Grid, *,
                      method: str = "spectral") -> Float[Array, "K K K *grid"]:
    """Christoffel symbols Γ^λ_{μν} = ½g^{λσ}(g_{σμ,ν} + g_{σν,μ} - g_{μν,σ}) of eq. (93) on the grid.

    Grid derivatives as in :func:`nnworld_jax.curvature.curvature_on_grid`, Γ by the same curvature
    core (use :func:`nnworld_jax.curvature.christoffel` for an analytic metric at a point).

    Arguments: metric (K, K, *grid.shape), grid, method. Returns: Γ[λ, μ, ν], shape (K, K, K, *grid.shape).
    """
    _check_metric(grid, metric)
    _check_method(method)
    _eager_values(metric)
    return _christoffel_jit(grid, metric, method)


def covariant_divergence_density(metric: MetricField, density: MetricField, grid: Grid, *,
                                 method: str = "spectral") -> Float[Array, "K *grid"]:
    """√|g| ∇_μ T^{μν} = ∂_μ𝒯^{μν} + Γ^ν_{μλ}𝒯^{μλ} for a symmetric tensor density 𝒯 = √|g| T, with Γ of eq. (93).

    (The Γ^μ_{μλ} term of ∇_μT^{μν} cancels against the derivative of √|g|, so no √|g| appears.)
    The conservation law that (95) and the Bianchi identity require: zero for the fields' 𝒯 where their
    equations of motion hold.

    Arguments:
        metric: (K, K, *grid.shape).
        density: 𝒯^{μν}, shape (K, K, *grid.shape), symmetric (e.g. :func:`energy_momentum_density`).
        grid: periodic grid with K axes.
        method: derivative method.

    Returns: √|g| ∇_μ T^{μν}, shape (K, *grid.shape).
    """
    _check_metric(grid, metric)
    _check_method(method)
    k = grid.ndim
    if jnp.shape(density) != (k, k, *grid.shape):
        raise ValueError(f"density must have shape {(k, k, *grid.shape)}, got {jnp.shape(density)}")
    _eager_values(metric, density, "density")
    return _divergence_jit(grid, metric, density, method)


def noether_residual(metric: MetricField, fields: Real[ArrayLike, "m *grid"], grid: Grid, *,
                     mass: Scalar = 0.0, coupling: Scalar = 0.0, method: str = "spectral"):
    """Off-shell conservation identity behind eq. (95): √|g| ∇_μT^μ_ν - E_A ∂_νφ_A (zero for every φ, g).

    Both sides from ``jax.grad`` of the discrete action: 𝒯 from :func:`energy_momentum_density`,
    E_A from :func:`hidden_euler_lagrange`. On shell (E = 0) it reduces to ∇_μT^{μν} = 0.

    Arguments: as :func:`hidden_density`.

    Returns: (residual, divergence, source), each of shape (K, *grid.shape): residual = divergence -
    source, divergence = √|g| ∇_μT^μ_ν (lower ν), source = E_A ∂_νφ_A. The residual is the
    discretization (aliasing) error: exponentially small in n for smooth fields, spectral method.
    """
    _validate(grid, metric, fields, mass, coupling, method)
    return _noether_jit(grid, metric, fields, mass, coupling, method)


# ----------------------------------------------------------------------------------------------
# The Polyakov string (76) of the subsystems' states x̄^μ(τ, σ) in a curved target metric
# ----------------------------------------------------------------------------------------------

def _string_density(y, grid, metric_fn, drift, tension, method):
    dx = worldsheet_derivatives(y, grid, drift=drift, method=method)  # (2, K, Nτ, Nσ)
    k = y.shape[0]
    t = jnp.arange(grid.shape[0], dtype=y.dtype).reshape(1, -1, 1) * grid.spacing[0]
    x = y + drift.reshape(k, 1, 1) * t  # X = drift·τ + Y
    g = jax.vmap(metric_fn)(_points_last_to_first(x, 1))  # (P, K, K)
    g = jnp.moveaxis(g, 0, -1).reshape((k, k, *grid.shape))
    # conformal gauge: -½T √|h| h^{ab} γ_ab = ½T(γ_ττ - γ_σσ), γ_ab = ∂_aX^μ ∂_bX^ν g_μν(X)
    quad = (jnp.einsum("m...,mn...,n...->...", dx[0], g, dx[0])
            - jnp.einsum("m...,mn...,n...->...", dx[1], g, dx[1]))
    return 0.5 * tension * quad


@functools.partial(jax.jit, static_argnames=("metric_fn", "method"))
def _string_action_jit(y, grid, metric_fn, drift, tension, method):
    y = check(y, ~jnp.isfinite(y), "Y contains NaN or inf")
    tension = check(tension, ~(tension > 0), "tension must be finite and > 0")
    return jnp.sum(_string_density(y, grid, metric_fn, drift, tension, method)) * grid.cell_volume


@functools.partial(jax.jit, static_argnames=("metric_fn", "method"))
def _string_eom_jit(y, grid, metric_fn, drift, tension, method):
    y = check(y, ~jnp.isfinite(y), "Y contains NaN or inf")
    tension = check(tension, ~(tension > 0), "tension must be finite and > 0")
    def act(f):
        return jnp.sum(_string_density(f, grid, metric_fn, drift, tension, method)) * grid.cell_volume

    return jax.grad(act)(y) / grid.cell_volume


def _string_args(y, grid, metric_fn, drift, tension, method):
    if grid.ndim != 2:
        raise ValueError(f"the world-sheet grid must be 2-D (τ, σ), got {grid.ndim}-D")
    if jnp.ndim(y) != 3 or jnp.shape(y)[1:] != grid.shape:
        raise ValueError(f"Y must have shape (D+1, {grid.shape[0]}, {grid.shape[1]}), got {jnp.shape(y)}; "
                         "kernels take one world sheet, use jax.vmap to batch")
    _check_method(method)
    k = jnp.shape(y)[0]
    dtype = jnp.result_type(y)
    out = jax.eval_shape(metric_fn, jax.ShapeDtypeStruct((k,), dtype))
    if out.shape != (k, k):
        raise ValueError(f"metric_fn must map X ({k},) to g ({k}, {k}), got {out.shape}")
    drift = jnp.zeros((k,), dtype) if drift is None else jnp.asarray(drift, dtype)
    if drift.shape != (k,):
        raise ValueError(f"drift must have shape ({k},), got {drift.shape}")
    if _concrete(y, tension):
        if not np.all(np.isfinite(np.asarray(y))):
            raise ValueError("Y contains NaN or inf")
        if not (float(tension) > 0 and math.isfinite(float(tension))):
            raise ValueError(f"tension must be finite and > 0, got {tension}")
    return drift


def string_action(y: Real[ArrayLike, "K Nt Ns"], grid: Grid, metric_fn, *, drift=None, tension=1.0,
                  method: str = "spectral") -> FloatScalar:
    """Polyakov action (76) of the subsystems' states with a curved target metric g_μν(x̄) in place of η.

    S = -(T/2) ∫ dτ dσ √|h| h^{ab} ∂_a x̄^μ ∂_b x̄^ν g_{μν}(x̄) in conformal gauge h = diag(-1, 1), i.e.
    (T/2) Σ_sites (ẋ·g·ẋ - x'·g·x') · h_τ h_σ, with x̄ = drift·τ + Y (as :mod:`nnworld_jax.strings`).

    Arguments:
        y: periodic part Y^μ(τ, σ), shape (K, Nτ, Nσ), K = D + 1.
        grid: the 2-D periodic world sheet (τ, σ).
        metric_fn: hashable callable X (K,) -> g_{μν}(X) (K, K), e.g.
            ``functools.partial(gravity.reference_metric, eps=0.1, signature=(-1., 1., 1.))``.
        drift: constant velocity (K,) of x̄ = drift·τ + Y; default 0.
        tension: T > 0. method: derivative method.

    Returns: the scalar action. With g ≡ η it equals :func:`nnworld_jax.strings.polyakov_action`.
    """
    drift = _string_args(y, grid, metric_fn, drift, tension, method)
    return _string_action_jit(y, grid, metric_fn, drift, tension, method)


def string_eom(y: Real[ArrayLike, "K Nt Ns"], grid: Grid, metric_fn, *, drift=None, tension=1.0,
               method: str = "spectral") -> Float[Array, "K Nt Ns"]:
    """δS/δx̄^μ of :func:`string_action` (eq. (76) in a curved target): ``jax.grad`` / cell volume.

    Continuum form (tests only): T[∂_σ(g_{μν}x̄'^ν) - ∂_τ(g_{μν}ẋ^ν)] + (T/2) ∂_μg_{νρ}(ẋ^νẋ^ρ - x̄'^νx̄'^ρ),
    the string in a curved background; zero on solutions. Arguments: as :func:`string_action`.
    """
    drift = _string_args(y, grid, metric_fn, drift, tension, method)
    return _string_eom_jit(y, grid, metric_fn, drift, tension, method)
