"""permutation_waves (issue #16, experiment 3): the waves of the permutation network (61) against the
continuum (62)-(63) and the light-cone constraint (55)/(65), on the experiment's --quick form.

The quick run (CLI, 128 cases on rings of 4096 and 8192 neurons) is shared by the physics and
resume tests; the negative control (a wrong α) and the 4-device sharding check run their own small
batches (one compilation each).
"""

import json
import os
import subprocess
import sys
import textwrap
from fractions import Fraction
from math import comb
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from _env import subprocess_env
from nnworld_jax import cli, experiments
from nnworld_jax.batch import MANIFEST, load_chunks
from nnworld_jax.emergence import permutation_waves as pw

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "permutation_waves.toml"


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("waves")
    assert cli.main(["batch", str(EXAMPLE), "--out", str(out), "--quick", "--no-progress"]) == 0
    return out, json.loads((out / "summary.json").read_text())


def within(stat, k=3.0):
    # A fitted value agrees with its expectation within k × (statistical error over the 12 random
    # profiles + systematic error = the shift when the fit drops its last correction term): the
    # data are deterministic per profile, so the truncation of the α-expansion is the real error.
    return abs(stat["mean"] - stat["expected"]) <= k * (stat["se"] + stat["syst"])


def test_speed_matches_62_with_the_predicted_discretization_error(quick):
    out, s = quick
    assert s["cases"] == 128 and s["params"]["n_subsystems"] == 3
    # The α → ∞ speed (fit c - 1 = e0 - K2/α² + K3/α³ + K4/α⁴ per profile) is (62)'s 1.
    off = s["speed_offset"]
    assert off["n_series"] == 12 and within(off) and s["agrees_with_62"] is True
    # ... and the check has power: its tolerance (about 2e-5, the fit's truncation) resolves a
    # wrong α of 0.1 % (a speed off by 1e-3), far below the negative control's 2 %.
    assert 3 * (off["se"] + off["syst"]) < 0.5e-3
    # The fitted leading coefficient is the predicted K2 = ∫g''²/(6∫g'²) (lattice dispersion).
    assert within(s["k2_fit_over_prediction"])
    # Pointwise: (c - 1)α²/(-K2) → 1 with an O(1/α) correction, monotonically (0.68 at α = 24,
    # 0.97 at α = 384); so |ratio - 1| · α stays bounded (about 8-11 here, the 1/α coefficient).
    ratio = np.array([r["speed_error_over_k2_prediction_median"] for r in s["per_alpha"]])
    alphas = np.array([r["alpha"] for r in s["per_alpha"]])
    assert np.all(np.diff(ratio) > 0) and np.all(ratio < 1)
    scaled = (1 - ratio) * alphas
    assert scaled.max() / scaled.min() < 1.5
    # Centroid speed is exactly 1 for (61) (Poisson mean ατ sites): round-off only, float64 sums
    # of ~10⁴ terms: 1e-12.
    assert s["centroid_speed_max_dev"] < 1e-12
    # N only sets the ring length: the same (α, seed) on N = 4096 and 8192 agree to round-off.
    assert s["finite_size_max_speed_diff"] < 1e-12
    res = load_chunks(out / "n_8192")
    assert res["speed"].shape == (17 * 4, 3) and res["speed"].dtype == np.float64


def test_fitted_orders_are_the_schemes(quick):
    _, s = quick
    # Shape error: order 1, the first-order backward difference (62) (numerical diffusion (1/2α)∂²σ).
    assert within(s["shape_order"]) and s["shape_order"]["agrees"]
    # Speed error: order 2 (the dispersion sin(k/α)/(k/α) of the lattice; first-order diffusion
    # does not move the least-squares centre).
    assert within(s["speed_order"]) and s["speed_order"]["agrees"]
    # The two orders are told apart: their difference is far outside the combined errors.
    so, sh = s["speed_order"], s["shape_order"]
    assert so["mean"] - sh["mean"] > 10 * (so["se"] + so["syst"] + sh["se"] + sh["syst"])


def test_light_cone_residual(quick):
    _, s = quick
    # τ = 0: disjoint bumps, (55) holds to round-off (products of velocities, relative 1e-16).
    assert s["light_cone_initial_max"] < 1e-15
    lc = s["light_cone_rate"]
    # τ = T: (61) spreads the bumps forward; the residual falls faster than any power of 1/α: its
    # local rate -Δlog R/Δα decreases toward the Poisson large-deviation rate T h(1 + G/T) and stays
    # above it (R ≈ A α^b e^{-rα} with b < 0: local rate r - b/α).
    assert lc["predicted"] == pytest.approx(2 * (1.5 * np.log(1.5) - 0.5), rel=1e-15)
    assert lc["local_rates_decreasing"] and lc["all_local_above_predicted"]
    # At the last α above the round-off floor (about 80) the local rate is r - b/α with |b| of a
    # few units (polynomial edges of the bumps): within 25% of r.
    assert lc["predicted"] < lc["last_local_mean"] < 1.25 * lc["predicted"]
    assert all(len(r) >= 5 for r in lc["local_rates"])


def test_speed_coefficient_is_the_bump_integral():
    # Independent of the module's constant: ∫g''²/∫g'² for g = (1 - u²)⁶ by exact rational
    # polynomial integration, then K2 = ratio / (6 w²).
    coef = {2 * k: Fraction(comb(6, k)) * (-1) ** k for k in range(7)}

    def der(p):
        return {e - 1: v * e for e, v in p.items() if e > 0}

    def integral_of_square(p):
        sq = {}
        for e1, v1 in p.items():
            for e2, v2 in p.items():
                sq[e1 + e2] = sq.get(e1 + e2, 0) + v1 * v2
        return sum(v * Fraction(2, e + 1) for e, v in sq.items() if e % 2 == 0)

    ratio = integral_of_square(der(der(coef))) / integral_of_square(der(coef))
    assert float(pw.speed_coefficient(0.8)) == pytest.approx(float(ratio) / (6 * 0.64), rel=1e-15)
    # The profile itself against the polynomial, and jax.grad of it (what the speed fit uses).
    u = jnp.linspace(-0.99, 0.99, 7)
    np.testing.assert_allclose(pw.bump_profile(u), (1 - u**2) ** 6, rtol=1e-14)
    assert float(pw.bump_profile(1.0)) == 0.0 and float(jax.grad(pw.bump_profile)(0.5)) == pytest.approx(
        -12 * 0.5 * 0.75**5, rel=1e-14)


def test_wrong_alpha_is_detected(tmp_path):
    # Negative control: the same waves read with σ = i/(α(1 + ε)), ε = 0.02. The speed becomes
    # 1/1.02 and the fitted α → ∞ offset -0.0196 must be detected (it is ~10⁴ × its error).
    _, params = experiments.resolve_params({"experiment": "permutation_waves",
                                            "params": {"alpha_error": 0.02, "n_seeds": 2, "n_min": 8192,
                                                       "n_sizes": 1}}, quick=True)
    params = {**params, "n_seeds": 2, "n_min": 8192, "n_sizes": 1}
    s = pw.permutation_waves(params, tmp_path / "control", progress=False)
    off = s["speed_offset"]
    assert s["agrees_with_62"] is False and not within(off)
    assert off["mean"] == pytest.approx(1 / 1.02 - 1, rel=1e-3)  # the misread scale, to O(α⁻⁴)
    assert s["centroid_speed_max_dev"] < 1e-12  # the centroid speed is exactly 1/1.02
    assert "DISAGREES with (62)" in (tmp_path / "control" / "summary.md").read_text()


def test_resume_after_a_lost_chunk(quick, tmp_path):
    out, s = quick
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(out, run)
    before = load_chunks(run / "n_8192")
    # The state a kill leaves: the last chunk of N = 8192 neither on disk nor in the manifest.
    man = json.loads((run / "n_8192" / MANIFEST).read_text())
    last = sorted(man["chunks"])[-1]
    del man["chunks"][last]
    (run / "n_8192" / MANIFEST).write_text(json.dumps(man))
    (run / "n_8192" / last).unlink()
    (run / "summary.json").unlink()
    assert cli.main(["batch", str(EXAMPLE), "--out", str(run), "--quick", "--no-progress"]) == 0
    again = json.loads((run / "summary.json").read_text())
    assert (again["chunks_computed"], again["chunks_resumed"]) == (1, s["chunks_computed"] - 1)
    after = load_chunks(run / "n_8192")
    for k, v in before.items():
        np.testing.assert_array_equal(after[k], v)
    assert again["speed_offset"] == s["speed_offset"]


WORKER = textwrap.dedent("""
    import json, sys
    import jax
    jax.config.update("jax_enable_x64", True)
    import numpy as np
    from nnworld_jax.batch import batch_map
    from nnworld_jax.emergence.permutation_waves import wave_case
    alphas = np.repeat(np.array([24.0, 40.0, 64.0, 100.0]), 3)
    keys = np.tile(np.asarray(jax.random.split(jax.random.PRNGKey(5), 3)), (4, 1))
    batch = {"alpha": alphas, "key": keys}
    fn = lambda _, it: wave_case(it["alpha"], key=it["key"], n=2048)
    four = batch_map(fn, batch, chunk_size=2)
    one = batch_map(fn, batch, chunk_size=2, devices=jax.devices()[:1])
    print(json.dumps({"devices": len(jax.devices()), "spread": len(four["speed"].sharding.device_set),
                      "diff": {k: float(np.max(np.abs(np.asarray(four[k]) - np.asarray(one[k])))) for k in four},
                      "scale": {k: float(np.max(np.abs(np.asarray(one[k])))) for k in one}}))
""")


@pytest.mark.slow
def test_sharding_on_four_devices_equals_one_device():
    env = subprocess_env(devices=4)
    proc = subprocess.run([sys.executable, "-c", WORKER], capture_output=True, text=True, timeout=240, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert r["devices"] == 4 and r["spread"] == 4
    # Items are independent and the kernel has no data-dependent loop (fixed Newton count), so the
    # layout changes nothing but XLA's choice of vectorized code for another per-device batch
    # width: allow 1e-13 relative to each output's scale (a few ulp of sums over 2048 sites). The
    # light-cone residuals (55) are ratios to the largest Σ_d (∂_τx̄^(d))², so their terms are O(1) and
    # cancel to ~1e-4: their round-off is judged against 1, the scale of those terms (measured at
    # LLVM -O0: 1.2e-17, a tenth of an ulp of 1).
    for k, d in r["diff"].items():
        scale = max(r["scale"][k], 1.0 if k.startswith("light_cone") else 0.0, 1e-300)
        assert d <= 1e-13 * scale or d == 0.0, (k, d, r["scale"][k])
