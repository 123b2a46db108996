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

Experiments from network dynamics (:mod:`nnworld_jax.emergence`, one module each):

* ``learning_fokker_planck``: replicas of noisy learning of two parameters of a network, with the
  drift from its free energy (45), against the Fokker-Planck grid solution (18)-(22).
* ``learning_laws_ensemble``: the laws of learning (15)-(17) read on every step of an ensemble of
  students (seeds × β × width), with standard errors across seeds.
* ``permutation_waves``: waves on permutation networks (61) against the continuum (62)-(63), the
  discretization error's order fitted, and the light-cone residual (55)/(65).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from ._checks import as_float, check_finite, check_positive, check_square
from .batch import write_atomically, lock_run_dir, run_chunked
from .network import Network
from .partition import gauss_newton_operator, mean_state
from .thermo import free_energy_eigen, virial_average_loss
from .types import ArrayLike, FloatScalar, Key, Real, Weights

__all__ = ["EXPERIMENTS", "Experiment", "Param", "load_config", "resolve_params", "run_experiment", "sample_network",
           "spectral_norm", "check_params", "check_key", "check_static", "run_dtype",
           "free_energy_vs_beta_item", "free_energy_vs_beta"]


@dataclass(frozen=True)
class Experiment:
    """A named batch experiment: default parameters, ``--quick`` overrides, its runner and the
    domain of each parameter (:class:`Param`), against which a config is validated."""

    name: str
    description: str
    defaults: dict
    quick: dict
    run: Callable[[dict, Path, bool], dict]  # (params, out_dir, progress) -> summary
    schema: dict = dataclasses.field(default_factory=dict)  # parameter -> Param


@dataclass(frozen=True)
class Param:
    """The domain of one config parameter: its type (int, float or str), bounds, allowed values."""

    kind: type
    minimum: float | None = None  # inclusive
    maximum: float | None = None  # inclusive
    exclusive: bool = False  # bounds exclusive
    choices: tuple = ()

    def expected(self) -> str:
        if self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        what = {int: "an integer", float: "a finite number", str: "a string"}[self.kind]
        lo, hi = ("(", ")") if self.exclusive else ("[", "]")
        if self.minimum is not None and self.maximum is not None:
            return f"{what} in {lo}{self.minimum}, {self.maximum}{hi}"
        if self.minimum is not None:
            return f"{what} {'>' if self.exclusive else '>='} {self.minimum}"
        return what

    def ok(self, value) -> bool:
        if isinstance(value, bool):
            return False
        if self.kind is int and not isinstance(value, int):
            return False
        if self.kind is float and not (isinstance(value, (int, float)) and math.isfinite(value)):
            return False
        if self.kind is str and not isinstance(value, str):
            return False
        if self.choices:
            return value in self.choices
        if self.minimum is not None and (value <= self.minimum if self.exclusive else value < self.minimum):
            return False
        return not (self.maximum is not None and (value >= self.maximum if self.exclusive else value > self.maximum))


EXPERIMENTS: dict[str, Experiment] = {}
_TOP = ("experiment", "params", "quick", "description")


def _did_you_mean(word, known) -> str:
    close = difflib.get_close_matches(str(word), [str(k) for k in known], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def load_config(path) -> dict:
    """Read an experiment config: TOML (``.toml``; ``tomllib``, Python ≥ 3.11) or JSON (``.json``).

    A missing file, another suffix, a syntax error or a top level that is not a table is an error
    naming the file (the parameters are validated by :func:`resolve_params`).
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"config path must be a str or os.PathLike, got {type(path).__name__}")
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"config file {path} not found")
    if not path.is_file():
        raise IsADirectoryError(f"config file {path} is not a file")
    if path.suffix not in (".toml", ".json"):
        raise ValueError(f"config file {path} must end in .toml or .json, got {path.suffix or 'no suffix'!r}")
    if path.suffix == ".json":
        try:
            config = json.loads(path.read_bytes())
        except ValueError as e:  # JSONDecodeError and UnicodeDecodeError
            raise ValueError(f"{path} is not valid JSON: {e}") from None
    else:
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            raise RuntimeError(f"reading {path} needs tomllib (Python >= 3.11); on Python 3.10 write the "
                               "same keys as a .json config") from None
        try:
            with open(path, "rb") as fh:
                config = tomllib.load(fh)
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f"{path} is not valid TOML: {e}") from None
    if not isinstance(config, dict):
        raise ValueError(f"{path}: the top level must be a table (experiment = ..., then params and quick tables), "
                         f"got a {type(config).__name__}")
    return config


def _check_section(config: dict, section: str, exp: Experiment) -> dict:
    values = config.get(section, {})
    if not isinstance(values, dict):
        raise ValueError(f"section {section} must be a table of parameters, got {section} = {values!r}")
    for key, value in values.items():
        if key not in exp.defaults:
            raise ValueError(f"{section}.{key} = {value!r}: unknown parameter of {exp.name}"
                             f"{_did_you_mean(key, exp.defaults)}; known: {', '.join(sorted(exp.defaults))}")
        spec = exp.schema.get(key)
        if spec is not None and not spec.ok(value):
            raise ValueError(f"{section}.{key} = {value!r}: expected {spec.expected()}")
    return values


def resolve_params(config: dict, *, quick: bool = False) -> tuple[Experiment, dict]:
    """(experiment, parameters): defaults, the config's ``[params]``; with ``quick`` then the
    experiment's quick sizes and the config's ``[quick]``.

    Every key is validated, each error naming the key, the value and what was expected: unknown
    keys (with a "did you mean"), a missing or unknown ``experiment``, a section that is not a
    table, a value of the wrong type or outside its domain (:class:`Param`), and constraints
    between parameters (e.g. ``beta_min <= beta_max``) of the resolved set.
    """
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict (from load_config), got {type(config).__name__}")
    for key in config:
        if key not in _TOP:
            raise ValueError(f"unknown config key {key!r}{_did_you_mean(key, _TOP)}; expected experiment, params, "
                             "quick (and an optional description)")
    if not isinstance(config.get("description", ""), str):
        raise ValueError(f"description = {config['description']!r}: expected a string")
    if "experiment" not in config:
        raise ValueError(f"config has no 'experiment' key; known experiments: {', '.join(sorted(EXPERIMENTS))}")
    name = config["experiment"]
    if not isinstance(name, str) or name not in EXPERIMENTS:
        raise ValueError(f"experiment = {name!r} is not a known experiment{_did_you_mean(name, EXPERIMENTS)}; "
                         f"known experiments: {', '.join(sorted(EXPERIMENTS))}")
    exp = EXPERIMENTS[name]
    params = {**exp.defaults, **_check_section(config, "params", exp)}
    if quick:  # the experiment's own quick sizes, then the config's [quick]
        params.update({**exp.quick, **_check_section(config, "quick", exp)})
    else:
        _check_section(config, "quick", exp)  # a typo there is an error even without --quick
    return exp, check_params(exp, params)


def check_params(exp: Experiment, params: dict) -> dict:
    """The resolved parameters against the schema (a direct ``exp.run(params, ...)`` call is
    checked too) and the experiment's cross-parameter constraints. Every experiment's runner
    calls it first, so a parameter set that did not come from :func:`resolve_params` is held to the
    same domains."""
    if not isinstance(exp, Experiment):
        raise TypeError(f"exp must be an Experiment (from EXPERIMENTS), got {type(exp).__name__}")
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict of {exp.name}'s parameters, got {type(params).__name__}")
    missing = [k for k in exp.defaults if k not in params]
    unknown = [k for k in params if k not in exp.defaults]
    if missing or unknown:
        raise ValueError(f"params of {exp.name}: missing {missing}, unknown {unknown}; use resolve_params")
    for key, spec in exp.schema.items():
        if not spec.ok(params[key]):
            raise ValueError(f"{key} = {params[key]!r}: expected {spec.expected()}")
    if "beta_min" in params and params["beta_min"] > params["beta_max"]:
        raise ValueError(f"beta_min = {params['beta_min']!r} must be <= beta_max = {params['beta_max']!r}")
    return params


def run_experiment(config: dict, out_dir, *, quick: bool = False, progress: bool = True) -> dict:
    """Run the experiment a config names into ``out_dir`` (resuming a killed run); return its summary.

    The config is validated first (:func:`resolve_params`); the run holds the directory's lock
    (:func:`nnworld_jax.batch.lock_run_dir`) from the first chunk to the last summary file.
    """
    exp, params = resolve_params(config, quick=quick)
    if not isinstance(out_dir, (str, os.PathLike)):
        raise TypeError(f"out_dir must be a path (str or os.PathLike), got {type(out_dir).__name__}")
    with lock_run_dir(out_dir):
        return exp.run(params, Path(out_dir), progress)


# --------------------------------------------------------------------------------------------
# free_energy_vs_beta


def spectral_norm(w: Weights) -> FloatScalar:
    """‖w‖₂ = √(largest eigenvalue of wᵀw), by ``eigvalsh``.

    Not ``jnp.linalg.norm(w, 2)``: its batched SVD (LAPACK gesdd) deadlocks jax 0.9.2 on CPU when
    the program runs on several devices of one process and also holds a Newton solve and an
    ``eigvalsh`` (seen with 2 virtual devices; ``eigvalsh`` alone does not).

    ``w`` is one (N, N) matrix (integers promoted to float; batch with ``jax.vmap``); NaN/inf is
    an error, also under jit.
    """
    w = check_finite(check_square(as_float(w, "w"), "w"), "w")
    return jnp.sqrt(jnp.linalg.eigvalsh(w.T @ w)[-1])


def check_key(*, key):
    """``key`` (keyword-only, as in equinox) as one PRNG key (new-style ``jax.random.key`` or a legacy uint32[2] ``PRNGKey``);
    a batch of keys is refused with the advice to ``jax.vmap``."""
    if hasattr(key, "dtype") and jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        if key.shape != ():
            raise ValueError(f"key must be one PRNG key, got shape {key.shape}; use jax.vmap to batch")
        return key
    arr = jnp.asarray(key)
    if arr.dtype != jnp.uint32 or arr.ndim != 1:
        raise TypeError(f"key must be one PRNG key (jax.random.key or PRNGKey), got dtype {arr.dtype} "
                        f"shape {arr.shape}")
    return key


def check_static(value, name: str, ok, expected: str):
    """A Python-number parameter fixed for the whole batch (closed over, not traced): ``value`` if it
    is a real number (not a bool) with ``ok(value)`` true, else a ValueError naming ``name`` and
    what was ``expected``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not ok(value):
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return value


def sample_network(n: int, *, key: Key, sigma: float, bias: float, max_norm: float, dtype) -> Network:
    """A random tanh network of the ``free_energy_vs_beta`` ensemble (m = 0, eqs. (1)-(3)).

    w_ij ~ N(0, σ²/N), then scaled by min(1, max_norm/‖w‖₂) so that ‖w‖₂ ≤ max_norm < 1 (a
    contraction: the mean state x* = tanh(w x* + b) is unique, H* = 0 and G is the exact Hessian,
    conventions §1); b_i ~ N(0, bias²).

    Domains: n a positive integer, σ ≥ 0, bias ≥ 0, 0 < max_norm < 1 (Python numbers, fixed per
    ensemble), ``dtype`` a floating dtype, ``key`` (keyword-only, as in equinox) one PRNG key;
    anything else is a ValueError or TypeError naming the argument.
    """
    key = check_key(key=key)
    n = check_static(n, "n", lambda v: isinstance(v, (int, np.integer)) and v >= 1, "a positive integer")
    sigma = check_static(sigma, "sigma", lambda v: math.isfinite(v) and v >= 0, "finite and >= 0")
    bias = check_static(bias, "bias", lambda v: math.isfinite(v) and v >= 0, "finite and >= 0")
    max_norm = check_static(max_norm, "max_norm", lambda v: 0 < v < 1,
                             "in (0, 1) (a contraction: unique mean state)")
    if not jnp.issubdtype(jnp.dtype(dtype), jnp.floating):
        raise TypeError(f"dtype must be a floating dtype, got {jnp.dtype(dtype)}")
    k_w, k_b = jax.random.split(key)
    w = (sigma / np.sqrt(n)) * jax.random.normal(k_w, (n, n), dtype)
    w = w * jnp.minimum(jnp.ones((), dtype), max_norm / spectral_norm(w))
    b = bias * jax.random.normal(k_b, (n,), dtype)
    return Network(w, b)


def free_energy_vs_beta_item(betas: Real[ArrayLike, " K"], *, key: Key, n: int, sigma: float, bias: float,
                             max_norm: float) -> dict:
    """F (45), U (46) and S_x = β²∂F/∂β (13) of one random network on the grid ``betas``.

    The spectrum λ = eig G of eq. (8) at the mean state x* (Newton, :func:`nnworld_jax.mean_state`)
    is computed once; then for every β: F = (1/2β) Σ log(1 + βλ_i) - (N/2β) log 2π (45),
    U = Σ λ_i ∂F/∂λ_i (46) and S_x = β² ∂F/∂β (13), the derivatives by ``jax.grad``. m = 0.

    Returns: dict with ``free_energy``, ``average_loss``, ``entropy`` (each (K,)), ``spectrum``
    (N,) ascending, and ``weight_norm`` ‖w‖₂ (scalar), all in the dtype of ``betas``.

    ``betas`` is a 1-D array (integers promoted to float) with every β finite and > 0 (checked
    eagerly and under jit); ``key`` (keyword-only, as in equinox: the batch runs it with
    ``item_keyword="key"``), n, sigma, bias and max_norm as for :func:`sample_network`.
    """
    betas = as_float(betas, "betas")  # integers promoted, never the reverse
    if betas.ndim != 1 or betas.shape[0] == 0:
        raise ValueError(f"betas must be a non-empty 1-D grid of β, got shape {betas.shape}")
    betas = check_positive(betas, "betas")
    net = sample_network(n, key=key, sigma=sigma, bias=bias, max_norm=max_norm, dtype=betas.dtype)
    lam = jnp.linalg.eigvalsh(gauss_newton_operator(net, mean_state(net)))
    f = jax.vmap(free_energy_eigen, in_axes=(None, 0))(lam, betas)
    u = jax.vmap(virial_average_loss, in_axes=(None, 0))(lam, betas)
    df_dbeta = jax.vmap(jax.grad(free_energy_eigen, argnums=1), in_axes=(None, 0))(lam, betas)
    return {"free_energy": f, "average_loss": u, "entropy": betas**2 * df_dbeta, "spectrum": lam,
            "weight_norm": spectral_norm(net.w)}


def _beta_grid(params: dict, dtype) -> np.ndarray:
    return np.geomspace(params["beta_min"], params["beta_max"], params["n_beta"]).astype(dtype)


def run_dtype(params: dict):
    """The float dtype a run computes in, from ``params["precision"]`` ("float64" or "float32");
    refuses a precision that JAX cannot give (float64 before ``set_precision("float64")``), so a
    run never silently computes in float32 while recording float64."""
    if not isinstance(params, dict) or params.get("precision") not in ("float64", "float32"):
        got = params.get("precision") if isinstance(params, dict) else params
        raise ValueError(f"params['precision'] must be 'float64' or 'float32', got {got!r}")
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

    ``params`` is the full parameter set (:func:`resolve_params`), validated again here. The
    run holds ``out_dir``'s lock until the last summary file is written.
    """
    params = check_params(EXPERIMENTS["free_energy_vs_beta"], params)
    if not isinstance(out_dir, (str, os.PathLike)):
        raise TypeError(f"out_dir must be a path (str or os.PathLike), got {type(out_dir).__name__}")
    out_dir = Path(out_dir)
    with lock_run_dir(out_dir) as lock:
        return _free_energy_vs_beta(params, out_dir, progress, lock.run_id)


@functools.lru_cache(maxsize=16)
def _item_kernel(n: int, sigma: float, bias: float, max_norm: float):
    # One kernel object per configuration: batch compiles per kernel (an lru_cache keyed on it), and a
    # fresh functools.partial compares equal only to itself, so every run in a process recompiled.
    return functools.partial(free_energy_vs_beta_item, n=n, sigma=sigma, bias=bias, max_norm=max_norm)


def _free_energy_vs_beta(params: dict, out_dir: Path, progress: bool, run_id: str) -> dict:
    dtype = run_dtype(params)
    betas = _beta_grid(params, dtype)
    keys = jax.random.split(jax.random.PRNGKey(params["seed"]), params["n_networks"])
    item = _item_kernel(params["n_neurons"], params["sigma"], params["bias"], params["max_norm"])
    t0 = time.perf_counter()
    run = run_chunked(item, keys, out_dir, shared=betas, item_keyword="key", chunk_size=params["chunk_size"],
                      config={"experiment": "free_energy_vs_beta", **params}, progress=progress,
                      description="free_energy_vs_beta")
    seconds = time.perf_counter() - t0
    res = run.results
    f, u, s = res["free_energy"], res["average_loss"], res["entropy"]
    b = betas.reshape(1, -1)
    identity = float(np.max(np.abs(s - b * (u - f)) / np.maximum(1.0, np.abs(s))))

    fig = _figure(betas, res)
    write_atomically(out_dir / "free_energy_vs_beta.png", lambda fh: fig.savefig(fh, format="png", dpi=110),
                      run_id)

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
    write_atomically(out_dir / "summary.md", lambda fh: fh.write(("\n".join(lines) + "\n").encode()),
                      run_id)
    write_atomically(out_dir / "summary.json", lambda fh: fh.write(json.dumps(summary, indent=2).encode()),
                      run_id)
    return summary


EXPERIMENTS["free_energy_vs_beta"] = Experiment(
    name="free_energy_vs_beta",
    description="F (45), U (46), S_x (13) of random tanh networks vs β",
    defaults={"seed": 0, "n_networks": 10_000, "n_neurons": 16, "sigma": 0.5, "bias": 0.3, "max_norm": 0.9,
              "beta_min": 0.1, "beta_max": 100.0, "n_beta": 31, "chunk_size": 1000, "precision": "float64"},
    quick={"n_networks": 256, "n_beta": 9, "chunk_size": 128},
    run=free_energy_vs_beta,
    schema={"seed": Param(int, 0, 2**63 - 1), "n_networks": Param(int, 1), "n_neurons": Param(int, 1),
            "sigma": Param(float, 0.0), "bias": Param(float, 0.0), "max_norm": Param(float, 0.0, 1.0, exclusive=True),
            "beta_min": Param(float, 0.0, exclusive=True), "beta_max": Param(float, 0.0, exclusive=True),
            "n_beta": Param(int, 1), "chunk_size": Param(int, 1),
            "precision": Param(str, choices=("float64", "float32"))},
)


def _register_emergence() -> None:
    # Experiments from network dynamics live in nnworld_jax/emergence/, one module each; importing a
    # module registers its Experiment in EXPERIMENTS (no shared list to edit when one is added).
    import importlib
    import pkgutil

    from . import emergence

    for m in pkgutil.iter_modules(emergence.__path__):
        if not m.name.startswith("_"):
            importlib.import_module(f"{emergence.__name__}.{m.name}")


_register_emergence()
