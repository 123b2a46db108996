"""Bad input for nnworld_jax.emergence.learning_fokker_planck: the chart, F on a grid, its
interpolant and drift, the replica kernel, histograms and L1, the grid solution and the runners."""

import jax
import jax.numpy as jnp
import numpy as np

from nnworld_jax import experiments as ex
from nnworld_jax.emergence import learning_fokker_planck as lfp
from nnworld_jax.grid import Grid
from nnworld_jax.network import Network

from ._harness import Case, in_dir, jit_grad, jitted, run

MODULE = "emergence.learning_fokker_planck"
KEY = jax.random.PRNGKey(0)
BASE = ex.sample_network(3, key=KEY, sigma=0.5, bias=0.3, max_norm=0.5, dtype=jnp.float64)
CHART = lfp.make_chart(BASE, 0.3, 0.2)
G8 = Grid((8, 8))
F8 = jnp.cos(G8.mesh()[0]) + 0.5 * jnp.sin(G8.mesh()[1])
POT = lfp.fourier_potential(F8)
P8 = lfp.wrapped_gaussian(G8, jnp.array([1.0, 2.0]), 0.6)
SHARED = {"M": POT.M, "center": jnp.array([1.0, 2.0]), "width": jnp.asarray(0.3), "gamma": jnp.asarray(1.0),
          "D": jnp.asarray(0.5), "dt": jnp.asarray(0.01), "steps": np.int32(2)}
QUICK = ex.resolve_params({"experiment": lfp.NAME}, quick=True)[1]
Q = np.array([[0.1, 0.2], [3.0, 4.0]])


def shared(**kw):
    return {**SHARED, **kw}



CASES = [
    Case(f"{MODULE}.make_chart", "base not a Network", run(lfp.make_chart, "net", 0.1, 0.1), "base"),
    Case(f"{MODULE}.make_chart", "one neuron", run(lfp.make_chart, Network(jnp.zeros((1, 1)), jnp.zeros(1)), 0.1, 0.1),
         "at least 2 neurons", "domain"),
    Case(f"{MODULE}.make_chart", "negative bias_amplitude", run(lfp.make_chart, BASE, -0.1, 0.1), "bias_amplitude",
         "domain"),
    Case(f"{MODULE}.make_chart", "NaN weight_amplitude", run(lfp.make_chart, BASE, 0.1, jnp.nan), "weight_amplitude"),
    Case(f"{MODULE}.make_chart", "m != 0", run(lfp.make_chart, Network(BASE.w, BASE.b, m=0.2), 0.1, 0.1), "m = 0",
         "domain"),
    Case(f"{MODULE}.network_at", "q shape (3,)", run(lfp.network_at, CHART, jnp.zeros(3)), r"\bq\b"),
    Case(f"{MODULE}.network_at", "NaN q", run(lfp.network_at, CHART, jnp.array([0.0, jnp.nan])), r"\bq\b"),
    Case(f"{MODULE}.network_at", "inf q under jit(grad)",
         jit_grad(lambda x: lfp.network_at(CHART, jnp.array([x, 0.0])).b[0], jnp.inf), r"\bq\b", "transform"),
    Case(f"{MODULE}.network_at", "chart not a TrainableChart", run(lfp.network_at, BASE, jnp.zeros(2)), "chart"),
    Case(f"{MODULE}.free_energy_landscape", "beta = 0", run(lfp.free_energy_landscape, G8, CHART, 0.0), "beta",
         "domain"),
    Case(f"{MODULE}.free_energy_landscape", "beta = -1 under jit",
         jitted(lambda b: lfp.free_energy_landscape(G8, CHART, b), -1.0), "beta", "transform"),
    Case(f"{MODULE}.free_energy_landscape", "a 1-D grid", run(lfp.free_energy_landscape, Grid((8,)), CHART, 1.0),
         "grid"),
    Case(f"{MODULE}.free_energy_landscape", "grid not on [0, 2π)²",
         run(lfp.free_energy_landscape, Grid((8, 8), 1.0), CHART, 1.0), "grid", "domain"),
    Case(f"{MODULE}.fourier_potential", "odd grid", run(lfp.fourier_potential, jnp.zeros((7, 7))), r"\bF\b"),
    Case(f"{MODULE}.fourier_potential", "NaN in F", run(lfp.fourier_potential, F8.at[0, 0].set(jnp.nan)), r"\bF\b"),
    Case(f"{MODULE}.fourier_potential", "drift_tol = 0", run(lfp.fourier_potential, F8, drift_tol=0.0), "drift_tol",
         "domain"),
    Case(f"{MODULE}.fourier_potential", "traced F", jitted(lfp.fourier_potential, F8), r"\bF\b", "transform"),
    Case(f"{MODULE}.potential", "q shape (2, 2)", run(lfp.potential, POT, jnp.zeros((2, 2))), r"\bq\b"),
    Case(f"{MODULE}.potential", "NaN q under jit(grad)",
         jit_grad(lambda x: lfp.potential(POT, jnp.array([x, 1.0])), jnp.nan), r"\bq\b", "transform"),
    Case(f"{MODULE}.potential", "pot not a FourierPotential", run(lfp.potential, F8, jnp.zeros(2)), "pot"),
    Case(f"{MODULE}.drift", "gamma = 0", run(lfp.drift, POT, jnp.zeros(2), 0.0), "gamma", "domain"),
    Case(f"{MODULE}.drift", "gamma = -1 under jit", jitted(lambda g: lfp.drift(POT, jnp.zeros(2), g), -1.0), "gamma",
         "transform"),
    Case(f"{MODULE}.drift", "string q", run(lfp.drift, POT, "q", 1.0), r"\bq\b"),
    Case(f"{MODULE}.wrapped_gaussian", "width = 0", run(lfp.wrapped_gaussian, G8, jnp.zeros(2), 0.0), "width",
         "domain"),
    Case(f"{MODULE}.wrapped_gaussian", "center shape (3,)", run(lfp.wrapped_gaussian, G8, jnp.zeros(3), 0.5),
         "center"),
    Case(f"{MODULE}.wrapped_gaussian", "images = 0", run(lfp.wrapped_gaussian, G8, jnp.zeros(2), 0.5, images=0),
         "images", "domain"),
    Case(f"{MODULE}.replica_trajectory", "missing key 'steps'",
         run(lfp.replica_trajectory, {k: v for k, v in SHARED.items() if k != "steps"}, key=KEY, n_saves=1), "steps"),
    Case(f"{MODULE}.replica_trajectory", "D = 0", run(lfp.replica_trajectory, shared(D=jnp.asarray(0.0)), key=KEY,
                                                      n_saves=1), r"\bD\b", "domain"),
    Case(f"{MODULE}.replica_trajectory", "dt = -1 under jit",
         jitted(lambda dt: lfp.replica_trajectory(shared(dt=dt), key=KEY, n_saves=1), -1.0), r"\bdt\b", "transform"),
    Case(f"{MODULE}.replica_trajectory", "steps = 0 under jit",
         jitted(lambda s: lfp.replica_trajectory(shared(steps=s), key=KEY, n_saves=1), np.int32(0)), "steps",
         "transform"),
    Case(f"{MODULE}.replica_trajectory", "float steps", run(lfp.replica_trajectory, shared(steps=2.0), key=KEY,
                                                            n_saves=1), "steps"),
    Case(f"{MODULE}.replica_trajectory", "unknown integrator",
         run(lfp.replica_trajectory, SHARED, key=KEY, n_saves=1, integrator="rk4"), "integrator"),
    Case(f"{MODULE}.replica_trajectory", "n_saves = 0", run(lfp.replica_trajectory, SHARED, key=KEY, n_saves=0),
         "n_saves", "domain"),
    Case(f"{MODULE}.replica_trajectory", "a batch of keys", run(lfp.replica_trajectory, SHARED,
                                                                key=jax.random.split(KEY, 2), n_saves=1), "key"),
    Case(f"{MODULE}.replica_trajectory", "NaN in M", run(lfp.replica_trajectory, shared(M=POT.M.at[0, 0].set(jnp.nan)),
                                                         key=KEY, n_saves=1), r"\bM\b"),
    Case(f"{MODULE}.bin_masses", "n_bins does not divide the grid", run(lfp.bin_masses, P8, G8, 3), "n_bins",
         "domain"),
    Case(f"{MODULE}.bin_masses", "p of the wrong shape", run(lfp.bin_masses, P8[:4], G8, 4), r"\bp\b"),
    Case(f"{MODULE}.bin_masses", "NaN in p", run(lfp.bin_masses, P8.at[0, 0].set(jnp.nan), G8, 4), r"\bp\b"),
    Case(f"{MODULE}.bin_masses", "traced p", jitted(lambda p: lfp.bin_masses(p, G8, 4), P8), r"\bp\b", "transform"),
    Case(f"{MODULE}.histogram", "q shape (2, 3)", run(lfp.histogram, np.zeros((2, 3)), 4), r"\bq\b"),
    Case(f"{MODULE}.histogram", "inf in q", run(lfp.histogram, np.array([[0.0, np.inf]]), 4), r"\bq\b"),
    Case(f"{MODULE}.histogram", "n_bins = 1.5", run(lfp.histogram, Q, 1.5), "n_bins"),
    Case(f"{MODULE}.histogram", "negative weights", run(lfp.histogram, Q, 4, np.array([1.0, -1.0])), "weights",
         "domain"),
    Case(f"{MODULE}.l1_test", "shapes differ", run(lfp.l1_test, np.ones(4), np.ones(3) / 3), "same shape"),
    Case(f"{MODULE}.l1_test", "negative counts", run(lfp.l1_test, np.array([1.0, -1.0]), np.array([0.5, 0.5])),
         "counts", "domain"),
    Case(f"{MODULE}.l1_test", "NaN in P", run(lfp.l1_test, np.ones(2), np.array([0.5, np.nan])), r"\bP\b"),
    Case(f"{MODULE}.l1_test", "n_boot = 1", run(lfp.l1_test, np.ones(2), np.array([0.5, 0.5]), n_boot=1), "n_boot",
         "domain"),
    Case(f"{MODULE}.grid_solution", "t_final = 0",
         run(lfp.grid_solution, F8, P8, G8, 1.0, 0.5, t_final=0.0, n_frames=1), "t_final", "domain"),
    Case(f"{MODULE}.grid_solution", "n_frames = 0",
         run(lfp.grid_solution, F8, P8, G8, 1.0, 0.5, t_final=1.0, n_frames=0), "n_frames", "domain"),
    Case(f"{MODULE}.grid_solution", "D = 0", run(lfp.grid_solution, F8, P8, G8, 1.0, 0.0, t_final=1.0, n_frames=1),
         r"\bD\b", "domain"),
    Case(f"{MODULE}.grid_solution", "negative p0",
         run(lfp.grid_solution, F8, -P8, G8, 1.0, 0.5, t_final=1.0, n_frames=1), "p0", "domain"),
    Case(f"{MODULE}.learning_fokker_planck", "max_norm + weight_amplitude >= 1",
         in_dir(lambda d: lfp.learning_fokker_planck({**QUICK, "max_norm": 0.7, "weight_amplitude": 0.4}, d, False)),
         "weight_amplitude", "domain"),
    Case(f"{MODULE}.learning_fokker_planck", "n_bins does not divide n_grid",
         in_dir(lambda d: lfp.learning_fokker_planck({**QUICK, "n_bins": 24}, d, False)), "n_bins", "domain"),
    Case(f"{MODULE}.learning_fokker_planck", "sweep_dt not numbers",
         in_dir(lambda d: lfp.learning_fokker_planck({**QUICK, "sweep_dt": "4,x"}, d, False)), "sweep_dt"),
    Case(f"{MODULE}.learning_fokker_planck", "unknown parameter",
         in_dir(lambda d: lfp.learning_fokker_planck({**QUICK, "n_replica": 4}, d, False)), "n_replica"),
    Case(f"{MODULE}.learning_fokker_planck", "out_dir None", run(lfp.learning_fokker_planck, QUICK, None, False),
         "out_dir", "io"),
    Case(f"{MODULE}.run_quick", "unknown override", run(lfp.run_quick, n_replica=4), "n_replica"),
    Case(f"{MODULE}.run_quick", "n_replicas = 0", run(lfp.run_quick, n_replicas=0), "n_replicas", "domain"),
]

EXEMPT = {
    f"{MODULE}.TrainableChart": "a plain container; built and checked by make_chart",
    f"{MODULE}.FourierPotential": "a plain container; built and checked by fourier_potential",
}
