"""Holography: the boundary map of a network, the chain length it encodes and the two actions of the
conjectured duality, paper §10, eqs. (97)-(102).

A network of N neurons with weights εw (``w[i, j]`` is the edge j → i, as everywhere in the
toolkit) has K boundary neurons, listed by index in ``boundary``; ``P∂`` is the (K, N) projector
onto them. Integrating out the bulk gives the boundary weight matrix (``docs/conventions.md`` §7)

    w∂(ε) = P∂ εw (I - εw)⁻¹ P∂ᵀ = Σ_{n≥1} εⁿ P∂ wⁿ P∂ᵀ,        ε ρ(w) < 1,            (97)-(99)

where (wⁿ)_ij sums the directed walks j → … → i of n edges. For a single unit-weight chain
j → b_1 → … → b_L → i (and no other walk) w∂_ij = ε^{L+1}, so the chain length

    d(i, j) = log_ε w∂_ij - 1                                                            (100)

is the number L of intermediate (bulk) neurons. d is not symmetric (w∂_ji = 0 there: d = +inf),
and in general not an integer: parallel chains give d → L_min as ε → 0, weights shift d by
log_ε Π w, and a cycle of length C multiplies w∂ by 1/(1 - ε^C).

The two actions of (101)-(102). The paper states that the bulk and the boundary *actions* are
proportional, "S_x[g(X), Q(X)] ∼ S_q[p(q∂), F(q∂)]" (101), written out in (102) as the action (88)
of a metric theory in the bulk and the action (28) of the trainable variables on the boundary,
q∂ = (b∂, w∂) of (98)-(99), and that "the duality transformation is nothing but changes of variables
between g, Q and p, F". It gives no such change of variables: the duality is a conjecture, and no
number of this module is a test of it. What can be computed is both sides for one explicit choice
of each, with the toolkit's existing kernels, and whether their ratio is the same across networks
and ε (it would have to be, for a proportionality with one constant):

* :func:`boundary_action` — S_q of (28) (``entropic.action``) per unit time on a one-dimensional
  slice of boundary trainable variables, q∂ = (b∂ + q e_a, w∂(ε)): p(q) a normalized Gaussian of
  width ``width`` about q = 0 (this toolkit's choice), F(q) the free energy (45) of the boundary
  network (``partition.free_energy``), V = 0, time-independent fields. It also returns the boxed
  learning term γ∫p∇²F, whose smallness is the paper's condition for quantum mechanics.
* :func:`bulk_action` — S_x of (88) (``gravity.total_action``) per unit τ for a bulk that is one
  ring of neurons (the single-cycle network of §7 (59)-(60), lattice coordinate σ = neuron index):
  metric η = diag(-1, 1) on (τ, σ) (non-interacting subsystems, §8), Λ = 0, and one massless
  scalar Q(σ) = the stationary bulk state of the linear network, x = εw x + P∂ᵀ b∂ (the bias on
  the boundary neurons, (98)).

This toolkit's own model (not the paper's equations). The §10 prose says the bulk entropy
production "should correspond" to the boundary one; :func:`bulk_entropy_production` and
:func:`boundary_entropy_production` give one concrete toy reading: the stationary entropy production
of noisy linear network dynamics dx = -(I - εw) x dτ + √(2T) dW on the bulk and the same with w∂ on
the boundary. For dx = -A x dτ + √(2D) dW the rate is σ = tr(Aᵀ D⁻¹ A Σ) - tr A with
A Σ + Σ Aᵀ = 2D: ≥ 0, zero exactly for detailed balance, independent of T. It carries no paper
equation number.

Numerics: w∂ uses one LU solve (no explicit inverse) and is written as εw·solve so that tiny
entries (ε^{L+1} ~ 1e-18) keep their relative precision; the spectral radius uses Gelfand's
formula by repeated squaring (matmuls only, no LAPACK: safe under ``jit(vmap)`` beside the
solve, see conventions "Numerical hazards").
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import entropic, gravity
from ._checks import as_float, check, check_finite, check_positive, check_scalar, check_square, is_traced
from ._netcore import _chain_edges
from .grid import Grid
from .network import Network
from .partition import free_energy
from .types import Array, ArrayLike, Float, FloatScalar, Key, Real, State, Weights

__all__ = [
    "boundary_projector", "boundary_state", "boundary_bias", "spectral_radius", "boundary_weights",
    "boundary_weights_series", "chain_length", "ChainNetwork", "chain_network", "random_chain_network",
    "cycle_network", "boundary_network", "BoundaryAction", "boundary_action", "bulk_state", "bulk_action",
    "stationary_covariance", "ou_entropy_production", "bulk_entropy_production", "boundary_entropy_production",
]


# ----------------------------------------------------------------------------- boundary map


def _boundary_index(boundary, n: int) -> np.ndarray:
    # Boundary indices are static (they fix the output shape): a concrete NumPy int array.
    if is_traced(boundary):
        raise ValueError("boundary must be static (Python ints or a concrete array), not a traced value")
    idx = np.asarray(boundary)
    if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"boundary must be a non-empty 1-d sequence of neuron indices, got {boundary!r}")
    if np.any(idx < 0) or np.any(idx >= n) or len(np.unique(idx)) != idx.size:
        raise ValueError(f"boundary indices must be distinct and in [0, {n}), got {idx.tolist()}")
    return idx.astype(np.int64)


def boundary_projector(boundary: Sequence[int], n: int, dtype=None) -> Float[Array, "K N"]:
    """The boundary projector P∂ of eqs. (97)-(99): (P∂)_{a, i} = 1 if i = boundary[a], else 0.

    Args:
        boundary: K distinct neuron indices (static: Python ints or a concrete array).
        n: number of neurons N.
    Returns: (K, N) matrix with orthonormal rows, P∂ P∂ᵀ = I_K.

    >>> boundary_projector([0, 2], 3).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    idx = _boundary_index(boundary, n)
    return jax.nn.one_hot(jnp.asarray(idx), n, dtype=dtype or jnp.result_type(float))


def boundary_state(x: State, boundary: Sequence[int]) -> Float[Array, " K"]:
    """Boundary states x∂ = P∂ x, eq. (97): the components of x on the boundary neurons."""
    if jnp.ndim(x) != 1:
        raise ValueError(f"x must have shape (N,), got {jnp.shape(x)}; use jax.vmap to batch")
    return x[_boundary_index(boundary, x.shape[0])]


def boundary_bias(b: State, boundary: Sequence[int]) -> Float[Array, " K"]:
    """Boundary bias b∂ = P∂ b, eq. (98).

    Reading: with the linear stationary state x = εw x + b and a bias supported on the boundary,
    b = P∂ᵀ b∂, the boundary responds as x∂ = (I + w∂) b∂ — the bulk only enters through w∂
    (eq. (99)); ``tests/test_holography.py`` checks this identity.
    """
    if jnp.ndim(b) != 1:
        raise ValueError(f"b must have shape (N,), got {jnp.shape(b)}; use jax.vmap to batch")
    return boundary_state(b, boundary)


def spectral_radius(w: Weights, *, squarings: int = 40) -> FloatScalar:
    """Spectral radius ρ(w), for the domain ε ρ(w) < 1 of the series (97)-(99).

    Gelfand's formula ρ = lim ‖w^k‖^{1/k} with k = 2^squarings, by repeated squaring with
    renormalization (Frobenius norm; matmuls only, jit/vmap-safe, no eigendecomposition). The
    estimate approaches ρ from above with relative error ~ log(N·k^J)/k (J the largest Jordan
    block), negligible for k = 2^40; a nilpotent w (a DAG, e.g. chains) gives exactly 0.
    """
    check_square(w, "w")
    w = check_finite(as_float(w, "w"), "w")
    return _spectral_radius(w, squarings)


@functools.partial(jax.jit, static_argnums=1)
def _spectral_radius(w, squarings):
    def body(carry, _):
        m, log_scale = carry  # w^(2^k) = m · exp(log_scale), ‖m‖_F = 1 (or m = 0)
        sq = m @ m
        nrm = jnp.linalg.norm(sq)
        zero = nrm == 0
        m = jnp.where(zero, jnp.zeros_like(sq), sq / jnp.where(zero, 1.0, nrm))
        log_scale = jnp.where(zero, -jnp.inf, 2.0 * log_scale + jnp.log(jnp.where(zero, 1.0, nrm)))
        return (m, log_scale), None

    n0 = jnp.linalg.norm(w)
    zero0 = n0 == 0
    m0 = jnp.where(zero0, jnp.zeros_like(w), w / jnp.where(zero0, 1.0, n0))
    s0 = jnp.where(zero0, -jnp.inf, jnp.log(jnp.where(zero0, 1.0, n0)))
    (_, log_scale), _ = jax.lax.scan(body, (m0, s0), None, length=squarings)
    return jnp.exp(log_scale / 2.0**squarings)


def _check_domain(w, eps):
    eps = jnp.asarray(eps, dtype=jnp.result_type(w.dtype, float))
    eps = check(eps, ~(eps > 0) | ~jnp.isfinite(eps), "eps must be finite and > 0")
    rho = spectral_radius(jax.lax.stop_gradient(w))
    # (the check is on values only; it does not enter derivatives)
    eps = check(eps, jax.lax.stop_gradient(eps) * rho >= 1,
          "eps * spectral_radius(w) must be < 1: the boundary series (97)-(99) diverges "
          "and (I - eps w) is not invertible through it")
    return eps


def boundary_weights(w: Weights, eps, boundary: Sequence[int]) -> Float[Array, "K K"]:
    """Boundary weight matrix w∂(ε) = P∂ εw (I - εw)⁻¹ P∂ᵀ, eqs. (97)-(99), by one linear solve.

    ``w[i, j]`` is the edge j → i; (w∂)_ab sums ε^n over the directed walks of n ≥ 1 edges from
    boundary[b] to boundary[a] (through any neurons, boundary ones included), weighted by the
    product of their weights. Computed as ε (w Y)[boundary] with (I - εw) Y = P∂ᵀ (LU, no
    inverse; not ``P∂(I - εw)⁻¹P∂ᵀ - I``, which would cancel tiny entries to zero).

    Args:
        w: (N, N) weights; eps: ε > 0 scalar; boundary: K distinct indices (static).
    Returns: (K, K) matrix w∂.
    Raises: ValueError (eagerly) or a runtime error (under jit) if ε ρ(w) ≥ 1 or ε ≤ 0.

    >>> w = jnp.zeros((3, 3)).at[1, 0].set(1.0).at[2, 1].set(1.0)   # chain 0 → 1 → 2
    >>> float(boundary_weights(w, 0.5, [0, 2])[1, 0])              # ε^{L+1}, L = 1
    0.25
    """
    check_square(w, "w")
    w = check_finite(jnp.asarray(w, dtype=jnp.result_type(w, float)), "w")
    n = w.shape[0]
    idx = _boundary_index(boundary, n)
    eps = _check_domain(w, eps)
    return _boundary_weights(w, eps, tuple(int(i) for i in idx))


@functools.partial(jax.jit, static_argnums=2)
def _boundary_weights(w, eps, idx):
    n = w.shape[0]
    a = jnp.eye(n, dtype=w.dtype) - eps * w
    y = jnp.linalg.solve(a, jax.nn.one_hot(jnp.asarray(idx), n, dtype=w.dtype).T)
    return eps * (w @ y)[jnp.asarray(idx)]


def boundary_weights_series(w: Weights, eps, boundary: Sequence[int], *, n_terms: int = 200,
                            tol: float = 1e-14) -> Float[Array, "K K"]:
    """Boundary weight matrix by its walk series Σ_{n=1}^{n_terms} εⁿ P∂ wⁿ P∂ᵀ, eqs. (97)-(99).

    The independent check of ``boundary_weights``. Convergence check: the first omitted power
    must be small, ‖(εw)^{n_terms+1}‖_F ≤ tol (absolute, Frobenius); otherwise a clear error asks
    for more terms (the remainder is (εw)^{n_terms+1} (I - εw)⁻¹, bounded by tol times a factor
    of order 1/(1 - ερ) for normal w). Also enforces ε ρ(w) < 1.

    Returns: (K, K) truncated sum.
    """
    check_square(w, "w")
    w = check_finite(jnp.asarray(w, dtype=jnp.result_type(w, float)), "w")
    idx = _boundary_index(boundary, w.shape[0])
    eps = _check_domain(w, eps)
    ew = eps * w

    def body(carry, _):
        power, total = carry  # power = (εw)^n
        total = total + power[idx][:, idx]
        return (ew @ power, total), None

    k = idx.shape[0]
    (power, total), _ = jax.lax.scan(body, (ew, jnp.zeros((k, k), w.dtype)), None, length=n_terms)
    total = check(total, jnp.linalg.norm(power) > tol,
                  f"boundary series not converged after n_terms={n_terms} (‖(εw)^n‖ > {tol}): "
                  "increase n_terms or use boundary_weights")
    return total


def chain_length(w_boundary: Real[ArrayLike, "K K"], eps) -> Float[Array, "K K"]:
    """Chain length d(i, j) = log_ε |w∂_ij| - 1, eq. (100) (conventions §7 relation).

    For one unit-weight chain j → b_1 → … → b_L → i and no other walk, d = L, the number of
    intermediate neurons. Entries with w∂_ij = 0 (no walk from j to i) give d = +inf (not NaN;
    gradients there are 0). The sign of w∂ is dropped (|·|): a negative product of weights is a
    phase, not a length. d(i, j) ≠ d(j, i) in general. Needs 0 < ε < 1.

    >>> float(chain_length(jnp.array([[0.0, 0.3**9], [0.0, 0.0]]), 0.3)[0, 1])
    8.0...
    """
    wb = jnp.abs(jnp.asarray(w_boundary))
    eps = jnp.asarray(eps, dtype=jnp.result_type(wb.dtype, float))
    eps = check(eps, ~(eps > 0) | ~(eps < 1), "chain_length needs 0 < eps < 1")
    zero = wb == 0
    safe = jnp.where(zero, 1.0, wb)
    return jnp.where(zero, jnp.inf, jnp.log(safe) / jnp.log(eps) - 1.0)


# ----------------------------------------------------------------------------- test networks


class ChainNetwork(NamedTuple):
    """A network of unit-weight bulk chains between boundary neurons (static, small N).

    w: (N, N) weights (``w[i, j]`` edge j → i); boundary: the K boundary indices 0..K-1;
    chains: tuple of (source a, target b, L) in boundary positions (a → L bulk neurons → b);
    lengths: (K, K) array, lengths[b, a] = min L over chains a → b, inf if none.
    """

    w: np.ndarray
    boundary: tuple[int, ...]
    chains: tuple[tuple[int, int, int], ...]
    lengths: np.ndarray


def chain_network(n_boundary: int, chains: Sequence[tuple[int, int, int]], *, weight: float = 1.0,
                  n_total: int | None = None, dtype=np.float64) -> ChainNetwork:
    """Assemble the (100) test network: boundary neurons 0..K-1, then for each chain (a, b, L) L new
    bulk neurons a → b_1 → … → b_L → b, every edge of weight ``weight`` (dense matrix, small N).
    ``n_total`` pads with isolated neurons (no walks change) so that many draws share one shape.

    >>> net = chain_network(2, [(0, 1, 3)])
    >>> net.w.shape, float(net.lengths[1, 0]), float(net.lengths[0, 1])
    ((5, 5), 3.0, inf)
    """
    k = int(n_boundary)
    n, edges = _chain_edges(k, chains, n_total)
    w = np.zeros((n, n), dtype=dtype)
    lengths = np.full((k, k), np.inf)
    for dst, src in edges:
        w[dst, src] += weight
    for a, b, length in chains:
        lengths[int(b), int(a)] = min(lengths[int(b), int(a)], int(length))
    return ChainNetwork(w, tuple(range(k)), tuple((int(a), int(b), int(c)) for a, b, c in chains), lengths)


def random_chain_network(n_boundary: int = 6, n_chains: int = 5, *, key: Key, min_length: int = 0,
                         max_length: int = 8, parallel: int = 1) -> ChainNetwork:
    """Random chains for eq. (100): boundary neurons split into sources (first half) and sinks
    (second half); ``n_chains`` distinct source → sink pairs get ``parallel`` chains each, of random
    lengths in [min_length, max_length]. Sinks never start a chain, so the only walks between
    boundary neurons are the chains themselves: with ``parallel=1`` d = L exactly, with
    ``parallel > 1`` d → min L as ε → 0. Built eagerly; padded with isolated neurons to the
    fixed size N = K + n_chains·parallel·max_length so that all draws share one shape (one jit).
    ``key`` (keyword-only, as in equinox) draws the pairs and the lengths.
    """
    k = int(n_boundary)
    n_src = k // 2
    pairs = [(a, b) for a in range(n_src) for b in range(n_src, k)]
    if not 1 <= n_chains <= len(pairs):
        raise ValueError(f"n_chains must be in [1, {len(pairs)}] for {k} boundary neurons")
    k_pairs, k_len = jax.random.split(key)
    chosen = np.asarray(jax.random.choice(k_pairs, len(pairs), (n_chains,), replace=False))
    lens = np.asarray(jax.random.randint(k_len, (n_chains, parallel), min_length, max_length + 1))
    chains = [(pairs[p][0], pairs[p][1], int(lens[c, r])) for c, p in enumerate(chosen) for r in range(parallel)]
    return chain_network(k, chains, n_total=k + n_chains * parallel * max_length)


def cycle_network(c: int, dtype=np.float64) -> np.ndarray:
    """A directed unit-weight cycle 0 → 1 → … → c-1 → 0 (the cycle test of eqs. (97)-(100)).

    As a bulk it is the single-cycle permutation network of §7 (59)-(60), ``w[i, i-1] = 1``.
    """
    if int(c) != c or c < 1:
        raise ValueError(f"c must be a positive integer cycle length, got {c}")
    c = int(c)
    w = np.zeros((c, c), dtype=dtype)
    w[(np.arange(c) + 1) % c, np.arange(c)] = 1.0
    return w


# ----------------------------------------------------------------------------- the two actions of (101)-(102)


def boundary_network(w: Weights, eps, boundary: Sequence[int], b: State, *,
                     activation="tanh") -> Network:
    """The boundary network of eqs. (97)-(99): weights w∂(ε) and bias b∂ = P∂ b on the K boundary neurons."""
    w = as_float(w, "w")
    b = check_finite(as_float(b, "b", w.dtype), "b")
    if b.shape != (w.shape[0],):
        raise ValueError(f"b must have shape ({w.shape[0]},), got {b.shape}; use jax.vmap to batch")
    return Network(boundary_weights(w, eps, boundary), boundary_bias(b, boundary), activation)


class BoundaryAction(NamedTuple):
    """Result of :func:`boundary_action`: S_q of eq. (28) per unit time and its boxed learning part
    γ∫p∇²F (the term whose smallness lets the boundary theory be quantum mechanics, §10)."""

    action: FloatScalar
    learning: FloatScalar


def _gaussian_density(q, width):
    p = jnp.exp(-0.5 * (q / width) ** 2)
    return p / (jnp.sum(p) * (q[1] - q[0]))


def boundary_action(w: Weights, eps, boundary: Sequence[int], b: State, *,
                    beta=1.0, coefficients: entropic.Coefficients = entropic.Coefficients(1.0, 1.0, 1.0),
                    width=0.5, n: int = 128, neuron: int = 0, method: str = "fd4") -> BoundaryAction:
    """The boundary side of (102): S_q[p(q∂), F(q∂)] of eq. (28) per unit time, with ``entropic.action``.

    q runs over one direction of the boundary trainable variables q∂ = (b∂, w∂) of (98)-(99): the bias
    of boundary neuron ``boundary[neuron]``, b∂ + q e_neuron, on a periodic box of length 16·width
    centred on q = 0 (``n`` points). F(q) is the free energy (45) of that boundary network at inverse
    temperature ``beta``; p(q) is a normalized Gaussian of standard deviation ``width`` (this toolkit's
    choice: the paper fixes no p); V = 0; both fields time-independent, so S = ∫dt ∫dq ℒ over unit time
    is H[p, F] of (26). p is ~e^{-32} at the box ends, so the finite-difference ``method`` ("fd4"
    default) sees the non-periodic F only where p is negligible.

    Returns: :class:`BoundaryAction` (action, learning term γ∫p∇²F). As ε → 0, w∂ → 0, F no longer
    depends on q, and S_q → 4D∫|∇√p|² = D/width² (the continuum value).
    """
    width = check_positive(as_float(check_scalar(width, "width"), "width"), "width")
    check_scalar(beta, "beta")
    n = int(n)
    if n < 8:
        raise ValueError(f"n must be >= 8 grid points, got {n}")
    net = boundary_network(w, eps, boundary, b)
    k = net.n
    if not 0 <= int(neuron) < k:
        raise ValueError(f"neuron must index a boundary neuron in [0, {k}), got {neuron}")
    if is_traced(width):
        raise ValueError("width must be concrete (it sets the grid)")
    if method not in ("spectral", "fd2", "fd4"):
        raise ValueError(f"method must be 'spectral', 'fd2' or 'fd4', got {method!r}")
    return _boundary_action(net.w, net.b, beta, entropic.Coefficients(*coefficients), width,
                            n=n, neuron=int(neuron), method=method, length=16.0 * float(width))


@functools.partial(jax.jit, static_argnames=("n", "neuron", "method", "length"))
def _boundary_action(wb, bb, beta, c, width, *, n, neuron, method, length):
    spacetime = Grid((2, n), (1.0, length))
    q = jnp.arange(n, dtype=wb.dtype) * (length / n) - 0.5 * length
    e = jax.nn.one_hot(neuron, wb.shape[0], dtype=wb.dtype)

    def f_at(qi):  # sequential lax.map: no batched Newton/Cholesky in one program (conventions hazards)
        return free_energy(Network(wb, bb + qi * e), beta)

    F = jax.lax.map(f_at, q)
    p = _gaussian_density(q, width)
    P, FF = jnp.broadcast_to(p, (2, n)), jnp.broadcast_to(F, (2, n))
    zero = jnp.zeros(n, p.dtype)
    full = entropic.action(P, FF, zero, spacetime, c, learning=True, method=method)
    stochastic = entropic.action(P, FF, zero, spacetime, c, learning=False, method=method)
    return BoundaryAction(full, full - stochastic)


def bulk_state(w: Weights, eps, boundary: Sequence[int], b_boundary: Real[ArrayLike, " K"]) -> State:
    """Stationary state of the linear bulk network with the boundary bias (98): x = εw x + P∂ᵀ b∂.

    The linear-activation fixed point of eq. (1) (f = identity, as in (57)) with the bias on the
    boundary neurons only; its boundary components are (I + w∂) b∂ (eq. (99)). Needs ε ρ(w) < 1.
    Returns x, shape (N,).
    """
    check_square(w, "w")
    w = check_finite(as_float(w, "w"), "w")
    idx = _boundary_index(boundary, w.shape[0])
    b_boundary = check_finite(as_float(b_boundary, "b_boundary", w.dtype), "b_boundary")
    if b_boundary.shape != (idx.size,):
        raise ValueError(f"b_boundary must have shape ({idx.size},), got {b_boundary.shape}")
    eps = _check_domain(w, eps)
    source = jnp.zeros(w.shape[0], w.dtype).at[jnp.asarray(idx)].set(b_boundary)
    return jnp.linalg.solve(jnp.eye(w.shape[0], dtype=w.dtype) - eps * w, source)


def bulk_action(w: Weights, eps, boundary: Sequence[int], b_boundary: Real[ArrayLike, " K"], *,
                n_tau: int = 2, method: str = "fd2") -> FloatScalar:
    """The bulk side of (102): S_x[g, Q] of eq. (88) per unit τ for a ring bulk, with ``gravity.total_action``.

    The neurons 0..N-1 must be numbered along the ring (as in :func:`cycle_network`, the single
    cycle (59)-(60)): the lattice coordinate σ = i (unit spacing, periodic) and time τ span a periodic
    (τ, σ) box of size 1 × N. Metric η = diag(-1, 1) (non-interacting subsystems, §8), Λ = 0,
    G = 1, and one massless scalar Q(σ) = :func:`bulk_state` (time-independent), so
    S_x = ∫dτ dσ √|η| [R/(16π) - ½ η^{μν}∂_μQ ∂_νQ] = -½ Σ_σ (∂_σQ)² with R = 0 computed, not assumed.
    ``method`` is the σ-derivative ("fd2": central differences between neighbouring neurons).
    """
    x = bulk_state(w, eps, boundary, b_boundary)
    n = x.shape[0]
    grid = Grid((int(n_tau), n), (1.0, float(n)))
    eta = jnp.diag(jnp.array([-1.0, 1.0], dtype=x.dtype))
    metric = jnp.broadcast_to(eta[:, :, None, None], (2, 2, *grid.shape))
    matter = jnp.broadcast_to(x, grid.shape)[None]
    action = gravity.total_action(metric, grid, matter=matter, matter_lagrangian=gravity.scalar_field_lagrangian,
                                  gravity="einstein-hilbert", method=method)
    return action.astype(x.dtype)  # gravity.scalar_field_lagrangian returns float64 for float32 input


# ----------------------------------------------------------------------------- this toolkit's OU model


def stationary_covariance(a: Real[ArrayLike, "N N"], diffusion: Real[ArrayLike, "N N"]) -> Float[Array, "N N"]:
    """Stationary covariance Σ of dx = -A x dτ + √(2D) dW: A Σ + Σ Aᵀ = 2D (this toolkit's model).

    Solved as one (N², N²) linear system (A ⊗ I + I ⊗ A) vec Σ = 2 vec D (row-major vec; small N).
    D must be symmetric positive definite and A stable (all Re λ(A) > 0): by Lyapunov's theorem A is
    stable exactly when Σ is positive definite for such a D, so both are checked through Cholesky
    factors (no non-symmetric eigensolver, which JAX has on CPU only); an unstable drift is an error.
    """
    a, diffusion = _ou_inputs(a, diffusion)
    return _checked_covariance(a, diffusion)


def _ou_inputs(a, diffusion):
    check_square(a, "a")
    check_square(diffusion, "diffusion", a.shape[0])
    a = check_finite(as_float(a, "a"), "a")
    diffusion = check_finite(as_float(diffusion, "diffusion", a.dtype), "diffusion")
    spd = jnp.all(jnp.isfinite(jnp.linalg.cholesky(0.5 * (diffusion + diffusion.T))))
    symmetric = jnp.allclose(diffusion, diffusion.T)
    diffusion = check(diffusion, ~(spd & symmetric), "diffusion must be symmetric positive definite")
    return a, diffusion


def _checked_covariance(a, diffusion):
    sigma = _stationary_covariance(a, diffusion)
    stable = jnp.all(jnp.isfinite(jnp.linalg.cholesky(sigma)))
    return check(sigma, ~stable, "a must be a stable drift (all Re λ(a) > 0): the stationary covariance "
                                 "of dx = -a x dτ + √(2D) dW is not positive definite")


@jax.jit
def _stationary_covariance(a, diffusion):
    n = a.shape[0]
    eye = jnp.eye(n, dtype=a.dtype)
    op = jnp.kron(a, eye) + jnp.kron(eye, a)
    sigma = jnp.linalg.solve(op, 2.0 * diffusion.reshape(n * n)).reshape(n, n)
    return 0.5 * (sigma + sigma.T)


def ou_entropy_production(a: Real[ArrayLike, "N N"], diffusion: Real[ArrayLike, "N N"]) -> FloatScalar:
    """Stationary entropy production rate of dx = -A x dτ + √(2D) dW (this toolkit's model).

    σ = ∫ Jᵀ D⁻¹ J / p = tr(Aᵀ D⁻¹ A Σ) - tr A, with J = -(A - DΣ⁻¹) x p the stationary current
    and Σ from ``stationary_covariance``. σ ≥ 0, = 0 iff detailed balance (D⁻¹A symmetric);
    invariant under D → cD. Units: per unit τ (k_B = 1).
    """
    a, diffusion = _ou_inputs(a, diffusion)
    return _ou_entropy_production(a, diffusion, _checked_covariance(a, diffusion))


@jax.jit
def _ou_entropy_production(a, diffusion, sigma):
    dinv_a = jnp.linalg.solve(diffusion, a)
    return jnp.trace(a.T @ dinv_a @ sigma) - jnp.trace(a)


@jax.jit
def _ou_entropy_production_isotropic(a, temperature):
    # D = T I: one linear solve only (conventions hazard: no second, independent batched LAPACK call
    # in the same program); σ = tr(AᵀAΣ)/T - tr A does not depend on T (Σ ∝ T).
    sigma = _stationary_covariance(a, temperature * jnp.eye(a.shape[0], dtype=a.dtype))
    return jnp.trace(a.T @ a @ sigma) / temperature - jnp.trace(a)


def _temperature(temperature, dtype):
    check_scalar(temperature, "temperature")
    return check_positive(as_float(temperature, "temperature", dtype), "temperature")


def bulk_entropy_production(w: Weights, eps, *, temperature=1.0) -> FloatScalar:
    """This toolkit's bulk model: the OU entropy production of dx = -(I - εw) x dτ + √(2T) dW.

    Uses the bulk weights εw of eq. (99) (``w[i, j]`` the edge j → i). Needs ε ρ(w) < 1 (checked) and
    T > 0 (checked); the rate does not depend on T. Not the paper's (101)-(102): see the module docstring.
    """
    check_square(w, "w")
    w = check_finite(as_float(w, "w"), "w")
    eps = _check_domain(w, eps)
    temperature = _temperature(temperature, w.dtype)
    return _ou_entropy_production_isotropic(jnp.eye(w.shape[0], dtype=w.dtype) - eps * w, temperature)


def boundary_entropy_production(w: Weights, eps, boundary: Sequence[int], *,
                                temperature=1.0) -> FloatScalar:
    """This toolkit's boundary model: the OU rate of dx∂ = -(I - w∂) x∂ dτ + √(2T) dW∂, w∂ of eq. (99).

    Needs ε ρ(w) < 1 and ρ(w∂) < 1 (checked: sufficient for a stationary state) and T > 0; the rate
    does not depend on T. Not the paper's (101)-(102): see the module docstring.
    """
    wb = boundary_weights(w, eps, boundary)
    wb = check(wb, spectral_radius(jax.lax.stop_gradient(wb)) >= 1,
               "spectral_radius(w_boundary) must be < 1 for a stationary boundary process")
    temperature = _temperature(temperature, wb.dtype)
    return _ou_entropy_production_isotropic(jnp.eye(wb.shape[0], dtype=wb.dtype) - wb, temperature)
