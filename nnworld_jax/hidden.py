"""Hidden variables, paper §7 (eqs. (49)-(65)): D non-interacting subsystems on one network, their
linearized dynamics, the permutation-network limit and its right-moving waves.

Conventions (``docs/conventions.md`` §5):

* Subsystem μ = 1..D has its own state x^μ (N,) and bias b^μ, shares the weights w (non-interacting:
  the total network is block diagonal). Its mean state x̄^μ is ``partition.mean_state`` of
  ``Network(w, b^μ)``; the overall state is x̄^0 = Σ_μ x̄^μ (the sum, so that the light-cone form
  (55) carries no factor 1/D²).
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

import math
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from ._checks import check, check_finite, check_positive
from .network import Network, activation_slope, preactivation
from .partition import mean_state

__all__ = [
    "subsystem_mean_states", "overall_state", "linearized_step", "linearized_rhs", "linear_rhs",
    "cycle_permutation", "multi_cycle_permutation", "apply_permutation", "transpose_permutation",
    "shift", "shift_transpose", "permutation_rhs", "FlowState", "permutation_flow",
    "poisson_shift_exact", "profile_moments", "translated_profile", "light_cone_interval",
    "light_cone_residual",
]


# ---------------------------------------------------------------------------------------------
# Subsystems and linearized dynamics, eqs. (49)-(58)


def subsystem_mean_states(w: Float[Array, "N N"], biases: Float[Array, "D N"], *,
                          activation="tanh") -> Float[Array, "D N"]:
    """Mean states x̄^μ of D non-interacting subsystems sharing the weights w, eqs. (49)-(50).

    Each subsystem μ is ``Network(w, biases[μ], activation)``; x̄^μ is its stationary point of the
    bulk loss (3) (``partition.mean_state``, Newton). Returns x̄ with shape (D, N).
    """
    biases = jnp.asarray(biases)
    if biases.ndim != 2 or biases.shape[1] != jnp.shape(w)[0]:
        raise ValueError(f"biases must have shape (D, N) with N = {jnp.shape(w)[0]}, got {biases.shape}")
    return jax.vmap(lambda b: mean_state(Network(w, b, activation)))(biases)


def overall_state(xs: Float[Array, "D N"]) -> Float[Array, " N"]:
    """The overall state x^0 = Σ_μ x^μ of D subsystems, §7 eqs. (49)-(55) (the sum, see the module conventions)."""
    xs = jnp.asarray(xs)
    if xs.ndim != 2:
        raise ValueError(f"xs must have shape (D, N), got {xs.shape}")
    return jnp.sum(xs, axis=0)


def linearized_step(net: Network, xbar: Float[Array, " N"], dx: Float[Array, " N"]) -> Float[Array, " N"]:
    """One synchronous step of a perturbation around the mean state, eqs. (49)-(52).

    x(t+1) = f(w x(t) + b) with x = x̄ + δx gives, to first order,
    δx(t+1) = f(w x̄ + b) - x̄ + diag(f'(w x̄ + b)) w δx(t); at the mean state of an m = 0 network
    the residual f(w x̄ + b) - x̄ vanishes and δx(t+1) = diag(f'(ȳ)) w δx(t).
    Returns δx(t+1), shape (N,).
    """
    y = preactivation(net, xbar)
    return net.activation(y) - xbar + activation_slope(net, y) * (net.w @ dx)


def linearized_rhs(net: Network, xbar: Float[Array, " N"], dx: Float[Array, " N"]) -> Float[Array, " N"]:
    """Continuous-time linearized dynamics, eq. (53): dδx/dt = linearized_step(δx) - δx.

    The unit time step of (1) becomes a rate: δx(t+1) - δx(t) ≈ dδx/dt.
    """
    return linearized_step(net, xbar, dx) - dx


def linear_rhs(apply_w: Callable[[Array], Array], b: Float[Array, " N"], x: Float[Array, " N"],
               alpha) -> Float[Array, " N"]:
    """Linear-activation limit, eqs. (57)-(58): dx/dτ = α (w x + b - x).

    ``apply_w`` is the map x ↦ w x (a dense ``w.__matmul__`` or a sparse index map such as
    :func:`shift`); α > 0 is the rate: α synchronous steps of (1) per unit of τ, so
    x(t+1) - x(t) ≈ (1/α) dx/dτ. With w = π and b = 0 this is eq. (61).
    """
    alpha = check_positive(alpha, "alpha")
    return alpha * (apply_w(x) + b - x)


# ---------------------------------------------------------------------------------------------
# Permutations as index maps, eqs. (59)-(60)


def cycle_permutation(n: int) -> Int[Array, " N"]:
    """The single N-cycle of eq. (59)-(60) as an index map: perm[i] = i - 1 mod N, (πx)_i = x_{i-1}."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return (jnp.arange(n) - 1) % n


def multi_cycle_permutation(lengths) -> Int[Array, " N"]:
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


def apply_permutation(perm: Int[Array, " N"], x: Float[Array, " N"]) -> Float[Array, " N"]:
    """(πx)_i = x_{perm[i]} by a gather, eq. (59): O(N), no N×N matrix."""
    if jnp.ndim(x) != 1:
        raise ValueError(f"x must have shape (N,), got {jnp.shape(x)}; use jax.vmap to batch")
    _check_perm(perm, jnp.shape(x)[0])
    return x[perm]


def transpose_permutation(perm: Int[Array, " N"]) -> Int[Array, " N"]:
    """The index map of πᵀ = π⁻¹ of a permutation (59): (πᵀx)_j = x_i where perm[i] = j."""
    n = jnp.shape(perm)[0]
    return jnp.zeros(n, dtype=perm.dtype).at[perm].set(jnp.arange(n, dtype=perm.dtype))


def shift(x: Float[Array, " N"]) -> Float[Array, " N"]:
    """The single-cycle π of eq. (60) with ``jnp.roll``: (πx)_i = x_{i-1}.

    Example:
        >>> import jax.numpy as jnp
        >>> shift(jnp.arange(4.0)).tolist()
        [3.0, 0.0, 1.0, 2.0]
    """
    return jnp.roll(x, 1, axis=-1)


def shift_transpose(x: Float[Array, " N"]) -> Float[Array, " N"]:
    """πᵀ of the single cycle (60): (πᵀx)_i = x_{i+1} (the left-moving partner of eq. (66), §8)."""
    return jnp.roll(x, -1, axis=-1)


def permutation_rhs(x: Float[Array, " N"], alpha, perm: Int[Array, " N"] | None = None) -> Float[Array, " N"]:
    """Neuron dynamics of a permutation network, eq. (61): dx/dτ = α(π - I)x.

    ``perm=None`` is the single cycle (``jnp.roll``); otherwise the gather (πx)_i = x_{perm[i]}.
    """
    px = shift(x) if perm is None else apply_permutation(perm, x)
    return alpha * (px - x)


class FlowState(NamedTuple):
    """State of the permutation-flow stepper: the neurons x (N,) and the time τ."""

    x: Float[Array, " N"]
    tau: Float[Array, ""]


def _rk4_taps(c: float) -> tuple[float, ...]:
    # RK4 on the linear flow dx/dτ = α(π - I)x is x ↦ p(c(π - I))x with p(z) = Σ_{k≤4} z^k/k!,
    # c = α dt; expanded in powers of π: β_j = Σ_{k=j}^{4} c^k/k! C(k, j) (-1)^{k-j}.
    return tuple(sum(c**k / math.factorial(k) * math.comb(k, j) * (-1) ** (k - j) for k in range(j, 5))
                 for j in range(5))


def permutation_flow(alpha, dt, perm: Int[Array, " N"] | None = None):
    """An ``(init, step)`` pair integrating eq. (61) with classical RK4 (global error O((α dt)⁴)).

    Because (61) is linear, the RK4 update equals the polynomial p(c(π - I)), c = α dt,
    p(z) = 1 + z + z²/2 + z³/6 + z⁴/24; it is applied as the equivalent 5-tap stencil
    x ↦ Σ_{j=0}^{4} β_j πʲ x (one fused pass over the neurons: ``jnp.roll`` for the single cycle,
    or gathers with the precomputed index maps of πʲ). ``init(x0) -> FlowState``;
    ``step(state) -> FlowState`` advances τ by dt. Pure and jit-able; O(N) per step, no N×N matrix.
    """
    alpha, dt = float(alpha), float(dt)  # static step parameters
    for name, v in (("alpha", alpha), ("dt", dt)):
        if not (v > 0 and math.isfinite(v)):
            raise ValueError(f"{name} must be finite and > 0, got {v}")
    beta = _rk4_taps(alpha * dt)
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

    def init(x0):
        x0 = check_finite(jnp.asarray(x0), "x0")
        return FlowState(x0, jnp.zeros((), x0.dtype))

    def step(state: FlowState) -> FlowState:
        x = state.x
        return FlowState(sum(b * power(x, j) for j, b in enumerate(beta)), state.tau + dt)

    return init, step


def poisson_shift_exact(x0: Float[Array, " N"], alpha, tau) -> Float[Array, " N"]:
    """Exact solution of eq. (61) on a single N-cycle (conventions §5), by FFT.

    x(τ) = e^{-ατ} Σ_n (ατ)ⁿ/n! πⁿ x(0): in Fourier space (x̂_k = Σ_i x_i e^{-iki}) the multiplier is
    exp(ατ(e^{-ik} - 1)), k = 2π m/N. Periodic in i; exact up to FFT round-off.
    """
    x0 = check_finite(jnp.asarray(x0), "x0")
    if x0.ndim != 1:
        raise ValueError(f"x0 must have shape (N,), got {x0.shape}; use jax.vmap to batch")
    n = x0.shape[0]
    k = 2 * jnp.pi * jnp.fft.fftfreq(n).astype(jnp.real(x0).dtype)
    mult = jnp.exp(alpha * tau * (jnp.exp(-1j * k) - 1.0))
    out = jnp.fft.ifft(jnp.fft.fft(x0) * mult)
    return out.real if not jnp.iscomplexobj(x0) else out


def profile_moments(x: Float[Array, " N"]) -> tuple[Float[Array, ""], Float[Array, ""], Float[Array, ""]]:
    """(mass Σx, centroid Σ i x_i / Σx, variance) of a localized profile, in sites: the wave speed (62).

    Not periodic-aware: keep the profile away from the ends. Divide by α for σ = i/α units.
    """
    x = jnp.asarray(x)
    i = jnp.arange(x.shape[0], dtype=x.dtype)
    mass = jnp.sum(x)
    c = jnp.sum(i * x) / mass
    var = jnp.sum((i - c) ** 2 * x) / mass
    return mass, c, var


def translated_profile(profile: Callable[[Array], Array], sigma: Float[Array, " N"], tau,
                       direction: int = +1) -> Float[Array, " N"]:
    """The continuum solution of eq. (63): x(τ, σ) = x(0, σ - direction·τ) (unit speed).

    ``direction=+1`` is the right-mover of π (eqs. (62)-(63)), ``-1`` the left-mover of πᵀ (§8).
    """
    if direction not in (1, -1):
        raise ValueError(f"direction must be +1 or -1, got {direction}")
    return profile(sigma - direction * tau)


# ---------------------------------------------------------------------------------------------
# Light cone, eqs. (55)-(56), (65)


def light_cone_interval(dx0: Float[Array, " N"], dxs: Float[Array, "D N"],
                        metric: Float[Array, "D1 D1"] | None = None) -> Float[Array, " N"]:
    """g_μν dx^μ dx^ν at every neuron, eqs. (55)-(56), with dx^μ (μ = 0..D) the increments.

    ``metric`` is a user-given (D+1)×(D+1) symmetric matrix (eq. (56)); None is Minkowski
    diag(-1, 1, ..., 1) (eq. (55)): -(dx^0)² + Σ_μ (dx^μ)². Returns one value per neuron, shape (N,).
    """
    dxs = jnp.asarray(dxs)
    if dxs.ndim != 2 or jnp.shape(dx0) != dxs.shape[1:]:
        raise ValueError(f"dx0 must be (N,) and dxs (D, N); got {jnp.shape(dx0)} and {dxs.shape}")
    d1 = dxs.shape[0] + 1
    if metric is None:
        metric = jnp.diag(jnp.concatenate([-jnp.ones(1, dxs.dtype), jnp.ones(d1 - 1, dxs.dtype)]))
    metric = jnp.asarray(metric, dtype=dxs.dtype)
    if metric.shape != (d1, d1):
        raise ValueError(f"metric must have shape ({d1}, {d1}) for D = {d1 - 1}, got {metric.shape}")
    metric = check(metric, ~jnp.allclose(metric, metric.T), "metric must be symmetric")
    dx = jnp.concatenate([jnp.reshape(dx0, (1, -1)), dxs], axis=0)
    return jnp.einsum("ab,an,bn->n", metric, dx, dx)


def light_cone_residual(xs_before: Float[Array, "D N"], xs_after: Float[Array, "D N"],
                        metric: Float[Array, "D1 D1"] | None = None) -> Float[Array, " N"]:
    """Light-cone constraint (55)/(65) on simulated data: g_μν Δx^μ Δx^ν with Δx^0 = Σ_μ Δx^μ.

    The overall state x^0 = Σ_μ x^μ moves by the sum of the subsystems' moves, so in Minkowski
    metric the residual is -2 Σ_{μ<ν} Δx^μ Δx^ν: exactly zero where at most one subsystem moves at
    each neuron (conventions §5), non-zero otherwise. Returns one value per neuron, shape (N,).
    """
    d = jnp.asarray(xs_after) - jnp.asarray(xs_before)
    return light_cone_interval(jnp.sum(d, axis=0), d, metric)
