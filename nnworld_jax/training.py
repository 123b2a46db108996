"""Thermodynamics inside a user's training loop: feed-forward fast path, data-conditioned metrics,
an optax regularizer (paper §2-§3, eqs. (5)-(10), (12)-(14), (45)).

A feed-forward equinox model (``eqx.nn.MLP``, ``eqx.nn.Sequential`` of ``eqx.nn.Linear`` and smooth
activations, ...; :func:`nnworld_jax.learning.model_layers`) is the paper's network (2) with m = 0
and the state layout x = (x_0, x_1, ..., x_L) of :func:`nnworld_jax.network_from_model`. A batch of
data clamps the input neurons x_0 (§2's boundary); the free neurons x_1..x_L (n = n_1 + ... + n_L)
form the canonical ensemble (5) with the loss (3) of the non-input neurons
(docs/conventions.md "Data-conditioned thermodynamics"). For such a layered net:

* the mean state x* is the forward pass x_k = f_k(W_k x_{k-1} + b_k): every residual vanishes,
  so ∂H/∂x = 0 and H* = 0, and no Newton solve is needed;
* J = I - diag(f′(y*)) w restricted to the free neurons is block lower bidiagonal, identity
  blocks on the diagonal and -B_k = -diag(f′_k(y_k)) W_k below it (k = 2..L; W_1 couples to the
  clamped inputs only), so G = JᵀJ (8) is block tridiagonal:
  G_kk = I + B_{k+1}ᵀB_{k+1} (G_LL = I), G_{k,k+1} = -B_{k+1}ᵀ;
* log det(a₀I + a₁G) (a₀ = 1, a₁ = β for eq. (7); a₀ = 0, a₁ = 1 for the Laplace form) follows
  from a block Cholesky elimination of a₀I + a₁J_fJ_fᵀ (same eigenvalues as J_fᵀJ_f, and its first
  diagonal block is I), S_1 = cI, S_k = A_kk - A_{k,k-1}S_{k-1}⁻¹A_{k-1,k}, log det A = Σ_k log det S_k:
  O(Σ_{k≥2} n_k³ + n_k²n_{k-1}) instead of O(n³) for the dense path of
  :func:`nnworld_jax.learning.clamped_thermodynamics` (the first hidden layer costs only B_2B_2ᵀ).

Every thermodynamic quantity is a β-derivative of βF(β) by nested ``jax.jvp``, as in
:mod:`nnworld_jax.thermo`; gradients in the parameters are ``jax.grad`` of F. ``checks=False``
drops the runtime checks (NaN/inf in the inputs or weights, β > 0 of a traced β): the static shape
and type checks stay, no runtime check enters the compiled step, and a bad value then
propagates as NaN (use it inside a jitted training step once the inputs are known to be clean).
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from ._checks import as_float, check, check_count, check_finite, check_positive, check_scalar
from ._free_energy import _thermo_from_logdet
from ._gaussian import Method, _check_method
from .lanczos import rademacher_probes, slq_logdet
from .learning import Layer, model_layers
from .thermo import Thermodynamics
from .types import Array, ArrayLike, FloatScalar, Key, Real

__all__ = ["feedforward_mean_state", "feedforward_logdet", "feedforward_thermodynamics", "metrics",
           "free_energy_term", "free_energy_gradient", "feedforward_free_energy_slq", "SLQFreeEnergy"]

_Batch = Real[ArrayLike, "B n_in"] | Real[ArrayLike, " n_in"]  # B examples of the model's inputs, or one


# --- validation ---------------------------------------------------------------------------------


def _dtype(layers: list[Layer]):
    return jnp.result_type(*(layer.weight for layer in layers))


def _checked_layers(layers: list[Layer], checks: bool) -> list[Layer]:
    if not checks:
        return layers
    out = []
    for k, layer in enumerate(layers):
        w = check_finite(layer.weight, f"layer {k} weight")
        b = None if layer.bias is None else check_finite(layer.bias, f"layer {k} bias")
        out.append(Layer(w, b, layer.activation))
    return out


def _beta(beta, dtype, checks: bool):
    beta = check_scalar(as_float(beta, "beta", dtype), "beta")
    return check_positive(beta, "beta") if checks else beta


def _inputs(inputs, n_in: int, dtype, checks: bool, *, batched: bool):
    x = as_float(inputs, "inputs", dtype)
    if batched:
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != n_in or x.shape[0] == 0:
            raise ValueError(f"inputs must have shape (B, {n_in}) or ({n_in},) (one example of the model's "
                             f"{n_in} inputs per row, B >= 1), got {jnp.shape(inputs)}")
    elif x.shape != (n_in,):
        raise ValueError(f"inputs must have shape ({n_in},) (one example; batch with jax.vmap or use "
                         f"metrics), got {x.shape}")
    return check_finite(x, "inputs") if checks else x


# --- the fast path ------------------------------------------------------------------------------


def _forward(layers: list[Layer], x0):
    """The forward pass x_1..x_L and the slopes f′_k(y_k) (eq. (9)) of every layer."""
    xs, slopes = [x0], []
    for layer in layers:
        y = layer.weight @ xs[-1]
        if layer.bias is not None:
            y = y + layer.bias
        fx, d = jax.jvp(layer.activation, (y,), (jnp.ones_like(y),))
        xs.append(fx)
        slopes.append(d)
    return xs[1:], slopes


def _tri_inv(low):
    """Inverse of a lower-triangular matrix by recursive 2 × 2 blocking (matrix products only).

    [[A, 0], [C, D]]⁻¹ = [[A⁻¹, 0], [-D⁻¹CA⁻¹, D⁻¹]]. XLA's CPU triangular solve costs ~1 ms for one
    32 × 32 system (measured here, batched or not), 100× a batched Cholesky; products do not.
    """
    n = low.shape[-1]
    if n == 1:
        return 1.0 / low
    h = n // 2
    ai, di = _tri_inv(low[:h, :h]), _tri_inv(low[h:, h:])
    top = jnp.concatenate([ai, jnp.zeros((h, n - h), low.dtype)], axis=1)
    bottom = jnp.concatenate([-di @ low[h:, :h] @ ai, di], axis=1)
    return jnp.concatenate([top, bottom], axis=0)


@jax.custom_jvp
def _chol(s):
    return jnp.linalg.cholesky(s)


@_chol.defjvp
def _chol_jvp(primals, tangents):
    # dL = L Φ(L⁻¹ dS L⁻ᵀ), Φ = lower triangle with half the diagonal; L⁻¹ by products (_tri_inv), not by
    # the triangular solves of jax's own Cholesky rule (slow on CPU); the rule is differentiable again.
    (s,), (ds,) = primals, tangents
    low = _chol(s)
    inv = _tri_inv(low)
    phi = inv @ (0.5 * (ds + ds.T)) @ inv.T
    phi = jnp.tril(phi) - 0.5 * jnp.diag(jnp.diagonal(phi))
    return low, low @ phi


def _block_logdet(couplings, sizes, a0, a1):
    """log det(a₀I + a₁G), G = J_fᵀJ_f, with J_f = I - (blocks B_k below the diagonal), k = 2..L.

    JᵀJ and JJᵀ have the same eigenvalues, and JJᵀ is block tridiagonal with a lighter diagonal:
    (JJᵀ)_11 = I, (JJᵀ)_kk = I + B_kB_kᵀ, (JJᵀ)_{k,k-1} = -B_k (LLᵀ is block diagonal for a strictly
    block-lower L with one sub-diagonal). Block Cholesky elimination of A′ = a₀I + a₁JJᵀ in layer order:
    S_1 = cI (c = a₀ + a₁, no factorization), S_2 = cI + (a₀a₁/c)B_2B_2ᵀ, and for k ≥ 3
    S_k = cI + a₁B_kB_kᵀ - a₁²CᵀC with C = L_{k-1}⁻¹B_kᵀ (L_{k-1} the Cholesky factor of S_{k-1});
    log det A = Σ_k log det S_k. Work Σ_{k≥2} (n_k³/3 + n_k²n_{k-1}): the first hidden layer, usually
    the widest, costs only the products B_2B_2ᵀ.
    """
    dtype = jnp.result_type(a0, a1, *couplings) if couplings else jnp.result_type(a0, a1)
    c = a0 + a1
    total = sizes[0] * jnp.log(c).astype(dtype)
    chol = None
    for k in range(1, len(sizes)):
        bk = couplings[k - 1]  # B_{k+1} in 1-based layer numbering: (n_k, n_{k-1}) here
        kk = bk @ bk.T
        if k == 1:
            s = c * jnp.eye(sizes[k], dtype=dtype) + (a0 * a1 / c) * kk
        else:
            cm = _tri_inv(chol) @ bk.T
            s = c * jnp.eye(sizes[k], dtype=dtype) + a1 * kk - a1**2 * (cm.T @ cm)
        chol = _chol(s)
        total = total + 2.0 * jnp.sum(jnp.log(jnp.diagonal(chol)))
    return total


def feedforward_mean_state(model, inputs: Real[ArrayLike, " n_in"], *, checks: bool = True) -> list[Array]:
    """The mean state x* of the free neurons, inputs clamped: the forward pass (no Newton solve).

    With the input neurons x_0 clamped to ``inputs`` and m = 0, x_k = f_k(W_k x_{k-1} + b_k) makes
    every residual of the loss (3) of the non-input neurons vanish, so it is the stationary point
    ∂H/∂x_free = 0 with H* = 0 (H ≥ 0 there: the global minimum).

    Arguments:
        model: a feed-forward equinox model (:func:`nnworld_jax.learning.model_layers`).
        inputs: (n_0,) one example.
        checks: ``False`` drops the NaN/inf checks (module docstring).

    Returns: [x_1, ..., x_L], each (n_k,), in the weights' dtype.
    """
    layers = _checked_layers(model_layers(model), checks)
    x0 = _inputs(inputs, layers[0].weight.shape[1], _dtype(layers), checks, batched=False)
    return _forward(layers, x0)[0]


def feedforward_logdet(model, inputs: Real[ArrayLike, " n_in"], a0, a1, *, checks: bool = True) -> FloatScalar:
    """log det(a₀I + a₁G) of the free neurons, inputs clamped, by the layered block structure (eqs. (7)-(9)).

    G = J_fᵀJ_f (8) at the forward pass (:func:`feedforward_mean_state`), J_f the free rows and
    columns of J = I - diag(f′(y*)) w, block tridiagonal (module docstring); O(Σ n_k³) work.
    a₀ = 1 - βm = 1 and a₁ = β give eq. (7)'s determinant; a₀ = 0, a₁ = 1 give log det G = 0 (det J = 1).
    Requires a₀ + a₁λ > 0 for the eigenvalues λ ≥ 0 of G (a₀ ≥ 0, a₁ > 0 suffice; G is positive definite).
    """
    layers = _checked_layers(model_layers(model), checks)
    dtype = _dtype(layers)
    x0 = _inputs(inputs, layers[0].weight.shape[1], dtype, checks, batched=False)
    a0 = check_scalar(as_float(a0, "a0", dtype), "a0")
    a1 = check_scalar(as_float(a1, "a1", dtype), "a1")
    if checks:
        a0 = check(a0, ~(a0 >= 0) | ~jnp.isfinite(a0), "a0 must be finite and >= 0 (a0 I + a1 G positive definite)")
        a1 = check_positive(a1, "a1")
    return _logdet_of(layers, x0, a0, a1)


def _logdet_of(layers, x0, a0, a1):
    _, slopes = _forward(layers, x0)
    couplings = [slopes[k][:, None] * layers[k].weight for k in range(1, len(layers))]
    sizes = [layer.weight.shape[0] for layer in layers]
    return _block_logdet(couplings, sizes, a0, a1)


def feedforward_thermodynamics(model, beta, inputs: Real[ArrayLike, " n_in"], *, method: Method = "paper",
                               checks: bool = True) -> Thermodynamics:
    """F (6), U (10), S_x (13), S_0, C (12)-(14) and heat capacity of one example, inputs clamped (fast path).

    The data-conditioned ensemble of docs/conventions.md "Data-conditioned thermodynamics": the
    input neurons held at ``inputs``, the n = n_1 + ... + n_L free neurons Gaussian about the forward
    pass (H* = 0), G block tridiagonal (module docstring):

    * ``"paper"``: βF = -(n/2) log 2π + ½ log det(I + βG), eq. (7) with m = 0 (eq. (45));
    * ``"laplace"``: βF = -(n/2) log(2π/β) + ½ log det G = -(n/2) log(2π/β) (det G = 1 here).

    Equal to :func:`nnworld_jax.learning.clamped_thermodynamics` with ``clamp="inputs"`` on
    :func:`nnworld_jax.network_from_model` (the dense O(N³) path with a Newton solve), which the tests
    check to 1e-10 in float64.

    Arguments:
        model: a feed-forward equinox model (float32 or float64 weights set the dtype).
        beta: inverse temperature β > 0, a scalar.
        inputs: (n_0,) one example (batch with ``jax.vmap``, or use :func:`metrics`).
        method: ``"paper"`` or ``"laplace"``.
        checks: ``False`` drops the runtime NaN/inf and β > 0 checks (module docstring).

    Returns: a :class:`nnworld_jax.Thermodynamics` of scalars (loss units for F, U; nats for entropies).
    """
    _check_method(method)
    layers = _checked_layers(model_layers(model), checks)
    dtype = _dtype(layers)
    beta = _beta(beta, dtype, checks)
    x0 = _inputs(inputs, layers[0].weight.shape[1], dtype, checks, batched=False)
    return _thermo(layers, beta, x0, method)


def _thermo(layers, beta, x0, method):
    n = sum(layer.weight.shape[0] for layer in layers)
    _, slopes = _forward(layers, x0)
    couplings = [slopes[k][:, None] * layers[k].weight for k in range(1, len(layers))]
    sizes = [layer.weight.shape[0] for layer in layers]
    one = jnp.ones((), beta.dtype)

    def beta_f(bt):  # βF(β) = -log Z(β)
        if method == "paper":
            return -0.5 * n * jnp.log(2 * jnp.pi) + 0.5 * _block_logdet(couplings, sizes, one, bt)
        return -0.5 * n * jnp.log(2 * jnp.pi / bt) + 0.5 * _block_logdet(couplings, sizes, 0 * one, one)

    return _thermo_from_logdet(beta_f, beta, n)


def _batch_thermo(model, beta, inputs, method, checks):
    _check_method(method)
    layers = _checked_layers(model_layers(model), checks)
    dtype = _dtype(layers)
    beta = _beta(beta, dtype, checks)
    x = _inputs(inputs, layers[0].weight.shape[1], dtype, checks, batched=True)
    return jax.vmap(lambda x0: _thermo(layers, beta, x0, method))(x)


def metrics(model, beta, inputs: _Batch, *, method: Method = "paper",
            checks: bool = True) -> dict[str, Array]:
    """Data-conditioned thermodynamics of a model on a batch, averaged: a dict of scalars for logging.

    Per example :func:`feedforward_thermodynamics` (inputs clamped, eqs. (6)-(7), (10), (12)-(14)),
    averaged over the B examples (B independent clamped copies: F, U, S are extensive, the mean is
    the per-copy value). Pure and jit/vmap/grad-compatible; use ``eqx.filter_jit`` (a model holds
    functions).

    Arguments:
        model: a feed-forward equinox model.
        beta: inverse temperature β > 0, a scalar.
        inputs: (B, n_0) a batch of examples, or (n_0,) one.
        method: ``"paper"`` (eq. (7)) or ``"laplace"``.
        checks: ``False`` drops the runtime checks (module docstring).

    Returns: {"free_energy": F, "average_loss": U, "entropy": S_x, "thermodynamic_entropy": S_0,
    "complexity": C, "heat_capacity": -β²∂U/∂β}, batch means, loss units / nats.

    Example:
        >>> import equinox as eqx, jax, jax.numpy as jnp
        >>> mlp = eqx.nn.MLP(8, 1, 32, 2, activation=jnp.tanh, key=jax.random.PRNGKey(0))
        >>> m = eqx.filter_jit(metrics)(mlp, 10.0, jnp.ones((4, 8)))
        >>> sorted(m)[:2]
        ['average_loss', 'complexity']
    """
    per = _batch_thermo(model, beta, inputs, method, checks)
    return {k: jnp.mean(v) for k, v in per._asdict().items()}


def free_energy_term(model, beta, inputs: _Batch, *, strength=1.0, method: Method = "paper",
                     checks: bool = True) -> FloatScalar:
    """``strength`` × the batch-mean data-conditioned free energy F (6)-(7): a loss term to add.

    ``jax.grad`` of it is ∂(strength·F)/∂params through the forward pass and the block Cholesky
    (no Newton solve, no implicit function). ``strength`` is a finite scalar (it may be traced);
    the rest as :func:`metrics`.
    """
    layers = model_layers(model)
    strength = check_scalar(as_float(strength, "strength", _dtype(layers)), "strength")
    if checks:
        strength = check_finite(strength, "strength")
    return strength * jnp.mean(_batch_thermo(model, beta, inputs, method, checks).free_energy)


class FreeEnergyGradientState(NamedTuple):
    """State of :func:`free_energy_gradient` (none is needed)."""


def free_energy_gradient(model, beta, strength=1.0, *, inputs=None, method: Method = "paper",
                         checks: bool = True) -> optax.GradientTransformationExtraArgs:
    """An optax transformation that adds ∂(strength·F)/∂params to the incoming gradient (eqs. (6)-(7)).

    F is the batch-mean data-conditioned free energy (:func:`free_energy_term`). Chain it before
    the optimizer: ``optax.chain(free_energy_gradient(model, beta, 0.1, inputs=x_ref), optax.adam(1e-3))``.
    ``update(grads, state, params, *, inputs=None)``: ``params`` is the model's inexact-array
    partition (``eqx.filter(model, eqx.is_inexact_array)``, the usual equinox + optax pattern), the
    model rebuilt with the static part of ``model``; ``inputs`` (B, n_0) is this step's batch, else
    the ``inputs`` given here (one all-zero example when neither is given).

    Arguments:
        model: a model of the architecture being trained (its static structure and activations).
        beta: inverse temperature β > 0, scalar. strength: a finite scalar.
        inputs, method, checks: as :func:`metrics`.
    """
    layers = model_layers(model)
    dtype = _dtype(layers)
    _check_method(method)
    _beta(beta, dtype, True)
    strength = check_finite(check_scalar(as_float(strength, "strength", dtype), "strength"), "strength")
    n_in = layers[0].weight.shape[1]
    default = jnp.zeros((1, n_in), dtype) if inputs is None else _inputs(inputs, n_in, dtype, True, batched=True)
    static = eqx.filter(model, eqx.is_inexact_array, inverse=True)

    def init_fn(params):
        del params
        return FreeEnergyGradientState()

    def update_fn(updates, state, params=None, *, inputs=None, **extra):
        del extra
        if params is None:
            raise ValueError("free_energy_gradient needs params (the model's inexact-array partition) in update")
        batch = default if inputs is None else inputs
        grads = eqx.filter_grad(lambda p: free_energy_term(eqx.combine(p, static), beta, batch, strength=strength,
                                                           method=method, checks=checks))(params)
        return jax.tree_util.tree_map(lambda u, g: u + g.astype(u.dtype), updates, grads), state

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


# --- SLQ for models too large for a dense block Cholesky ----------------------------------------


class SLQFreeEnergy(NamedTuple):
    """The data-conditioned free energy F (6)-(7) by SLQ, with its uncertainties (loss units)."""

    value: Array  # batch mean of F
    std_error: Array  # probe-sampling standard error of the mean (the examples' errors combined)
    truncation_error: Array  # largest change of log det/(2β) from k - 1 to k Lanczos steps


def feedforward_free_energy_slq(model, beta, inputs: _Batch, *, key: Key,
                                num_probes: int = 16, num_steps: int = 30, checks: bool = True) -> SLQFreeEnergy:
    """Batch-mean data-conditioned F, eq. (45), by stochastic Lanczos quadrature (value only).

    βF = -(n/2) log 2π + ½ log det(I + βG) per example, log det by
    :func:`nnworld_jax.lanczos.slq_logdet` with products (I + βG)v = v + βJ_fᵀ(J_f v) taken layer by
    layer, (J_f v)_k = v_k - f′_k ⊙ (W_k v_{k-1}) (no n × n matrix; memory O(n·probes)). For layers too
    wide for :func:`feedforward_thermodynamics`'s block Cholesky. Not differentiable (use
    :func:`free_energy_term` for gradients). ``key`` (keyword-only, as in equinox) draws the
    ``num_probes`` Rademacher probes shared by all examples.
    """
    layers = _checked_layers(model_layers(model), checks)
    dtype = _dtype(layers)
    beta = _beta(beta, dtype, checks)
    x = _inputs(inputs, layers[0].weight.shape[1], dtype, checks, batched=True)
    num_probes, num_steps = check_count(num_probes, "num_probes"), check_count(num_steps, "num_steps")
    sizes = [layer.weight.shape[0] for layer in layers]
    n = sum(sizes)
    offsets = [sum(sizes[:k]) for k in range(len(sizes) + 1)]
    probes = rademacher_probes(n, num_probes, dtype, key=key)

    def one(x0):
        _, slopes = _forward(layers, x0)

        def j(v):
            parts = [v[offsets[k]:offsets[k + 1]] for k in range(len(sizes))]
            out = [parts[0]] + [parts[k] - slopes[k] * (layers[k].weight @ parts[k - 1]) for k in range(1, len(sizes))]
            return jnp.concatenate(out)

        def jt(u):
            parts = [u[offsets[k]:offsets[k + 1]] for k in range(len(sizes))]
            out = [parts[k] - (layers[k + 1].weight.T @ (slopes[k + 1] * parts[k + 1]) if k + 1 < len(sizes) else 0)
                   for k in range(len(sizes))]
            return jnp.concatenate(out)

        est = slq_logdet(lambda v: v + beta * jt(j(v)), probes, num_steps)
        return est.value, est.std_error, est.truncation_error

    logdet, se, trunc = jax.vmap(one)(x)
    f = (-0.5 * n * jnp.log(2 * jnp.pi) + 0.5 * logdet) / beta
    b = x.shape[0]
    return SLQFreeEnergy(jnp.mean(f), jnp.sqrt(jnp.sum(se**2)) / (2 * beta * b), jnp.max(trunc) / (2 * beta))
