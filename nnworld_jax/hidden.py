"""Hidden variables, paper §7 (eqs. (49)-(65)): D non-interacting subsystems on one network, the
leading-order dynamics of their moving means, the permutation-network limit and its right-moving waves.

Conventions (``docs/conventions.md`` §5), read against the paper's text:

* Subsystem d = 1..D has its own states x^(d) (N,) — "e.g., D separate sets of training data" — and
  all are "processed by the very same neural network described by the same trainable variable b
  and ŵ": one shared bias b and one weight matrix w. The distribution of states is multimodal with
  maxima x̄^(d), and each maximum *moves*: the paper maps the moving mean itself,
  "x̄_i^(d)(t + 1) ≈ (f̂′_d ŵ)_ij x̄_j^(d)(t)" (50), with f̂′_d the diagonal matrix of f′(y_i) at
  "y_i = w_ij x̄_j^(d) + b_i" (52), i.e. at the current mean. Eq. (49) is the same map for the overall
  state, whose definition is the paper's (51): "x̄^(0) = Σ_d x̄^(d)".
* (53) makes time continuous: "∂x̄_i^(μ)/∂τ = α (x̄_i^(μ)(t + 1) − x̄_i^(μ)(t))", μ = 0..D; α > 0 is a
  rate (α network steps per unit τ) and is kept everywhere.
* Light cone: (54)-(55) hold "if ... ∂x̄^(c)/∂τ ∂x̄^(d)/∂τ ∝ δ_cd with no summation over index i";
  then η_μν ∂_τx̄_i^(μ) ∂_τx̄_i^(ν) = 0 at every neuron, η = diag(-1, 1, ..., 1). With interactions,
  (56) has "the metric tensor g^i_μν" — one metric *per neuron* i.
* Linear activation (57)-(58): with f̂′ = Î, "x̄^(μ)(t + 1) ≈ w_ij x̄_j^(μ)" and
  "∂x̄_i^(μ)/∂τ ≈ α (w_ij − δ_ij) x̄_j^(μ)": no bias term (as in (49)-(50)).
* Permutations are index maps, never dense N×N matrices: ``perm[i] = j`` means (πx)_i = x_j. The
  single cycle (59)-(60) is (πx)_i = x_{i-1} (``jnp.roll(x, 1)``); πᵀ = π⁻¹ is (πᵀx)_i = x_{i+1}.
* Neuron dynamics (61): dx/dτ = α(π - I)x. Exact solution x(τ) = e^{-ατ} Σ_n (ατ)ⁿ/n! πⁿ x(0), a
  Poisson-distributed shift (centroid +ατ sites, variance +ατ sites², Σx conserved); on a single
  cycle its Fourier multiplier is exp(ατ(e^{-ik} - 1)). With σ = i/α the continuum limit is
  ∂_τx = -∂_σx + (1/2α)∂²_σx + O(α⁻²), eq. (62)-(63) being α → ∞: a right-moving wave of unit speed.

Batch subsystems with ``jax.vmap``: every kernel takes one unbatched state. For very large N
(≳ 10⁶ neurons per subsystem on CPU) ``jax.lax.map`` over the few subsystems is much faster than
``vmap``: it keeps each roll one-dimensional (see ``benchmarks/bench_strings.py``).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from ._checks import as_float, check, check_count, check_finite, check_positive, check_scalar
from .grid import fft_wavenumbers
from .network import Network, activation_slope, preactivation
from .stepping import Stepper, from_update, shift_rk4, solve
from .types import Array, ArrayLike, Float, FloatScalar, Indices, Real, State

__all__ = [
    "overall_state", "mean_step", "mean_rhs", "mean_trajectory", "linear_step", "linear_rhs",
    "cycle_permutation", "multi_cycle_permutation", "apply_permutation", "transpose_permutation",
    "shift", "shift_transpose", "permutation_rhs", "permutation_flow",
    "poisson_shift_exact", "profile_moments", "translated_profile", "light_cone_interval",
    "light_cone_residual",
]


# ---------------------------------------------------------------------------------------------
# Moving means of D subsystems, eqs. (49)-(58)


def _states(xs, name: str = "xs"):
    xs = check_finite(as_float(xs, name), name)
    if xs.ndim != 2:
        raise ValueError(f"{name} must have shape (D, N), got {xs.shape}; one row per subsystem")
    return xs


def _alpha(alpha, dtype):
    check_scalar(alpha, "alpha")
    return check_positive(as_float(alpha, "alpha", dtype), "alpha")


def overall_state(xs: Real[ArrayLike, "D N"]) -> State:
    """The overall state of eq. (51), x̄^(0) = Σ_d x̄^(d) (the paper's definition, not a choice).

    Args: xs (D, N), one subsystem's mean state per row. Returns x̄^(0), shape (N,).
    Summing, not averaging, is what makes (54) — (∂_τx̄_i^(0))² = Σ_d (∂_τx̄_i^(d))² for
    non-overlapping subsystems — come out without a factor 1/D².
    """
    return jnp.sum(_states(xs), axis=0)


def mean_step(net: Network, xbar: State) -> State:
    """Leading-order step of a subsystem's moving mean, eqs. (49)-(50) with (52).

    x̄_i^(d)(t + 1) ≈ (f̂′_d ŵ)_ij x̄_j^(d)(t),  (f̂′_d)_ii = f′(y_i),  y_i = w_ij x̄_j^(d)(t) + b_i:
    the slope is taken at the *current* mean and the network's one shared bias b enters only there.
    The exact network step (1) is f(w x̄ + b); for b = 0 the two differ by
    f(y) - f′(y) y = O(|y|³) (tanh: (2/3)y³), while for b ≠ 0 they differ by O(1) at small x̄
    (f(b) versus 0): (49)-(50) are leading order in the amplitude of the states *and* of b.
    Returns x̄(t + 1), shape (N,); for D subsystems ``jax.vmap(lambda x: mean_step(net, x))(xs)``.
    """
    y = preactivation(net, xbar)
    return activation_slope(net, y) * (net.w @ jnp.asarray(xbar, net.w.dtype))


def mean_rhs(net: Network, xbar: State, alpha) -> State:
    """Continuous-time form of (50), eq. (53): ∂x̄/∂τ = α (x̄(t + 1) - x̄(t)), x̄(t + 1) from :func:`mean_step`.

    α > 0 (a scalar) is the paper's auxiliary rate: α network steps per unit τ. Returns (N,).
    """
    alpha = _alpha(alpha, net.w.dtype)
    return alpha * (mean_step(net, xbar) - jnp.asarray(xbar, net.w.dtype))


def mean_trajectory(net: Network, xs0: Real[ArrayLike, "D N"], steps: int) -> Float[Array, "T D N"]:
    """Iterate (50)-(52) ``steps`` times for D subsystems sharing ``net``: x̄^(d)(t), t = 0..steps.

    Returns shape (steps + 1, D, N); the overall state (49), (51) is ``trajectory.sum(axis=1)``.
    The map is a stepper of :mod:`nnworld_jax.stepping` (time in network steps, dt = 1) run by its
    driver with every state saved; a non-finite mean stops the run with the layer's message.
    """
    xs0 = _states(xs0, "xs0")
    steps = check_count(steps, "steps", 0)  # a float count is an error, never truncated
    mean_map = from_update(lambda t, xs: jax.vmap(lambda x: mean_step(net, x))(xs), 1.0,
                           name="hidden.mean_trajectory", validate=lambda xs: xs)
    return solve(mean_map, xs0.astype(net.w.dtype), n_steps=steps, save_every=1).y


def linear_step(apply_w: Callable[[Array], Array], x: State) -> State:
    """Linear-activation limit of (49)-(50), eq. (57): x̄_i^(μ)(t + 1) ≈ w_ij x̄_j^(μ) (no bias term).

    ``apply_w`` is the map x ↦ w x (``w.__matmul__``, or an index map such as :func:`shift` for the
    permutation (59)-(60)). Returns (N,).
    """
    x = check_finite(as_float(x, "x"), "x")
    return apply_w(x)


def linear_rhs(apply_w: Callable[[Array], Array], x: State, alpha) -> State:
    """Linear-activation limit, eq. (58): ∂x̄_i/∂τ ≈ α (w_ij - δ_ij) x̄_j — (57) put into (53), no ``+ b``.

    α > 0 is the rate of (53); with w = π this is eq. (61). Returns (N,).
    """
    x = check_finite(as_float(x, "x"), "x")
    alpha = _alpha(alpha, x.dtype)
    return alpha * (apply_w(x) - x)


# ---------------------------------------------------------------------------------------------
# Permutations as index maps, eqs. (59)-(60)


def cycle_permutation(n: int) -> Indices:
    """The single N-cycle of eq. (59)-(60) as an index map: perm[i] = i - 1 mod N, (πx)_i = x_{i-1}."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return (jnp.arange(n) - 1) % n


def multi_cycle_permutation(lengths) -> Indices:
    """A permutation made of disjoint cycles of the given lengths (eq. (60)), as an index map.

    Neurons are numbered block by block; inside a block of length L starting at s,
    (πx)_{s+j} = x_{s + (j-1 mod L)}: each cycle is its own ring. Returns perm with N = Σ L.

    Example:
        >>> multi_cycle_permutation([2, 3]).tolist()
        [1, 0, 4, 2, 3]
    """
    lengths = [int(n) for n in lengths]
    if not lengths or any(n < 1 for n in lengths):
        raise ValueError(f"cycle lengths must be a non-empty list of positive integers, got {lengths}")
    parts, start = [], 0
    for n in lengths:
        parts.append(start + (jnp.arange(n) - 1) % n)
        start += n
    return jnp.concatenate(parts)


def _check_perm(perm, n: int):
    if jnp.shape(perm) != (n,):
        raise ValueError(f"perm must have shape ({n},) to act on a state of {n} neurons, got {jnp.shape(perm)}")


def apply_permutation(perm: Indices, x: State) -> State:
    """(πx)_i = x_{perm[i]} by a gather, eq. (59): O(N), no N×N matrix."""
    if jnp.ndim(x) != 1:
        raise ValueError(f"x must have shape (N,), got {jnp.shape(x)}; use jax.vmap to batch")
    _check_perm(perm, jnp.shape(x)[0])
    return x[perm]


def transpose_permutation(perm: Indices) -> Indices:
    """The index map of πᵀ = π⁻¹ of a permutation (59): (πᵀx)_j = x_i where perm[i] = j."""
    perm = jnp.asarray(perm)
    if perm.ndim != 1 or not jnp.issubdtype(perm.dtype, jnp.integer):
        raise ValueError(f"perm must be a 1-d integer index map, got shape {perm.shape} and dtype {perm.dtype}")
    n = perm.shape[0]
    perm = check(perm, jnp.any(jnp.sort(perm) != jnp.arange(n, dtype=perm.dtype)),
                 "perm must be a permutation of 0..N-1 (each index exactly once)")
    return jnp.zeros(n, dtype=perm.dtype).at[perm].set(jnp.arange(n, dtype=perm.dtype))


def _neurons(x):
    x = jnp.asarray(x)
    if x.ndim < 1:
        raise ValueError(f"x must be a state with a neuron axis (N,), got shape {x.shape}")
    return x


def shift(x: State) -> State:
    """The single-cycle π of eq. (60) with ``jnp.roll``: (πx)_i = x_{i-1}.

    Example:
        >>> import jax.numpy as jnp
        >>> shift(jnp.arange(4.0)).tolist()
        [3.0, 0.0, 1.0, 2.0]
    """
    return jnp.roll(_neurons(x), 1, axis=-1)


def shift_transpose(x: State) -> State:
    """πᵀ of the single cycle (60): (πᵀx)_i = x_{i+1} (the left-moving partner of eq. (66), §8)."""
    return jnp.roll(_neurons(x), -1, axis=-1)


def permutation_rhs(x: State, alpha, perm: Indices | None = None) -> State:
    """Neuron dynamics of a permutation network, eq. (61): dx/dτ = α(π - I)x.

    ``perm=None`` is the single cycle (``jnp.roll``); otherwise the gather (πx)_i = x_{perm[i]}.
    α > 0 is the rate of (53).
    """
    x = check_finite(as_float(x, "x"), "x")
    alpha = _alpha(alpha, x.dtype)
    px = shift(x) if perm is None else apply_permutation(perm, x)
    return alpha * (px - x)


def permutation_flow(alpha, dt, *, perm: Indices | None = None) -> Stepper:
    """A stepper integrating eq. (61), dx/dτ = α(π - I)x, with classical RK4 (global error O((α dt)⁴)).

    Because (61) is linear, the RK4 update equals the polynomial p(c(π - I)), c = α dt,
    p(z) = 1 + z + z²/2 + z³/6 + z⁴/24; the layer's :func:`nnworld_jax.stepping.shift_rk4` applies
    it as the equivalent 5-tap stencil x ↦ Σ_{j=0}^{4} β_j πʲ x (one fused pass over the neurons:
    ``jnp.roll`` for the single cycle, or gathers with the precomputed index maps of πʲ).
    Returns a :class:`~nnworld_jax.stepping.Stepper` over :class:`~nnworld_jax.stepping.State`
    ``(τ, x)``: ``init(x0, t0=0.0)``, ``step`` advances τ by dt; run it with
    :func:`nnworld_jax.stepping.solve`. Pure and jit-able; O(N) per step, no N×N matrix. α and dt
    are concrete numbers > 0 (the taps are static).
    """
    if perm is None:
        def power(x, j):
            return jnp.roll(x, j, axis=-1) if j else x
    else:
        maps = [jnp.arange(perm.shape[0], dtype=perm.dtype)]
        for _ in range(4):
            maps.append(perm[maps[-1]])  # (π^{j}x)_i = x_{perm^j[i]}

        def power(x, j):
            if x.shape[-1] != perm.shape[0]:
                raise ValueError(f"state has {x.shape[-1]} neurons, perm acts on {perm.shape[0]}")
            return x[..., maps[j]] if j else x

    def validate(x0):
        x0 = check_finite(as_float(x0, "x0"), "x0")
        if x0.ndim < 1 or (perm is not None and x0.shape[-1] != perm.shape[0]):
            raise ValueError(f"x0 must have a neuron axis{'' if perm is None else f' of length {perm.shape[0]}'}, "
                             f"got shape {x0.shape}")
        return x0

    return shift_rk4(power, alpha, dt, name="hidden.permutation_flow", validate=validate, rate_name="alpha")


def poisson_shift_exact(x0: State, alpha, tau) -> State:
    """Exact solution of eq. (61) on a single N-cycle (conventions §5), by FFT.

    x(τ) = e^{-ατ} Σ_n (ατ)ⁿ/n! πⁿ x(0): in Fourier space (x̂_k = Σ_i x_i e^{-iki}) the multiplier is
    exp(ατ(e^{-ik} - 1)), k = 2π m/N. Periodic in i; exact up to FFT round-off.
    """
    x0 = check_finite(jnp.asarray(x0), "x0")
    if x0.ndim != 1:
        raise ValueError(f"x0 must have shape (N,), got {x0.shape}; use jax.vmap to batch")
    alpha = _alpha(alpha, jnp.real(x0).dtype)
    check_scalar(tau, "tau")
    tau = check_finite(as_float(tau, "tau", jnp.real(x0).dtype), "tau")
    n = x0.shape[0]
    k = jnp.asarray(fft_wavenumbers(n), jnp.real(x0).dtype)
    phase = jax.lax.complex(jnp.cos(k), -jnp.sin(k))  # e^{-ik} in x0's precision (strict dtype promotion)
    mult = jnp.exp((alpha * tau).astype(phase.dtype) * (phase - 1.0))
    out = jnp.fft.ifft(jnp.fft.fft(x0) * mult)
    return out.real if not jnp.iscomplexobj(x0) else out


def profile_moments(x: State) -> tuple[FloatScalar, FloatScalar, FloatScalar]:
    """(mass Σx, centroid Σ i x_i / Σx, variance) of a localized profile, in sites: the wave speed (62).

    Not periodic-aware: keep the profile away from the ends. Divide by α for σ = i/α units.
    """
    x = check_finite(as_float(x, "x"), "x")
    if x.ndim != 1:
        raise ValueError(f"x must have shape (N,), got {x.shape}; use jax.vmap to batch")
    i = jnp.arange(x.shape[0], dtype=x.dtype)
    mass = jnp.sum(x)
    mass = check(mass, mass == 0, "x must have a non-zero mass Σx (the centroid divides by it)")
    c = jnp.sum(i * x) / mass
    var = jnp.sum((i - c) ** 2 * x) / mass
    return mass, c, var


def translated_profile(profile: Callable[[Array], Array], sigma: State, tau,
                       direction: int = +1) -> State:
    """The continuum solution of eq. (63): x(τ, σ) = x(0, σ - direction·τ) (unit speed).

    ``direction=+1`` is the right-mover of π (eqs. (62)-(63)), ``-1`` the left-mover of πᵀ (§8).
    """
    if direction not in (1, -1):
        raise ValueError(f"direction must be +1 or -1, got {direction}")
    return profile(sigma - direction * tau)


# ---------------------------------------------------------------------------------------------
# Light cone, eqs. (54)-(56), (65)


def light_cone_interval(dx0: State, dxs: Real[ArrayLike, "D N"],
                        metric: Real[ArrayLike, "N D+1 D+1"] | None = None) -> State:
    """g^i_μν dx_i^μ dx_i^ν at every neuron i, eqs. (55)-(56), with dx^μ (μ = 0..D) the velocities.

    ``metric`` is one symmetric (D+1)×(D+1) matrix *per neuron*, shape (N, D+1, D+1): the paper's
    "g^i_μν describes the strength of the interactions" (56). None is η = diag(-1, 1, ..., 1) at
    every neuron (55): -(dx^0)² + Σ_d (dx^d)². Returns one value per neuron, shape (N,).
    """
    dxs = check_finite(as_float(dxs, "dxs"), "dxs")
    dx0 = check_finite(as_float(dx0, "dx0", dxs.dtype), "dx0")
    if dxs.ndim != 2 or dx0.shape != dxs.shape[1:]:
        raise ValueError(f"dx0 must be (N,) and dxs (D, N); got {dx0.shape} and {dxs.shape}")
    d1, n = dxs.shape[0] + 1, dxs.shape[1]
    dx = jnp.concatenate([dx0[None], dxs], axis=0)
    if metric is None:
        return jnp.sum(dxs**2, axis=0) - dx0**2
    metric = check_finite(as_float(metric, "metric", dxs.dtype), "metric")
    if metric.shape != (n, d1, d1):
        raise ValueError(f"metric must have shape (N, D+1, D+1) = ({n}, {d1}, {d1}), one metric g^i per "
                         f"neuron (eq. (56)), got {metric.shape}")
    metric = check(metric, jnp.abs(metric - jnp.swapaxes(metric, 1, 2)) > 1e-12 * (1 + jnp.abs(metric)),
                   "metric must be symmetric (g^i_μν = g^i_νμ at every neuron)")
    return jnp.einsum("nab,an,bn->n", metric, dx, dx)


def light_cone_residual(xs_before: Real[ArrayLike, "D N"], xs_after: Real[ArrayLike, "D N"], alpha=1.0,
                        metric: Real[ArrayLike, "N D+1 D+1"] | None = None) -> State:
    """Light-cone constraint (55)/(56) on simulated data, velocities from (53), overall state from (51).

    ∂_τx̄^(d) = α (x̄^(d)(t + 1) - x̄^(d)(t)) for each subsystem, ∂_τx̄^(0) = Σ_d ∂_τx̄^(d); returns
    g^i_μν ∂_τx̄_i^(μ) ∂_τx̄_i^(ν) at every neuron, shape (N,). In η the residual is
    -2 Σ_{c<d} ∂_τx̄_i^(c) ∂_τx̄_i^(d): zero exactly where at most one subsystem moves at neuron i
    (the paper's condition "∝ δ_cd with no summation over index i"), non-zero otherwise.
    """
    before = _states(xs_before, "xs_before")
    after = _states(xs_after, "xs_after")
    if before.shape != after.shape:
        raise ValueError(f"xs_before and xs_after must have the same shape, got {before.shape} and {after.shape}")
    v = _alpha(alpha, before.dtype) * (after - before)
    return light_cone_interval(jnp.sum(v, axis=0), v, metric)
