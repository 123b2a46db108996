"""Bad input for nnworld_jax.quantum (eqs. (34)-(36)): D, γ, μ > 0 (ħ_eff, m_eff), fields, steppers."""

import jax
import jax.numpy as jnp

from nnworld_jax import quantum as qm
from nnworld_jax.entropic import Coefficients
from nnworld_jax.grid import Grid

from ._harness import Case

G = Grid((8,))
ST = Grid((4, 8))
Q = G.axis(0)
C = Coefficients(0.125, 0.5, 1.0)  # ħ_eff = 1, m_eff = 1
P = jnp.exp(jnp.cos(Q))
F = jnp.sin(Q)
V = jnp.cos(Q)
PSI = qm.psi_from_madelung(P, F, C)
NAN_PSI = PSI.at[2].set(jnp.nan)
NEG_MASS = Coefficients(0.125, -0.7, -1.6)  # γμ/D > 0 but m_eff = 1/(2γ) < 0


def run(fn, *args, **kw):
    return lambda: jax.block_until_ready(fn(*args, **kw))


def jit_grad(scalar_fn, x):
    return lambda: jax.block_until_ready(jax.jit(jax.grad(scalar_fn))(x))


INIT, STEP = qm.split_step(V, G, C, 0.01, scheme="strang")
# fock_propagator: a grid that holds 4 oscillator levels (ħ = m = ω = 1, box ±8, k up to ≈ 6)
GF = Grid((32,), lengths=(16.0,))
VF = qm.harmonic_potential(GF, C, 1.0)
PSI_F = jnp.exp(-(GF.axis(0) - 8.0) ** 2 / 2).astype(complex)
FAR_F = jnp.exp(-(GF.axis(0) - 13.0) ** 2 / 2).astype(complex)  # five oscillator lengths off centre: outside 4 levels

CASES = [
    # effective_constants (34)
    Case("quantum.effective_constants", "gamma = -0.7, mu = -1.6 (negative mass)", run(qm.effective_constants, NEG_MASS),
         r"D > 0, gamma > 0 and mu > 0", "domain"),
    Case("quantum.effective_constants", "D = 0", run(qm.effective_constants, Coefficients(0.0, 0.5, 1.0)),
         r"D > 0", "domain"),
    Case("quantum.effective_constants", "D = nan", run(qm.effective_constants, Coefficients(jnp.nan, 0.5, 1.0)),
         r"finite D > 0", "input"),
    Case("quantum.effective_constants", "mu of shape (2,)", run(qm.effective_constants, Coefficients(0.1, 0.5, jnp.ones(2))),
         r"mu must be a scalar.*jax\.vmap", "input"),
    Case("quantum.effective_constants", "c is a float", run(qm.effective_constants, 0.5), r"c must be Coefficients",
         "input"),
    Case("quantum.effective_constants", "gamma < 0 under jit(grad)",
         jit_grad(lambda g: qm.effective_constants(Coefficients(0.125, g, -1.0)).hbar, -0.5), r"gamma > 0",
         "transform"),
    # psi_from_madelung (35)
    Case("quantum.psi_from_madelung", "negative mass (gamma, mu < 0)", run(qm.psi_from_madelung, P, F, NEG_MASS),
         r"gamma > 0 and mu > 0", "domain"),
    Case("quantum.psi_from_madelung", "negative p", run(qm.psi_from_madelung, -P, F, C), r"p must be finite and >= 0",
         "domain"),
    Case("quantum.psi_from_madelung", "NaN in F", run(qm.psi_from_madelung, P, F.at[0].set(jnp.nan), C),
         r"F contains NaN", "input"),
    Case("quantum.psi_from_madelung", "shape mismatch", run(qm.psi_from_madelung, P, F[:4], C), r"same shape", "input"),
    Case("quantum.psi_from_madelung", "complex F", run(qm.psi_from_madelung, P, F.astype(complex), C), r"must be real", "input"),
    Case("quantum.psi_from_madelung", "NaN F under jit(grad)",
         jit_grad(lambda f: jnp.sum(jnp.real(qm.psi_from_madelung(P, f, C))), F.at[0].set(jnp.nan)),
         r"F contains NaN", "transform"),
    # unwrap_phase, madelung_from_psi, wrap_phase_difference
    Case("quantum.unwrap_phase", "NaN in phase", run(qm.unwrap_phase, F.at[0].set(jnp.nan)), r"phase contains NaN",
         "input"),
    Case("quantum.unwrap_phase", "complex phase", run(qm.unwrap_phase, PSI), r"phase must be a real array", "input"),
    Case("quantum.unwrap_phase", "0-d phase", run(qm.unwrap_phase, 1.0), r"at least one axis", "input"),
    Case("quantum.madelung_from_psi", "NaN in psi", run(qm.madelung_from_psi, NAN_PSI, C), r"psi contains NaN", "input"),
    Case("quantum.madelung_from_psi", "negative mass", run(qm.madelung_from_psi, PSI, NEG_MASS), r"gamma > 0", "domain"),
    Case("quantum.madelung_from_psi", "0-d psi with unwrap", run(qm.madelung_from_psi, 1.0 + 0j, C),
         r"at least one axis", "input"),
    Case("quantum.wrap_phase_difference", "NaN in F1", run(qm.wrap_phase_difference, F.at[0].set(jnp.nan), F, C),
         r"F1 contains NaN", "input"),
    Case("quantum.wrap_phase_difference", "shape mismatch", run(qm.wrap_phase_difference, F, F[:2], C),
         r"same shape", "input"),
    Case("quantum.wrap_phase_difference", "mu = 0", run(qm.wrap_phase_difference, F, F, Coefficients(0.1, 0.5, 0.0)),
         r"mu > 0", "domain"),
    # schrodinger_density, schrodinger_hamiltonian, schrodinger_action (36)
    Case("quantum.schrodinger_density", "batched a", run(qm.schrodinger_density, jnp.ones((2, 8)), F, F, F, V, G, C),
         r"a must have shape", "input"),
    Case("quantum.schrodinger_density", "NaN in b_t", run(qm.schrodinger_density, F, F, F, F.at[0].set(jnp.nan), V, G, C),
         r"b_t contains NaN", "input"),
    Case("quantum.schrodinger_density", "complex a", run(qm.schrodinger_density, PSI, F, F, F, V, G, C),
         r"a must be real", "input"),
    Case("quantum.schrodinger_density", "negative mass", run(qm.schrodinger_density, F, F, F, F, V, G, NEG_MASS),
         r"gamma > 0", "domain"),
    Case("quantum.schrodinger_density", "NaN a_t under jit(grad) (linear in a_t)",
         jit_grad(lambda x: jnp.sum(qm.schrodinger_density(F, F, x, F, V, G, C)), F.at[0].set(jnp.nan)),
         r"a_t contains NaN", "transform"),
    Case("quantum.schrodinger_hamiltonian", "NaN in V", run(qm.schrodinger_hamiltonian, F, F, V.at[0].set(jnp.inf), G, C),
         r"V contains NaN or inf", "input"),
    Case("quantum.schrodinger_hamiltonian", "D = -1", run(qm.schrodinger_hamiltonian, F, F, V, G,
                                                          Coefficients(-1.0, 0.5, 1.0)), r"D > 0", "domain"),
    Case("quantum.schrodinger_hamiltonian", "unknown method", run(qm.schrodinger_hamiltonian, F, F, V, G, C,
                                                                  method="fd3"), r"method must be", "input"),
    Case("quantum.schrodinger_hamiltonian", "NaN V under jit(grad) (H is linear in V)",
         jit_grad(lambda v: qm.schrodinger_hamiltonian(F, F, v, G, C), V.at[0].set(jnp.nan)), r"V contains NaN",
         "transform"),
    Case("quantum.schrodinger_hamiltonian", "D < 0 under jit(vmap(grad))",
         lambda: jax.block_until_ready(jax.jit(jax.vmap(jax.grad(
             lambda d: qm.schrodinger_hamiltonian(F, F, V, G, Coefficients(d, 0.5, 1.0)))))(jnp.array([0.1, -0.1]))),
         r"D > 0", "transform"),
    Case("quantum.schrodinger_action", "a of one time slice", run(qm.schrodinger_action, F, F, V, ST, C),
         r"a must have shape \(4, 8\)", "input"),
    Case("quantum.schrodinger_action", "V of shape (3,)", run(qm.schrodinger_action, jnp.ones((4, 8)),
                                                              jnp.ones((4, 8)), jnp.ones(3), ST, C), r"V must have shape",
         "input"),
    Case("quantum.schrodinger_action", "NaN in b", run(qm.schrodinger_action, jnp.ones((4, 8)),
                                                       jnp.full((4, 8), jnp.nan), V, ST, C), r"b contains NaN", "input"),
    Case("quantum.schrodinger_action", "1-D spacetime", run(qm.schrodinger_action, F, F, V, G, C), r"time axis",
         "input"),
    # schrodinger_equations_of_motion, norm, energy
    Case("quantum.schrodinger_equations_of_motion", "batched psi",
         run(qm.schrodinger_equations_of_motion, jnp.ones((2, 8), complex), V, G, C), r"psi must have shape", "input"),
    Case("quantum.schrodinger_equations_of_motion", "NaN in psi",
         run(qm.schrodinger_equations_of_motion, NAN_PSI, V, G, C), r"psi contains NaN", "input"),
    Case("quantum.schrodinger_equations_of_motion", "negative mass",
         run(qm.schrodinger_equations_of_motion, PSI, V, G, NEG_MASS), r"gamma > 0", "domain"),
    Case("quantum.schrodinger_equations_of_motion", "NaN V under jit",
         lambda: jax.block_until_ready(jax.jit(lambda v: qm.schrodinger_equations_of_motion(PSI, v, G, C))(
             V.at[0].set(jnp.nan))), r"V contains NaN", "transform"),
    Case("quantum.norm", "batched psi", run(qm.norm, jnp.ones((2, 8)), G), r"psi must have shape", "input"),
    Case("quantum.norm", "NaN in psi", run(qm.norm, NAN_PSI, G), r"psi contains NaN", "input"),
    Case("quantum.norm", "NaN psi under jit(grad)", jit_grad(lambda x: qm.norm(x, G), F.at[0].set(jnp.nan)),
         r"psi contains NaN", "transform"),
    Case("quantum.energy", "psi = 0 (no norm)", run(qm.energy, jnp.zeros(8, complex), V, G, C),
         r"psi must not vanish", "domain"),
    Case("quantum.energy", "NaN in V", run(qm.energy, PSI, V.at[0].set(jnp.nan), G, C), r"V contains NaN", "input"),
    Case("quantum.energy", "NaN in psi", run(qm.energy, NAN_PSI, V, G, C), r"psi contains NaN", "input"),
    Case("quantum.energy", "NaN V under jit(grad) (linear in V)",
         jit_grad(lambda v: qm.energy(PSI, v, G, C), V.at[0].set(jnp.nan)), r"V contains NaN", "transform"),
    # hamiltonian_matrix, energy_levels, eigen_propagator
    Case("quantum.hamiltonian_matrix", "batched V", run(qm.hamiltonian_matrix, jnp.ones((2, 8)), G, C),
         r"V must have shape", "input"),
    Case("quantum.hamiltonian_matrix", "NaN in V", run(qm.hamiltonian_matrix, V.at[0].set(jnp.nan), G, C),
         r"V contains NaN", "input"),
    Case("quantum.hamiltonian_matrix", "negative mass", run(qm.hamiltonian_matrix, V, G, NEG_MASS), r"gamma > 0",
         "domain"),
    Case("quantum.energy_levels", "k = -2", run(qm.energy_levels, V, G, C, -2), r"k must be None or an integer",
         "domain"),
    Case("quantum.energy_levels", "k = 0", run(qm.energy_levels, V, G, C, 0), r"k must be None or an integer", "domain"),
    Case("quantum.energy_levels", "k = 2.5", run(qm.energy_levels, V, G, C, 2.5), r"k must be None or an integer",
         "input"),
    Case("quantum.energy_levels", "k above the number of levels", run(qm.energy_levels, V, G, C, 9),
         r"k must be None or an integer in \[1, 8\]", "domain"),
    Case("quantum.energy_levels", "NaN in V", run(qm.energy_levels, V.at[0].set(jnp.nan), G, C), r"V contains NaN",
         "input"),
    Case("quantum.eigen_propagator", "NaN in V", run(qm.eigen_propagator, V.at[0].set(jnp.nan), G, C),
         r"V contains NaN", "input"),
    Case("quantum.eigen_propagator", "D = 0", run(qm.eigen_propagator, V, G, Coefficients(0.0, 0.5, 1.0)), r"D > 0",
         "domain"),
    Case("quantum.eigen_propagator", "propagate NaN psi", lambda: qm.eigen_propagator(V, G, C)(NAN_PSI, 1.0),
         r"psi contains NaN", "input"),
    Case("quantum.eigen_propagator", "propagate to t = nan", lambda: qm.eigen_propagator(V, G, C)(PSI, jnp.nan),
         r"t contains NaN", "input"),
    Case("quantum.eigen_propagator", "t of shape (2,)", lambda: qm.eigen_propagator(V, G, C)(PSI, jnp.ones(2)),
         r"t must be a scalar.*jax\.vmap", "input"),
    # fock_propagator
    Case("quantum.fock_propagator", "levels = 0", run(qm.fock_propagator, VF, GF, C, 1.0, 0), r"levels must be",
         "domain"),
    Case("quantum.fock_propagator", "levels = 2.5", run(qm.fock_propagator, VF, GF, C, 1.0, 2.5), r"levels must be",
         "input"),
    Case("quantum.fock_propagator", "levels above the grid points", run(qm.fock_propagator, VF, GF, C, 1.0, 33),
         r"levels must be <= the number of grid points 32", "domain"),
    Case("quantum.fock_propagator", "too many levels for the box", run(qm.fock_propagator, VF, GF, C, 1.0, 30),
         r"levels=30.*not orthonormal on the grid \(grid: 32 points", "domain"),
    Case("quantum.fock_propagator", "omega = -1", run(qm.fock_propagator, VF, GF, C, -1.0, 4), r"omega must be > 0",
         "domain"),
    Case("quantum.fock_propagator", "omega = nan", run(qm.fock_propagator, VF, GF, C, float("nan"), 4),
         r"omega must be a concrete finite scalar", "input"),
    Case("quantum.fock_propagator", "omega of shape (2,)", run(qm.fock_propagator, VF, GF, C, jnp.ones(2), 4),
         r"omega must be a concrete finite scalar", "input"),
    Case("quantum.fock_propagator", "NaN in V", run(qm.fock_propagator, VF.at[0].set(jnp.nan), GF, C, 1.0, 4),
         r"V contains NaN", "input"),
    Case("quantum.fock_propagator", "complex V", run(qm.fock_propagator, VF.astype(complex), GF, C, 1.0, 4), r"V must be real",
         "input"),
    Case("quantum.fock_propagator", "batched V", run(qm.fock_propagator, jnp.ones((2, 32)), GF, C, 1.0, 4),
         r"V must have shape", "input"),
    Case("quantum.fock_propagator", "2-D grid", run(qm.fock_propagator, jnp.ones((4, 8)), ST, C, 1.0, 2),
         r"needs a 1-D grid, got a 2-D grid", "input"),
    Case("quantum.fock_propagator", "center with 2 entries", run(qm.fock_propagator, VF, GF, C, 1.0, 4,
                                                                 center=(1.0, 2.0)), r"center must have shape \(1,\)",
         "input"),
    Case("quantum.fock_propagator", "truncation_tol = 0", run(qm.fock_propagator, VF, GF, C, 1.0, 4,
                                                              truncation_tol=0.0), r"truncation_tol must be", "domain"),
    Case("quantum.fock_propagator", "negative mass", run(qm.fock_propagator, VF, GF, NEG_MASS, 1.0, 4), r"gamma > 0",
         "domain"),
    Case("quantum.fock_propagator", "propagate a state outside the basis",
         lambda: qm.fock_propagator(VF, GF, C, 1.0, 4).propagate(FAR_F, 1.0), r"not held by the oscillator basis",
         "domain"),
    Case("quantum.fock_propagator", "propagate NaN psi",
         lambda: qm.fock_propagator(VF, GF, C, 1.0, 4).propagate(PSI_F.at[0].set(jnp.nan), 1.0), r"psi contains NaN",
         "input"),
    Case("quantum.fock_propagator", "propagate to t = inf",
         lambda: qm.fock_propagator(VF, GF, C, 1.0, 4).propagate(PSI_F, jnp.inf), r"t contains NaN or inf", "input"),
    Case("quantum.fock_propagator", "lost_norm of batched psi",
         lambda: qm.fock_propagator(VF, GF, C, 1.0, 4).lost_norm(jnp.ones((2, 32), complex)), r"psi must have shape",
         "input"),
    Case("quantum.fock_propagator", "NaN V under jit",
         lambda: jax.block_until_ready(jax.jit(lambda v: qm.fock_propagator(v, GF, C, 1.0, 4).energies)(
             VF.at[0].set(jnp.nan))), r"V contains NaN", "transform"),
    Case("quantum.fock_propagator", "state outside the basis under jit(grad)",
         jit_grad(lambda x: jnp.sum(jnp.abs(qm.fock_propagator(VF, GF, C, 1.0, 4).propagate(x, 1.0)) ** 2),
                  jnp.real(FAR_F)), r"not held by the oscillator basis", "transform"),
    # split_step, harmonic_potential, harmonic_split_step
    Case("quantum.split_step", "unknown scheme", run(qm.split_step, V, G, C, 0.01, scheme="leapfrog"),
         r"scheme must be", "input"),
    Case("quantum.split_step", "dt = nan", run(qm.split_step, V, G, C, jnp.nan), r"dt contains NaN", "input"),
    Case("quantum.split_step", "dt of shape (2,)", run(qm.split_step, V, G, C, jnp.ones(2)), r"dt must be a scalar",
         "input"),
    Case("quantum.split_step", "NaN in V", run(qm.split_step, V.at[0].set(jnp.nan), G, C, 0.01), r"V contains NaN",
         "input"),
    Case("quantum.split_step", "negative mass", run(qm.split_step, V, G, NEG_MASS, 0.01), r"gamma > 0", "domain"),
    Case("quantum.split_step", "init with NaN psi", run(INIT, NAN_PSI), r"psi contains NaN", "input"),
    Case("quantum.split_step", "init with batched psi", run(INIT, jnp.ones((2, 8), complex)), r"psi must have shape",
         "input"),
    Case("quantum.split_step", "NaN V under jit",
         lambda: jax.block_until_ready(jax.jit(lambda v: qm.split_step(v, G, C, 0.01).step(INIT(PSI)).y)(
             V.at[0].set(jnp.nan))), r"V contains NaN", "transform"),
    Case("quantum.harmonic_potential", "omega = -1", run(qm.harmonic_potential, G, C, -1.0),
         r"omega must be finite and > 0", "domain"),
    Case("quantum.harmonic_potential", "omega of shape (2,)", run(qm.harmonic_potential, G, C, jnp.ones(2)),
         r"omega must be a scalar", "input"),
    Case("quantum.harmonic_potential", "center with 2 entries", run(qm.harmonic_potential, G, C, 1.0, (1.0, 2.0)),
         r"center must have shape \(1,\)", "input"),
    Case("quantum.harmonic_potential", "NaN center", run(qm.harmonic_potential, G, C, 1.0, (jnp.nan,)),
         r"center contains NaN", "input"),
    Case("quantum.harmonic_potential", "negative mass", run(qm.harmonic_potential, G, NEG_MASS, 1.0), r"gamma > 0",
         "domain"),
    Case("quantum.harmonic_split_step", "omega*dt = pi", run(qm.harmonic_split_step, G, C, 1.0, 3.2),
         r"0 < \|omega\*dt\| < pi", "domain"),
    Case("quantum.harmonic_split_step", "omega = nan", run(qm.harmonic_split_step, G, C, float("nan"), 0.1),
         r"omega must be a concrete finite scalar", "input"),
    Case("quantum.harmonic_split_step", "omega = -1", run(qm.harmonic_split_step, G, C, -1.0, 0.1),
         r"omega must be > 0", "domain"),
    Case("quantum.harmonic_split_step", "dt of shape (2,)", run(qm.harmonic_split_step, G, C, 1.0, jnp.ones(2)),
         r"dt must be a concrete finite scalar", "input"),
    # madelung_stepper
    Case("quantum.madelung_stepper", "negative mass", run(qm.madelung_stepper, V, G, NEG_MASS, 1e-3), r"gamma > 0",
         "domain"),
    Case("quantum.madelung_stepper", "NaN in V", run(qm.madelung_stepper, V.at[0].set(jnp.nan), G, C, 1e-3),
         r"V contains NaN", "input"),
    Case("quantum.madelung_stepper", "dt = inf", run(qm.madelung_stepper, V, G, C, jnp.inf), r"dt contains NaN or inf",
         "input"),
    Case("quantum.madelung_stepper", "init with p <= 0", lambda: qm.madelung_stepper(V, G, C, 1e-3).init((-P, F)),
         r"p must be finite and > 0", "domain"),
    Case("quantum.madelung_stepper", "init with NaN F",
         lambda: qm.madelung_stepper(V, G, C, 1e-3).init((P, F.at[0].set(jnp.nan))), r"F contains NaN", "input"),
    Case("quantum.madelung_stepper", "dt above RK4's stability bound (it is entropic_stepper's)",
         run(qm.madelung_stepper, V, G, C, 10.0), r"stability bound", "domain"),
    Case("quantum.madelung_stepper", "traced dt (the stability bound needs a number)",
         lambda: jax.jit(lambda dt: qm.madelung_stepper(V, G, C, dt).init((P, F)).y[0])(1e-3), r"dt must be a concrete",
         "transform"),
]

EXEMPT = {
    "quantum.EffectiveConstants": "a NamedTuple of results of effective_constants",
    "quantum.FockPropagator": "a NamedTuple of results of fock_propagator (its closures check their input)",
}
