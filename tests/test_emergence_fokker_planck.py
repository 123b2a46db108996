"""The learning_fokker_planck experiment (issue #16, exp. 1) on its --quick form.

One uninterrupted run through the CLI on 4 virtual CPU devices (a fresh interpreter, since the
device count is fixed at jax import) and one in-process run on 1 device that is interrupted after
two chunks and resumed. The checks: the replicas' histograms agree with the grid solution of (20)
within their Monte Carlo error, while a wrong drift sign or a wrong D is detected by the same
statistic; the learning part of (22) agrees; the resumed run equals the uninterrupted one; the
4-device run equals the 1-device one.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

from _env import subprocess_env
from nnworld_jax import experiments
from nnworld_jax.batch import load_chunks
from nnworld_jax.emergence import learning_fokker_planck as lfp

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "learning_fokker_planck.toml"
# Two --quick runs (4 devices in a subprocess, 1 device in process): ~55 s of one core in all.
pytestmark = pytest.mark.slow


class _Interrupt(Exception):
    pass


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("lfp")
    four, one = base / "four", base / "one"
    env = subprocess_env(devices=4)
    proc = subprocess.Popen([sys.executable, "-m", "nnworld_jax.cli", "batch", str(EXAMPLE), "--out", str(four),
                             "--quick", "--no-progress"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        _, params = experiments.resolve_params(experiments.load_config(EXAMPLE), quick=True)
        one_device = jax.devices()[:1]

        def stop_after_two(i):
            if i == 1:
                raise _Interrupt

        with pytest.raises(_Interrupt):
            lfp.learning_fokker_planck(params, one, False, devices=one_device, on_chunk=stop_after_two)
        before = {p.name: p.read_bytes() for p in one.glob("chunk_*.npz")}
        summary = lfp.learning_fokker_planck(params, one, False, devices=one_device)
        _, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-3000:]
    return {"params": params, "one": one, "four": four, "summary": summary, "before": before,
            "four_summary": json.loads((four / "summary.json").read_text())}


def test_histograms_agree_with_the_grid_solution_within_monte_carlo_error(runs):
    s = runs["summary"]
    # z = (L1 - null mean)/null sd against multinomial histograms of the grid density: under
    # agreement z is ~N(0, 1), so 3 is exceeded by chance with probability ~1e-3 per time.
    zs = [r["z"] for r in s["histogram_vs_grid"]]
    assert max(zs) < lfp.Z_AGREE, zs
    # The learning part γ⟨∇²F⟩ of (22) is a plain Monte Carlo mean: its z-score against γ∫p∇²F on
    # the grid is ~N(0, 1) at each time; 3.5 leaves a ~2e-3 chance for the 4 times together.
    assert max(abs(z) for z in s["learning_production"]["z"]) < 3.5, s["learning_production"]
    # Off the grid, the truncated interpolant differs from the kernel's F by the dropped Fourier
    # coefficients, Σ|c_k| ≤ Σ|k||c_k| (the recorded bound; every dropped |k| ≥ 1), plus the 64-grid's
    # own aliasing (modes beyond 32, ~1e-15 here): 1e-12 covers that and round-off.
    assert s["interpolation_max_error"] <= s["dropped_gradient_bound"] + 1e-12


def test_wrong_drift_sign_or_diffusion_is_detected(runs):
    # The same replicas against grid solutions of a wrong (20): F -> -F (drift down the free
    # energy) and D x 1.5. The L1 statistic that accepts the right equation (above) must reject
    # these far beyond its 3σ threshold: seen z = 201 (sign) and 15 (D x 1.5) at the last save
    # (D x 1.1 already gives z ≈ 4); 10 leaves room for another seed.
    params = runs["params"]
    setup = lfp._setup(params, np.float64)
    q = load_chunks(runs["one"])["q"]  # (n, n_saves + 1, 2)
    nb, g = params["n_bins"], params["gamma"]
    for F, D in ((-setup.F_used, params["D"]), (setup.F_used, 1.5 * params["D"])):
        sol = lfp.grid_solution(F, setup.p0, setup.grid, g, D, t_final=params["t_final"], n_frames=params["n_saves"],
                                fp_dt_max=params["fp_dt_max"])
        r = lfp.l1_test(lfp.histogram(q[:, -1], nb), lfp.bin_masses(sol["p"][-1], setup.grid, nb),
                        n_boot=params["n_boot"])
        assert r["z"] > 10, (D, r)


def test_resumed_run_equals_uninterrupted_and_four_devices_equal_one(runs):
    s, four = runs["summary"], runs["four_summary"]
    assert s["chunks_resumed"] == 2 and s["chunks_computed"] == 2
    assert four["devices"] == 4 and s["devices"] == 1 and four["chunks_computed"] == 4
    # chunk files written before the interruption were reused untouched
    for name, data in runs["before"].items():
        assert (runs["one"] / name).read_bytes() == data
    a, b = load_chunks(runs["one"]), load_chunks(runs["four"])
    for k in a:
        # Per-replica arithmetic is the same on every device layout; the vmapped Fourier sums may
        # be reduced in another order by XLA's vectorization for another batch width: 1e-12 is
        # ~1e3 ulp of q ~ 2π after ~150 steps, far below the histogram's resolution.
        np.testing.assert_allclose(a[k], b[k], rtol=0, atol=1e-12)
    for key in ("max_z_vs_grid", "fourier_modes_K"):
        assert s[key] == pytest.approx(four[key], abs=1e-9)
