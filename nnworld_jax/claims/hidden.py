"""Claims of paper §7 (eqs. (49)-(58)): the leading-order map of the subsystems' moving means, the
overall state (51), the light-cone constraint (55) on simulated permutation-network data and the
linear-activation limit (57)-(58) (``nnworld_jax/hidden.py``, ``docs/conventions.md`` §5)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure

from .. import hidden as H
from ..network import Network, step
from ..stepping import from_update, solve
from ._registry import Context, Result, claim, tol

__all__: list[str] = []  # the claims register themselves on import (claims._registry); nothing to import


def _random_states(key, d, n, amplitude):
    return amplitude * jax.random.normal(key, (d, n))


@claim("hidden.mean-map", section="7", equations=("(49)", "(50)", "(51)", "(52)"),
       statement="\"x̄_i^(d)(t+1) ≈ (f̂′_d ŵ)_ij x̄_j^(d)(t)\" (50) with f′ at \"y_i = w_ij x̄_j^(d) + b_i\" (52) "
                 "is the leading order of the network step (1): for b = 0 and tanh its error is O(|x̄|³), "
                 "so the fitted log-log slope of max|f(w x̄) - f̂′ŵ x̄| against the amplitude of x̄ is 3.",
       expected_verdict="holds")
def _mean_map(ctx: Context) -> Result:
    n, d = 12, 3
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(ctx.seed + 70), 3)
    w = 0.9 * jax.random.normal(k1, (n, n)) / jnp.sqrt(n)
    unit = _random_states(k2, d, n, 1.0)
    amps = np.geomspace(1e-3, 3e-2, 4 if ctx.quick else 8)

    @jax.jit
    def _error(net, a):
        xs = a * unit
        exact = jax.vmap(lambda x: step(net, x))(xs)
        lead = jax.vmap(lambda x: H.mean_step(net, x))(xs)
        return jnp.max(jnp.abs(exact - lead))

    def error(net, a):
        return float(_error(net, a))

    net0 = Network(w, jnp.zeros(n))
    errs = np.array([error(net0, a) for a in amps])
    slope = float(np.polyfit(np.log(amps), np.log(errs), 1)[0])
    # With a shared bias b ≠ 0 the error does not vanish with the amplitude (f(b) versus 0).
    bias = 0.2 * jax.random.normal(k3, (n,))
    netb = Network(w, bias)
    errs_b = np.array([error(netb, a) for a in amps])
    # (49) with (51): the overall state's map equals the sum of the subsystems' maps exactly for a
    # linear activation (superposition), and up to O(|x̄|³) for tanh.
    xs = amps[0] * unit
    lin = Network(w, jnp.zeros(n), "linear")
    sum_lin = float(jnp.max(jnp.abs(H.mean_step(lin, H.overall_state(xs))
                                    - jax.vmap(lambda x: H.mean_step(lin, x))(xs).sum(0))))
    gap = jax.jit(lambda a: jnp.max(jnp.abs(H.mean_step(net0, H.overall_state(a * unit))
                                            - jax.vmap(lambda x: H.mean_step(net0, x))(a * unit).sum(0))))
    overall_gap = [float(gap(a)) for a in amps]
    slope_overall = float(np.polyfit(np.log(amps), np.log(overall_gap), 1)[0])
    fig = Figure(figsize=(5.5, 4), layout="constrained")
    ax = fig.subplots()
    ax.loglog(amps, errs, "o-", label="b = 0: |f(wx̄) - f′ŵx̄| (50)")
    ax.loglog(amps, errs_b, "s-", label="shared b ≠ 0")
    ax.loglog(amps, overall_gap, "^-", label="(49) vs Σ_d (50), b = 0")
    ax.loglog(amps, errs[-1] * (amps / amps[-1]) ** 3, "k:", label="∝ amplitude³")
    ax.set_xlabel("amplitude of the mean states x̄^(d)"), ax.set_ylabel("max error of one step")
    ax.set_title("Eqs. (49)-(52): leading-order map of the moving means")
    ax.legend(fontsize=7)
    return Result(slope, 3.0, 0.05, figure=fig,
                  note=f"fitted slope of log error vs log amplitude, b = 0, tanh, N = {n}, D = {d} "
                       "(tolerance: the next term is relatively O(amplitude²) ≤ 1e-3 over the fit range)",
                  details={"amplitudes": amps.tolist(), "errors_b0": errs.tolist(),
                           "errors_shared_bias": errs_b.tolist(),
                           "shared_bias_floor_over_max_tanh_b": errs_b[0] / float(jnp.max(jnp.abs(jnp.tanh(bias)))),
                           "linear_overall_minus_sum": sum_lin, "tanh_overall_vs_sum_slope": slope_overall})


def _pulses(n, d, width, gap):
    xs = np.zeros((d, n))
    for c in range(d):
        start = 4 + c * (width + gap)
        xs[c, start:start + width] = np.hanning(width + 2)[1:-1]
    return jnp.asarray(xs)


@functools.partial(jax.jit, static_argnums=2)
def _simulate(net, xs0, steps):  # the network map (1)-(2) on D states, every state saved (the stepping layer)
    network_map = from_update(lambda t, xs: jax.vmap(lambda x: step(net, x))(xs), 1.0, name="network step",
                              validate=lambda xs: xs)
    return solve(network_map, xs0, n_steps=steps, save_every=1).y


@jax.jit
def _residual(traj, alpha):
    res = jax.vmap(lambda a, b: H.light_cone_residual(a, b, alpha))(traj[:-1], traj[1:])
    speed2 = jnp.sum((alpha * (traj[1:] - traj[:-1])) ** 2, axis=1)  # Σ_d (∂_τx̄^(d))² per neuron
    return jnp.max(jnp.abs(res)) / jnp.max(speed2), res


def _normalized_residual(traj, alpha):
    rel, res = _residual(traj, alpha)
    return float(rel), res


@claim("hidden.light-cone", section="7", equations=("(51)", "(53)", "(54)", "(55)", "(59)", "(60)"),
       statement="On simulated permutation-network data (w = π of (60), tanh, D = 3 subsystems given separate "
                 "localized inputs) the velocities (53) of non-overlapping subsystems satisfy "
                 "η_μν ∂_τx̄_i^(μ) ∂_τx̄_i^(ν) = 0 at every neuron (55), with x̄^(0) = Σ_d x̄^(d) (51).",
       expected_verdict="holds")
def _light_cone(ctx: Context) -> Result:
    n, d, alpha = 96, 3, 4.0
    steps = 12 if ctx.quick else 40
    perm = np.eye(n)[np.asarray(H.cycle_permutation(n))]  # dense π_ij = 1 iff j = i - 1 (60)
    net = Network(jnp.asarray(perm), jnp.zeros(n))
    xs0 = _pulses(n, d, width=8, gap=12)
    rel, res = _normalized_residual(_simulate(net, xs0, steps), alpha)
    # Overlapping subsystems: (55) fails by exactly -2 Σ_{c<d} v^c v^d (the assumption ∝ δ_cd is violated).
    ys0 = xs0.at[1].set(jnp.roll(xs0[0], 3))
    traj_o = _simulate(net, ys0, steps)
    rel_overlap, res_o = _normalized_residual(traj_o, alpha)
    v = alpha * (traj_o[1:] - traj_o[:-1])
    cross = -2 * (v[:, 0] * v[:, 1] + v[:, 0] * v[:, 2] + v[:, 1] * v[:, 2])
    identity_err = float(jnp.max(jnp.abs(res_o - cross)))
    # A shared bias b ≠ 0 (the "minimal interaction through b"): every subsystem relaxes toward the same
    # fixed point at every neuron, the velocities overlap everywhere and (55) fails; (56) is needed.
    netb = Network(jnp.asarray(perm), 0.1 * jnp.ones(n))
    rel_bias, _ = _normalized_residual(_simulate(netb, xs0, steps), alpha)
    # Round-off only: products of O(α) velocities, a few roundings each (FMA under jit).
    rounding = tol(float64=1e-12, float32=1e-5)
    err = rel if identity_err < rounding else float("inf")
    fig = Figure(figsize=(8, 3.6), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    traj = _simulate(net, xs0, steps)
    for c in range(d):
        ax1.plot(np.asarray(traj[steps // 2, c]), label=f"x̄^({c + 1}) at t = {steps // 2}")
    ax1.plot(np.asarray(traj[steps // 2].sum(0)), "k:", lw=1, label="x̄^(0) = Σ_d x̄^(d) (51)")
    ax1.set_xlabel("neuron i"), ax1.set_ylabel("state"), ax1.legend(fontsize=7)
    ax2.plot(np.abs(np.asarray(res)).max(0) + 1e-300, label=f"disjoint (max {rel:.1e})")
    ax2.plot(np.abs(np.asarray(res_o)).max(0), label=f"overlapping (rel. {rel_overlap:.2f})")
    ax2.set_yscale("symlog", linthresh=1e-3)
    ax2.set_xlabel("neuron i"), ax2.set_ylabel("max_t |η_μν ∂x̄^μ ∂x̄^ν|"), ax2.legend(fontsize=7)
    fig.suptitle("Eq. (55) on a simulated permutation network")
    return Result(err, 0.0, rounding, figure=fig,
                  note="max over neurons and steps of |η_μν ∂_τx̄^μ ∂_τx̄^ν| / max Σ_d (∂_τx̄^(d))² for disjoint "
                       "subsystems (inf if the overlapping case misses the identity -2Σ_{c<d} v^c v^d by more than "
                       "round-off; tolerance: round-off, 1e-12 in float64, 1e-5 in float32)",
                  details={"overlapping_relative_residual": rel_overlap, "overlap_identity_error": identity_err,
                           "shared_bias_0.1_relative_residual": rel_bias, "steps": steps, "alpha": alpha})


@claim("hidden.linear-limit", section="7", equations=("(53)", "(57)", "(58)", "(61)"),
       statement="With a linear activation and w = π the network step is (57) x̄(t+1) = w x̄(t), and its rate "
                 "form (58) ∂_τx̄ ≈ α(w - I)x̄ approximates α network steps per unit τ with an error O(1/α) "
                 "for a profile of fixed width in σ = i/α: fitted slope of log error vs log α is -1.",
       expected_verdict="holds")
def _linear_limit(ctx: Context) -> Result:
    tau = 2.0
    alphas = np.array([64.0, 128.0, 256.0] if ctx.quick else [64.0, 128.0, 256.0, 512.0])
    n = int(16 * alphas[-1])  # one ring for every α (one compilation)

    @jax.jit
    def error(a, x0, x_net):
        return jnp.max(jnp.abs(H.poisson_shift_exact(x0, a, tau) - x_net))  # (58)'s exact solution, w = π

    errs = []
    for a in alphas:
        x0 = jnp.exp(-0.5 * (jnp.arange(n, dtype=float) / float(a) - 5.0) ** 2)
        # The network itself: x(t+1) = π x(t) (f linear, b = 0), ατ steps of (57) — a shift by ατ sites.
        x_net = np.roll(np.asarray(x0), int(a * tau))
        errs.append(float(error(a, x0, x_net)))
    errs = np.array(errs)
    slope = float(np.polyfit(np.log(alphas), np.log(errs), 1)[0])
    # (53) with (57) is (58) exactly: one forward-Euler step of (58) of length 1/α is the step (57), for a
    # dense random w too; a bias would add α b, which (57)-(58) do not have.
    w = 0.5 * jax.random.normal(jax.random.PRNGKey(ctx.seed + 71), (9, 9)) / 3.0
    x = jnp.sin(jnp.arange(9.0))
    euler = float(jnp.max(jnp.abs(x + H.linear_rhs(w.__matmul__, x, 7.0) / 7.0 - H.linear_step(w.__matmul__, x))))
    fig = Figure(figsize=(5.5, 4), layout="constrained")
    ax = fig.subplots()
    ax.loglog(alphas, errs, "o-", label="max |(58) solution - α τ network steps (57)|")
    ax.loglog(alphas, errs[0] * alphas[0] / alphas, "k:", label="∝ 1/α")
    ax.set_xlabel("α (network steps per unit τ)"), ax.set_ylabel(f"error at τ = {tau}")
    ax.set_title("Eqs. (57)-(58) on the permutation network (60)")
    ax.legend(fontsize=7)
    return Result(slope, -1.0, 0.03, figure=fig,
                  note="fitted slope; the error is ½(τ/α)|g″| + O(α⁻²) (Poisson spread of (58), variance ατ sites²): "
                       "measured local slopes are -1 + 1.4/α (0.937 at α = 16-32), so from α = 64 on the fit lies within 0.03",
                  details={"alphas": alphas.tolist(), "errors": errs.tolist(), "euler_step_vs_57": euler})
