"""Permutation-network waves at scale: the wave speed (62)-(63) and the light-cone residual (55)/(65)
of the network equation (61), over α, N and random profiles, against the continuum limit.

The experiment ``permutation_waves`` (``nnworld batch examples/permutation_waves.toml``). One case is
(α, N, seed): D subsystems (paper §7, D = 3 by default) live on one ring of N neurons, the single
cycle π of (60), and each evolves by the linear rate equation (58) with w = π, i.e. (61),

    ∂_τx̄_i^(d) = α (x̄_{i-1}^(d) - x̄_i^(d)),

solved exactly (:func:`nnworld_jax.hidden.poisson_shift_exact`: the Poisson-distributed shift,
conventions §5). With σ = i/α, (62) makes the right-hand side -∂_σx̄ by a first-order backward
difference of spacing h = 1/α, and the continuum limit (63) is a rigid right-moving wave of unit
speed. Each subsystem starts as a compact C⁵ bump g(σ) = a (1 - u²)⁶, u = (σ - c)/w, |u| < 1 (w, a and
the position drawn from the seed; the D bumps sit one after another with edge gaps G), so the
subsystems are disjoint, the premise of (54)-(55).

Measured at τ = T, per case:

* the wave speed: the c that best fits x̄(T) by the translated initial profile g(σ - cT) (least
  squares, Newton steps with ``jax.grad``). (62) predicts c = 1. On the lattice, the Fourier mode k
  of (61) has phase speed sin(k/α)/(k/α) and decays like exp(-τk²/2α): the leading error of the
  scheme is dissipative (order 1, the numerical diffusion (1/2α)∂²_σ of the first-order difference
  (62)) and the speed error is dispersive, of order 2: c = 1 - K₂/α² + O(α⁻³) with
  K₂ = ∫g''² / (6∫g'²) = 115/(36 w²) for this bump (derived by expanding the fit in the Poisson
  cumulants, all equal to ατ in sites; :func:`speed_coefficient`);
* the shape error max|x̄(T) - g(σ - T)| / max g, order 1 (the diffusion (T/2α)g'');
* the centroid speed (Σ i x_i / Σ x_i in σ units per τ), exactly 1 for (61) (the Poisson mean is
  ατ sites): an identity check;
* the light-cone residual (55) = (65): max_i |η_μν ∂_τx̄_i^μ ∂_τx̄_i^ν| / max_i Σ_d (∂_τx̄_i^(d))², the
  velocities from (53) with (57) (``hidden.light_cone_residual``), x̄^(0) = Σ_d x̄^(d) (51). On the
  lattice (63) holds exactly with (62), so ∂_{ξ-}x̄ = ½(∂_τ - ∂_σ)x̄ = ∂_τx̄ and (65) is (55). At τ = 0
  it is exactly 0 (disjoint supports); the continuum translation keeps it 0, and so does the
  discrete map x̄(t+1) = πx̄(t) (an exact shift). The rate equation (61) spreads every bump forward
  by a Poisson kernel, so the bump behind reaches the one ahead across the gap G: the residual is
  non-zero but falls faster than any power of 1/α, like exp(-r α) with the Poisson large-deviation
  rate r = T h(1 + G/T), h(ρ) = ρ log ρ - ρ + 1 (:func:`light_cone_rate`), times a power of α.

The run reports, over (seed, subsystem) series in α: the fitted order of the speed error and of
the shape error (log-log slope with a 1/α correction term, mean ± standard error over series), the
α → ∞ offset of the speed from (62) (fit c - 1 = e₀ - K₂α⁻² + K₃α⁻³; (62) holds when e₀ is 0 within
its error), the fitted K₂ against the prediction, the fitted light-cone decay rate against r, and
the N-independence of every result at fixed (α, seed) (N only sets the ring length N/α, which must
hold the bumps and their travel). ``alpha_error = ε`` analyses the data with σ = i/(α(1 + ε)), a
negative control: the speed is then 1/(1 + ε) and the offset e₀ must be detected.

Cases of one N share a shape: each N is one :func:`nnworld_jax.batch.run_chunked` run in
``OUT/n_<N>/`` whose items are (α, seed), sharded over the devices JAX sees; a killed run resumes.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from .. import hidden as H
from .._checks import as_float, check, check_count, check_scalar
from ..batch import write_atomically, lock_run_dir, run_chunked
from ..experiments import EXPERIMENTS, Experiment, Param, check_key, check_params, check_static, run_dtype

__all__ = ["bump_profile", "speed_coefficient", "light_cone_rate", "ring_length", "wave_case", "fit_order",
           "fit_speed_offset", "local_decay_rates", "permutation_waves", "run_quick"]

NAME = "permutation_waves"
_POWER = 6  # g = (1 - u²)^6: C⁵ at the edges, so the O(α⁻²) expansion of the fitted speed holds
# ∫g_uu² du / ∫g_u² du for g = (1 - u²)^6 on [-1, 1], exact: 115/6 (polynomial integrals; checked in the tests).
_RATIO = 115.0 / 6.0
_NEWTON = 8  # Newton steps of the speed fit from the centroid speed, within O(α⁻²) of it (quadratic convergence)


def _float(v, name, ok, expected):
    return float(check_static(v, name, ok, expected))


def _finite_pos(v, name):
    return _float(v, name, lambda x: math.isfinite(x) and x > 0, "finite and > 0")


def bump_profile(u):
    """The initial profile of every subsystem: (1 - u²)⁶ for |u| < 1, else 0 (compact, C⁵).

    The initial data of (61) in units u = (σ - c)/w; compact support makes the subsystems
    disjoint, the premise of (54)-(55). ``u`` is any real array (integers promoted), no NaN/inf.
    """
    u = as_float(u, "u")
    u = check(u, ~jnp.isfinite(u), "u contains NaN or inf")
    inside = jnp.abs(u) < 1
    return jnp.where(inside, (1 - jnp.where(inside, u, 0.0) ** 2) ** _POWER, 0.0)


def speed_coefficient(width):
    """K₂ of the fitted wave speed c = 1 - K₂/α² + O(α⁻³) of eq. (61) read with (62), for the bump of
    half-width ``width`` (σ units): K₂ = ∫g''² / (6∫g'²) = (115/6) / (6 w²).

    Derivation: (61) shifts the profile by a Poisson number of sites (every cumulant ατ), so in σ
    units x̄(τ) = g(σ - τ) + (τ/2α)g'' - (τ/6α²)g''' + ...; the least-squares speed sees only the
    odd-derivative terms (∫g^(2k) g' = 0 on the ring), giving c - 1 = -(1/6α²)∫g''²/∫g'². The
    ratio ∫g_uu²/∫g_u² = 115/6 for (1 - u²)⁶. ``width`` > 0 finite (scalar or array).
    """
    w = as_float(width, "width")
    w = check(w, ~(w > 0) | ~jnp.isfinite(w), "width must be finite and > 0")
    return _RATIO / (6.0 * w**2)


def light_cone_rate(travel, gap) -> float:
    """The decay rate r of the light-cone residual (55)/(65) in α: residual ≈ A α^b exp(-r α).

    Under (61) a bump moves by a Poisson number of sites of mean λ = αT (T = ``travel``); to reach the
    next bump across the edge gap G (``gap``, σ units) it must move λ(1 + G/T) sites, with
    probability exp(-λ h(1 + G/T)) up to powers of λ (Cramér/Chernoff), h(ρ) = ρ log ρ - ρ + 1. So
    r = T h(1 + G/T). The reverse leak (a bump lagging λ(1 - G/T)) has the larger rate T h(1 - G/T)
    and does not lead. Both arguments finite and > 0 (Python numbers).
    """
    t, g = _finite_pos(travel, "travel"), _finite_pos(gap, "gap")
    rho = 1.0 + g / t
    return t * (rho * math.log(rho) - rho + 1.0)


def ring_length(n_subsystems: int, width: float, width_jitter: float, gap: float, travel: float) -> float:
    """The shortest ring, in σ units, that holds D bumps (half-widths up to w(1 + jitter)), their
    D gaps G (the last one back to the first bump across the seam) and the travel T, with one σ
    unit of margin at each end: N/α must be at least this for a case (α, N) of eq. (61)-(63).
    """
    d = check_count(n_subsystems, "n_subsystems")
    w, g, t = _finite_pos(width, "width"), _finite_pos(gap, "gap"), _finite_pos(travel, "travel")
    jit = _float(width_jitter, "width_jitter", lambda x: 0 <= x < 1, "in [0, 1)")
    return 2.0 * w * (1 + jit) * d + d * g + t + 2.0


def _layout(key, d, width, width_jitter, gap, dtype):
    """Half-widths, amplitudes and centres (σ) of the D bumps: from the seed only, not from α or N."""
    k1, k2, k3 = jax.random.split(key, 3)
    widths = width * (1 + width_jitter * jax.random.uniform(k1, (d,), dtype, -1.0, 1.0))
    amps = jax.random.uniform(k2, (d,), dtype, 0.5, 1.5)
    start = 1.0 + jax.random.uniform(k3, (), dtype)  # a random sub-site offset of the whole train
    ends = start + jnp.cumsum(2 * widths + gap) - gap
    return widths, amps, ends - widths


def _wrap(d, n):
    return (d + n / 2) % n - n / 2


def wave_case(alpha, *, key, n: int, n_subsystems: int = 3, width: float = 1.0, width_jitter: float = 0.25,
              gap: float = 1.0, travel: float = 2.0, alpha_error: float = 0.0) -> dict:
    """One case (α, N, seed) of the experiment: D bumps on a ring of N neurons under eq. (61), measured
    at τ = T against the continuum (62)-(63) and the light-cone constraint (55)/(65).

    x̄^(d)(T) is the exact solution of (61) (α > 0 network steps per unit τ, (53)); σ = i/α' with
    α' = α(1 + ``alpha_error``) (0 reads the data with the true α). Returns a dict (dtype of ``alpha``):

    * ``speed`` (D,): least-squares c with x̄^(d)(T) ≈ g_d(σ - cT), (62)-(63) predict 1;
    * ``speed_k2`` (D,): the predicted K₂ of c = 1 - K₂/α² (:func:`speed_coefficient`);
    * ``centroid_speed`` (D,): centroid displacement / T in σ units (exactly 1 for (61));
    * ``shape_error`` (D,): max_i |x̄_i(T) - g(σ_i - T)| / max g (true α);
    * ``light_cone`` and ``light_cone_initial``: max_i |η_μν ∂_τx̄_i^μ ∂_τx̄_i^ν| / max_i Σ_d (∂_τx̄_i^(d))²
      at τ = T and τ = 0, η = diag(-1, 1, ..., 1), x̄^(0) = Σ_d x̄^(d) (51), velocities by (53), (57).

    ``alpha`` is a scalar > 0 (traced is fine: batch with ``jax.vmap``) with N/α ≥ :func:`ring_length`
    (checked, also under jit); ``key`` one PRNG key (the bumps' widths, amplitudes and offset come from
    it alone, so the same seed gives the same profile for every α and N); ``n`` ≥ 8 and
    ``n_subsystems`` ≥ 1 integers; width, gap, travel finite > 0; 0 ≤ width_jitter < 1;
    -0.5 < alpha_error ≤ 0.5 (Python numbers).
    """
    key = check_key(key=key)
    n = check_count(n, "n", 8)
    d = check_count(n_subsystems, "n_subsystems")
    need = ring_length(d, width, width_jitter, gap, travel)
    eps = _float(alpha_error, "alpha_error", lambda x: -0.5 < x <= 0.5, "in (-0.5, 0.5]")
    check_scalar(alpha, "alpha")
    alpha = as_float(alpha, "alpha")
    alpha = check(alpha, ~(alpha > 0) | ~jnp.isfinite(alpha), "alpha must be finite and > 0")
    alpha = check(alpha, n / alpha < need, f"alpha too large for n = {n}: the ring N/alpha must be at least "
                                           f"{need:.4g} sigma units (ring_length) to hold the bumps and their travel")
    dtype = alpha.dtype
    widths, amps, centres = _layout(key, d, width, width_jitter, gap, dtype)
    t = jnp.asarray(travel, dtype)
    a_read = alpha * (1 + eps)  # the α the analysis believes
    sites = jnp.arange(n, dtype=dtype)

    def profile(w, a, c, shift_sites):  # g(σ - shift) on the ring, σ = i/α, shift in sites
        return a * bump_profile(_wrap(sites - alpha * c - shift_sites, n) / (alpha * w))

    x0 = jax.vmap(profile, in_axes=(0, 0, 0, None))(widths, amps, centres, jnp.zeros((), dtype))
    xt = jax.vmap(H.poisson_shift_exact, in_axes=(0, None, None))(x0, alpha, t)

    def centroid(x, c, tau):  # centroid in sites, the profile rolled away from the seam first
        roll = n // 2 - jnp.round(alpha * (c + tau)).astype(jnp.int32)
        _, mean, _ = H.profile_moments(jnp.roll(x, roll))
        return mean - roll.astype(mean.dtype)

    c0 = jax.vmap(centroid, in_axes=(0, 0, None))(x0, centres, 0.0)
    ct = jax.vmap(centroid, in_axes=(0, 0, None))(xt, centres, t)

    def fit(x, w, a, c, v0):
        def energy(v):  # Σ_i (x_i - g(σ_i - vT))², σ read with α'
            return jnp.sum((x - profile(w, a, c, v * t * a_read)) ** 2)

        grad = jax.grad(energy)

        def newton(_, v):
            g, h = jax.jvp(grad, (v,), (jnp.ones((), dtype),))
            return v - g / h

        return jax.lax.fori_loop(0, _NEWTON, newton, v0)

    centroid_speed = (ct - c0) / (a_read * t)
    speed = jax.vmap(fit)(xt, widths, amps, centres, centroid_speed)  # Newton from the centroid speed

    exact = jax.vmap(profile, in_axes=(0, 0, 0, None))(widths, amps, centres, alpha * t)
    shape = jnp.max(jnp.abs(xt - exact), axis=1) / amps

    def light_cone(xs):  # (55) = (65) relative to the largest Σ_d (∂_τx̄^(d))²
        after = jax.vmap(H.shift)(xs)  # one step of (57) with w = π: ∂_τx̄ = α'(πx̄ - x̄), (53)
        res = H.light_cone_residual(xs, after, a_read)
        return jnp.max(jnp.abs(res)) / jnp.max(jnp.sum((a_read * (after - xs)) ** 2, axis=0))

    return {"speed": speed, "speed_k2": speed_coefficient(widths), "centroid_speed": centroid_speed,
            "shape_error": shape, "light_cone": light_cone(xt), "light_cone_initial": light_cone(x0)}


# --------------------------------------------------------------------------------------------
# fits


def _series(alphas, values, name):
    a = np.asarray(alphas, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if a.ndim != 1 or v.shape != a.shape:
        raise ValueError(f"alphas and {name} must be 1-D of the same length, got {a.shape} and {v.shape}")
    if not (np.all(np.isfinite(a)) and np.all(a > 0)):
        raise ValueError("alphas must be finite and > 0")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name} contains NaN or inf")
    return a, v


def _lstsq(design, y):
    """Coefficients and their standard errors (residual variance; exact fits give 0)."""
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    dof = len(y) - design.shape[1]
    resid = y - design @ coef
    s2 = float(resid @ resid) / dof if dof > 0 else 0.0
    cov = s2 * np.linalg.pinv(design.T @ design)
    return coef, np.sqrt(np.maximum(np.diag(cov), 0.0))


def fit_order(alphas, errors, corrections: int = 2) -> tuple[float, float]:
    """Order p of a discretization error e(α) ≈ C α^(-p) (1 + B₁/α + B₂/α² + ...) in the step h = 1/α
    of (62): least squares of log e = log C - p log α + Σ_{k≤corrections} B_k α^(-k); returns
    (p, standard error of p from the residuals).

    The correction terms absorb the next orders of the expansion, so a fit over moderate α is not
    biased by them; comparing ``corrections`` = 1 and 2 estimates the bias left. ``alphas`` and
    ``errors`` 1-D of the same length ≥ corrections + 3, finite and > 0 (an error that is 0 or at
    the round-off floor must be left out by the caller); ``corrections`` an integer ≥ 0.
    """
    a, e = _series(alphas, errors, "errors")
    k = check_count(corrections, "corrections", 0)
    if a.size < k + 3:
        raise ValueError(f"fit_order needs at least {k + 3} points ({k + 2} parameters and one degree of freedom), "
                         f"got {a.size}")
    if not np.all(e > 0):
        raise ValueError("errors must be > 0 (take |error|; leave out points at the round-off floor)")
    design = np.stack([np.ones_like(a), -np.log(a)] + [a ** -float(j) for j in range(1, k + 1)], axis=1)
    coef, se = _lstsq(design, np.log(e))
    return float(coef[1]), float(se[1])


def fit_speed_offset(alphas, speeds, order_max: int = 4) -> dict:
    """The α → ∞ limit of the measured wave speed of (61): least squares of
    c(α) - 1 = e₀ - K₂α⁻² + Σ_{3≤k≤order_max} K_k α^(-k).

    (62)-(63) predict e₀ = 0; the lattice gives K₂ = :func:`speed_coefficient`. Returns
    ``{"offset", "offset_se", "k2", "k2_se"}`` (standard errors from the residuals). ``alphas``,
    ``speeds`` 1-D, same length ≥ order_max + 1, finite, alphas > 0; ``order_max`` an integer ≥ 2.
    """
    a, c = _series(alphas, speeds, "speeds")
    k = check_count(order_max, "order_max", 2)
    if a.size < k + 1:
        raise ValueError(f"fit_speed_offset needs at least {k + 1} points for order_max = {k}, got {a.size}")
    design = np.stack([np.ones_like(a), -(a**-2.0)] + [a ** -float(j) for j in range(3, k + 1)], axis=1)
    coef, se = _lstsq(design, c - 1)
    return {"offset": float(coef[0]), "offset_se": float(se[0]), "k2": float(coef[1]), "k2_se": float(se[1])}


def local_decay_rates(alphas, residuals):
    """Local decay rates -Δlog R/Δα of the light-cone residual (55)/(65) between successive α.

    For R ≈ A α^b exp(-r α) the local rate is r - b/α + O(α⁻²): it tends to :func:`light_cone_rate`
    r, from above when b < 0 (the polynomial edges of the bumps make b negative). Returns an array of
    length len(alphas) - 1. ``alphas`` strictly increasing, both 1-D of the same length ≥ 2, finite,
    > 0 (points at the round-off floor left out by the caller).
    """
    a, r = _series(alphas, residuals, "residuals")
    if a.size < 2 or np.any(np.diff(a) <= 0):
        raise ValueError(f"alphas must be strictly increasing with at least 2 points, got {a.tolist()}")
    if not np.all(r > 0):
        raise ValueError("residuals must be > 0 (leave out points at the round-off floor)")
    return -np.diff(np.log(r)) / np.diff(a)


def _mean_se(values) -> tuple[float, float]:
    v = np.asarray(values, dtype=np.float64)
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else float("nan")


# --------------------------------------------------------------------------------------------
# the experiment


def _case_params(params: dict) -> dict:
    return {k: params[k] for k in ("n_subsystems", "width", "width_jitter", "gap", "travel", "alpha_error")}


def _grid(params: dict):
    alphas = np.geomspace(params["alpha_min"], params["alpha_max"], params["n_alpha"])
    sizes = np.unique(np.round(np.geomspace(params["n_min"], params["n_max"], params["n_sizes"])).astype(np.int64))
    need = ring_length(params["n_subsystems"], params["width"], params["width_jitter"], params["gap"],
                       params["travel"])
    groups = {int(n): alphas[n / alphas >= need] for n in sizes}
    return alphas, {n: a for n, a in groups.items() if a.size}, need


def _validate(params: dict) -> dict:
    params = check_params(EXPERIMENTS[NAME], params)
    for lo, hi in (("alpha_min", "alpha_max"), ("n_min", "n_max")):
        if params[lo] > params[hi]:
            raise ValueError(f"{lo} = {params[lo]!r} must be <= {hi} = {params[hi]!r}")
    _, groups, need = _grid(params)
    if not groups:
        raise ValueError(f"no case fits: every ring N/alpha is shorter than {need:.4g} sigma units (ring_length); "
                         f"raise n_max = {params['n_max']} or lower alpha_min = {params['alpha_min']}")
    return params


def _item_fn(n: int, params: dict):
    case = _case_params(params)

    def item(_shared, it):
        return wave_case(it["alpha"], key=it["key"], n=n, **case)

    item.__name__ = item.__qualname__ = f"permutation_waves_item_n{n}"
    return item


def permutation_waves(params: dict, out_dir, progress: bool = True) -> dict:
    """Run ``permutation_waves``: eq. (61) on rings of N neurons for every (α, N, seed), the speed
    against (62)-(63) and the light-cone residual (55)/(65); writes ``OUT/n_<N>/`` chunk runs,
    ``permutation_waves.png`` and ``summary.md/json``; returns the summary (a dict).

    ``params`` is the full parameter set (:func:`nnworld_jax.experiments.resolve_params`), validated
    again (α and N ranges ordered, at least one case whose ring holds the bumps). The run holds
    ``out_dir``'s lock until the last summary file is written; a killed run resumes per N.
    """
    params = _validate(params)
    if not isinstance(out_dir, (str, os.PathLike)):
        raise TypeError(f"out_dir must be a path (str or os.PathLike), got {type(out_dir).__name__}")
    out_dir = Path(out_dir)
    with lock_run_dir(out_dir) as lock:
        return _run(params, out_dir, progress, lock.run_id)


def run_quick(out_dir=None, *, progress: bool = False) -> dict:
    """The ``--quick`` form of ``permutation_waves`` (seconds on a CPU): eq. (61) against (62)-(63) and
    (55)/(65) on 128 cases (rings of 4096 and 8192 neurons); returns its summary (a dict).

    Runs into ``out_dir`` (resumable; a fresh temporary directory, removed afterwards, when None).
    The precision is the current JAX default (float64 needs ``nnworld_jax.set_precision("float64")``,
    as the experiment's default config asks; under float32 the run is refused with that message).
    """
    from ..experiments import resolve_params

    _, params = resolve_params({"experiment": NAME}, quick=True)
    if out_dir is None:
        with tempfile.TemporaryDirectory(prefix="permutation_waves-") as tmp:
            return permutation_waves(params, tmp, progress)
    if not isinstance(out_dir, (str, os.PathLike)):
        raise TypeError(f"out_dir must be a path (str or os.PathLike) or None, got {type(out_dir).__name__}")
    return permutation_waves(params, out_dir, progress)


def _floors(dtype):
    eps = float(np.finfo(dtype).eps)
    # The speed error is read off a least-squares fit whose gradient sums O(αw) rounded terms: points
    # with |c - 1| under 1e3 eps are round-off. The light-cone residual is a product of velocities
    # from an FFT whose round-off is ~eps of the largest value everywhere: under 1e4 eps it is noise.
    return 1e3 * eps, 1e4 * eps


def _run(params: dict, out_dir: Path, progress: bool, run_id: str) -> dict:
    dtype = run_dtype(params)
    _, groups, need = _grid(params)
    d = params["n_subsystems"]
    t0 = time.perf_counter()
    results, computed, resumed = {}, 0, 0
    for n, alphas in groups.items():
        s = params["n_seeds"]
        base = jax.random.PRNGKey(params["seed"])
        keys = np.asarray(jax.vmap(lambda i: jax.random.fold_in(base, i))(jnp.arange(s)))
        batch = {"alpha": np.repeat(alphas, s).astype(dtype), "key": np.tile(keys, (alphas.size, 1))}
        run = run_chunked(_item_fn(n, params), batch, out_dir / f"n_{n}", chunk_size=params["chunk_size"],
                          vmap_chunk_size=max(1, params["sites_in_flight"] // (n * d)),
                          config={"experiment": NAME, "n": n, **params}, progress=progress,
                          description=f"{NAME} N = {n}")
        results[n] = {k: np.asarray(v).reshape((alphas.size, s) + np.shape(v)[1:]) for k, v in run.results.items()}
        computed += len(run.computed)
        resumed += len(run.skipped)
    seconds = time.perf_counter() - t0
    summary = _analyse(params, groups, results, dtype, need)
    summary.update({"chunks_computed": computed, "chunks_resumed": resumed, "seconds": round(seconds, 2)})
    fig = _figure(params, groups, results, summary)
    write_atomically(out_dir / f"{NAME}.png", lambda fh: fig.savefig(fh, format="png", dpi=110), run_id)
    write_atomically(out_dir / "summary.md", lambda fh: fh.write((_markdown(summary) + "\n").encode()), run_id)
    write_atomically(out_dir / "summary.json", lambda fh: fh.write(json.dumps(summary, indent=2).encode()), run_id)
    return summary


def _by_alpha(groups, results):
    """For every α: the results of the largest N holding it (the results do not depend on N)."""
    best = {}
    for n, alphas in groups.items():
        for j, a in enumerate(alphas):
            if a not in best or n > best[a][0]:
                best[a] = (n, j)
    alphas = np.array(sorted(best))
    return alphas, {k: np.stack([results[best[a][0]][k][best[a][1]] for a in alphas])
                    for k in results[next(iter(results))]}


def _combined(main, reduced, expected) -> dict:
    """Mean over series ± (statistical + systematic) error, the systematic part being the shift of
    the mean when the fit drops its last correction term (the truncation error of the fit)."""
    if len(main) < 2:
        return {"mean": None, "se": None, "syst": None, "n_series": len(main), "expected": expected, "agrees": None}
    m, se = _mean_se(main)
    syst = abs(m - float(np.mean(reduced)))
    return {"mean": m, "se": se, "syst": syst, "n_series": len(main), "expected": expected,
            "agrees": bool(abs(m - expected) <= 3 * (se + syst))}


def _analyse(params, groups, results, dtype, need) -> dict:
    floor_speed, floor_light = _floors(dtype)
    alphas, r = _by_alpha(groups, results)  # r[k]: (A, S, ...) per α
    _, n_s, d = r["speed"].shape
    err = r["speed"] - 1.0
    eps = params["alpha_error"]
    fits = {k: [] for k in ("p", "p1", "q", "q1", "e0", "e03", "k2", "k23")}
    for s in range(n_s):  # per (seed, subsystem) series in α
        for c in range(d):
            use = np.abs(err[:, s, c]) > floor_speed
            if use.sum() >= 5:
                a_u, c_u = alphas[use], r["speed"][use, s, c]
                fits["p"].append(fit_order(a_u, np.abs(c_u - 1), 2)[0])
                fits["p1"].append(fit_order(a_u, np.abs(c_u - 1), 1)[0])
                full, reduced = fit_speed_offset(a_u, c_u, 4), fit_speed_offset(a_u, c_u, 3)
                k2 = float(r["speed_k2"][0, s, c])
                fits["e0"].append(full["offset"])
                fits["e03"].append(reduced["offset"])
                fits["k2"].append(full["k2"] / k2)
                fits["k23"].append(reduced["k2"] / k2)
            sh = r["shape_error"][:, s, c]
            use = sh > floor_speed
            if use.sum() >= 5:
                fits["q"].append(fit_order(alphas[use], sh[use], 2)[0])
                fits["q1"].append(fit_order(alphas[use], sh[use], 1)[0])
    # (62) predicts c → 1; with σ read as i/(α(1 + ε)) the speed is 1/(1 + ε) (negative control).
    speed_order = _combined(fits["p"], fits["p1"], 2.0)
    shape_order = _combined(fits["q"], fits["q1"], 1.0)
    offset = _combined(fits["e0"], fits["e03"], 0.0)
    k2 = _combined(fits["k2"], fits["k23"], 1.0 / (1 + eps))  # c ≈ (1 - K₂/α²)/(1 + ε)
    rates, last = [], []
    for s in range(n_s):
        lc = r["light_cone"][:, s]
        use = lc > floor_light
        if use.sum() >= 3:
            loc = local_decay_rates(alphas[use], lc[use])
            rates.append(loc.tolist())
            last.append(float(loc[-1]))
    predicted_rate = light_cone_rate(params["travel"], params["gap"])
    monotone = all(np.all(np.diff(x) < 0) for x in rates) if rates else None
    # N-independence: at equal (α, seed) every N must give the same numbers (N only sets the ring).
    finite_size = 0.0
    for n, a_n in groups.items():
        for j, a in enumerate(a_n):
            i = int(np.searchsorted(alphas, a))
            finite_size = max(finite_size, float(np.max(np.abs(results[n]["speed"][j] - r["speed"][i]))))
    per_alpha = [{"alpha": float(a),
                  "speed_minus_1_median": float(np.median(err[i])),
                  "speed_error_over_k2_prediction_median": float(np.median(err[i] * a**2 / -r["speed_k2"][i])),
                  "shape_error_median": float(np.median(r["shape_error"][i])),
                  "light_cone_median": float(np.median(r["light_cone"][i])),
                  "centroid_speed_max_dev": float(np.max(np.abs(r["centroid_speed"][i] - 1 / (1 + eps))))}
                 for i, a in enumerate(alphas)]
    return {
        "experiment": NAME, "params": params,
        "cases": int(sum(a.size for a in groups.values()) * params["n_seeds"]),
        "sizes": {str(n): [float(a) for a in a_n] for n, a_n in groups.items()},
        "ring_length_min": need, "largest_n": int(max(groups)),
        "per_alpha": per_alpha,
        "speed_order": speed_order, "shape_order": shape_order,
        "speed_offset": {**offset, "expected_with_alpha_error": 1 / (1 + eps) - 1},
        "agrees_with_62": offset["agrees"],
        "k2_fit_over_prediction": k2,
        "light_cone_rate": {"predicted": predicted_rate, "last_local_mean": _mean_se(last)[0] if last else None,
                            "last_local_se": _mean_se(last)[1] if len(last) > 1 else None,
                            "local_rates_decreasing": monotone,
                            "all_local_above_predicted": (all(min(x) > predicted_rate for x in rates)
                                                          if rates else None),
                            "local_rates": rates},
        "light_cone_initial_max": float(max(np.max(v["light_cone_initial"]) for v in results.values())),
        "centroid_speed_max_dev": float(max(np.max(np.abs(v["centroid_speed"] - 1 / (1 + eps)))
                                            for v in results.values())),
        "finite_size_max_speed_diff": finite_size,
        "floors": {"speed": floor_speed, "light_cone": floor_light},
    }


def _fmt(stat, digits=4):
    if stat["mean"] is None:
        return f"n/a ({stat['n_series']} series)"
    return (f"{stat['mean']:.{digits}g} ± {stat['se']:.2g} (stat) ± {stat['syst']:.2g} (syst), "
            f"{stat['n_series']} series")


def _markdown(s: dict) -> str:
    p = s["params"]
    lines = [f"# {NAME}: waves of the permutation network (61) vs the continuum (62)-(63)", "",
             f"{s['cases']} cases: D = {p['n_subsystems']} bumps (1 - u²)⁶ of half-width {p['width']} ± "
             f"{100 * p['width_jitter']:.0f}% (σ units), gaps {p['gap']}, travel T = {p['travel']}, "
             f"{p['n_seeds']} seeds; rings N ∈ {{{', '.join(s['sizes'])}}} with N/α ≥ {s['ring_length_min']:.4g}; "
             f"alpha_error = {p['alpha_error']}.", "",
             "| α | median c − 1 | median (c − 1)α²/(−K₂) | median shape error | median light-cone (55) | "
             "max |centroid speed − 1| |", "|---|---|---|---|---|---|"]
    for row in s["per_alpha"]:
        lines.append(f"| {row['alpha']:.4g} | {row['speed_minus_1_median']:.3e} | "
                     f"{row['speed_error_over_k2_prediction_median']:.4f} | {row['shape_error_median']:.3e} | "
                     f"{row['light_cone_median']:.3e} | {row['centroid_speed_max_dev']:.1e} |")
    off, lc = s["speed_offset"], s["light_cone_rate"]
    control = "" if p["alpha_error"] == 0 else f" (negative control: expected {off['expected_with_alpha_error']:.4g})"

    def verdict(stat):
        return "n/a" if stat["agrees"] is None else ("agrees" if stat["agrees"] else "DISAGREES")

    last = "n/a" if lc["last_local_mean"] is None else f"{lc['last_local_mean']:.4g}"
    lines += ["", "Errors: ± statistical (over the random profiles) ± systematic (shift when the fit drops its "
              "last correction term); a value agrees when it is within 3 × their sum.", "",
              f"- Speed error order (log|c − 1| = log C − p log α + B₁/α + B₂/α²): p = {_fmt(s['speed_order'])}; "
              f"expected 2, the lattice dispersion of (61): {verdict(s['speed_order'])}.",
              f"- Shape error order: p = {_fmt(s['shape_order'])}; expected 1, the scheme's order ((62) is a "
              f"first-order difference; numerical diffusion (1/2α)∂²_σ): {verdict(s['shape_order'])}.",
              f"- α → ∞ speed offset from (62) (c − 1 = e₀ − K₂α⁻² + K₃α⁻³ + K₄α⁻⁴): e₀ = {_fmt(off, 3)}: "
              f"{'agrees with (62)' if off['agrees'] else 'DISAGREES with (62)'}{control}.",
              f"- Fitted K₂ / predicted ∫g''²/(6∫g'²): {_fmt(s['k2_fit_over_prediction'])}: "
              f"{verdict(s['k2_fit_over_prediction'])}.",
              f"- Light-cone residual (55)/(65): {s['light_cone_initial_max']:.1e} at τ = 0 (disjoint bumps); at τ = T "
              f"it falls faster than any power of 1/α: local rates −Δlog R/Δα decrease "
              f"({lc['local_rates_decreasing']}) toward the large-deviation rate T h(1 + G/T) = "
              f"{lc['predicted']:.4g} from above ({lc['all_local_above_predicted']}); last local rate {last}.",
              f"- Same (α, seed) on different N: largest speed difference {s['finite_size_max_speed_diff']:.1e}; "
              f"centroid speed − 1/(1 + ε): at most {s['centroid_speed_max_dev']:.1e}.",
              f"- {s['chunks_computed']} chunks computed, {s['chunks_resumed']} resumed, {s['seconds']:.1f} s."]
    return "\n".join(lines)


def _figure(params, groups, results, summary):
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullFormatter

    alphas, r = _by_alpha(groups, results)
    fig = Figure(figsize=(13, 4), layout="constrained")
    ax1, ax2, ax3 = fig.subplots(1, 3)
    n_s, d = r["speed"].shape[1:]
    err = np.abs(r["speed"] - 1).reshape(alphas.size, -1)
    k2 = r["speed_k2"].reshape(alphas.size, -1)
    ax1.loglog(alphas, err, ".", color="C0", alpha=0.5)
    ax1.loglog(alphas, np.median(k2, axis=1) / alphas**2, "k-", label="K₂/α² (predicted, median K₂)")
    ax1.set_xlabel("α"), ax1.set_ylabel("|c − 1|")
    ax1.set_title(f"wave speed vs (62): order {_fmt(summary['speed_order'], 3)}", fontsize=9)
    ax1.legend(fontsize=7)
    sh = r["shape_error"].reshape(alphas.size, -1)
    ax2.loglog(alphas, sh, ".", color="C1", alpha=0.5)
    ax2.loglog(alphas, np.median(sh[-1]) * alphas[-1] / alphas, "k:", label="∝ 1/α")
    ax2.set_xlabel("α"), ax2.set_ylabel("max |x̄(T) − g(σ − T)| / a")
    ax2.set_title(f"shape error: order {_fmt(summary['shape_order'], 3)}", fontsize=9)
    ax2.legend(fontsize=7)
    lc = r["light_cone"].reshape(alphas.size, -1)
    ax3.semilogy(alphas, np.maximum(lc, 1e-300), ".", color="C2", alpha=0.6)
    rate = summary["light_cone_rate"]["predicted"]
    ref = np.median(lc[0])
    ax3.semilogy(alphas, ref * np.exp(-rate * (alphas - alphas[0])), "k:", label=f"∝ e^(−rα), r = {rate:.3g}")
    ax3.axhline(summary["floors"]["light_cone"], color="gray", lw=0.8, label="round-off floor")
    ax3.set_ylim(max(1e-18, summary["floors"]["light_cone"] / 100), 2 * float(lc.max()))
    ax3.set_xlabel("α"), ax3.set_ylabel("max |η_μν ∂x̄^μ ∂x̄^ν| / max Σ_d (∂x̄^d)²")
    ax3.set_title("light-cone residual (55)/(65) at τ = T", fontsize=9)
    ax3.legend(fontsize=7)
    for ax in (ax1, ax2):
        ax.xaxis.set_minor_formatter(NullFormatter())
    fig.suptitle(f"{NAME}: eq. (61) on rings up to N = {max(groups)}, D = {d}, {n_s} seeds", fontsize=10)
    return fig


EXPERIMENTS[NAME] = Experiment(
    name=NAME,
    description="wave speed (62)-(63) and light-cone residual (55)/(65) of the permutation network (61) vs α, N",
    defaults={"seed": 0, "n_seeds": 16, "n_subsystems": 3, "alpha_min": 24.0, "alpha_max": 98304.0, "n_alpha": 49,
              "n_min": 10_000, "n_max": 10_000_000, "n_sizes": 4, "width": 1.0, "width_jitter": 0.25, "gap": 1.0,
              "travel": 2.0, "alpha_error": 0.0, "chunk_size": 16, "sites_in_flight": 30_000_000,
              "precision": "float64"},
    quick={"n_seeds": 4, "alpha_min": 24.0, "alpha_max": 384.0, "n_alpha": 17, "n_min": 4096, "n_max": 8192,
           "n_sizes": 2, "chunk_size": 32},
    run=permutation_waves,
    schema={"seed": Param(int, 0, 2**63 - 1), "n_seeds": Param(int, 2), "n_subsystems": Param(int, 1),
            "alpha_min": Param(float, 0.0, exclusive=True), "alpha_max": Param(float, 0.0, exclusive=True),
            "n_alpha": Param(int, 1), "n_min": Param(int, 8), "n_max": Param(int, 8), "n_sizes": Param(int, 1),
            "width": Param(float, 0.0, exclusive=True), "width_jitter": Param(float, 0.0, 0.99),
            "gap": Param(float, 0.0, exclusive=True), "travel": Param(float, 0.0, exclusive=True),
            "alpha_error": Param(float, -0.49, 0.5), "chunk_size": Param(int, 1), "sites_in_flight": Param(int, 1),
            "precision": Param(str, choices=("float64", "float32"))},
)
