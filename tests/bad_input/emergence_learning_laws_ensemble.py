"""Bad input for nnworld_jax.emergence.learning_laws_ensemble: the student, its history, the per-step
readings of the laws, the ensemble's parameters and results."""

import jax
import jax.numpy as jnp

from nnworld_jax.emergence import learning_laws_ensemble as ens
from nnworld_jax.experiments import resolve_params

from ._harness import Case, in_dir, jitted, run

MODULE = "emergence.learning_laws_ensemble"
KEY = jax.random.PRNGKey(0)
SIZES = dict(in_size=3, out_size=2, width_max=4)
HIST = dict(SIZES, steps=2, learning_rate=0.05)
DATA = jnp.zeros((4, 5))
S = jnp.linspace(3.0, 2.0, 6)
U = jnp.linspace(1.0, 0.5, 6)
F = U - S / 4.0
_, QUICK = resolve_params({"experiment": ens.NAME}, quick=True)
SMALL = {**QUICK, "n_seeds": 2, "n_beta": 1, "width_min": 2, "width_max": 2}  # 2 students
RES = {k: jnp.zeros((2, 3)) for k in ("entropy", "average_loss", "free_energy", "rho")} | {
    k: jnp.zeros(2) for k in ("second_law_fraction", "first_law_fraction", "identity_residual", "net_entropy_change")}



CASES = [
    # the student network
    Case(f"{MODULE}.student_network", "width 0", run(ens.student_network, 0, key=KEY, **SIZES), r"width must lie in \[1", "domain"),
    Case(f"{MODULE}.student_network", "width > width_max under jit",
         lambda: jax.block_until_ready(jax.jit(lambda w: ens.student_network(w, key=KEY, **SIZES).w)(5)),
         r"width must lie in \[1, width_max = 4\]", "transform"),
    Case(f"{MODULE}.student_network", "float width (never truncated)", run(ens.student_network, 2.5, key=KEY, **SIZES),
         r"width must be one integer"),
    Case(f"{MODULE}.student_network", "in_size 0", run(ens.student_network, 2, key=KEY, in_size=0, out_size=2, width_max=4),
         r"in_size must be an integer >= 1", "domain"),
    Case(f"{MODULE}.student_network", "batch of keys", run(ens.student_network, 2, key=jax.random.split(KEY, 3), **SIZES),
         r"key must be one PRNG key"),
    Case(f"{MODULE}.student_network", "integer dtype", run(ens.student_network, 2, key=KEY, **SIZES, dtype=jnp.int32),
         r"dtype must be a floating dtype"),
    # one student's learning
    Case(f"{MODULE}.student_history", "beta = 0", run(ens.student_history, DATA, 0.0, 2, key=KEY, **HIST),
         r"beta must be finite and > 0", "domain"),
    Case(f"{MODULE}.student_history", "beta = -1 under jit",
         jitted(lambda b: ens.student_history(DATA, b, 2, key=KEY, **HIST)["entropy"], -1.0),
         r"beta must be finite and > 0", "transform"),
    Case(f"{MODULE}.student_history", "batch of beta", run(ens.student_history, DATA, jnp.ones(2), 2, key=KEY, **HIST),
         r"beta must be a scalar.*jax\.vmap"),
    Case(f"{MODULE}.student_history", "NaN in data", run(ens.student_history, DATA.at[1, 2].set(jnp.nan), 1.0, 2, key=KEY, **HIST),
         r"data contains NaN or inf"),
    Case(f"{MODULE}.student_history", "data columns != in + out", run(ens.student_history, jnp.zeros((4, 4)), 1.0, 2, key=KEY, **HIST),
         r"data must have shape \(P, in_size \+ out_size = 5\)"),
    Case(f"{MODULE}.student_history", "steps = 1", run(ens.student_history, DATA, 1.0, 2, key=KEY, **{**HIST, "steps": 1}),
         r"steps must be an integer >= 2", "domain"),
    Case(f"{MODULE}.student_history", "learning_rate = 0", run(ens.student_history, DATA, 1.0, 2, key=KEY,
                                                                **{**HIST, "learning_rate": 0.0}),
         r"learning_rate must be a finite Python number > 0", "domain"),
    # the per-step readings
    Case(f"{MODULE}.law_statistics", "NaN entropy", run(ens.law_statistics, S.at[2].set(jnp.nan), U, F, 4.0),
         r"entropy contains NaN or inf"),
    Case(f"{MODULE}.law_statistics", "inf free energy under jit",
         jitted(lambda f: ens.law_statistics(S, U, f, 4.0)["rho"], F.at[0].set(jnp.inf)),
         r"free_energy contains NaN or inf", "transform"),
    Case(f"{MODULE}.law_statistics", "beta = 0 under vmap",
         lambda: jax.block_until_ready(jax.vmap(lambda b: ens.law_statistics(S, U, F, b)["rho"])(jnp.array([1.0, 0.0]))),
         r"beta must be finite and > 0", "transform"),
    Case(f"{MODULE}.law_statistics", "2-D history", run(ens.law_statistics, jnp.stack([S, S]), jnp.stack([U, U]),
                                                        jnp.stack([F, F]), 4.0),
         r"entropy must be a 1-D history.*jax\.vmap"),
    Case(f"{MODULE}.law_statistics", "one step only", run(ens.law_statistics, S[:1], U[:1], F[:1], 4.0),
         r"entropy must be a 1-D history of at least 2 steps"),
    Case(f"{MODULE}.law_statistics", "shapes differ", run(ens.law_statistics, S, U[:5], F, 4.0), r"must have one shape"),
    Case(f"{MODULE}.law_statistics", "first_law_rtol = 1", run(ens.law_statistics, S, U, F, 4.0, first_law_rtol=1.0),
         r"first_law_rtol must be a Python number in \(0, 1\)", "domain"),
    Case(f"{MODULE}.law_statistics", "string entropy", run(ens.law_statistics, "S", U, F, 4.0),
         r"entropy must be a number or an array"),
    # the ensemble's parameters, items, task and results
    Case(f"{MODULE}.ensemble_items", "n_seeds missing", run(ens.ensemble_items, {k: v for k, v in QUICK.items() if k != "n_seeds"}),
         r"missing \['n_seeds'\]", "input"),
    Case(f"{MODULE}.ensemble_task", "n_data = 0", run(ens.ensemble_task, {**QUICK, "n_data": 0}),
         r"n_data = 0: expected an integer >= 1", "domain"),
    Case(f"{MODULE}.train_ensemble", "width_min > width_max", run(ens.train_ensemble, {**QUICK, "width_min": 6}),
         r"width_min = 6 must be <= width_max = 5", "domain"),
    Case(f"{MODULE}.train_ensemble", "beta_min = 0", run(ens.train_ensemble, {**QUICK, "beta_min": 0.0}),
         r"beta_min = 0\.0: expected a finite number > 0", "domain"),
    Case(f"{MODULE}.summarize", "results of another size", run(ens.summarize, RES, QUICK),
         r"res\['entropy'\] must have 256 students"),
    Case(f"{MODULE}.summarize", "NaN in results", run(ens.summarize, {**RES, "rho": RES["rho"].at[0, 0].set(jnp.nan)}, SMALL),
         r"res\['rho'\] contains NaN or inf"),
    Case(f"{MODULE}.summarize", "not the results", run(ens.summarize, [1, 2], SMALL), r"res must be the per-student results"),
    Case(f"{MODULE}.ensemble_figure", "summary of another experiment", run(ens.ensemble_figure, {"experiment": "x"}, RES, SMALL),
         r"summary must be the dict summarize\(\) returns"),
    Case(f"{MODULE}.learning_laws_ensemble", "out_dir None", run(ens.learning_laws_ensemble, QUICK, None),
         r"out_dir must be a path", "io"),
    Case(f"{MODULE}.learning_laws_ensemble", "first_law_rtol = 0",
         in_dir(lambda d: ens.learning_laws_ensemble({**QUICK, "first_law_rtol": 0.0}, d / "o", False)),
         r"first_law_rtol = 0\.0: expected a finite number in \(0\.0, 1\.0\)", "io"),
    Case(f"{MODULE}.run_quick", "out_dir an int", run(ens.run_quick, 3), r"out_dir must be a path", "io"),
]
