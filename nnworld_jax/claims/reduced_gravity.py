"""Claims of paper §9, action (88): solutions of the Einstein equations by action minimization.

Reduced (minisuperspace) Einstein-Hilbert actions of :mod:`nnworld_jax.reduced_gravity` on a 1D grid
(midpoint rule), Euler-Lagrange residuals by ``jax.grad``, stationary points by ``optimistix.Newton``
with fixed boundary values; the analytic solutions are the references. ``ctx.quick`` uses fewer
grids (each grid size compiles once, ~3 s).
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure

from .. import reduced_gravity as rg
from ._registry import Context, Result, claim, tol

__all__: list[str] = []  # the claims register themselves on import (claims._registry); nothing to import

MASS, R0, R1 = 1.3, 3.0, 15.0
T0, T1 = 0.5, 2.0


@claim("reduced_gravity.schwarzschild", section="9", equations=("(88)", "(95)"),
       statement="The stationary point of the reduced Einstein-Hilbert action of the static spherical "
                 "ansatz -A dt² + dr²/B + r²dΩ², with A and B fixed at r0 and r1 on 1 - 2M/r, is "
                 "Schwarzschild A = B = 1 - 2M/r (max |error| over the grid, all grid sizes).",
       expected_verdict="holds")
def _schwarzschild(ctx: Context) -> Result:
    f = lambda r: 1 - 2 * MASS / r  # noqa: E731
    ends = jnp.array([f(R0), f(R1)])
    errs, masses = {}, {}
    for n in ((32,) if ctx.quick else (16, 32, 64, 128)):
        r = jnp.linspace(R0, R1, n)
        sol = rg.solve_schwarzschild(r, ends, ends)
        A, B = sol.fields
        errs[n] = max(float(jnp.max(jnp.abs(A - f(r)))), float(jnp.max(jnp.abs(B - f(r)))),
                      float(sol.residual))
        masses[n] = float(jnp.mean(r * (1 - B) / 2))
    fig = Figure(figsize=(8, 3.2))
    ax1, ax2 = fig.subplots(1, 2)
    rr = np.linspace(R0, R1, 200)
    ax1.plot(rr, 1 - 2 * MASS / rr, "k-", lw=1, label="1 − 2M/r")
    ax1.plot(np.asarray(r), np.asarray(A), "o", ms=3, mfc="none", label="A (numeric)")
    ax1.plot(np.asarray(r), np.asarray(B), "x", ms=3, label="B (numeric)")
    ax1.set_xlabel("r"), ax1.set_title(f"stationary point, n = {len(r)}, M = {MASS}"), ax1.legend(fontsize=7)
    ax2.semilogy(list(errs), [max(e, 1e-17) for e in errs.values()], "o-")
    ax2.set_xlabel("grid points n"), ax2.set_ylabel("max |A, B − (1 − 2M/r)|")
    ax2.set_title("error (rounding: the midpoint scheme is exact)")
    err = max(errs.values())
    # float32: the reduced Newton solve meets its float32 tolerance at ~1e-5 (M = 1.2999996)
    return Result(err, 0.0, tol(float64=1e-10, float32=1e-4),
                  note=f"max error {err:.1e} for n in {list(errs)}; recovered M = {masses[max(masses)]:.12f} "
                       f"(exact {MASS}); the discrete equation 1 - B̄ - r_c ΔB/h = 0 holds exactly for 1/r, "
                       "so there is no discretization error to converge",
                  figure=fig, details={"errors": errs, "mass": masses})


@claim("reduced_gravity.flrw-dust", section="9", equations=("(88)", "(95)"),
       statement="The stationary point of the minisuperspace action L = -3aȧ²/(8πG) - ρ₀ (flat FLRW + "
                 "dust), with a(t0), a(t1) fixed on t^{2/3}, converges to a = t^{2/3} at second order; "
                 "the lapse equation (Friedmann constraint) holds on it. Measured: the convergence order.",
       expected_verdict="holds",
       needs_float64="a convergence-order fit needs the Newton solution far below float32 round-off, "
                     "which the float32 solve does not reach")
def _flrw(ctx: Context) -> Result:
    rho0 = 1 / (6 * math.pi)  # G = 1: H² = 8πρ/3 on a = t^{2/3}
    ends = jnp.array([T0 ** (2 / 3), T1 ** (2 / 3)])
    ns = (16, 32) if ctx.quick else (16, 32, 64, 128)

    @functools.partial(jax.jit, static_argnums=0)  # one program per n, not one per operation
    def run(n):
        t = jnp.linspace(T0, T1, n)
        (a,) = rg.solve_flrw_dust(t, ends, rho0=rho0).fields
        return t, a, jnp.max(jnp.abs(a - t ** (2 / 3))), jnp.max(jnp.abs(rg.friedmann_constraint(a, t, rho0)))

    errs, cons = {}, {}
    for n in ns:
        t, a, err, con = run(n)
        errs[n], cons[n] = float(err), float(con)
    order = math.log2(errs[ns[-2]] / errs[ns[-1]])
    fig = Figure(figsize=(8, 3.2))
    ax1, ax2 = fig.subplots(1, 2)
    tt = np.linspace(T0, T1, 200)
    ax1.plot(tt, tt ** (2 / 3), "k-", lw=1, label="t^{2/3}")
    ax1.plot(np.asarray(t), np.asarray(a), "o", ms=3, mfc="none", label="numeric a(t)")
    ax1.set_xlabel("t"), ax1.set_title("flat FLRW + dust"), ax1.legend(fontsize=7)
    ax2.loglog(list(errs), list(errs.values()), "o-", label="max |a − t^{2/3}|")
    ax2.loglog(list(cons), list(cons.values()), "s--", label="Friedmann constraint")
    ax2.loglog(list(errs), [errs[ns[0]] * (ns[0] / n) ** 2 for n in errs], "k:", label="∝ n⁻²")
    ax2.set_xlabel("grid points n"), ax2.legend(fontsize=7), ax2.set_title(f"order {order:.3f}")
    # second order expected; ±0.1 covers the O(h) correction to the asymptotic ratio at n ≥ 16
    return Result(order, 2.0, 0.1,
                  note=f"errors {', '.join(f'n={n}: {e:.2e}' for n, e in errs.items())}; constraint "
                       f"{', '.join(f'{c:.1e}' for c in cons.values())}",
                  figure=fig, details={"errors": errs, "constraint": cons, "order": order})
