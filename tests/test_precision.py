"""Precision: every public kernel computes in the dtype of its inputs (issue #6).

x64 is on in the tests, so a kernel that creates an array without ``dtype=`` silently promotes a
float32 computation to float64 (twice the memory and, on GPUs, many times the time). Each public
function of the physics modules has a case below that builds its inputs in a given dtype; the
tests check that

* with float32 inputs every floating output is float32 (complex64 for complex outputs), and
* on a representative subset (``AGREEMENT``), float32 and float64 agree to a tolerance set by
  float32's unit round-off (6e-8) times the conditioning of the case (stated where it is above the
  default).

A coverage test fails when a public function has neither a case nor a stated reason to skip.
"""

from __future__ import annotations

import functools
import inspect
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nnworld_jax as nw
from nnworld_jax import (curvature, entropic, estimators, fokker_planck, gravity, grid, hamilton_jacobi,
                         hidden, minimal_coupling, network_gravity, holography, lanczos, sparse, learning, metrics, network, partition, quantum,
                         reduced_gravity, stepping, strings, thermo)
from nnworld_jax.entropic import Coefficients
from nnworld_jax.grid import Grid

MODULES = [network, partition, thermo, estimators, learning, grid, stepping, fokker_planck, entropic, quantum,
           hamilton_jacobi, hidden, strings, metrics, curvature, gravity, reduced_gravity, minimal_coupling, network_gravity, holography,
           sparse, lanczos]

# Public functions with no floating inputs to follow, or whose dtype is fixed by something else.
EXEMPT = {
    "stepping.etdrk4_coefficients": "computed in the widest enabled dtype by design (cancellation in the φ-functions); "
                                    "the step casts them to the field's dtype (stepping.etdrk4 has a case)",
    "stepping.shift_rk4_taps": "Python floats: the static taps of the stencil (its steps are stepping.shift_rk4)",
    "grid.check_field": "validation only, returns None",
    "hidden.cycle_permutation": "integer index map",
    "hidden.multi_cycle_permutation": "integer index map",
    "hidden.transpose_permutation": "integer index map",
    "learning.teacher_student_task": "builds an equinox MLP whose dtype follows the x64 setting",
    "learning.train_student": "optax training loop over the MLP of teacher_student_task",
    "learning.laws_of_learning": "post-processes a TrainingHistory (NumPy float64 by design)",
    "learning.free_energy_regularizer": "returns a loss closure; covered by thermo_metrics",
    "learning.network_from_mlp": "covered by thermo_metrics (it builds the Network)",
    "learning.boundary_neurons": "integer index tuples",
    "learning.check_activation": "validates a callable (probed in float32 by design) and returns it unchanged",
    "learning.model_layers": "returns the model's own Linear weights and activations (no arithmetic)",
    "learning.layer_sizes": "integer layer widths",
    "learning.network_from_model": "covered by thermo_metrics and tests/test_training.py (it builds the Network)",
    "sparse.has_structured_logdet": "a Python bool decided when the weights are built",
    "strings.catenoid_parameter": "scalar root find on Python floats (returns a float)",
    "strings.minimize_ring_surface": "optimistix solve from Python floats (radius, separation)",
    "holography.random_chain_network": "builds its weights from a PRNG key in the default dtype",
    "holography.cycle_network": "returns a NumPy matrix; dtype is an argument",
    "holography.chain_network": "returns NumPy matrices; dtype is an argument",
    "lanczos.rademacher_probes": "dtype is an argument",
    "lanczos.exact_probes": "dtype is an argument",
}

F32, F64 = np.dtype("float32"), np.dtype("float64")  # hashable: the input builders are cached per dtype
DEFAULT_TOL = 2e-5  # ~300 float32 round-offs relative to the output's scale


def _a(x, dtype):
    return jnp.asarray(np.asarray(x), dtype=dtype)


@functools.lru_cache
def _net(dtype, n=5, m=0.0, activation="tanh"):
    rng = np.random.default_rng(0)
    w = 0.5 / math.sqrt(n) * rng.standard_normal((n, n))
    b = 0.3 * rng.standard_normal(n)
    return nw.Network(_a(w, dtype), _a(b, dtype), activation=activation, m=m)


def _grid1():
    return Grid((16,))


def _bump(g: Grid, dtype):
    x = np.linspace(0, 2 * np.pi, g.shape[0], endpoint=False)
    p = np.exp(np.cos(x)) / (2 * np.pi * 1.2660658777520082)  # von Mises, I0(1) = 1.26607
    return _a(p, dtype)


def _wave(g: Grid, dtype, phase=0.0):
    x = np.linspace(0, 2 * np.pi, g.shape[0], endpoint=False)
    return _a(0.3 * np.sin(x + phase) + 0.1 * np.cos(2 * x), dtype)


C = Coefficients(D=0.2, gamma=1.0, mu=1.0)
CQ = Coefficients(D=0.05, gamma=1.0, mu=1.0)  # γ < 4Dμ: the learning system is well posed


@functools.lru_cache
def _psi(g, dtype):
    cdtype = jnp.complex64 if dtype == F32 else jnp.complex128
    p, F = _bump(g, dtype), _wave(g, dtype)
    return quantum.psi_from_madelung(p, F, C).astype(cdtype)


@functools.lru_cache
def _metric_pt(dtype):
    # g, ∂g, ∂∂g of conventions §6's test metric at one point, by jitted forward-mode autodiff.
    def derivs(X):
        metric = functools.partial(gravity.reference_metric, eps=0.1)
        return metric(X), jax.jacfwd(metric)(X), jax.jacfwd(jax.jacfwd(metric))(X)

    return jax.jit(derivs)(_a([0.3, 1.1, 2.0], dtype))


@functools.lru_cache
def _metric_field(dtype, n=2, pts=8):
    g = Grid((pts,) * n)
    return g, gravity.sample_metric(g, lambda X: gravity.reference_metric(X, eps=0.1)).astype(dtype)


@functools.lru_cache
def _lorentz_field(dtype, pts=8):
    # A (-+) metric on a periodic 2-D grid: conformally flat with a small periodic bump.
    g = Grid((pts, pts))
    x0, x1 = np.meshgrid(*[np.linspace(0, 2 * np.pi, pts, endpoint=False)] * 2, indexing="ij")
    omega = np.exp(0.2 * np.sin(x0 + x1))
    metric = np.einsum("ab,xy->abxy", np.diag([-1.0, 1.0]), np.ones((pts, pts))) * omega
    return g, _a(metric, dtype)


def _scalar_matter(g, dtype):
    xs = np.meshgrid(*[np.linspace(0, 2 * np.pi, n, endpoint=False) for n in g.shape], indexing="ij")
    return _a(0.2 * np.sin(xs[0] + 0.5 * xs[-1])[None], dtype)


def _worldsheet(dtype):
    g = Grid((8, 8))
    t, s = np.meshgrid(*[np.linspace(0, 2 * np.pi, 8, endpoint=False)] * 2, indexing="ij")
    y = np.stack([0.2 * np.sin(t), 0.3 * np.cos(s - t), 0.1 * np.sin(s + t)])
    return g, _a(y, dtype)


@functools.lru_cache
def _network_states(dtype):
    # network_gravity inputs: x̄_i^(μ)(τ) (2, 3, 8), a symmetric G, per-neuron Lorentzian metrics, a 16² box.
    tau = Grid((8,))
    t = np.linspace(0, 2 * np.pi, 8, endpoint=False)[None, :]
    i = np.arange(3)[:, None]
    x = np.stack([0.5 * np.sin(t + i) + 2 * i + 1, 0.4 * np.cos(t - i) + i + 2])
    jac = np.eye(3) - 0.2 * np.arange(9).reshape(3, 3) / 9
    metric = np.broadcast_to(np.diag([-1.0, 1.0]), (3, 2, 2)) + 0.05 * np.arange(3)[:, None, None]
    box = Grid((16, 16))
    field = gravity.sample_metric(box, lambda X: gravity.reference_metric(X, eps=0.1, signature=(-1.0, 1.0)))
    return tau, _a(x, dtype), _a(jac.T @ jac, dtype), _a(metric, dtype), box, field.astype(dtype)


def _points(dtype, pts):
    return _a(pts, dtype)


def _ou_matrices(dtype):
    a = np.array([[1.0, 0.3], [-0.2, 0.8]])  # stable: Re λ > 0 (the drift is -a x); -a is now refused
    d = np.array([[0.5, 0.1], [0.1, 0.4]])
    return _a(a, dtype), _a(d, dtype)


def _chain_w(dtype):
    w = np.zeros((5, 5))
    for i in range(4):
        w[i + 1, i] = 0.9
    w[0, 4] = 0.5
    return _a(w, dtype)


def _harmonic(q):
    return 0.5 * jnp.sum(q**2)


def _F0(q):
    return 0.5 * 0.3 * jnp.sum(q**2)


def _flrw():
    return metrics.flrw(lambda t: t ** (2 / 3), -1.0)


def _curv_metric():
    return metrics.schwarzschild(1.0)


_X4 = [0.0, 5.0, 1.0, 0.3]

CASES = {
    # ---- network (§2)
    "network.preactivation": lambda d: network.preactivation(_net(d), _a(np.linspace(-1, 1, 5), d)),
    "network.activation_slope": lambda d: network.activation_slope(_net(d), _a(np.linspace(-1, 1, 5), d)),
    "network.step": lambda d: network.step(_net(d), _a(np.linspace(-1, 1, 5), d)),
    "network.bulk_loss": lambda d: network.bulk_loss(_net(d, m=0.1), _a(np.linspace(-1, 1, 5), d)),
    "network.boundary_loss": lambda d: network.boundary_loss(
        nw.Network(_net(d).w, _net(d).b, inputs=(0,), outputs=(4,)), _a(np.linspace(-1, 1, 5), d), _a([0.2], d)),
    # ---- partition function (§3)
    "partition.mean_state": lambda d: partition.mean_state(_net(d)),
    "partition.gauss_newton_operator": lambda d: partition.gauss_newton_operator(_net(d), _a(np.full(5, 0.1), d)),
    "partition.logdet_spd": lambda d: partition.logdet_spd(_a(np.eye(3) * 2 + 0.1, d)),
    "partition.log_partition_from_operator": lambda d: partition.log_partition_from_operator(
        _a(np.eye(3) * 2 + 0.1, d), _a(1.3, d)),
    "partition.log_partition": lambda d: partition.log_partition(_net(d), _a(1.3, d)),
    "partition.free_energy": lambda d: partition.free_energy(_net(d), _a(1.3, d)),
    "thermo.thermodynamics": lambda d: thermo.thermodynamics(_net(d), _a(1.3, d)),
    "thermo.average_loss": lambda d: thermo.average_loss(_net(d), _a(1.3, d)),
    "thermo.entropy": lambda d: thermo.entropy(_net(d), _a(1.3, d)),
    "thermo.complexity": lambda d: thermo.complexity(_net(d), _a(1.3, d)),
    "thermo.heat_capacity": lambda d: thermo.heat_capacity(_net(d), _a(1.3, d)),
    "thermo.operator_spectrum": lambda d: thermo.operator_spectrum(_net(d)),
    "thermo.free_energy_eigen": lambda d: thermo.free_energy_eigen(_a([0.3, 1.7, 4.0, 0.05], d), _a(1.3, d)),
    "thermo.virial_average_loss": lambda d: thermo.virial_average_loss(_a([0.3, 1.7, 4.0, 0.05], d), _a(1.3, d)),
    "estimators.log_partition_quadrature": lambda d: estimators.log_partition_quadrature(
        _net(d, n=2), _a(2.0, d), n_points=21),
    "estimators.log_partition_monte_carlo": lambda d: eqx.filter_jit(estimators.log_partition_monte_carlo)(
        _net(d, n=2), _a(2.0, d), key=jax.random.PRNGKey(0), n_samples=1024).log_z,
    "learning.thermo_metrics": lambda d: eqx.filter_jit(learning.thermo_metrics)(
        _mlp(d), _a(1.0, d)),
    # the paper's learning: the data clamp neurons 0 (input) and 4 (output) of the 5-neuron network
    "learning.clamped_mean_state": lambda d: learning.clamped_mean_state(_clamped(d), _a([0.4, -0.2], d)),
    "learning.clamped_thermodynamics": lambda d: learning.clamped_thermodynamics(
        _clamped(d), _a(3.0, d), _a([0.4, -0.2], d)),
    "learning.data_thermodynamics": lambda d: learning.data_thermodynamics(
        _clamped(d), _a(3.0, d), _a([[0.4, -0.2], [-0.3, 0.5]], d)),
    "learning.learn": lambda d: learning.learn(_clamped(d), _a([[0.4, -0.2], [-0.3, 0.5]], d), _a(3.0, d), steps=2),
    "learning.learning_equilibrium": lambda d: learning.learning_equilibrium(
        _clamped(d), _a([[0.4, -0.2], [-0.3, 0.5]], d), _a(3.0, d), max_steps=2),
    "learning.first_law": lambda d: learning.first_law(
        nw.Thermodynamics(*(_a(v, d) for v in (1.0, 2.0, 3.0, 4.0, -1.0, 0.5))),
        nw.Thermodynamics(*(_a(v, d) for v in (1.5, 2.5, 3.5, 4.0, -0.5, 0.7))), _a(3.0, d)),
    # ---- grid layer
    "grid.derivative": lambda d: grid.derivative(_wave(_grid1(), d), _grid1(), 0),
    "grid.gradient": lambda d: grid.gradient(_wave(_grid1(), d), _grid1()),
    "grid.divergence": lambda d: grid.divergence(_wave(_grid1(), d)[None], _grid1()),
    "grid.laplacian": lambda d: grid.laplacian(_wave(_grid1(), d), _grid1()),
    "grid.integral": lambda d: grid.integral(_bump(_grid1(), d), _grid1()),
    "grid.functional_derivative": lambda d: grid.functional_derivative(
        lambda f: grid.integral(f**3, _grid1()), _wave(_grid1(), d), _grid1()),
    # ---- Fokker-Planck (§4)
    "fokker_planck.normalize": lambda d: fokker_planck.normalize(2 * _bump(_grid1(), d), _grid1()),
    "fokker_planck.ornstein_uhlenbeck_drift": lambda d: fokker_planck.ornstein_uhlenbeck_drift(_grid1(), 1.0, dtype=d),
    "fokker_planck.fokker_planck_rhs": lambda d: fokker_planck.fokker_planck_rhs(
        _bump(_grid1(), d), _grid1(), 0.2, F=_wave(_grid1(), d), gamma=1.0),
    "fokker_planck.shannon_entropy": lambda d: fokker_planck.shannon_entropy(_bump(_grid1(), d), _grid1()),
    "fokker_planck.entropy_production_parts": lambda d: fokker_planck.entropy_production_parts(
        _bump(_grid1(), d), _grid1(), 0.2, F=_wave(_grid1(), d), gamma=1.0),
    "fokker_planck.entropy_production": lambda d: fokker_planck.entropy_production(
        _bump(_grid1(), d), _grid1(), 0.2, F=_wave(_grid1(), d), gamma=1.0),
    "fokker_planck.etdrk4": lambda d: _fp_run(d, 3),
    # ---- entropic mechanics (§5)
    "entropic.lagrangian_density": lambda d: entropic.lagrangian_density(
        _bump(_grid1(), d), _wave(_grid1(), d), _wave(_grid1(), d, 1.0), _wave(_grid1(), d, 2.0), _grid1(), C),
    "entropic.hamiltonian": lambda d: entropic.hamiltonian(
        _bump(_grid1(), d), _wave(_grid1(), d), _wave(_grid1(), d, 2.0), _grid1(), C),
    "entropic.action": lambda d: entropic.action(
        jnp.stack([_bump(_grid1(), d)] * 4), jnp.stack([_wave(_grid1(), d, 0.1 * i) for i in range(4)]),
        _wave(_grid1(), d, 2.0), Grid((4, 16)), C),
    "entropic.equations_of_motion": lambda d: entropic.equations_of_motion(
        _bump(_grid1(), d), _wave(_grid1(), d), _wave(_grid1(), d, 2.0), _grid1(), C),
    "entropic.velocity": lambda d: entropic.velocity(_wave(_grid1(), d), _grid1(), C),
    "entropic.spectral_filter": lambda d: entropic.apply_filter(_wave(_grid1(), d), entropic.spectral_filter(_grid1())),
    "entropic.apply_filter": lambda d: entropic.apply_filter(_wave(_grid1(), d), entropic.spectral_filter(_grid1())),
    "entropic.entropic_stepper": lambda d: _entropic_run(d),
    "entropic.boundary_value_action": lambda d: entropic.boundary_value_action(
        jnp.stack([_bump(_grid1(), d)] * 3), jnp.stack([_wave(_grid1(), d, 0.1 * i) for i in range(3)]),
        _bump(_grid1(), d), _wave(_grid1(), d), _wave(_grid1(), d, 2.0), _grid1(), C, 0.5, learning=False),
    "entropic.boundary_value_residual": lambda d: entropic.boundary_value_residual(
        jnp.stack([_bump(_grid1(), d)] * 3), jnp.stack([_wave(_grid1(), d, 0.1 * i) for i in range(3)]),
        _bump(_grid1(), d), _wave(_grid1(), d), _wave(_grid1(), d, 2.0), _grid1(), C, 0.5, learning=False),
    "entropic.solve_boundary_value": lambda d: entropic.solve_boundary_value(
        _bump(_grid1(), d), 0.1 * _wave(_grid1(), d), 0 * _bump(_grid1(), d), _grid1(), C, 0.1, 2, learning=False).F,
    # ---- quantum (§5)
    "quantum.effective_constants": lambda d: quantum.effective_constants(Coefficients(*(_a(v, d) for v in C))),
    "quantum.psi_from_madelung": lambda d: quantum.psi_from_madelung(_bump(_grid1(), d), _wave(_grid1(), d), C),
    "quantum.unwrap_phase": lambda d: quantum.unwrap_phase(_a(np.linspace(0, 9, 16) % 6.28, d)),
    "quantum.madelung_from_psi": lambda d: quantum.madelung_from_psi(_psi(_grid1(), d), C),
    "quantum.wrap_phase_difference": lambda d: quantum.wrap_phase_difference(_wave(_grid1(), d), _wave(_grid1(), d, 0.3), C),
    "quantum.schrodinger_density": lambda d: quantum.schrodinger_density(
        *(_wave(_grid1(), d, 0.5 * i) for i in range(5)), _grid1(), C),
    "quantum.schrodinger_hamiltonian": lambda d: quantum.schrodinger_hamiltonian(
        *(_wave(_grid1(), d, 0.5 * i) for i in range(3)), _grid1(), C),
    "quantum.schrodinger_action": lambda d: quantum.schrodinger_action(
        jnp.stack([_wave(_grid1(), d, 0.1 * i) for i in range(4)]),
        jnp.stack([_wave(_grid1(), d, 1 + 0.1 * i) for i in range(4)]), _wave(_grid1(), d, 2.0), Grid((4, 16)), C),
    "quantum.schrodinger_equations_of_motion": lambda d: quantum.schrodinger_equations_of_motion(
        _psi(_grid1(), d), _wave(_grid1(), d, 2.0), _grid1(), C),
    "quantum.norm": lambda d: quantum.norm(_psi(_grid1(), d), _grid1()),
    "quantum.energy": lambda d: quantum.energy(_psi(_grid1(), d), _wave(_grid1(), d, 2.0), _grid1(), C),
    "quantum.hamiltonian_matrix": lambda d: quantum.hamiltonian_matrix(_wave(_grid1(), d, 2.0), _grid1(), C),
    "quantum.energy_levels": lambda d: quantum.energy_levels(_wave(_grid1(), d, 2.0), _grid1(), C, k=3),
    "quantum.eigen_propagator": lambda d: quantum.eigen_propagator(_wave(_grid1(), d, 2.0), _grid1(), C)(
        _psi(_grid1(), d), _a(0.3, d)),
    "quantum.fock_propagator": lambda d: quantum.fock_propagator(  # 4 levels held by a 32-point box ±6
        quantum.harmonic_potential(Grid((32,), lengths=(12.0,)), C, 3.0, dtype=d), Grid((32,), lengths=(12.0,)), C,
        3.0, 4).propagate(_a(np.exp(-(np.arange(32) * 0.375 - 6.5) ** 2), d).astype(jnp.complex64 if np.dtype(d) == np.float32 else jnp.complex128), _a(0.3, d)),
    "quantum.split_step": lambda d: _qm_run(d, "split"),
    "quantum.harmonic_potential": lambda d: quantum.harmonic_potential(_grid1(), C, 1.0, dtype=d),
    "quantum.harmonic_split_step": lambda d: _qm_run(d, "harmonic"),
    "quantum.madelung_stepper": lambda d: _qm_run(d, "madelung"),
    # ---- Hamilton-Jacobi (§6)
    "hamilton_jacobi.classical_density": lambda d: hamilton_jacobi.classical_density(
        _bump(_grid1(), d), _wave(_grid1(), d), _wave(_grid1(), d, 1.0)[None], _wave(_grid1(), d, 2.0),
        _wave(_grid1(), d, 3.0), 1.0, 1.0),
    "hamilton_jacobi.hj_rhs": lambda d: hamilton_jacobi.hj_rhs(_wave(_grid1(), d), _wave(_grid1(), d, 2.0), _grid1(), 1.0, 1.0),
    "hamilton_jacobi.hj_residual": lambda d: hamilton_jacobi.hj_residual(
        lambda t, q: 0.5 * jnp.sum(q**2) / (1 + t), _harmonic, _a(0.2, d), _a([0.3, -0.4], d), 1.0, 1.0),
    "hamilton_jacobi.classical_hamiltonian": lambda d: hamilton_jacobi.classical_hamiltonian(
        _a([0.3, -0.4], d), _a([0.1, 0.2], d), _harmonic, 1.0),
    "hamilton_jacobi.characteristic_field": lambda d: _characteristics(d)[1].q,
    "hamilton_jacobi.characteristic_init": lambda d: hamilton_jacobi.characteristic_init(_F0, _a([0.3, -0.4], d)),
    "hamilton_jacobi.characteristics": lambda d: _characteristics(d),
    # ---- the stepping layer
    "stepping.solve": lambda d: stepping.solve(stepping.ode_stepper(lambda t, y: -y, 0.1), _a([1.0, 2.0], d), n_steps=5,
                                               save_every=1).y,
    "stepping.ode_stepper": lambda d: stepping.solve(stepping.ode_stepper(lambda t, y: -y, 0.1, solver="tsit5"),
                                                     _a([1.0, 2.0], d), n_steps=5).y,
    "stepping.from_update": lambda d: stepping.solve(stepping.from_update(lambda t, y: 0.5 * y, 0.1, name="halve"),
                                                     _a([1.0, 2.0], d), n_steps=3).y,
    "stepping.guard_state": lambda d: stepping.guard_state(_a([1.0, 2.0], d), "test"),
    "stepping.etdrk4": lambda d: _fp_run(d, 3),
    "stepping.shift_rk4": lambda d: _perm_flow(d).y,
    "hamilton_jacobi.cole_hopf": lambda d: hamilton_jacobi.cole_hopf(_wave(_grid1(), d), 1.0),
    "hamilton_jacobi.inverse_cole_hopf": lambda d: hamilton_jacobi.inverse_cole_hopf(1.5 + _wave(_grid1(), d), 1.0),
    "hamilton_jacobi.cole_hopf_rhs": lambda d: hamilton_jacobi.cole_hopf_rhs(1.5 + _wave(_grid1(), d), _grid1(), 1.0, 1.0),
    "hamilton_jacobi.stationary_free_energy": lambda d: hamilton_jacobi.stationary_free_energy(
        _a([0.3, -0.4], d), _a(0.5, d), _a(0.1, d), _a(1.0, d)),
    "hamilton_jacobi.eigenvalue_constants": lambda d: hamilton_jacobi.eigenvalue_constants(4, _a(1.3, d)),
    "hamilton_jacobi.laplacian_in_eigenvalues": lambda d: hamilton_jacobi.laplacian_in_eigenvalues(
        lambda lam: jnp.sum(jnp.log1p(lam)), lambda q: jnp.stack([q[0] ** 2 + 1, q[1] ** 2 + q[0]]), _a([0.3, 0.4], d)),
    "hamilton_jacobi.eigenvalue_curvature_term": lambda d: hamilton_jacobi.eigenvalue_curvature_term(
        lambda q: jnp.sum(jnp.log1p(q**2)), lambda q: jnp.stack([q[0] ** 2 + 1, q[1] ** 2 + q[0]]), _a([0.3, 0.4], d), 1.0, 1.0),
    # ---- hidden variables (§7)
    "hidden.overall_state": lambda d: hidden.overall_state(_a(np.arange(10.0).reshape(2, 5), d)),
    "hidden.mean_step": lambda d: hidden.mean_step(_net(d), _a(np.linspace(0, 1, 5), d)),
    "hidden.mean_rhs": lambda d: hidden.mean_rhs(_net(d), _a(np.linspace(0, 1, 5), d), 2.0),
    "hidden.mean_trajectory": lambda d: hidden.mean_trajectory(_net(d), _a(0.1 * np.ones((2, 5)), d), 3),
    "hidden.linear_step": lambda d: hidden.linear_step(hidden.shift, _a(np.linspace(0, 1, 5), d)),
    "hidden.linear_rhs": lambda d: hidden.linear_rhs(hidden.shift, _a(np.linspace(0, 1, 5), d), _a(2.0, d)),
    "hidden.apply_permutation": lambda d: hidden.apply_permutation(hidden.cycle_permutation(5), _a(np.linspace(0, 1, 5), d)),
    "hidden.shift": lambda d: hidden.shift(_a(np.linspace(0, 1, 5), d)),
    "hidden.shift_transpose": lambda d: hidden.shift_transpose(_a(np.linspace(0, 1, 5), d)),
    "hidden.permutation_rhs": lambda d: hidden.permutation_rhs(_a(np.linspace(0, 1, 5), d), _a(2.0, d)),
    "hidden.permutation_flow": lambda d: _perm_flow(d),
    "hidden.poisson_shift_exact": lambda d: hidden.poisson_shift_exact(_a(np.exp(-np.linspace(-3, 3, 16) ** 2), d), 2.0, 0.5),
    "hidden.profile_moments": lambda d: hidden.profile_moments(_a(np.exp(-np.linspace(-3, 3, 16) ** 2), d)),
    "hidden.translated_profile": lambda d: hidden.translated_profile(lambda s: jnp.exp(-s**2), _a(np.linspace(-3, 3, 16), d), 0.5),
    "hidden.light_cone_interval": lambda d: hidden.light_cone_interval(_a(np.full(5, 0.1), d), _a(0.05 * np.ones((2, 5)), d)),
    "hidden.light_cone_residual": lambda d: hidden.light_cone_residual(_a(np.ones((2, 5)), d), _a(np.linspace(0, 1, 10).reshape(2, 5), d)),
    # ---- strings (§8)
    "strings.ensemble_exact": lambda d: strings.ensemble_exact(_a(np.exp(-np.linspace(-3, 3, 16) ** 2), d), 2.0, 0.5),
    "strings.ensemble_simulate": lambda d: strings.ensemble_simulate(_a(np.exp(-np.linspace(-3, 3, 16) ** 2), d), 2.0, 0.05, 4),
    "strings.dalembert": lambda d: strings.dalembert(lambda s: jnp.exp(-s**2), _a(np.linspace(-3, 3, 16), d), 0.5),
    "strings.dalembert_correction": lambda d: strings.dalembert_correction(
        lambda s: (4 * s**2 - 2) * jnp.exp(-s**2), _a(np.linspace(-3, 3, 16), d), 0.5, 10.0),
    "strings.minkowski": lambda d: strings.minkowski(3, dtype=d),
    "strings.worldsheet_derivatives": lambda d: strings.worldsheet_derivatives(_worldsheet(d)[1], _worldsheet(d)[0]),
    "strings.polyakov_density": lambda d: strings.polyakov_density(
        strings.worldsheet_derivatives(_worldsheet(d)[1], _worldsheet(d)[0]), None, strings.minkowski(3, dtype=d), 1.0),
    "strings.polyakov_action": lambda d: strings.polyakov_action(_worldsheet(d)[1], _worldsheet(d)[0]),
    "strings.polyakov_eom": lambda d: strings.polyakov_eom(_worldsheet(d)[1], _worldsheet(d)[0]),
    "strings.nambu_goto_density": lambda d: strings.nambu_goto_density(
        strings.worldsheet_derivatives(_worldsheet(d)[1], _worldsheet(d)[0]), strings.minkowski(3, dtype=d), 1.0, euclidean=True),
    "strings.nambu_goto_action": lambda d: strings.nambu_goto_action(_worldsheet(d)[1], _worldsheet(d)[0], euclidean=True),
    "strings.virasoro_residuals": lambda d: strings.virasoro_residuals(_worldsheet(d)[1], _worldsheet(d)[0]),
    "strings.catenoid_profile": lambda d: strings.catenoid_profile(_a(np.linspace(-0.5, 0.5, 9), d), _a(0.8, d)),
    "strings.ring_surface_area": lambda d: strings.ring_surface_area(_a(np.cosh(np.linspace(-0.5, 0.5, 9)), d), 1.0),
    # ---- metrics and curvature (§9)
    "metrics.minkowski": lambda d: metrics.minkowski(4)(_a(_X4, d)),
    "metrics.schwarzschild": lambda d: metrics.schwarzschild(1.0)(_a(_X4, d)),
    "metrics.kerr": lambda d: metrics.kerr(1.0, 0.5)(_a(_X4, d)),
    "metrics.reissner_nordstrom": lambda d: metrics.reissner_nordstrom(1.0, 0.3)(_a(_X4, d)),
    "metrics.de_sitter": lambda d: metrics.de_sitter(0.5)(_a([0.3, 1.0, 0.2, 0.1], d)),
    "metrics.flrw": lambda d: metrics.flrw(lambda t: t ** (2 / 3), 0.0)(_a([1.3, 1.0, 0.2, 0.1], d)),
    "metrics.sphere": lambda d: metrics.sphere(2.0)(_a([1.0, 0.3], d)),
    "metrics.periodic_test_metric": lambda d: metrics.periodic_test_metric(3, 0.1)(_a([0.3, 1.1, 2.0], d)),
    "curvature.christoffel": lambda d: curvature.christoffel(_curv_metric(), _a(_X4, d)),
    "curvature.curvature": lambda d: curvature.curvature(_flrw(), _a([1.3, 1.0, 0.2, 0.1], d)),
    "curvature.riemann": lambda d: curvature.riemann(_curv_metric(), _a(_X4, d)),
    "curvature.ricci_tensor": lambda d: curvature.ricci_tensor(_flrw(), _a([1.3, 1.0, 0.2, 0.1], d)),
    "curvature.ricci_scalar": lambda d: curvature.ricci_scalar(metrics.sphere(2.0), _a([1.0, 0.3], d)),
    "curvature.einstein_tensor": lambda d: curvature.einstein_tensor(metrics.flrw(lambda t: t ** (2 / 3)), _a([1.3, 1.0, 0.2, 0.1], d)),
    "curvature.kretschmann": lambda d: curvature.kretschmann(_curv_metric(), _a(_X4, d)),
    "curvature.covariant_divergence": lambda d: curvature.covariant_divergence(
        metrics.sphere(2.0), lambda X: jnp.outer(jnp.sin(X), jnp.cos(X)) + jnp.outer(jnp.cos(X), jnp.sin(X)), _a([1.0, 0.3], d)),
    "curvature.curvature_on_grid": lambda d: curvature.curvature_on_grid(_grid_metric(d), Grid((8, 8))),
    "curvature.on_points": lambda d: curvature.on_points(curvature.kretschmann, _curv_metric(),
                                                        _a([_X4, [0.0, 6.0, 1.2, 0.1]], d), chunk_size=2),
    # ---- Onsager / Einstein-Hilbert (§9)
    "gravity.contractions": lambda d: gravity.contractions(*_metric_pt(d)[:2]),
    "gravity.onsager_density": lambda d: gravity.onsager_density(*_metric_pt(d)[:2], tensor="paper"),
    "gravity.gamma_gamma_density": lambda d: gravity.gamma_gamma_density(*_metric_pt(d)[:2]),
    "gravity.einstein_hilbert_density": lambda d: gravity.einstein_hilbert_density(*_metric_pt(d)),
    "gravity.einstein_tensor_point": lambda d: gravity.einstein_tensor_point(*_metric_pt(d)),
    "gravity.metric_derivatives": lambda d: gravity.metric_derivatives(_metric_field(d)[1], _metric_field(d)[0], second=True),
    "gravity.density_field": lambda d: gravity.density_field(_metric_field(d)[1], _metric_field(d)[0]),
    "gravity.gravity_action": lambda d: gravity.gravity_action(_metric_field(d)[1], _metric_field(d)[0], "paper"),  # 2-D √gR integrates to 0
    "gravity.euler_lagrange": lambda d: gravity.euler_lagrange(
        lambda m: gravity.gravity_action(m, _metric_field(d)[0]), _metric_field(d)[1], _metric_field(d)[0]),
    "gravity.gravity_euler_lagrange": lambda d: gravity.gravity_euler_lagrange(_metric_field(d)[1], _metric_field(d)[0]),
    "gravity.scalar_field_lagrangian": lambda d: gravity.scalar_field_lagrangian(
        _metric_pt(d)[0], _a([0.2], d), _a([[0.1, -0.2, 0.3]], d), mass=0.5),
    "gravity.total_action": lambda d: gravity.total_action(
        _metric_field(d)[1], _metric_field(d)[0], matter=_scalar_matter(_metric_field(d)[0], d), matter_lagrangian=gravity.scalar_field_lagrangian,
        cosmological_constant=0.1),
    "gravity.einstein_equations": lambda d: gravity.einstein_equations(
        _metric_field(d)[1], _metric_field(d)[0], matter=_scalar_matter(_metric_field(d)[0], d), matter_lagrangian=gravity.scalar_field_lagrangian),
    "gravity.stress_energy": lambda d: gravity.stress_energy(
        _metric_field(d)[1], _scalar_matter(_metric_field(d)[0], d), _metric_field(d)[0], matter_lagrangian=gravity.scalar_field_lagrangian),
    "gravity.reference_metric": lambda d: gravity.reference_metric(_a([0.3, 1.1, 2.0], d), eps=0.1),
    "gravity.sample_metric": lambda d: gravity.sample_metric(Grid((4, 4)), lambda X: gravity.reference_metric(X, eps=0.1).astype(d)),
    "gravity.einstein_tensor_of": lambda d: gravity.einstein_tensor_of(
        lambda X: gravity.reference_metric(X, eps=0.1), _a([0.3, 1.1, 2.0], d)),
    # ---- scalar matter minimally coupled to an emergent metric (the toolkit's model, not (77)-(80))
    "minimal_coupling.emergent_metric": lambda d: minimal_coupling.emergent_metric(
        0.1 * _scalar_matter(Grid((8, 8)), d)[0][None].repeat(2, 0), Grid((8, 8))),
    "minimal_coupling.hidden_density": lambda d: minimal_coupling.hidden_density(
        _lorentz_field(d)[1], _scalar_matter(_lorentz_field(d)[0], d), _lorentz_field(d)[0], mass=0.5, coupling=0.1),
    "minimal_coupling.hidden_action": lambda d: minimal_coupling.hidden_action(
        _lorentz_field(d)[1], _scalar_matter(_lorentz_field(d)[0], d), _lorentz_field(d)[0], mass=0.5, coupling=0.1),
    "minimal_coupling.hidden_euler_lagrange": lambda d: minimal_coupling.hidden_euler_lagrange(
        _lorentz_field(d)[1], _scalar_matter(_lorentz_field(d)[0], d), _lorentz_field(d)[0], mass=0.5),
    "minimal_coupling.energy_momentum_density": lambda d: minimal_coupling.energy_momentum_density(
        _lorentz_field(d)[1], _scalar_matter(_lorentz_field(d)[0], d), _lorentz_field(d)[0], mass=0.5),
    "minimal_coupling.christoffel_field": lambda d: minimal_coupling.christoffel_field(_lorentz_field(d)[1], _lorentz_field(d)[0]),
    "minimal_coupling.covariant_divergence_density": lambda d: minimal_coupling.covariant_divergence_density(
        _lorentz_field(d)[1], 0.1 * _lorentz_field(d)[1], _lorentz_field(d)[0]),
    "minimal_coupling.noether_residual": lambda d: minimal_coupling.noether_residual(
        _lorentz_field(d)[1], _scalar_matter(_lorentz_field(d)[0], d), _lorentz_field(d)[0], mass=0.5),
    "minimal_coupling.string_action": lambda d: minimal_coupling.string_action(
        _worldsheet(d)[1], _worldsheet(d)[0], lambda x: jnp.diag(jnp.stack([-1.0 + 0 * x[0], 1 + 0.1 * x[0] ** 2, 1.0 + 0 * x[0]]))),
    "minimal_coupling.string_eom": lambda d: minimal_coupling.string_eom(
        _worldsheet(d)[1], _worldsheet(d)[0], lambda x: jnp.diag(jnp.stack([-1.0 + 0 * x[0], 1 + 0.1 * x[0] ** 2, 1.0 + 0 * x[0]]))),
    # ---- the network's hidden-variable action (§9, (77)-(83))
    "network_gravity.state_average": lambda d: network_gravity.state_average(_network_states(d)[1], _network_states(d)[2]),
    "network_gravity.source_weights": lambda d: network_gravity.source_weights(
        _network_states(d)[1], _network_states(d)[2], _network_states(d)[0], alpha=1.3),
    "network_gravity.hidden_lagrangian": lambda d: network_gravity.hidden_lagrangian(
        *(_network_states(d)[i] for i in (1, 2, 3, 0)), alpha=1.3),
    "network_gravity.hidden_action": lambda d: network_gravity.hidden_action(
        *(_network_states(d)[i] for i in (1, 2, 3, 0)), alpha=1.3),
    "network_gravity.hidden_eom": lambda d: network_gravity.hidden_eom(
        *(_network_states(d)[i] for i in (1, 2, 3, 0)), alpha=1.3),
    "network_gravity.printed_eom": lambda d: network_gravity.printed_eom(
        *(_network_states(d)[i] for i in (1, 2, 3, 0)), alpha=1.3),
    "network_gravity.metric_at_neurons": lambda d: network_gravity.metric_at_neurons(
        functools.partial(gravity.reference_metric, eps=0.1), _network_states(d)[1]),
    "network_gravity.deposit_sources": lambda d: network_gravity.deposit_sources(
        _network_states(d)[1], jnp.ones((2, 2, 3, 8), d), _network_states(d)[0], _network_states(d)[4], width=0.5),
    "network_gravity.spacetime_action": lambda d: network_gravity.spacetime_action(
        _network_states(d)[5], jnp.ones((2, 2, 16, 16), d), _network_states(d)[4]),
    "network_gravity.source_variation": lambda d: network_gravity.source_variation(
        _network_states(d)[5], jnp.ones((2, 2, 16, 16), d), _network_states(d)[4]),
    "network_gravity.entropy_production_action": lambda d: network_gravity.entropy_production_action(
        _network_states(d)[5], jnp.ones((2, 2, 16, 16), d), _network_states(d)[4], kappa=0.7),
    "network_gravity.entropy_production_equation": lambda d: network_gravity.entropy_production_equation(
        _network_states(d)[5], jnp.ones((2, 2, 16, 16), d), _network_states(d)[4], kappa=0.7),
    # ---- reduced actions (§9)
    "reduced_gravity.static_spherical_metric": lambda d: reduced_gravity.static_spherical_metric(
        lambda r: 1 - 2 / r, lambda r: 1 / (1 - 2 / r))(_a([0.0, 5.0, 1.0, 0.3], d)),
    "reduced_gravity.flrw_metric": lambda d: reduced_gravity.flrw_metric(lambda t: t ** (2 / 3))(_a([1.3, 1.0, 0.2, 0.1], d)),
    "reduced_gravity.schwarzschild_lagrangian": lambda d: reduced_gravity.schwarzschild_lagrangian(
        _a([3.0, 4.0], d), _a([0.4, 0.5], d), _a([0.3, 0.5], d), _a([0.1, 0.05], d)),
    "reduced_gravity.flrw_dust_lagrangian": lambda d: reduced_gravity.flrw_dust_lagrangian(
        _a([1.0, 1.2], d), _a([0.6, 0.5], d), _a([1.0, 1.0], d), 1.0),
    "reduced_gravity.schwarzschild_action": lambda d: reduced_gravity.schwarzschild_action(
        _a(1 - 2 / np.linspace(3, 6, 8), d), _a(0.5 + 0.05 * np.linspace(3, 6, 8), d), _a(np.linspace(3, 6, 8), d)),
    "reduced_gravity.flrw_dust_action": lambda d: reduced_gravity.flrw_dust_action(
        _a(np.linspace(1, 2, 8) ** (2 / 3), d), _a(np.linspace(1, 2, 8), d), 1.0),
    "reduced_gravity.friedmann_constraint": lambda d: reduced_gravity.friedmann_constraint(
        _a(np.linspace(1, 2, 8) ** (2 / 3), d), _a(np.linspace(1, 2, 8), d), 1.0),
    "reduced_gravity.solve_schwarzschild": lambda d: reduced_gravity.solve_schwarzschild(
        _a(np.linspace(3, 6, 8), d), _a([1 / 3, 2 / 3], d), _a([1 / 3, 2 / 3], d)).fields,
    "reduced_gravity.solve_flrw_dust": lambda d: reduced_gravity.solve_flrw_dust(
        _a(np.linspace(1, 2, 8), d), _a([1.0, 2 ** (2 / 3)], d), rho0=1 / (6 * np.pi)).fields,
    # ---- holography (§10)
    "holography.boundary_projector": lambda d: holography.boundary_projector((0, 4), 5, dtype=d),
    "holography.boundary_state": lambda d: holography.boundary_state(_a(np.linspace(0, 1, 5), d), (0, 4)),
    "holography.boundary_bias": lambda d: holography.boundary_bias(_a(np.linspace(0, 1, 5), d), (0, 4)),
    "holography.spectral_radius": lambda d: holography.spectral_radius(_chain_w(d)),
    "holography.boundary_weights": lambda d: holography.boundary_weights(_chain_w(d), _a(0.5, d), (0, 4)),
    "holography.boundary_weights_series": lambda d: holography.boundary_weights_series(_chain_w(d), _a(0.5, d), (0, 4), tol=1e-6),
    "holography.chain_length": lambda d: holography.chain_length(_a([[0.1, 0.01], [0.02, 0.2]], d), _a(0.5, d)),
    "holography.boundary_network": lambda d: holography.boundary_network(_chain_w(d), _a(0.5, d), (0, 2), _a(np.linspace(0, 1, 5), d)),
    "holography.boundary_action": lambda d: holography.boundary_action(_chain_w(d), _a(0.5, d), (0, 2), _a(np.linspace(0, 1, 5), d), n=16),
    "holography.bulk_state": lambda d: holography.bulk_state(_chain_w(d), _a(0.5, d), (0, 2), _a([0.3, -0.2], d)),
    "holography.bulk_action": lambda d: holography.bulk_action(_chain_w(d), _a(0.5, d), (0, 2), _a([0.3, -0.2], d)),
    "holography.stationary_covariance": lambda d: holography.stationary_covariance(*_ou_matrices(d)),
    "holography.ou_entropy_production": lambda d: holography.ou_entropy_production(*_ou_matrices(d)),
    "holography.bulk_entropy_production": lambda d: holography.bulk_entropy_production(_chain_w(d), _a(0.5, d)),
    "holography.boundary_entropy_production": lambda d: holography.boundary_entropy_production(_chain_w(d), _a(0.5, d), (0, 4)),
}

@functools.lru_cache
def _sparse_net(dtype, n=12):
    w = sparse.multi_cycle_weights((5, 7), 0.6, dtype=dtype)
    return sparse.SparseNetwork(w, _a(0.2 * np.cos(np.arange(n)), dtype))


def _sparse_x(dtype, n=12):
    return _a(0.1 * np.sin(np.arange(n)), dtype)


_SPARSE_CASES = {
    "sparse.sparse_weights": lambda d: sparse.sparse_weights(np.array([1, 2]), np.array([0, 1]), _a([0.5, 0.7], d), 3).values,
    "sparse.from_dense": lambda d: sparse.from_dense(_chain_w(d)).values,
    "sparse.to_dense": lambda d: sparse.to_dense(sparse.from_dense(_chain_w(d))),
    "sparse.to_bcoo": lambda d: sparse.to_bcoo(sparse.from_dense(_chain_w(d))).todense(),
    "sparse.permutation_weights": lambda d: sparse.permutation_weights(hidden.cycle_permutation(5), 0.5, dtype=d).values,
    "sparse.cycle_weights": lambda d: sparse.cycle_weights(5, 0.5, dtype=d).values,
    "sparse.multi_cycle_weights": lambda d: sparse.multi_cycle_weights((2, 3), 0.5, dtype=d).values,
    "sparse.chain_weights": lambda d: sparse.chain_weights(5, 0.5, dtype=d).values,
    "sparse.chain_network_weights": lambda d: sparse.chain_network_weights(2, [(0, 1, 3)], dtype=d).values,
    "sparse.weights_matvec": lambda d: sparse.weights_matvec(_sparse_net(d).weights, _sparse_x(d)),
    "sparse.weights_rmatvec": lambda d: sparse.weights_rmatvec(_sparse_net(d).weights, _sparse_x(d)),
    "sparse.sparse_preactivation": lambda d: sparse.sparse_preactivation(_sparse_net(d), _sparse_x(d)),
    "sparse.sparse_step": lambda d: sparse.sparse_step(_sparse_net(d), _sparse_x(d)),
    "sparse.sparse_mean_state": lambda d: sparse.sparse_mean_state(_sparse_net(d)),
    "sparse.structured_logdet": lambda d: sparse.structured_logdet(_sparse_net(d), _a(2.0, d)),
    "sparse.structured_free_energy": lambda d: sparse.structured_free_energy(_sparse_net(d), _a(2.0, d)),
    "sparse.circulant_logdet": lambda d: sparse.circulant_logdet(_a([2.0, -0.5, 0.0, 0.0, -0.5], d)),
    "sparse.jacobian_matvec": lambda d: sparse.jacobian_matvec(_sparse_net(d), _sparse_x(d), _sparse_x(d) + 1),
    "sparse.jacobian_rmatvec": lambda d: sparse.jacobian_rmatvec(_sparse_net(d), _sparse_x(d), _sparse_x(d) + 1),
    "sparse.gauss_newton_matvec": lambda d: sparse.gauss_newton_matvec(_sparse_net(d), _sparse_x(d), _sparse_x(d) + 1),
    "lanczos.lanczos_tridiagonal": lambda d: lanczos.lanczos_tridiagonal(
        lambda v: 2 * v + jnp.roll(v, 1, axis=-1), lanczos.exact_probes(12, dtype=d), 6),
    "lanczos.slq_logdet": lambda d: lanczos.slq_logdet(
        lambda v: 3 * v + jnp.roll(v, 1, axis=-1) + jnp.roll(v, -1, axis=-1), lanczos.exact_probes(12, dtype=d), 12),
    "lanczos.gauss_newton_logdet": lambda d: lanczos.gauss_newton_logdet(_sparse_net(d), _a(1.3, d), probes="exact", num_steps=12),
    "lanczos.free_energy_slq": lambda d: lanczos.free_energy_slq(_sparse_net(d), _a(1.3, d), probes="exact", num_steps=12),
    "lanczos.sparse_free_energy": lambda d: lanczos.sparse_free_energy(_sparse_net(d), _a(1.3, d), method="slq",
                                                                       key=jax.random.PRNGKey(0), num_steps=12),
}
CASES.update(_SPARSE_CASES)

# float32 vs float64 tolerances above DEFAULT_TOL, with the reason. Measured float32 errors of the
# others: ≤ 1e-6 for steppers, Newton solves and curvature, 8.5e-6 for the spectral Euler-Lagrange
# expressions of gravity.py (second derivatives of an 8² grid).
TOLERANCE = {
    "estimators.log_partition_monte_carlo": (1e-1, "two independent estimates (float32 and float64 draw different "
                                             "normals from one key), each with stderr ≈ 2.2%: ~3 standard errors "
                                             "of the difference"),
    "strings.nambu_goto_action": (1e-4, "√det of the induced metric, near 0 on parts of this worldsheet: round-off "
                                  "amplified by 1/(2√det)"),
}


@functools.lru_cache
def _mlp(d):
    # Built in float64 and cast, so both precisions see the same weights.
    mlp = eqx.nn.MLP(2, 1, 3, 1, activation=jnp.tanh, final_activation=jnp.tanh, key=jax.random.PRNGKey(0),
                     dtype=jnp.float64)
    return jax.tree_util.tree_map(lambda x: x.astype(d) if eqx.is_inexact_array(x) else x, mlp)


@functools.lru_cache
def _clamped(d):
    # _net with boundary neurons: input 0, output 4; bulk 1, 2, 3 (learning's clamped ensemble).
    return nw.Network(_net(d).w, _net(d).b, inputs=(0,), outputs=(4,))


def _fp_run(d, n):
    g = _grid1()
    init, step = fokker_planck.etdrk4(g, 0.2, 0.05, F=_wave(g, d), gamma=1.0)
    return stepping.solve(fokker_planck.etdrk4(g, 0.2, 0.05, F=_wave(g, d), gamma=1.0), _bump(g, d), n_steps=n).y


def _entropic_run(d):
    g = _grid1()
    stepper = entropic.entropic_stepper(_wave(g, d, 2.0), g, C, 1e-3, learning=False)
    return stepping.solve(stepper, (_bump(g, d), _wave(g, d)), n_steps=3).y[1]


def _qm_run(d, which):
    g = _grid1()
    if which == "split":
        return stepping.solve(quantum.split_step(_wave(g, d, 2.0), g, C, 0.05), _psi(g, d), n_steps=3).y
    if which == "harmonic":
        return stepping.solve(quantum.harmonic_split_step(g, C, 1.0, 0.05), _psi(g, d), n_steps=3).y
    stepper = quantum.madelung_stepper(_wave(g, d, 2.0), g, C, 1e-3)
    return stepping.solve(stepper, (_bump(g, d), _wave(g, d)), n_steps=3).y[1]


def _characteristics(d):
    return hamilton_jacobi.characteristics(_F0, _harmonic, _a([0.3, -0.4], d), 1.0, 1.0, t1=0.5, n_steps=5)


def _grid_metric(d):
    X = np.stack(np.meshgrid(*(2 * np.pi * np.arange(8) / 8,) * 2, indexing="ij"))
    g = np.zeros((2, 2, 8, 8))
    g[0, 0], g[1, 1], g[0, 1] = 1 + 0.1 * np.cos(X[0]), 1 + 0.1 * np.sin(X[1]), 0.05 * np.cos(X[0] + X[1])
    g[1, 0] = g[0, 1]
    return _a(g, d)


def _perm_flow(d):
    init, step = hidden.permutation_flow(2.0, 0.05)
    return _iterate(step, init(_a(np.exp(-np.linspace(-3, 3, 16) ** 2), d)), 3)


def _iterate(step, state, n):
    for _ in range(n):
        state = step(state)
    return state


def _public(module):
    name = module.__name__.rsplit(".", 1)[-1]
    for attr, obj in vars(module).items():
        if attr.startswith("_") or not inspect.isfunction(obj) or obj.__module__ != module.__name__:
            continue
        yield f"{name}.{attr}"


def test_every_public_kernel_has_a_dtype_case():
    missing = [f for m in MODULES for f in _public(m) if f not in CASES and f not in EXEMPT]
    assert not missing, f"public functions without a dtype case (add one to CASES, or a reason to EXEMPT): {missing}"
    stale = [f for f in CASES if f not in {g for m in MODULES for g in _public(m)}]
    assert not stale, f"cases for functions that no longer exist: {stale}"


def _float_leaves(tree):
    return [x for x in jax.tree_util.tree_leaves(tree)
            if hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jnp.inexact)]


# float32 vs float64 agreement on a representative subset: the main kernel of each module and every
# kind of numerics (linear algebra, spectral derivatives, autodiff to second order, steppers,
# Newton solves, curvature, Lanczos). Run over every case once, all passed at DEFAULT_TOL except
# the TOLERANCE entries; the subset keeps the suite fast (each case compiles twice).
AGREEMENT = sorted({
    "partition.free_energy", "partition.logdet_spd", "thermo.thermodynamics", "thermo.heat_capacity",
    "estimators.log_partition_monte_carlo", "grid.laplacian", "grid.functional_derivative",
    "fokker_planck.entropy_production", "fokker_planck.etdrk4", "stepping.ode_stepper", "entropic.equations_of_motion",
    "entropic.solve_boundary_value", "quantum.split_step", "quantum.energy_levels", "hamilton_jacobi.characteristics",
    "hamilton_jacobi.eigenvalue_curvature_term", "hidden.permutation_flow", "strings.polyakov_eom",
    "strings.nambu_goto_action", "curvature.curvature", "metrics.kerr", "gravity.gravity_euler_lagrange",
    "gravity.einstein_tensor_point", "gravity.stress_energy", "reduced_gravity.solve_schwarzschild",
    "minimal_coupling.noether_residual", "minimal_coupling.energy_momentum_density", "network_gravity.hidden_eom", "holography.boundary_weights",
    "holography.ou_entropy_production", "sparse.sparse_mean_state", "lanczos.gauss_newton_logdet",
})


def test_agreement_cases_exist():
    assert set(AGREEMENT) <= set(CASES) and set(TOLERANCE) <= set(AGREEMENT)


@pytest.mark.parametrize("name", sorted(CASES))
def test_float32_in_float32_out(name):
    out32 = _float_leaves(CASES[name](F32))
    assert out32, f"{name}: no floating output"
    kinds = {str(x.dtype) for x in out32}
    assert kinds <= {"float32", "complex64"}, f"{name}: float32 inputs gave {sorted(kinds)}"


@pytest.mark.parametrize("name", AGREEMENT)
def test_float32_agrees_with_float64(name):
    out32, out64 = _float_leaves(CASES[name](F32)), _float_leaves(CASES[name](F64))
    tol = TOLERANCE.get(name, (DEFAULT_TOL, ""))[0]
    # A leaf that is zero in exact arithmetic (an error estimate, a vanishing component) is judged
    # against the whole output's scale: its float64 value is round-off, not a reference. Such a leaf is
    # computed from numbers of the output's size (a truncation check is the difference of two
    # estimates), so float32 cannot resolve it below a few of their ulps: 4 ulps of the output's scale
    # are not counted (Lanczos's truncation check came out 1 ulp of the log det, 9.5e-7, at LLVM -O0
    # and 0 at -O2: the same program, another summation order).
    overall = max(float(np.max(np.abs(np.asarray(a, dtype=np.complex128)))) for a in out64)
    resolution = 4 * np.finfo(np.float32).eps * overall
    for a32, a64 in zip(out32, out64):
        a32, a64 = np.asarray(a32, dtype=np.complex128), np.asarray(a64, dtype=np.complex128)
        scale = max(np.max(np.abs(a64)), 1e-3 * overall, 1e-30)
        err = max(np.max(np.abs(a32 - a64)) - resolution, 0.0) / scale
        assert err <= tol, f"{name}: float32 vs float64 relative error {err:.2e} > {tol:.0e}"


def test_one_dtype_tolerance_policy():
    # _config.dtype_tol: the wide value for float64 and complex128, the narrow one for float32 and
    # complex64; the solvers' defaults read it (the values each states are unchanged by the move).
    from nnworld_jax import _config, lanczos, partition, sparse

    for dt, want in (("float64", 1.0), ("complex128", 1.0), ("float32", 2.0), ("complex64", 2.0)):
        assert _config.dtype_tol(dt, float64=1.0, float32=2.0) == want
    assert partition._newton_tolerances(jnp.float32) == (1e-5, 1e-6)
    assert partition._newton_tolerances(jnp.float64) == (1e-12, 1e-14)
    assert sparse._default_rtol(jnp.float32) == 1e-6 and lanczos._cg_defaults(jnp.float64) == 1e-10
    assert _config.solver_tol(None, "float32", 1e-10) == 1e-5 and _config.solver_tol(None, "float64", 1e-10) == 1e-10
