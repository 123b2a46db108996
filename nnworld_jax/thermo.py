"""Thermodynamics of learning, paper §3 and §6: U, S, S_0, C, heat capacity from F by autodiff.

Every quantity is a derivative of βF(β) = -log Z(β) with respect to β at fixed network, so it
comes from ``jax.jvp`` of the log-partition of :mod:`nnworld_jax.partition`, never from a
separately coded formula. The closed forms of ``docs/conventions.md`` §1 are what the tests check.

Decomposition (12)-(14). The paper splits the entropy in learning equilibrium, where
Z(β, b, w) = Z(β) Z(b, w), into a thermodynamic part S_0(β) and the complexity C(b, w). The
Gaussian forms factorize that way when β(λ_i - m) ≫ 1: log(1 + βν) → log β + log ν. We therefore
define S_0 as the entropy of the β-only factor Z(β) = (2π/β)^{N/2},

    S_0 = (N/2) (1 + log(2π/β)),        C = S_x - S_0,

so that S_x = S_0 + C holds exactly at every β and C → -½ log det(G - mI) = log Z(b, w) in
equilibrium (the ``"laplace"`` form factorizes at every β, ``"paper"`` up to O(1/(βν))).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from ._checks import check, float_array, float_dtype, scalar_param
from ._gaussian import Method, _check_method, _jacobian, _jacobian_of, _log_partition_from_jacobian
from ._netcore import _check_network, _state
from .network import Network, bulk_loss
from .partition import mean_state
from .types import Array, FloatScalar, State


__all__ = ["Thermodynamics", "thermodynamics", "average_loss", "entropy", "complexity", "heat_capacity",
           "operator_spectrum", "free_energy_eigen", "virial_average_loss"]


class Thermodynamics(NamedTuple):
    """Thermodynamic state of one network at inverse temperature β (all scalars)."""

    free_energy: Array  # F, eq. (6)
    average_loss: Array  # U = ∂(βF)/∂β, eq. (10)
    entropy: Array  # S_x = β²∂F/∂β = β(U - F), eq. (13)
    thermodynamic_entropy: Array  # S_0(β), eqs. (12)-(14), see module docstring
    complexity: Array  # C = S_x - S_0, eq. (14)
    heat_capacity: Array  # dU/dT = -β² ∂U/∂β


def thermodynamics(net: Network, beta, *, method: Method = "paper", x=None) -> Thermodynamics:
    """F (6), U (10), S_x (13), S_0 and C (12)-(14) and the heat capacity, by autodiff in β.

    Arguments:
        net: one network.
        beta: inverse temperature β > 0, a scalar (batch with ``jax.vmap``).
        method: ``"paper"`` (eq. (7)) or ``"laplace"``, see :func:`nnworld_jax.log_partition`.
        x: state to expand around; default the mean state x*.

    Returns: a :class:`Thermodynamics` of scalars. Units: loss units for F and U, nats for
    entropies, T = 1/β. For ``"paper"``, U = ½ Σ ν_i/(1 + βν_i) with ν = eig(G) - m (eq. (46)).

    Example:
        >>> import jax.numpy as jnp
        >>> net = Network(jnp.zeros((2, 2)), jnp.zeros(2), activation="linear")
        >>> th = thermodynamics(net, 1.0)   # G = I: U = ½ Σ 1/(1+β) = 0.5
        >>> round(float(th.average_loss), 6)
        0.5
    """
    _check_method(method)
    dtype = _check_network(net).w.dtype
    beta = scalar_param(beta, "beta", dtype, positive=True)
    x = mean_state(net) if x is None else _state(net, x)
    # J of eq. (9), not G = JᵀJ: the log-det's derivative rule on J (partition._logdet_gram) gives
    # the β-derivatives from tr A⁻¹ alone, without forming A⁻¹.
    jac = _jacobian(net, x)
    h_star = bulk_loss(net, x) if method == "laplace" else jnp.zeros((), dtype)
    n = jac.shape[0]

    def beta_f(b):  # βF(β) = -log Z(β)
        return -_log_partition_from_jacobian(jac, b, _check_network(net).m, h_star, method)

    def beta_f_and_u(b):
        return jax.jvp(beta_f, (b,), (jnp.ones_like(b),))

    (bf, u), (_, du_dbeta) = jax.jvp(beta_f_and_u, (beta,), (jnp.ones_like(beta),))
    f = bf / beta
    s = beta * u - bf
    s0 = 0.5 * n * (1.0 + jnp.log(2 * jnp.pi / beta))
    return Thermodynamics(f, u, s, s0, s - s0, -beta**2 * du_dbeta)


def average_loss(net: Network, beta, *, method: Method = "paper", x=None) -> FloatScalar:
    """Average loss U = ⟨H⟩ = ∂(βF)/∂β, eq. (10); see :func:`thermodynamics`."""
    return thermodynamics(net, beta, method=method, x=x).average_loss


def entropy(net: Network, beta, *, method: Method = "paper", x=None) -> FloatScalar:
    """Total entropy of the states S_x = β²∂F/∂β = β(U - F), eq. (13); see :func:`thermodynamics`."""
    return thermodynamics(net, beta, method=method, x=x).entropy


def complexity(net: Network, beta, *, method: Method = "paper", x=None) -> FloatScalar:
    """Complexity C = S_x - S_0(β), eq. (14), with S_0 as defined in the module docstring."""
    return thermodynamics(net, beta, method=method, x=x).complexity


def heat_capacity(net: Network, beta, *, method: Method = "paper", x=None) -> FloatScalar:
    """Heat capacity dU/dT = -β² ∂U/∂β (nats) of the loss U of eq. (10), from the second β-derivative of βF."""
    return thermodynamics(net, beta, method=method, x=x).heat_capacity


def operator_spectrum(net: Network, x=None) -> State:
    """Eigenvalues λ of G, eq. (8), ascending (for eq. (45); not used on the Cholesky hot path)."""
    net = _check_network(net)  # once: _jacobian_of takes checked values
    x = mean_state(net) if x is None else _state(net, x)
    jac = _jacobian_of(net, x)
    return jnp.linalg.eigvalsh(jac.T @ jac)  # G of gauss_newton_operator


def free_energy_eigen(lam: State, beta, m=0.0) -> FloatScalar:
    """Free energy in eigenvalue form, eq. (45): F = (1/2β) Σ_i log(1 + β(λ_i - m)) - (N/2β) log 2π.

    Arguments: ``lam`` (N,) eigenvalues of G; ``beta`` > 0 a scalar; ``m`` the bulk mass, a scalar.
    Integer ``lam`` is promoted to float before β is cast (β = 2.5 stays 2.5). Domain
    1 + β(λ_i - m) > 0 for every i (else a clear error, for the value and its gradient).
    """
    lam, beta, m = _eigen_inputs(lam, beta, m)
    arg = 1.0 + beta * (lam - m)
    arg = check(arg, arg <= 0, "eq. (45) needs 1 + beta (lambda_i - m) > 0 for every eigenvalue")
    n = lam.shape[0]
    return (jnp.sum(jnp.log(arg)) - n * jnp.log(2 * jnp.pi)) / (2 * beta)


def virial_average_loss(lam: State, beta, m=0.0) -> FloatScalar:
    """The virial form of the average loss, eq. (46): U = Σ_i (λ_i - m) ∂F/∂λ_i.

    The paper prints m = 0 (U = Σ λ_i ∂F/∂λ_i); F depends on λ only through ν = λ - m, so the
    mass enters as the shift λ → λ - m. ∂F/∂λ_i comes from ``jax.grad`` of
    :func:`free_energy_eigen`; the identity with U = ∂(βF)/∂β is what the tests check.
    """
    lam, beta, m = _eigen_inputs(lam, beta, m)
    return jnp.vdot(lam - m, jax.grad(free_energy_eigen)(lam, beta, m))


def _eigen_inputs(lam, beta, m):
    """(N,) eigenvalues and scalar β > 0, m, promoted to one float dtype (integers never truncate β)."""
    dtype = float_dtype(lam, beta, m)
    lam = float_array(lam, "lam", dtype, ndim=1)
    return lam, scalar_param(beta, "beta", dtype, positive=True), scalar_param(m, "m", dtype)
