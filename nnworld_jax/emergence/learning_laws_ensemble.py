"""``learning_laws_ensemble``: the laws of learning (15)-(17) measured over an ensemble of students.

One teacher task (a random tanh teacher MLP and its noisy samples,
:func:`nnworld_jax.learning.teacher_student_task`); an ensemble of students, seeds × β × width,
each a one-hidden-layer tanh MLP turned into a §2 network (:func:`student_network`) and trained by
the paper's learning, :func:`nnworld_jax.learning.learn`: plain gradient descent on the average
loss U (10) of the data ensemble at fixed β, the data clamping the boundary neurons (the reading of
:mod:`nnworld_jax.learning`'s docstring). Along every run the history records F, U, S_x, S_0, C
before each step.

What is measured, per step t → t+1 of each student (T = 1/β fixed):

* second law (15), dS_x/dt ≤ 0: holds at a step when ΔS_x ≤ 0;
* first law (17), dU = T dS_x (= T dS_0 + T dC, with dS_0 = 0 at fixed T): at one T the two sides
  differ by ΔF exactly (S_x = β(U - F), (13)), so the law holds where the paper's premise dF = 0
  holds. The step's relative residual ρ = |ΔU - TΔS_x| / (|ΔU| + T|ΔS_x|) ∈ [0, 1] (triangle
  inequality); the law holds at a step when ρ ≤ ``first_law_rtol``. The identity
  ΔU - TΔS_x = ΔF is checked over the whole ensemble (``identity_residual_max``).

Each student's fraction of steps where a law holds is one number; the ensemble's fraction is their
mean. Students that share a seed share their initialization (common random numbers across β and
width), so the statistical error is taken across seeds: the per-seed average over the (β, width)
cells is one independent sample, stderr = std/√n_seeds. The pooled binomial error
√(p(1-p)/(steps·students)) is reported beside it: it treats the steps as independent, which they
are not, and the ratio of the two measures their correlation.

Width without recompiling: every student has ``width_max`` hidden neurons; those beyond its width
have no edges and zero bias. Such a neuron is decoupled: its mean state is tanh(0) = 0, its column
of J is a unit vector, so it adds the β-dependent constant -½ log(1 + β) to log Z (7) and nothing
to the gradient of U; learning and every increment ΔS_x, ΔU, ΔF equal those of the width-w network
(tested against the unpadded network). One program serves all widths.

Runs through :func:`nnworld_jax.batch.run_chunked` (chunked, sharded over the devices JAX sees,
resumable after a kill); writes ``learning_laws_ensemble.png``, ``summary.md`` and
``summary.json``. Config: ``examples/learning_laws_ensemble.toml``.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._checks import as_float, check, check_count, check_finite, check_positive, check_scalar
from ..batch import write_atomically, batch_map, lock_run_dir, run_chunked
from ..experiments import EXPERIMENTS, Experiment, Param, check_key, check_params, run_dtype, resolve_params
from ..learning import learn, teacher_student_task
from ..network import Network

__all__ = ["student_network", "student_history", "law_statistics", "ensemble_items", "ensemble_task",
           "train_ensemble", "summarize", "ensemble_figure", "learning_laws_ensemble", "run_quick", "NAME"]

NAME = "learning_laws_ensemble"


def student_network(width, *, key, in_size: int, out_size: int, width_max: int, dtype=None) -> Network:
    """One student: a tanh MLP ``in_size → width → out_size`` as a §2 network of eqs. (1)-(3).

    Layout of :func:`nnworld_jax.learning.network_from_mlp` (inputs, ``width_max`` hidden neurons,
    outputs; w_ij is the edge j → i; input neurons have no bias). Hidden neurons k ≥ ``width`` are
    disconnected (zero row and column of w, zero bias), so one array shape serves every width.
    Initialization as ``equinox.nn.MLP``'s: weights and biases uniform in ±1/√fan_in, the output
    layer's fan-in being ``width``.

    Arguments:
        key: one PRNG key (the student's initialization).
        width: active hidden neurons, an integer in [1, width_max] (may be traced: jit/vmap over it).
        in_size, out_size, width_max: positive Python integers (static).
        dtype: floating dtype of w and b (default: JAX's default float).

    Returns: a :class:`nnworld_jax.Network` with ``inputs`` and ``outputs`` set, m = 0.
    Bad sizes, a width outside [1, width_max] (also under jit) or a non-float dtype raise, naming
    the argument.
    """
    import equinox as eqx

    key = check_key(key=key)
    in_size = check_count(in_size, "in_size")
    out_size = check_count(out_size, "out_size")
    width_max = check_count(width_max, "width_max")
    dtype = jnp.zeros((), dtype).dtype if dtype is not None else jnp.zeros(()).dtype
    if not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(f"dtype must be a floating dtype, got {dtype}")
    width = jnp.asarray(width)
    if width.shape != () or not jnp.issubdtype(width.dtype, jnp.integer):
        raise TypeError(f"width must be one integer, got dtype {width.dtype} shape {width.shape}")
    width = eqx.error_if(width, (width < 1) | (width > width_max), f"width must lie in [1, width_max = {width_max}]")
    k1, k2, k3, k4 = jax.random.split(key, 4)
    active = (jnp.arange(width_max, dtype=width.dtype) < width).astype(dtype)
    bound_out = jnp.sqrt(1.0 / width.astype(dtype))  # 1/√fan_in of the output layer: the active width
    bound_in = 1.0 / np.sqrt(in_size)
    w1 = jax.random.uniform(k1, (width_max, in_size), dtype, -bound_in, bound_in) * active[:, None]
    b1 = jax.random.uniform(k2, (width_max,), dtype, -bound_in, bound_in) * active
    w2 = jax.random.uniform(k3, (out_size, width_max), dtype, -1.0, 1.0) * bound_out * active[None, :]
    b2 = jax.random.uniform(k4, (out_size,), dtype, -1.0, 1.0) * bound_out
    n = in_size + width_max + out_size
    hid = slice(in_size, in_size + width_max)
    w = jnp.zeros((n, n), dtype).at[hid, :in_size].set(w1).at[in_size + width_max:, hid].set(w2)
    b = jnp.zeros((n,), dtype).at[hid].set(b1).at[in_size + width_max:].set(b2)
    return Network(w, b, inputs=range(in_size), outputs=range(in_size + width_max, n))


def student_history(data, beta, width, *, key, in_size: int, out_size: int, width_max: int, steps: int,
                    learning_rate: float) -> dict:
    """The paper's learning (§3) of one student: gradient descent on U (10) at fixed β; the history.

    :func:`student_network` (key, width), then :func:`nnworld_jax.learning.learn` with
    ``optax.sgd(learning_rate)`` for ``steps`` steps on ``data`` (P, in_size + out_size), each row
    a sample clamping the boundary neurons (inputs, then outputs).

    Returns: dict of (steps,) arrays, the values *before* each step: ``entropy`` S_x (13),
    ``average_loss`` U (10), ``free_energy`` F (6), ``complexity`` C (14) (loss units for U and
    F, nats for the entropies) and ``grad_norm`` ‖∂U/∂(w, b)‖ ((11) is grad_norm = 0).

    ``beta`` must be a finite scalar > 0, ``data`` finite with the right shape (errors name the
    argument, also under jit and vmap); ``learning_rate`` > 0 and ``steps`` ≥ 2 are Python numbers.
    """
    steps = check_count(steps, "steps", 2)
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float)) or not (
            np.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(f"learning_rate must be a finite Python number > 0, got {learning_rate!r}")
    data = check_finite(as_float(data, "data"), "data")
    if data.ndim != 2 or data.shape[1] != in_size + out_size or data.shape[0] == 0:
        raise ValueError(f"data must have shape (P, in_size + out_size = {in_size + out_size}), got {data.shape}")
    beta = check_positive(check_scalar(as_float(beta, "beta", data.dtype), "beta"), "beta")
    net = student_network(width, key=key, in_size=in_size, out_size=out_size, width_max=width_max, dtype=data.dtype)
    _, hist = learn(net, data, beta, steps=steps, optimizer=optax.sgd(learning_rate))
    th = hist.thermo
    return {"entropy": th.entropy, "average_loss": th.average_loss, "free_energy": th.free_energy,
            "complexity": th.complexity, "grad_norm": hist.grad_norm}


def law_statistics(entropy, average_loss, free_energy, beta, *, first_law_rtol: float = 0.05) -> dict:
    """Per-student readings of the second law (15) and the first law (17) along one history.

    Arguments: ``entropy`` S_x, ``average_loss`` U, ``free_energy`` F, each (steps,) values of
    one run (batch with ``jax.vmap``); ``beta`` the fixed β > 0 of the run (T = 1/β);
    ``first_law_rtol`` in (0, 1), the relative residual below which (17) counts as holding.

    Per step: ΔS_x, ΔU, ΔF, and ρ = |ΔU - TΔS_x| / (|ΔU| + T|ΔS_x|) (0 where both vanish).

    Returns: dict with ``second_law_fraction`` (fraction of steps with ΔS_x ≤ 0; (15) says 1),
    ``first_law_fraction`` (fraction with ρ ≤ first_law_rtol; (17) with dF = 0 says 1),
    ``rho`` (steps - 1,), ``identity_residual`` max |ΔU - TΔS_x - ΔF| relative to
    max(|ΔU|, T|ΔS_x|, |ΔF|) over the run (zero up to rounding, by (13)), and ``net_entropy_change``
    S_x(end) - S_x(start). NaN/inf inputs are errors naming the argument, also under jit.
    """
    if isinstance(first_law_rtol, bool) or not isinstance(first_law_rtol, (int, float)) or not (
            0 < first_law_rtol < 1):
        raise ValueError(f"first_law_rtol must be a Python number in (0, 1), got {first_law_rtol!r}")
    s = check_finite(as_float(entropy, "entropy"), "entropy")
    u = check_finite(as_float(average_loss, "average_loss", s.dtype), "average_loss")
    f = check_finite(as_float(free_energy, "free_energy", s.dtype), "free_energy")
    for name, v in (("entropy", s), ("average_loss", u), ("free_energy", f)):
        if v.ndim != 1 or v.shape[0] < 2:
            raise ValueError(f"{name} must be a 1-D history of at least 2 steps, got shape {v.shape}; "
                             "use jax.vmap for a batch")
    if not (s.shape == u.shape == f.shape):
        raise ValueError(f"entropy, average_loss, free_energy must have one shape, got {s.shape}, {u.shape}, {f.shape}")
    # every output reads S_x: tie F's check to it, so that under jit a bad F raises even when only
    # ρ (which needs no F) is asked for
    s = check(s, ~jnp.isfinite(f), "free_energy contains NaN or inf")
    beta = check_positive(check_scalar(as_float(beta, "beta", s.dtype), "beta"), "beta")
    t = 1.0 / beta
    ds, du, df = jnp.diff(s), jnp.diff(u), jnp.diff(f)
    scale = jnp.abs(du) + t * jnp.abs(ds)
    rho = jnp.where(scale > 0, jnp.abs(du - t * ds) / jnp.where(scale > 0, scale, 1.0), 0.0)
    ident_scale = jnp.maximum(jnp.maximum(jnp.abs(du), t * jnp.abs(ds)), jnp.abs(df))
    ident = jnp.where(ident_scale > 0, jnp.abs(du - t * ds - df) / jnp.where(ident_scale > 0, ident_scale, 1.0), 0.0)
    return {"second_law_fraction": jnp.mean((ds <= 0).astype(s.dtype)),
            "first_law_fraction": jnp.mean((rho <= first_law_rtol).astype(s.dtype)),
            "rho": rho, "identity_residual": jnp.max(ident), "net_entropy_change": s[-1] - s[0]}


def ensemble_task(params: dict):
    """The teacher task's data (P, in + out) in the run's dtype, from ``params`` (seed, sizes, noise).

    The task of :func:`nnworld_jax.learning.teacher_student_task` (a tanh teacher with one hidden
    layer, eq. (2) for every neuron); each row clamps the boundary neurons (inputs, then outputs) of
    a student, the data of U (10). ``params`` is validated (:func:`resolve_params`'s domains).
    """
    params = _check(params)
    dtype = run_dtype(params)
    k_task = jax.random.split(jax.random.PRNGKey(params["seed"]))[0]
    task = teacher_student_task(key=k_task, in_size=params["in_size"], out_size=params["out_size"],
                                width=params["teacher_width"], depth=1, n_data=params["n_data"],
                                noise=params["noise"])
    return jnp.concatenate([task.x, task.y], axis=1).astype(dtype)


def _betas(params: dict) -> np.ndarray:
    return np.geomspace(params["beta_min"], params["beta_max"], params["n_beta"])


def _widths(params: dict) -> np.ndarray:
    return np.arange(params["width_min"], params["width_max"] + 1)


def ensemble_items(params: dict) -> dict:
    """The students of the ensemble, seeds outermost: ``key`` (n, 2) uint32, ``beta`` (n,) the fixed
    β of each run's U (10) and S_x (13), ``width`` (n,) int32.

    Student (k, β, width) gets the key ``fold_in(split(PRNGKey(seed))[1], k)``: the same
    initialization for every β and width (common random numbers), and the same students for seed
    index k whatever ``n_seeds`` is (a smaller run is a prefix of a larger one).
    """
    params = _check(params)
    dtype = run_dtype(params)
    base = jax.random.split(jax.random.PRNGKey(params["seed"]))[1]
    seeds = np.asarray(jax.vmap(lambda k: jax.random.fold_in(base, k))(jnp.arange(params["n_seeds"])))
    betas, widths = _betas(params).astype(dtype), _widths(params).astype(np.int32)
    n_b, n_w = len(betas), len(widths)
    return {"key": np.repeat(seeds, n_b * n_w, axis=0),
            "beta": np.tile(np.repeat(betas, n_w), params["n_seeds"]),
            "width": np.tile(widths, params["n_seeds"] * n_b)}


def _kernel(params: dict):
    sizes = dict(in_size=params["in_size"], out_size=params["out_size"], width_max=params["width_max"],
                 steps=params["steps"], learning_rate=params["learning_rate"])
    rtol = params["first_law_rtol"]

    def item(data, it):
        hist = student_history(data, it["beta"], it["width"], key=it["key"], **sizes)
        laws = law_statistics(hist["entropy"], hist["average_loss"], hist["free_energy"], it["beta"],
                              first_law_rtol=rtol)
        return {**hist, **laws}

    item.__name__ = item.__qualname__ = "learning_laws_ensemble_item"
    return item


def train_ensemble(params: dict, *, devices=None) -> dict:
    """Every student of ``params`` in memory (no files): learning on U (10), readings of (15) and (17).

    :func:`nnworld_jax.batch.batch_map` of the per-student kernel, sharded over ``devices``
    (default all of ``jax.devices()``).

    Same kernel and items as the batch run (:func:`student_history` then :func:`law_statistics`);
    returns its per-student results (NumPy arrays, leading axis n_seeds·n_beta·n_width, seeds
    outermost). ``params`` is the full parameter set (:func:`nnworld_jax.experiments.resolve_params`).
    """
    params = _check(params)
    out = batch_map(_kernel(params), ensemble_items(params), shared=ensemble_task(params),
                    chunk_size=params["chunk_size"], devices=devices)
    return jax.tree_util.tree_map(np.asarray, out)


_RESULT_FIELDS = ("entropy", "average_loss", "free_energy", "rho", "second_law_fraction", "first_law_fraction",
                  "identity_residual", "net_entropy_change")


def _check_results(res, params: dict) -> None:
    n = params["n_seeds"] * params["n_beta"] * (params["width_max"] - params["width_min"] + 1)
    if not isinstance(res, dict) or any(k not in res for k in _RESULT_FIELDS):
        raise ValueError(f"res must be the per-student results of train_ensemble (a dict with {', '.join(_RESULT_FIELDS)})")
    for k in _RESULT_FIELDS:
        v = np.asarray(res[k])
        if v.ndim == 0 or v.shape[0] != n:
            raise ValueError(f"res[{k!r}] must have {n} students (n_seeds × n_beta × widths) on its leading axis, "
                             f"got shape {v.shape}")
        if not np.all(np.isfinite(v)):
            raise ValueError(f"res[{k!r}] contains NaN or inf")
    if np.asarray(res["entropy"]).ndim != 2 or np.asarray(res["entropy"]).shape[1] < 2:
        raise ValueError(f"res['entropy'] must be (students, steps >= 2), got {np.asarray(res['entropy']).shape}")


def _seed_mean_se(x: np.ndarray, n_seeds: int):
    """Mean and standard error over seeds of a per-student quantity averaged over the other axes."""
    per_seed = x.reshape(n_seeds, -1).mean(axis=1)
    se = float(per_seed.std(ddof=1) / np.sqrt(n_seeds)) if n_seeds > 1 else float("nan")
    return float(per_seed.mean()), se


def summarize(res: dict, params: dict) -> dict:
    """The ensemble's readings of the second law (15) and the first law (17) from the per-student
    results of :func:`train_ensemble` (``res``; ``params`` the run's parameters).

    For each law: the mean over students of the per-student fraction of steps where it holds, its
    standard error across seeds (module docstring), the pooled binomial error, and the same per
    (β, width) cell; the first-law identity residual; confidence bands (mean ± 1.96 stderr across
    seeds) of S_x(t) - S_x(0) and of the fraction of students whose step t lowers S_x, per β.
    """
    params = _check(params)
    _check_results(res, params)
    n_s, betas, widths = params["n_seeds"], _betas(params), _widths(params)
    n_b, n_w = len(betas), len(widths)
    shape = (n_s, n_b, n_w)
    n_steps = res["entropy"].shape[1] - 1
    out = {}
    for law in ("second_law", "first_law"):
        frac = np.asarray(res[f"{law}_fraction"], float).reshape(shape)
        mean, se = _seed_mean_se(frac, n_s)
        binom = float(np.sqrt(mean * (1 - mean) / (n_steps * frac.size)))
        cells = {f"beta={b:.4g},width={w}": dict(zip(("mean", "stderr"), _seed_mean_se(frac[:, i, j], n_s)))
                 for i, b in enumerate(betas) for j, w in enumerate(widths)}
        out[law] = {"fraction": mean, "stderr": se, "binomial_stderr": binom, "per_cell": cells}
    s = np.asarray(res["entropy"], float).reshape(shape + (-1,))
    ds_cum = s - s[..., :1]
    lowered = (np.diff(s, axis=-1) <= 0).astype(float)
    bands = {}
    for i, b in enumerate(betas):
        per_seed = ds_cum[:, i].mean(axis=1)  # (seeds, steps): averaged over widths
        low = lowered[:, i].mean(axis=1)
        se = per_seed.std(axis=0, ddof=1) / np.sqrt(n_s) if n_s > 1 else np.full(per_seed.shape[1], np.nan)
        se_low = low.std(axis=0, ddof=1) / np.sqrt(n_s) if n_s > 1 else np.full(low.shape[1], np.nan)
        bands[f"{b:.4g}"] = {"entropy_change_mean": per_seed.mean(axis=0).tolist(),
                             "entropy_change_half_width": (1.96 * se).tolist(),
                             "lowered_fraction_mean": low.mean(axis=0).tolist(),
                             "lowered_fraction_half_width": (1.96 * se_low).tolist()}
    u = np.asarray(res["average_loss"], float)
    return {"experiment": NAME, "n_students": int(s.size // s.shape[-1]), "n_steps": int(n_steps),
            "betas": betas.tolist(), "widths": widths.tolist(), **out,
            "identity_residual_max": float(np.max(res["identity_residual"])),
            "rho_median": float(np.median(res["rho"])),
            "net_entropy_change_mean": float(np.mean(res["net_entropy_change"])),
            "average_loss_lowered_fraction": float(np.mean(u[:, -1] < u[:, 0])),
            "bands": bands}


def ensemble_figure(summary: dict, res: dict, params: dict):
    """The run's figure (a matplotlib ``Figure``) from :func:`summarize`'s summary and the results.

    Panels: S_x(t) - S_x(0) (13) with its 95% band across seeds per β; the fraction of students
    whose step t lowers S_x ((15) says 1), 95% band; the first-law residual ρ of (17) per step
    (median, 25-75%); the fraction of steps where each law holds per (β, width), 95% error bars.
    """
    from matplotlib.figure import Figure

    params = _check(params)
    _check_results(res, params)
    if not isinstance(summary, dict) or summary.get("experiment") != NAME or "bands" not in summary:
        raise ValueError(f"summary must be the dict summarize() returns for {NAME}")

    fig = Figure(figsize=(12, 7), layout="constrained")
    ax = fig.subplots(2, 2)
    steps = np.arange(summary["n_steps"] + 1)
    for i, (b, band) in enumerate(summary["bands"].items()):
        c = f"C{i}"
        m, h = np.asarray(band["entropy_change_mean"]), np.asarray(band["entropy_change_half_width"])
        ax[0, 0].plot(steps, m, color=c, label=f"β = {b}")
        ax[0, 0].fill_between(steps, m - h, m + h, color=c, alpha=0.3)
        m, h = np.asarray(band["lowered_fraction_mean"]), np.asarray(band["lowered_fraction_half_width"])
        ax[0, 1].plot(steps[1:], m, color=c)
        ax[0, 1].fill_between(steps[1:], m - h, m + h, color=c, alpha=0.3)
    ax[0, 0].set_title("S_x(t) - S_x(0) (13): mean, 95% band across seeds", fontsize=10)
    ax[0, 0].legend(fontsize=8)
    ax[0, 1].set_title("fraction of students with ΔS_x ≤ 0 at step t ((15): 1)", fontsize=10)
    ax[0, 1].set_ylim(-0.02, 1.02)
    rho = np.asarray(res["rho"]).reshape(params["n_seeds"], len(summary["betas"]), -1, summary["n_steps"])
    for i, b in enumerate(summary["betas"]):
        q = np.quantile(rho[:, i].reshape(-1, summary["n_steps"]), (0.25, 0.5, 0.75), axis=0)
        ax[1, 0].plot(steps[1:], q[1], color=f"C{i}")
        ax[1, 0].fill_between(steps[1:], q[0], q[2], color=f"C{i}", alpha=0.3)
    ax[1, 0].axhline(params["first_law_rtol"], color="k", ls=":", lw=1)
    ax[1, 0].set_title("first law (17): ρ = |ΔU - TΔS_x|/(|ΔU| + T|ΔS_x|), median and 25-75%", fontsize=10)
    ax[1, 0].set_xlabel("learning step")
    ax[0, 1].set_xlabel("learning step")
    for law, marker in (("second_law", "o"), ("first_law", "s")):
        cells = summary[law]["per_cell"]
        for i, b in enumerate(summary["betas"]):
            m = [cells[f"beta={b:.4g},width={w}"]["mean"] for w in summary["widths"]]
            e = [1.96 * cells[f"beta={b:.4g},width={w}"]["stderr"] for w in summary["widths"]]
            ax[1, 1].errorbar(summary["widths"], m, yerr=e, color=f"C{i}", marker=marker, capsize=3,
                              ls="-" if law == "second_law" else "--")
    ax[1, 1].set_title("fraction of steps where the law holds per (β, width): ○ (15), □ (17); 95%", fontsize=10)
    ax[1, 1].set_xlabel("student width")
    ax[1, 1].set_xticks(summary["widths"])
    ax[1, 1].set_ylim(-0.02, 1.02)
    fig.suptitle(f"{summary['n_students']} students ({params['n_seeds']} seeds × {len(summary['betas'])} β × "
                 f"{len(summary['widths'])} widths), gradient descent on U (10), {params['steps']} steps "
                 f"({summary['n_steps']} increments)",
                 fontsize=10)
    return fig


def _check(params: dict) -> dict:
    params = check_params(EXPERIMENTS[NAME], params)
    if params["width_min"] > params["width_max"]:
        raise ValueError(f"width_min = {params['width_min']!r} must be <= width_max = {params['width_max']!r}")
    return params


def _markdown(summary: dict, params: dict, seconds: float, run) -> str:
    lines = [f"# {NAME}: laws of learning over {summary['n_students']} students", "",
             f"Teacher: tanh {params['in_size']}-{params['teacher_width']}-{params['out_size']}, "
             f"{params['n_data']} samples (noise {params['noise']}). Students: {params['n_seeds']} seeds × "
             f"β ∈ {[round(b, 4) for b in summary['betas']]} × width ∈ {summary['widths']}; gradient descent "
             f"(lr {params['learning_rate']}) on U (10) for {params['steps']} steps, data clamping the boundary "
             "neurons. Per step: (15) holds when ΔS_x ≤ 0; (17) when ρ = |ΔU - TΔS_x|/(|ΔU| + T|ΔS_x|) ≤ "
             f"{params['first_law_rtol']}.", "",
             "| law | fraction of steps where it holds | stderr (across seeds) | binomial stderr (steps independent) |",
             "|---|---|---|---|"]
    for law, label in (("second_law", "second (15)"), ("first_law", "first (17)")):
        r = summary[law]
        lines.append(f"| {label} | {r['fraction']:.4f} | {r['stderr']:.4f} | {r['binomial_stderr']:.4f} |")
    lines += ["", "| β | width | (15) fraction | ± | (17) fraction | ± |", "|---|---|---|---|---|---|"]
    for b in summary["betas"]:
        for w in summary["widths"]:
            k = f"beta={b:.4g},width={w}"
            s2, s1 = summary["second_law"]["per_cell"][k], summary["first_law"]["per_cell"][k]
            lines.append(f"| {b:.4g} | {w} | {s2['mean']:.4f} | {s2['stderr']:.4f} | {s1['mean']:.4f} | "
                         f"{s1['stderr']:.4f} |")
    lines += ["", f"Identity ΔU - TΔS_x = ΔF (13), largest relative residual over all steps: "
                  f"{summary['identity_residual_max']:.2e}. Median ρ {summary['rho_median']:.3g}. "
                  f"Mean S_x(end) - S_x(start) {summary['net_entropy_change_mean']:.4g}; U lowered in "
                  f"{summary['average_loss_lowered_fraction']:.3f} of the runs.",
              f"{len(run.computed)} chunks computed, {len(run.skipped)} resumed, {seconds:.1f} s."]
    return "\n".join(lines) + "\n"


def learning_laws_ensemble(params: dict, out_dir, progress: bool = True, *, devices=None) -> dict:
    """Run ``learning_laws_ensemble``: chunked results, ``learning_laws_ensemble.png``, ``summary.md/json``.

    Every student (:func:`ensemble_items`) learns by gradient descent on U (10) at fixed β
    (:func:`student_history`); the laws (15) and (17) are read per step (:func:`law_statistics`)
    and summarized over the ensemble (:func:`summarize`). ``params`` is the full parameter set
    (:func:`nnworld_jax.experiments.resolve_params`), validated again here; ``devices`` (default
    all of ``jax.devices()``) are where the batch is sharded. The run holds ``out_dir``'s lock until
    the last summary file is written and resumes a killed run from its finished chunks.
    """
    params = _check(params)
    if not isinstance(out_dir, (str, os.PathLike)):
        raise TypeError(f"out_dir must be a path (str or os.PathLike), got {type(out_dir).__name__}")
    out_dir = Path(out_dir)
    with lock_run_dir(out_dir) as lock:
        t0 = time.perf_counter()
        run = run_chunked(_kernel(params), ensemble_items(params), out_dir, shared=ensemble_task(params),
                          chunk_size=params["chunk_size"], config={"experiment": NAME, **params},
                          progress=progress, description=NAME, devices=devices)
        seconds = time.perf_counter() - t0
        res = run.results
        summary = {**summarize(res, params), "params": params, "chunks_computed": len(run.computed),
                   "chunks_resumed": len(run.skipped), "seconds": round(seconds, 2)}
        fig = ensemble_figure(summary, res, params)
        write_atomically(out_dir / f"{NAME}.png", lambda fh: fig.savefig(fh, format="png", dpi=110), lock.run_id)
        md = _markdown(summary, params, seconds, run)
        write_atomically(out_dir / "summary.md", lambda fh: fh.write(md.encode()), lock.run_id)
        write_atomically(out_dir / "summary.json",
                          lambda fh: fh.write(json.dumps(summary, indent=2).encode()), lock.run_id)
    return summary


def run_quick(out_dir=None, *, progress: bool = False) -> dict:
    """The quick form (``nnworld batch examples/learning_laws_ensemble.toml --quick``) of the laws of
    learning (15)-(17) over 256 students; returns its summary (:func:`summarize`).

    Defaults overridden by the experiment's quick sizes; results and figure go to ``out_dir``
    (default: a new temporary directory, named in the summary's ``out_dir``). Needs float64
    enabled (``nnworld_jax.set_precision("float64")``), as the sign of ΔS_x late in a run is below
    float32's resolution.
    """
    _, params = resolve_params({"experiment": NAME}, quick=True)
    if out_dir is None:
        out_dir = tempfile.mkdtemp(prefix=f"nnworld-{NAME}-")
    if not isinstance(out_dir, (str, os.PathLike)):
        raise TypeError(f"out_dir must be a path (str or os.PathLike) or None, got {type(out_dir).__name__}")
    return {**learning_laws_ensemble(params, out_dir, progress), "out_dir": str(out_dir)}


EXPERIMENTS[NAME] = Experiment(
    name=NAME,
    description="laws of learning (15)-(17) over an ensemble of students (seeds × β × width)",
    defaults={"seed": 0, "n_seeds": 128, "beta_min": 3.0, "beta_max": 30.0, "n_beta": 4, "width_min": 2,
              "width_max": 5, "in_size": 3, "out_size": 2, "teacher_width": 4, "n_data": 32, "noise": 0.01,
              "steps": 400, "learning_rate": 0.05, "first_law_rtol": 0.05, "chunk_size": 512,
              "precision": "float64"},
    quick={"n_seeds": 16, "n_data": 16, "steps": 150, "chunk_size": 256},
    run=learning_laws_ensemble,
    schema={"seed": Param(int, 0, 2**31 - 1), "n_seeds": Param(int, 2), "beta_min": Param(float, 0.0, exclusive=True),
            "beta_max": Param(float, 0.0, exclusive=True), "n_beta": Param(int, 1), "width_min": Param(int, 1),
            "width_max": Param(int, 1), "in_size": Param(int, 1), "out_size": Param(int, 1),
            "teacher_width": Param(int, 1), "n_data": Param(int, 1), "noise": Param(float, 0.0),
            "steps": Param(int, 2), "learning_rate": Param(float, 0.0, exclusive=True),
            "first_law_rtol": Param(float, 0.0, 1.0, exclusive=True), "chunk_size": Param(int, 1),
            "precision": Param(str, choices=("float64", "float32"))},
)
