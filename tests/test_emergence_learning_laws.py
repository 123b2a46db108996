"""The ``learning_laws_ensemble`` experiment on its quick form (256 students): the statistics it
reports, the per-step readings of (15) and (17), the padded-width trick, and sharding."""

import json
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from _env import subprocess_env
from nnworld_jax import Network
from nnworld_jax.batch import load_chunks
from nnworld_jax.emergence import learning_laws_ensemble as ens
from nnworld_jax.experiments import resolve_params
from nnworld_jax.learning import learn

EPS = np.finfo(np.float64).eps
SHARDED_SEEDS = 2  # the 4-device run: the first 2 seeds' 32 students (a prefix of the quick run)

# The same students on 4 virtual CPU devices, in a fresh interpreter (the device count is fixed
# before jax is imported). It starts with the fixture so that it overlaps the 1-device run.
WORKER = textwrap.dedent(f"""
    import os, sys
    os.environ["XLA_FLAGS"] += " --xla_force_host_platform_device_count=4"
    import jax
    jax.config.update("jax_enable_x64", True)
    import numpy as np
    from nnworld_jax.emergence import learning_laws_ensemble as ens
    from nnworld_jax.experiments import resolve_params
    _, params = resolve_params({{"experiment": ens.NAME, "quick": {{"n_seeds": {SHARDED_SEEDS}}}}}, quick=True)
    assert len(jax.devices()) == 4
    res = ens.train_ensemble(params)
    np.savez(sys.argv[1], **res)
    print(len(jax.devices()))
""")


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """The quick form on one device, its per-student results, and the 4-device worker's output."""
    out = tmp_path_factory.mktemp("laws") / "run"
    sharded = out.parent / "sharded.npz"
    env = subprocess_env()  # WORKER adds its 4 devices
    proc = subprocess.Popen([sys.executable, "-c", WORKER, str(sharded)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    _, params = resolve_params({"experiment": ens.NAME}, quick=True)
    summary = ens.learning_laws_ensemble(params, out, progress=False, devices=jax.devices()[:1])
    res = load_chunks(out)
    try:
        stdout, stderr = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
    return {"out": out, "params": params, "summary": summary, "res": res, "worker_rc": proc.returncode,
            "worker_stdout": stdout, "worker_stderr": stderr, "sharded": sharded}


def test_quick_form_reports_what_it_measured_and_resumes(quick):
    s, res, params = quick["summary"], quick["res"], quick["params"]
    assert s["n_students"] == 256 and res["entropy"].shape == (256, params["steps"])
    assert json.loads((quick["out"] / "summary.json").read_text())["second_law"] == s["second_law"]
    assert (quick["out"] / f"{ens.NAME}.png").stat().st_size > 0
    # The reported ensemble fraction is the mean of the per-student fractions, recomputed here
    # from the raw histories (the kernel's law_statistics is not used).
    ds = np.diff(res["entropy"], axis=1)
    assert s["second_law"]["fraction"] == pytest.approx(np.mean(ds <= 0), abs=1e-12)  # mean of means: same counts
    # Learning lowers U (10) in every run: gradient descent on U with a small step.
    assert s["average_loss_lowered_fraction"] == 1.0
    # A rerun into the same directory resumes every chunk and reports the same numbers.
    again = ens.learning_laws_ensemble(params, quick["out"], progress=False, devices=jax.devices()[:1])
    assert again["chunks_resumed"] == 1 and again["chunks_computed"] == 0
    assert again["second_law"] == s["second_law"] and again["first_law"] == s["first_law"]


def test_stderr_matches_the_spread_over_independent_subensembles(quick):
    # 8 sub-ensembles of 2 disjoint seeds each (every (β, width) cell in each). If the students of
    # different seeds are independent, the spread of the sub-ensemble means / √8 estimates the same
    # standard error as the reported std/√16 over seeds. Their ratio for normal per-seed values
    # (Monte Carlo, 2e5 draws) lies in [0.35, 1.40] with probability 0.998 and never above 1.43;
    # [0.3, 1.45] fails for the pooled binomial error (20× smaller here) or a missing √n.
    s, res, params = quick["summary"], quick["res"], quick["params"]
    n = params["n_seeds"]
    for law in ("second_law", "first_law"):
        per_seed = res[f"{law}_fraction"].reshape(n, -1).mean(axis=1)
        if np.ptp(per_seed) == 0:  # (17) never holds along learning here: no spread to compare
            assert s[law]["stderr"] == 0.0
            continue
        sub = per_seed.reshape(8, n // 8).mean(axis=1)
        ratio = (sub.std(ddof=1) / np.sqrt(8)) / s[law]["stderr"]
        assert 0.3 <= ratio <= 1.45, (law, ratio)
        assert s[law]["stderr"] > 3 * s[law]["binomial_stderr"]  # steps within a run are correlated


def test_first_law_residual_is_delta_f(quick):
    # At one T, S_x = β(U - F) (13) makes ΔU - TΔS_x - ΔF vanish up to rounding: each of U, TS_x,
    # F (magnitudes ≤ 20) carries ~1 ulp per history value, and the check combines 6 of them
    # (measured: 2.8 ulp of the largest magnitude).
    res, params = quick["res"], quick["params"]
    beta = ens.ensemble_items(params)["beta"][:, None]
    u, s, f = res["average_loss"], res["entropy"], res["free_energy"]
    resid = np.diff(u, axis=1) - np.diff(s, axis=1) / beta - np.diff(f, axis=1)
    scale = np.max(np.abs(np.stack([u, s / beta, f])))
    assert np.max(np.abs(resid)) <= 16 * EPS * scale
    # and the kernel's own (relative) reading of it agrees that it is rounding only
    assert quick["summary"]["identity_residual_max"] < 1e-6


def test_law_statistics_on_histories_where_the_answer_is_known():
    beta = 4.0
    s = jnp.linspace(3.0, 2.0, 11)  # S_x falls every step: (15) holds on every step
    f = jnp.full(11, -0.7)  # F constant: ΔU = TΔS_x exactly, (17) holds with ρ = 0
    u = f + s / beta
    out = jax.jit(lambda a, b, c: ens.law_statistics(a, b, c, beta))(s, u, f)
    assert float(out["second_law_fraction"]) == 1.0 and float(out["first_law_fraction"]) == 1.0
    assert float(jnp.max(out["rho"])) <= 4 * EPS  # |ΔU - TΔS_x| is rounding of ~0.1-sized steps
    # S_x rising on 3 of 10 steps; F moving as much as U: ρ = |ΔF|/(|ΔU| + T|ΔS_x|) = 1/2 here
    s2 = s.at[jnp.array([2, 5, 8])].add(0.5)
    u2 = 0.3 * jnp.arange(11.0)
    f2 = u2 - s2 / beta
    out = ens.law_statistics(s2, u2, f2, beta)
    ds = np.diff(np.asarray(s2))
    assert float(out["second_law_fraction"]) == pytest.approx(np.mean(ds <= 0), abs=1e-15)  # a mean of 10 floats
    rho = np.abs(np.diff(np.asarray(f2))) / (0.3 + np.abs(ds) / beta)
    np.testing.assert_allclose(np.asarray(out["rho"]), rho, rtol=1e-12)  # same formula, other order of ops
    assert float(out["first_law_fraction"]) == np.mean(rho <= 0.05)


def test_vmapped_padded_students_equal_a_loop_of_unpadded_networks(quick):
    # Three students of the quick run (seeds 0-2, β = β_min, width 2 of width_max 5), recomputed
    # one at a time with learn() on the width-2 network itself: the 3 disconnected hidden neurons
    # dropped. The padded and unpadded runs are different programs (N = 10 vs 7), so they agree to
    # the Newton tolerance of the mean state (rtol 1e-12) carried through 150 contracting gradient
    # steps (measured: 5e-12 of the largest increment; 1e-9 allows 200×); S_x, U, F differ by the
    # decoupled neurons' constants, so increments are compared.
    params, res = quick["params"], quick["res"]
    items = ens.ensemble_items(params)
    n_cells = params["n_beta"] * (params["width_max"] - params["width_min"] + 1)
    rows = [k * n_cells for k in range(3)]  # seed k, first β, first width
    assert all(items["width"][r] == 2 and items["beta"][r] == params["beta_min"] for r in rows)
    data = ens.ensemble_task(params)
    i, w, o = params["in_size"], params["width_max"], params["out_size"]
    keep = np.r_[0:i, i:i + 2, i + w:i + w + o]

    @jax.jit
    def unpadded(key, beta):
        net = ens.student_network(2, key=key, in_size=i, out_size=o, width_max=w, dtype=data.dtype)
        small = Network(net.w[keep][:, keep], net.b[keep], inputs=range(i), outputs=range(i + 2, i + 2 + o))
        _, hist = learn(small, data, beta, steps=params["steps"], optimizer=optax.sgd(params["learning_rate"]))
        return hist.thermo

    for r in rows:
        th = unpadded(jnp.asarray(items["key"][r]), jnp.asarray(items["beta"][r]))
        for name, field in (("entropy", th.entropy), ("average_loss", th.average_loss),
                            ("free_energy", th.free_energy)):
            got, want = np.diff(res[name][r]), np.diff(np.asarray(field))
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-9 * np.max(np.abs(want)), err_msg=name)
        # Each decoupled neuron is a unit eigenvalue of G: log Z (7) gains ½ log 2π - ½ log(1 + β), so
        # S_x = β(U - F) gains β/(2(1 + β)) + ½ log 2π - ½ log(1 + β), the same at every step
        # (S_x ≈ 15 carries ~2e-15 of rounding; 1e-12 allows 500×).
        b = float(items["beta"][r])
        offset = res["entropy"][r] - np.asarray(th.entropy)
        np.testing.assert_allclose(offset, 3 * (b / (2 * (1 + b)) + 0.5 * np.log(2 * np.pi) - 0.5 * np.log1p(b)),
                                   rtol=0, atol=1e-12)


@pytest.mark.slow
def test_sharded_on_four_devices_equals_one_device(quick):
    assert quick["worker_rc"] == 0, quick["worker_stderr"][-3000:]
    assert quick["worker_stdout"].strip().splitlines()[-1] == "4"
    sharded = np.load(quick["sharded"])
    n = sharded["entropy"].shape[0]
    assert n == 32
    for name in ("entropy", "average_loss", "free_energy", "grad_norm"):
        # Items are independent; only the vmapped Newton loop's extra (converged) iterations depend
        # on the batch layout (2e-16 relative per solve, test_batch.py), carried through 150
        # contracting steps. 1e-12 allows ~5000 ulp of the quantity's scale: an entry that cancels
        # to ~1e-4 of it (an entropy near 0) carries the round-off of the O(1) terms it came from.
        # Measured: bitwise equal at LLVM -O2; at -O0 (the suite's level) 1.7e-16 absolute, 1 ulp of
        # the scale, on one entropy of -1.6e-4.
        ref = quick["res"][name][:n]
        np.testing.assert_allclose(sharded[name], ref, rtol=1e-12, atol=1e-12 * np.max(np.abs(ref)), err_msg=name)
    for name in ("second_law_fraction", "first_law_fraction"):
        np.testing.assert_array_equal(sharded[name], quick["res"][name][:n])
