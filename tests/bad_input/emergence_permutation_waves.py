"""Bad input for nnworld_jax.emergence.permutation_waves: the case kernel, its profile, the fits and
the experiment's runners."""

import jax
import jax.numpy as jnp
import numpy as np

from nnworld_jax import experiments as ex
from nnworld_jax.emergence import permutation_waves as pw

from ._harness import Case, in_dir, jit_grad, jitted, run

MODULE = "emergence.permutation_waves"
KEY = jax.random.PRNGKey(0)
A = np.geomspace(24.0, 384.0, 6)
QUICK = ex.resolve_params({"experiment": "permutation_waves"}, quick=True)[1]



CASES = [
    Case("emergence.permutation_waves.bump_profile", "NaN u", run(pw.bump_profile, jnp.array([0.0, jnp.nan])), r"\bu\b"),
    Case("emergence.permutation_waves.bump_profile", "string u", run(pw.bump_profile, "0.5"), r"\bu\b"),
    Case("emergence.permutation_waves.bump_profile", "inf u under jit(grad)", jit_grad(pw.bump_profile, jnp.inf),
         r"\bu\b", "transform"),
    Case("emergence.permutation_waves.speed_coefficient", "width = 0", run(pw.speed_coefficient, 0.0), "width", "domain"),
    Case("emergence.permutation_waves.speed_coefficient", "width = -1 under jit", jitted(pw.speed_coefficient, -1.0),
         "width", "transform"),
    Case("emergence.permutation_waves.light_cone_rate", "travel = 0", run(pw.light_cone_rate, 0.0, 1.0), "travel", "domain"),
    Case("emergence.permutation_waves.light_cone_rate", "gap = NaN", run(pw.light_cone_rate, 2.0, float("nan")), "gap",
         "domain"),
    Case("emergence.permutation_waves.light_cone_rate", "gap as array", run(pw.light_cone_rate, 2.0, np.ones(2)), "gap"),
    Case("emergence.permutation_waves.ring_length", "n_subsystems = 0", run(pw.ring_length, 0, 1.0, 0.2, 1.0, 2.0),
         "n_subsystems", "domain"),
    Case("emergence.permutation_waves.ring_length", "width_jitter = 1", run(pw.ring_length, 3, 1.0, 1.0, 1.0, 2.0),
         "width_jitter", "domain"),
    Case("emergence.permutation_waves.ring_length", "n_subsystems = 2.5", run(pw.ring_length, 2.5, 1.0, 0.2, 1.0, 2.0),
         "n_subsystems"),
    Case("emergence.permutation_waves.wave_case", "alpha = 0", run(pw.wave_case, 0.0, key=KEY, n=2048), "alpha", "domain"),
    Case("emergence.permutation_waves.wave_case", "alpha = NaN under jit",
         jitted(lambda a: pw.wave_case(a, key=KEY, n=2048), jnp.nan), "alpha", "transform"),
    Case("emergence.permutation_waves.wave_case", "alpha too large for the ring under jit",
         jitted(lambda a: pw.wave_case(a, key=KEY, n=2048), 400.0), r"alpha too large.*ring_length", "transform"),
    Case("emergence.permutation_waves.wave_case", "batched alpha", run(pw.wave_case, jnp.ones(2) * 24.0, key=KEY, n=2048),
         r"alpha must be a scalar.*vmap"),
    Case("emergence.permutation_waves.wave_case", "float n", run(pw.wave_case, 24.0, key=KEY, n=2048.0), r"\bn\b"),
    Case("emergence.permutation_waves.wave_case", "n = 4", run(pw.wave_case, 24.0, key=KEY, n=4), r"\bn\b", "domain"),
    Case("emergence.permutation_waves.wave_case", "batched key",
         run(pw.wave_case, 24.0, key=jax.random.split(KEY, 2), n=2048), "key"),
    Case("emergence.permutation_waves.wave_case", "alpha_error = -0.5",
         run(pw.wave_case, 24.0, key=KEY, n=2048, alpha_error=-0.5), "alpha_error", "domain"),
    Case("emergence.permutation_waves.wave_case", "gap = 0", run(pw.wave_case, 24.0, key=KEY, n=2048, gap=0.0), "gap",
         "domain"),
    Case("emergence.permutation_waves.fit_order", "3 points", run(pw.fit_order, A[:3], A[:3] ** -2.0), "at least"),
    Case("emergence.permutation_waves.fit_order", "zero error", run(pw.fit_order, A, np.zeros(6)), r"errors must be > 0",
         "domain"),
    Case("emergence.permutation_waves.fit_order", "lengths differ", run(pw.fit_order, A, A[:5]), "same length"),
    Case("emergence.permutation_waves.fit_order", "NaN error", run(pw.fit_order, A, np.full(6, np.nan)), "errors"),
    Case("emergence.permutation_waves.fit_order", "corrections = -1", run(pw.fit_order, A, A**-2.0, -1), "corrections",
         "domain"),
    Case("emergence.permutation_waves.fit_speed_offset", "negative alpha", run(pw.fit_speed_offset, -A, np.ones(6)),
         "alphas", "domain"),
    Case("emergence.permutation_waves.fit_speed_offset", "inf speed",
         run(pw.fit_speed_offset, A, np.array([1.0] * 5 + [np.inf])), "speeds"),
    Case("emergence.permutation_waves.fit_speed_offset", "order_max = 1", run(pw.fit_speed_offset, A, np.ones(6), 1),
         "order_max", "domain"),
    Case("emergence.permutation_waves.fit_speed_offset", "too few points for order_max",
         run(pw.fit_speed_offset, A[:4], np.ones(4), 4), "at least"),
    Case("emergence.permutation_waves.local_decay_rates", "decreasing alphas",
         run(pw.local_decay_rates, A[::-1], np.exp(-A)), "strictly increasing"),
    Case("emergence.permutation_waves.local_decay_rates", "zero residual", run(pw.local_decay_rates, A, np.zeros(6)),
         r"residuals must be > 0", "domain"),
    Case("emergence.permutation_waves.local_decay_rates", "2-D residuals",
         run(pw.local_decay_rates, A, np.ones((6, 1))), "residuals"),
    Case("emergence.permutation_waves.permutation_waves", "alpha_min > alpha_max",
         in_dir(lambda d: pw.permutation_waves({**QUICK, "alpha_min": 500.0}, d, False)), r"alpha_min.*alpha_max",
         "domain"),
    Case("emergence.permutation_waves.permutation_waves", "no ring holds a case",
         in_dir(lambda d: pw.permutation_waves({**QUICK, "n_max": 64, "n_min": 64}, d, False)), "no case fits",
         "domain"),
    Case("emergence.permutation_waves.permutation_waves", "unknown parameter",
         in_dir(lambda d: pw.permutation_waves({**QUICK, "alpha": 3.0}, d, False)), "unknown"),
    Case("emergence.permutation_waves.permutation_waves", "n_seeds = 1 (no error bars)",
         in_dir(lambda d: pw.permutation_waves({**QUICK, "n_seeds": 1}, d, False)), "n_seeds", "domain"),
    Case("emergence.permutation_waves.permutation_waves", "out_dir = 3", run(pw.permutation_waves, QUICK, 3, False),
         "out_dir"),
    Case("emergence.permutation_waves.run_quick", "out_dir = 3", run(pw.run_quick, 3), "out_dir"),
    Case("emergence.permutation_waves.run_quick", "out_dir is a file",
         in_dir(lambda d: (d / "f").write_text("x") and pw.run_quick(d / "f")), r"not a directory", "io"),
]
