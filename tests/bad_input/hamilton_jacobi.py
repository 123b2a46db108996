"""Bad input for nnworld_jax.hamilton_jacobi (eqs. (38)-(48)): points, γ, μ > 0, callables, counts."""

import jax
import jax.numpy as jnp

from nnworld_jax import hamilton_jacobi as hj
from nnworld_jax.grid import Grid

from ._harness import Case

G = Grid((8,))
Q = G.axis(0)
F = jnp.sin(Q)
ZERO = jnp.zeros(8)
X = jnp.array([0.2, -0.4])


def run(fn, *args, **kw):
    return lambda: jax.block_until_ready(fn(*args, **kw))


def jit_grad(scalar_fn, x):
    return lambda: jax.block_until_ready(jax.jit(jax.grad(scalar_fn))(x))


def F_fn(t, q):
    return -1.5 * t + q[0]


def harmonic(q):
    return 0.5 * jnp.sum(q**2)


def F0(q):
    return 0.1 * jnp.sum(q**2)


def lam(q):
    return jnp.stack([q[0] + q[1] ** 2, q[1]])


def f_of_lam(x):
    return jnp.sum(jnp.log1p(x))


def density(**kw):
    args = dict(p=1.0, F_t=0.0, grad_F=jnp.ones(1), lap_F=0.0, V=0.0, gamma=0.5, mu=1.0) | kw
    return hj.classical_density(**args)


CASES = [
    # classical_density
    Case("hamilton_jacobi.classical_density", "gamma = -1", run(density, gamma=-1.0), r"gamma must be finite and > 0",
         "domain"),
    Case("hamilton_jacobi.classical_density", "mu of shape (2,)", run(density, mu=jnp.ones(2)),
         r"mu must be a scalar.*jax\.vmap", "input"),
    Case("hamilton_jacobi.classical_density", "p = 0", run(density, p=0.0), r"p must be finite and > 0", "domain"),
    Case("hamilton_jacobi.classical_density", "NaN in V", run(density, V=jnp.nan), r"V contains NaN", "input"),
    Case("hamilton_jacobi.classical_density", "grad_F without the component axis", run(density, grad_F=1.0),
         r"grad_F must have shape", "input"),
    Case("hamilton_jacobi.classical_density", "F_t of another shape", run(density, F_t=jnp.zeros(3)),
         r"F_t must have the shape of p", "input"),
    Case("hamilton_jacobi.classical_density", "mu < 0 under jit(grad) (linear in mu)",
         jit_grad(lambda m: density(mu=m), -1.0), r"mu must be finite and > 0", "transform"),
    Case("hamilton_jacobi.classical_density", "NaN V under jit(grad) (linear in V)",
         jit_grad(lambda v: density(V=v), jnp.nan), r"V contains NaN", "transform"),
    # hj_rhs
    Case("hamilton_jacobi.hj_rhs", "batched F", run(hj.hj_rhs, jnp.zeros((2, 8)), ZERO, G, 0.5, 1.0),
         r"F must have shape.*jax\.vmap", "input"),
    Case("hamilton_jacobi.hj_rhs", "gamma = 0", run(hj.hj_rhs, F, ZERO, G, 0.0, 1.0), r"gamma must be finite and > 0",
         "domain"),
    Case("hamilton_jacobi.hj_rhs", "mu = -2", run(hj.hj_rhs, F, ZERO, G, 0.5, -2.0), r"mu must be finite and > 0",
         "domain"),
    Case("hamilton_jacobi.hj_rhs", "NaN in V", run(hj.hj_rhs, F, ZERO.at[0].set(jnp.nan), G, 0.5, 1.0),
         r"V contains NaN", "input"),
    Case("hamilton_jacobi.hj_rhs", "gamma of shape (2,)", run(hj.hj_rhs, F, ZERO, G, jnp.ones(2), 1.0),
         r"gamma must be a scalar", "input"),
    Case("hamilton_jacobi.hj_rhs", "NaN V under jit(grad) (linear in V)",
         jit_grad(lambda v: jnp.sum(hj.hj_rhs(F, v, G, 0.5, 1.0)), ZERO.at[0].set(jnp.nan)), r"V contains NaN",
         "transform"),
    Case("hamilton_jacobi.hj_rhs", "gamma < 0 under jit(vmap(grad))",
         lambda: jax.block_until_ready(jax.jit(jax.vmap(jax.grad(lambda g: jnp.sum(hj.hj_rhs(F, ZERO, G, g, 1.0)))))(
             jnp.array([0.5, -0.5]))), r"gamma must be finite and > 0", "transform"),
    # hj_residual
    Case("hamilton_jacobi.hj_residual", "q of shape (1, 1)", run(hj.hj_residual, F_fn, harmonic, 0.3, jnp.ones((1, 1)),
                                                                 0.5, 1.0), r"q must be one point.*jax\.vmap", "input"),
    Case("hamilton_jacobi.hj_residual", "NaN in q", run(hj.hj_residual, F_fn, harmonic, 0.3, jnp.array([jnp.nan]),
                                                        0.5, 1.0), r"q contains NaN", "input"),
    Case("hamilton_jacobi.hj_residual", "t = inf", run(hj.hj_residual, F_fn, harmonic, jnp.inf, X[:1], 0.5, 1.0),
         r"t contains NaN or inf", "input"),
    Case("hamilton_jacobi.hj_residual", "mu = 0", run(hj.hj_residual, F_fn, harmonic, 0.3, X[:1], 0.5, 0.0),
         r"mu must be finite and > 0", "domain"),
    Case("hamilton_jacobi.hj_residual", "potential returns NaN",
         run(hj.hj_residual, F_fn, lambda q: jnp.nan, 0.3, X[:1], 0.5, 1.0), r"potential contains NaN", "input"),
    Case("hamilton_jacobi.hj_residual", "potential is not callable", run(hj.hj_residual, F_fn, 1.0, 0.3, X[:1], 0.5, 1.0),
         r"potential must be a callable", "input"),
    Case("hamilton_jacobi.hj_residual", "gamma < 0 under jit(grad)",
         jit_grad(lambda g: hj.hj_residual(F_fn, harmonic, 0.3, X[:1], g, 1.0, learning=False), -0.5),
         r"gamma must be finite and > 0", "transform"),
    # classical_hamiltonian
    Case("hamilton_jacobi.classical_hamiltonian", "q and P of different sizes",
         run(hj.classical_hamiltonian, X, X[:1], harmonic, 0.5), r"same shape", "input"),
    Case("hamilton_jacobi.classical_hamiltonian", "NaN in P",
         run(hj.classical_hamiltonian, X, X.at[0].set(jnp.nan), harmonic, 0.5), r"P contains NaN", "input"),
    Case("hamilton_jacobi.classical_hamiltonian", "gamma = -1", run(hj.classical_hamiltonian, X, X, harmonic, -1.0),
         r"gamma must be finite and > 0", "domain"),
    Case("hamilton_jacobi.classical_hamiltonian", "potential returns a vector",
         run(hj.classical_hamiltonian, X, X, lambda q: q, 0.5), r"potential must return a scalar", "input"),
    Case("hamilton_jacobi.classical_hamiltonian", "gamma < 0 under jit(grad) (H is linear in gamma)",
         jit_grad(lambda g: hj.classical_hamiltonian(X, X, harmonic, g), -1.0), r"gamma must be finite and > 0",
         "transform"),
    # characteristic_field, characteristic_init
    Case("hamilton_jacobi.characteristic_field", "gamma = -1", run(hj.characteristic_field, harmonic, -1.0),
         r"gamma must be finite and > 0", "domain"),
    Case("hamilton_jacobi.characteristic_field", "mu = nan", run(hj.characteristic_field, harmonic, 0.5, jnp.nan),
         r"mu must be finite and > 0", "input"),
    Case("hamilton_jacobi.characteristic_field", "gamma of shape (2,)",
         run(hj.characteristic_field, harmonic, jnp.ones(2)), r"gamma must be a scalar", "input"),
    Case("hamilton_jacobi.characteristic_field", "potential not callable", run(hj.characteristic_field, None, 0.5),
         r"potential must be a callable", "input"),
    Case("hamilton_jacobi.characteristic_init", "q0 of shape ()", run(hj.characteristic_init, F0, 1.0),
         r"q0 must be one point", "input"),
    Case("hamilton_jacobi.characteristic_init", "NaN in q0", run(hj.characteristic_init, F0, X.at[1].set(jnp.nan)),
         r"q0 contains NaN", "input"),
    Case("hamilton_jacobi.characteristic_init", "F0 returns inf",
         run(hj.characteristic_init, lambda q: jnp.inf * q[0], X), r"F0_fn contains NaN or inf", "input"),
    # characteristics
    Case("hamilton_jacobi.characteristics", "t1 = nan", lambda: hj.characteristics(F0, harmonic, X, 0.5, t1=jnp.nan,
                                                                                 n_steps=2), r"t1 contains NaN", "input"),
    Case("hamilton_jacobi.characteristics", "n_steps = -5", lambda: hj.characteristics(F0, harmonic, X, 0.5, t1=1.0,
                                                                                     n_steps=-5),
         r"n_steps must be an integer >= 1", "domain"),
    Case("hamilton_jacobi.characteristics", "unknown solver", lambda: hj.characteristics(F0, harmonic, X, 0.5, t1=1.0,
                                                                                       n_steps=2, solver="rk5"),
         r"solver must be one of", "input"),
    Case("hamilton_jacobi.characteristics", "a characteristic that blows up (V = -q^4, finite-time escape)",
         lambda: jax.block_until_ready(hj.characteristics(F0, lambda q: -jnp.sum(q**4), X * 10, 0.5, t1=10.0,
                                                          n_steps=20)[1].q),
         # whichever comes first: the potential's own check at a stage, or the layer's check after the step
         r"hamilton_jacobi\.characteristics: a step left the domain of the state \(finite\)|potential contains NaN",
         "domain"),
    Case("hamilton_jacobi.characteristics", "gamma = -0.5", lambda: hj.characteristics(F0, harmonic, X, -0.5, t1=1.0,
                                                                                     n_steps=2),
         r"gamma must be finite and > 0", "domain"),
    # cole_hopf, inverse_cole_hopf, cole_hopf_rhs
    Case("hamilton_jacobi.cole_hopf", "mu = 0", run(hj.cole_hopf, F, 0.0), r"mu must be finite and > 0", "domain"),
    Case("hamilton_jacobi.cole_hopf", "NaN in F", run(hj.cole_hopf, F.at[0].set(jnp.nan), 1.0), r"F contains NaN",
         "input"),
    Case("hamilton_jacobi.cole_hopf", "mu of shape (2,)", run(hj.cole_hopf, F, jnp.ones(2)), r"mu must be a scalar",
         "input"),
    Case("hamilton_jacobi.cole_hopf", "mu < 0 under jit(grad)", jit_grad(lambda m: jnp.sum(hj.cole_hopf(F, m)), -1.0),
         r"mu must be finite and > 0", "transform"),
    Case("hamilton_jacobi.inverse_cole_hopf", "phi <= 0", run(hj.inverse_cole_hopf, -jnp.ones(3), 1.0),
         r"phi .* > 0", "domain"),
    Case("hamilton_jacobi.inverse_cole_hopf", "mu = -1", run(hj.inverse_cole_hopf, jnp.ones(3), -1.0),
         r"mu must be finite and > 0", "domain"),
    Case("hamilton_jacobi.inverse_cole_hopf", "phi <= 0 under jit(grad)",
         jit_grad(lambda x: jnp.sum(hj.inverse_cole_hopf(x, 1.0)), -jnp.ones(3)), r"phi .* > 0", "transform"),
    Case("hamilton_jacobi.cole_hopf_rhs", "batched phi", run(hj.cole_hopf_rhs, jnp.ones((2, 8)), G, 0.5, 1.0),
         r"phi must have shape", "input"),
    Case("hamilton_jacobi.cole_hopf_rhs", "phi with a zero", run(hj.cole_hopf_rhs, jnp.ones(8).at[0].set(0.0), G, 0.5,
                                                                 1.0), r"phi .* > 0", "domain"),
    Case("hamilton_jacobi.cole_hopf_rhs", "gamma = -0.5", run(hj.cole_hopf_rhs, jnp.exp(F), G, -0.5, 1.0),
         r"gamma must be finite and > 0", "domain"),
    # stationary_free_energy, eigenvalue_constants
    Case("hamilton_jacobi.stationary_free_energy", "C_k + mu q_k <= 0",
         run(hj.stationary_free_energy, X, 0.0, 0.0, 1.0), r"C_k \+ mu q_k > 0", "domain"),
    Case("hamilton_jacobi.stationary_free_energy", "C of shape (3,)",
         run(hj.stationary_free_energy, X, jnp.ones(3), 0.0, 1.0), r"C must be a scalar or have shape", "input"),
    Case("hamilton_jacobi.stationary_free_energy", "C0 of shape (2,)",
         run(hj.stationary_free_energy, X, 2.0, jnp.ones(2), 1.0), r"C0 must be a scalar", "input"),
    Case("hamilton_jacobi.stationary_free_energy", "NaN C0", run(hj.stationary_free_energy, X, 2.0, jnp.nan, 1.0),
         r"C0 contains NaN", "input"),
    Case("hamilton_jacobi.stationary_free_energy", "mu = 0", run(hj.stationary_free_energy, X, 2.0, 0.0, 0.0),
         r"mu must be finite and > 0", "domain"),
    Case("hamilton_jacobi.stationary_free_energy", "C_k + mu q_k <= 0 under jit(grad)",
         jit_grad(lambda q: hj.stationary_free_energy(q, 0.0, 0.0, 1.0), X), r"C_k \+ mu q_k > 0", "transform"),
    Case("hamilton_jacobi.stationary_free_energy", "NaN C0 under jit(grad) (linear in C0)",
         jit_grad(lambda c0: hj.stationary_free_energy(X, 2.0, c0, 1.0), jnp.nan), r"C0 contains NaN", "transform"),
    Case("hamilton_jacobi.eigenvalue_constants", "beta = -1", run(hj.eigenvalue_constants, 2, -1.0),
         r"beta must be finite and > 0", "domain"),
    Case("hamilton_jacobi.eigenvalue_constants", "beta of shape (2,)", run(hj.eigenvalue_constants, 2, jnp.ones(2)),
         r"beta must be a scalar.*jax\.vmap", "input"),
    Case("hamilton_jacobi.eigenvalue_constants", "n = 2.5", run(hj.eigenvalue_constants, 2.5, 1.0),
         r"n must be a positive integer", "input"),
    Case("hamilton_jacobi.eigenvalue_constants", "m = nan", run(hj.eigenvalue_constants, 2, 1.0, jnp.nan),
         r"m contains NaN", "input"),
    Case("hamilton_jacobi.eigenvalue_constants", "m of shape (2,)", run(hj.eigenvalue_constants, 2, 1.0, jnp.ones(2)),
         r"m must be a scalar", "input"),
    Case("hamilton_jacobi.eigenvalue_constants", "beta < 0 under jit(grad)",
         jit_grad(lambda b: hj.eigenvalue_constants(2, b)[0], -1.0), r"beta must be finite and > 0", "transform"),
    Case("hamilton_jacobi.eigenvalue_constants", "NaN m under jit(grad) (C is linear in m)",
         jit_grad(lambda m: hj.eigenvalue_constants(2, 1.0, m)[1], jnp.nan), r"m contains NaN", "transform"),
    # laplacian_in_eigenvalues, eigenvalue_curvature_term
    Case("hamilton_jacobi.laplacian_in_eigenvalues", "NaN in q",
         run(hj.laplacian_in_eigenvalues, f_of_lam, lam, X.at[0].set(jnp.nan)), r"q contains NaN", "input"),
    Case("hamilton_jacobi.laplacian_in_eigenvalues", "F outside its domain at lambda(q)",
         run(hj.laplacian_in_eigenvalues, f_of_lam, lam, jnp.array([-3.0, 0.1])), r"not finite.*outside its domain", "domain"),
    Case("hamilton_jacobi.laplacian_in_eigenvalues", "eigenvalues_of_q returns a scalar",
         run(hj.laplacian_in_eigenvalues, f_of_lam, lambda q: q[0], X), r"must return a vector", "input"),
    Case("hamilton_jacobi.laplacian_in_eigenvalues", "not callable",
         run(hj.laplacian_in_eigenvalues, 1.0, lam, X), r"free_energy_of_lambda must be a callable", "input"),
    Case("hamilton_jacobi.eigenvalue_curvature_term", "gamma = 0",
         run(hj.eigenvalue_curvature_term, lambda q: f_of_lam(lam(q)), lam, X, 0.0, 1.0),
         r"gamma must be finite and > 0", "domain"),
    Case("hamilton_jacobi.eigenvalue_curvature_term", "non-square Jacobian",
         run(hj.eigenvalue_curvature_term, lambda q: q[0], lambda q: q[:1], X, 0.5, 1.0), r"square Jacobian", "input"),
    Case("hamilton_jacobi.eigenvalue_curvature_term", "singular Jacobian",
         run(hj.eigenvalue_curvature_term, lambda q: q[0], lambda q: jnp.stack([q[0], q[0]]), X, 0.5, 1.0),
         r"singular", "domain"),
    Case("hamilton_jacobi.eigenvalue_curvature_term", "mu < 0 under jit(grad)",
         jit_grad(lambda m: hj.eigenvalue_curvature_term(lambda q: f_of_lam(lam(q)), lam, X, 0.5, m), -1.0),
         r"mu must be finite and > 0", "transform"),
]

EXEMPT = {
    "hamilton_jacobi.CharacteristicState": "a NamedTuple state; built and checked by characteristic_init",
}
