"""Named batch experiments, run by ``nnworld batch CONFIG.toml --out DIR [--quick]``.

A config file names an experiment and overrides its parameters; ``[quick]`` holds the overrides
``--quick`` applies on top (seconds instead of a minute)::

    experiment = "free_energy_vs_beta"
    [params]
    n_networks = 10000
    [quick]
    n_networks = 256

The resolved parameters (defaults, then ``[params]``, then ``[quick]`` with ``--quick``) are the
config recorded in the run's manifest: a killed run resumes only with the same resolved config
(:mod:`nnworld_jax.batch`). TOML needs Python ≥ 3.11 (``tomllib``); a ``.json`` file with the same
keys works on every Python.

Experiments:

* ``free_energy_vs_beta``: the distribution over random networks of the free energy F (45), the
  average loss U (46) and the entropy S_x = β²∂F/∂β (13), on a grid of β. Since S_x is computed
  from ∂F/∂β, not from U, the identity S_x = β(U - F) (conventions §1) is a check, reported in the
  summary.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from .batch import _write_atomically, run_chunked
from .network import Network
from .partition import gauss_newton_operator, mean_state
from .thermo import free_energy_eigen, virial_average_loss

__all__ = ["EXPERIMENTS", "Experiment", "load_config", "resolve_params", "run_experiment", "sample_network",
           "spectral_norm",
           "free_energy_vs_beta_item", "free_energy_vs_beta"]


@dataclass(frozen=True)
class Experiment:
    """A named batch experiment: default parameters, ``--quick`` overrides and its runner."""

    name: str
    description: str
    defaults: dict
    quick: dict
    run: Callable[[dict, Path, bool], dict]  # (params, out_dir, progress) -> summary


EXPERIMENTS: dict[str, Experiment] = {}


def load_config(path) -> dict:
    """Read an experiment config: TOML (``tomllib``, Python ≥ 3.11) or JSON (``.json``)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"config file {path} not found")
    if path.suffix == ".json":
        return json.loads(path.read_text())
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        raise RuntimeError(f"reading {path} needs tomllib (Python >= 3.11); on Python 3.10 write the "
                           "same keys as a .json config") from None
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def resolve_params(config: dict, *, quick: bool = False) -> tuple[Experiment, dict]:
    """(experiment, parameters): defaults, the config's ``[params]``; with ``quick`` then the
    experiment's quick sizes and the config's ``[quick]``."""
    unknown_top = set(config) - {"experiment", "params", "quick", "description"}
    if unknown_top:
        raise ValueError(f"unknown config keys {sorted(unknown_top)}; expected experiment, params, quick")
    name = config.get("experiment")
    if name not in EXPERIMENTS:
        raise ValueError(f"config names experiment {name!r}; known experiments: {sorted(EXPERIMENTS)}")
    exp = EXPERIMENTS[name]
    for section in ("params", "quick"):
        unknown = set(config.get(section, {})) - set(exp.defaults)
        if unknown:
            raise ValueError(f"[{section}] has unknown parameters {sorted(unknown)} for {name}; "
                             f"known: {sorted(exp.defaults)}")
    params = {**exp.defaults, **config.get("params", {})}
    if quick:  # the experiment's own quick sizes, then the config's [quick]
        params.update({**exp.quick, **config.get("quick", {})})
    return exp, params


def run_experiment(config: dict, out_dir, *, quick: bool = False, progress: bool = True) -> dict:
    """Run the experiment a config names into ``out_dir`` (resuming a killed run); return its summary."""
    exp, params = resolve_params(config, quick=quick)
    return exp.run(params, Path(out_dir), progress)


# --------------------------------------------------------------------------------------------
# free_energy_vs_beta


def spectral_norm(w: Float[Array, "N N"]) -> Float[Array, ""]:
    """‖w‖₂ = √(largest eigenvalue of wᵀw), by ``eigvalsh``.

    Not ``jnp.linalg.norm(w, 2)``: its batched SVD (LAPACK gesdd) deadlocks jax 0.9.2 on CPU when
    the program runs on several devices of one process and also holds a Newton solve and an
    ``eigvalsh`` (seen with 2 virtual devices; ``eigvalsh`` alone does not).
    """
    return jnp.sqrt(jnp.linalg.eigvalsh(w.T @ w)[-1])


def sample_network(key: PRNGKeyArray, n: int, *, sigma: float, bias: float, max_norm: float, dtype) -> Network:
    """A random tanh network of the ``free_energy_vs_beta`` ensemble (m = 0, eqs. (1)-(3)).

    w_ij ~ N(0, σ²/N), then scaled by min(1, max_norm/‖w‖₂) so that ‖w‖₂ ≤ max_norm < 1 (a
    contraction: the mean state x* = tanh(w x* + b) is unique, H* = 0 and G is the exact Hessian,
    conventions §1); b_i ~ N(0, bias²).
    """
    k_w, k_b = jax.random.split(key)
    w = (sigma / np.sqrt(n)) * jax.random.normal(k_w, (n, n), dtype)
    w = w * jnp.minimum(jnp.ones((), dtype), max_norm / spectral_norm(w))
    b = bias * jax.random.normal(k_b, (n,), dtype)
    return Network(w, b)


def free_energy_vs_beta_item(betas: Float[Array, " K"], key: PRNGKeyArray, *, n: int, sigma: float, bias: float,
                             max_norm: float) -> dict:
    """F (45), U (46) and S_x = β²∂F/∂β (13) of one random network on the grid ``betas``.

    The spectrum λ = eig G of eq. (8) at the mean state x* (Newton, :func:`nnworld_jax.mean_state`)
    is computed once; then for every β: F = (1/2β) Σ log(1 + βλ_i) - (N/2β) log 2π (45),
    U = Σ λ_i ∂F/∂λ_i (46) and S_x = β² ∂F/∂β (13), the derivatives by ``jax.grad``. m = 0.

    Returns: dict with ``free_energy``, ``average_loss``, ``entropy`` (each (K,)), ``spectrum``
    (N,) ascending, and ``weight_norm`` ‖w‖₂ (scalar), all in the dtype of ``betas``.
    """
    net = sample_network(key, n, sigma=sigma, bias=bias, max_norm=max_norm, dtype=betas.dtype)
    lam = jnp.linalg.eigvalsh(gauss_newton_operator(net, mean_state(net)))
    f = jax.vmap(free_energy_eigen, in_axes=(None, 0))(lam, betas)
    u = jax.vmap(virial_average_loss, in_axes=(None, 0))(lam, betas)
    df_dbeta = jax.vmap(jax.grad(free_energy_eigen, argnums=1), in_axes=(None, 0))(lam, betas)
    return {"free_energy": f, "average_loss": u, "entropy": betas**2 * df_dbeta, "spectrum": lam,
            "weight_norm": spectral_norm(net.w)}


def _beta_grid(params: dict, dtype) -> np.ndarray:
    return np.geomspace(params["beta_min"], params["beta_max"], params["n_beta"]).astype(dtype)


def _dtype(params: dict):
    want = np.dtype(params["precision"])
    got = jnp.zeros((), want).dtype
    if got != want:
        raise ValueError(f"precision {want} asked for but JAX gives {got}; call nnworld_jax.set_precision"
                         f"({str(want)!r}) first (the CLI does)")
    return want


QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def _figure(betas, res):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 6), layout="constrained")
    axes = fig.subplots(2, 3, sharex=True)
    panels = (("free_energy", "F, eq. (45)"), ("average_loss", "U, eq. (46)"),
              ("entropy", "S_x = β²∂F/∂β, eq. (13)"))
    for (top, bottom), (name, title) in zip(axes.T, panels):
        q = np.quantile(res[name], QUANTILES, axis=0)
        # top: the bands themselves; bottom: the same bands minus the median, where the spread
        # over networks is visible (F's common -(N/2β) log 2π term dwarfs it at small β).
        for ax, shift in ((top, 0.0), (bottom, q[2])):
            ax.fill_between(betas, q[0] - shift, q[4] - shift, alpha=0.25, color="C0", label="5-95%")
            ax.fill_between(betas, q[1] - shift, q[3] - shift, alpha=0.45, color="C0", label="25-75%")
            ax.plot(betas, q[2] - shift, color="C0", label="median")
            ax.set_xscale("log")
        top.set_title(title, fontsize=10)
        bottom.set_title(f"{title.split(',')[0]} - median", fontsize=10)
        bottom.set_xlabel("β")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(f"{res['free_energy'].shape[0]} random tanh networks, N = {res['spectrum'].shape[1]}: "
                 "quantiles over networks", fontsize=10)
    return fig


def free_energy_vs_beta(params: dict, out_dir: Path, progress: bool = True) -> dict:
    """Run ``free_energy_vs_beta``: chunked results, ``free_energy_vs_beta.png``, ``summary.md/json``.

    Per network: F (45), U (46), S_x = β²∂F/∂β (13) on a log grid of β (see
    :func:`free_energy_vs_beta_item`); summary: quantiles of each at five β values and the
    largest residual of S_x = β(U - F) (conventions §1) over the whole batch, relative to max(1, |S_x|).
    """
    dtype = _dtype(params)
    betas = _beta_grid(params, dtype)
    keys = jax.random.split(jax.random.PRNGKey(params["seed"]), params["n_networks"])
    item = functools.partial(free_energy_vs_beta_item, n=params["n_neurons"], sigma=params["sigma"],
                             bias=params["bias"], max_norm=params["max_norm"])
    t0 = time.perf_counter()
    run = run_chunked(item, keys, out_dir, shared=betas, chunk_size=params["chunk_size"],
                      config={"experiment": "free_energy_vs_beta", **params}, progress=progress,
                      description="free_energy_vs_beta")
    seconds = time.perf_counter() - t0
    res = run.results
    f, u, s = res["free_energy"], res["average_loss"], res["entropy"]
    b = betas.reshape(1, -1)
    identity = float(np.max(np.abs(s - b * (u - f)) / np.maximum(1.0, np.abs(s))))

    fig = _figure(betas, res)
    _write_atomically(out_dir / "free_energy_vs_beta.png", lambda fh: fig.savefig(fh, format="png", dpi=110))

    shown = np.unique(np.linspace(0, len(betas) - 1, 5).round().astype(int))
    table = {name: {f"{float(betas[k]):.4g}": dict(zip(("q05", "q25", "median", "q75", "q95"),
                                                      np.quantile(res[name][:, k], QUANTILES).tolist()))
                    for k in shown}
             for name in ("free_energy", "average_loss", "entropy")}
    summary = {"experiment": "free_energy_vs_beta", "params": params, "n_networks": int(f.shape[0]),
               "betas": betas.tolist(), "quantiles": table, "identity_S_eq_beta_U_minus_F_max_rel": identity,
               "spectrum_min": float(res["spectrum"].min()), "spectrum_max": float(res["spectrum"].max()),
               "weight_norm_max": float(res["weight_norm"].max()), "chunks_computed": len(run.computed),
               "chunks_resumed": len(run.skipped), "seconds": round(seconds, 2)}
    lines = [f"# free_energy_vs_beta: {f.shape[0]} random tanh networks, N = {params['n_neurons']}", "",
             f"w ~ N(0, {params['sigma']}²/N) scaled to ‖w‖₂ ≤ {params['max_norm']}, "
             f"b ~ N(0, {params['bias']}²), m = 0; {len(betas)} β values in "
             f"[{params['beta_min']}, {params['beta_max']}] (log grid). "
             f"F by eq. (45), U by eq. (46), S_x = β²∂F/∂β (13).", "",
             "| quantity | β | 5% | 25% | median | 75% | 95% |", "|---|---|---|---|---|---|---|"]
    for name in ("free_energy", "average_loss", "entropy"):
        for beta, q in table[name].items():
            lines.append(f"| {name} | {beta} | " + " | ".join(f"{q[c]:.5g}" for c in ("q05", "q25", "median", "q75",
                                                                                    "q95")) + " |")
    lines += ["", f"Identity S_x = β(U - F) (conventions §1) over all {f.size} (network, β) pairs: largest residual "
              f"{identity:.2e} (relative to max(1, |S_x|)).",
              f"Spectrum of G in [{summary['spectrum_min']:.4g}, {summary['spectrum_max']:.4g}]; "
              f"max ‖w‖₂ = {summary['weight_norm_max']:.4g}.",
              f"{len(run.computed)} chunks computed, {len(run.skipped)} resumed, {seconds:.1f} s."]
    _write_atomically(out_dir / "summary.md", lambda fh: fh.write(("\n".join(lines) + "\n").encode()))
    _write_atomically(out_dir / "summary.json", lambda fh: fh.write(json.dumps(summary, indent=2).encode()))
    return summary


EXPERIMENTS["free_energy_vs_beta"] = Experiment(
    name="free_energy_vs_beta",
    description="F (45), U (46), S_x (13) of random tanh networks vs β",
    defaults={"seed": 0, "n_networks": 10_000, "n_neurons": 16, "sigma": 0.5, "bias": 0.3, "max_norm": 0.9,
              "beta_min": 0.1, "beta_max": 100.0, "n_beta": 31, "chunk_size": 1000, "precision": "float64"},
    quick={"n_networks": 256, "n_beta": 9, "chunk_size": 128},
    run=free_energy_vs_beta,
)
