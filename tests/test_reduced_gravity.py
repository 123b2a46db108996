"""Paper §9, action (88): solutions by action minimization. The reduced (minisuperspace)
Lagrangians of nnworld_jax.reduced_gravity are checked against √-g R of the curvature kernels
(nnworld_jax.curvature, an independent autodiff route) up to the stated total derivatives; the
stationary points of the discrete actions (jax.grad + optimistix Newton) are compared with the
analytic solutions, which appear only here: Schwarzschild B = 1 - 2M/r, A = cB, and the dust
universe a ∝ t^{2/3}."""

import math
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnworld_jax import curvature as cv
from nnworld_jax import reduced_gravity as rg


def _A(r):
    return 0.7 + 0.3 * jnp.exp(-0.4 * r) + 0.05 * r  # generic, not a solution


def _B(r):
    return 1.1 - 0.8 / r + 0.02 * jnp.sin(r)


def test_schwarzschild_lagrangian_matches_curvature_kernels_up_to_total_derivative():
    # √-g R/sinθ (ricci_scalar of the ansatz) = L + d/dr[-r²√(B/A)A'] for arbitrary A, B: both
    # sides are exact autodiff, so agreement is to rounding (~1e-14 relative).
    metric = rg.static_spherical_metric(_A, _B)
    W = lambda r: -r**2 * jnp.sqrt(_B(r) / _A(r)) * jax.grad(_A)(r)  # noqa: E731
    for r, th in [(2.3, 0.7), (4.1, 1.9), (7.5, 1.2)]:
        X = jnp.array([0.3, r, th, 0.4])
        dens = jnp.sqrt(_A(r) / _B(r)) * r**2 * cv.ricci_scalar(metric, X)
        red = rg.schwarzschild_lagrangian(jnp.asarray(r), _A(r), _B(r), jax.grad(_B)(r)) + jax.grad(W)(r)
        assert abs(float(dens - red)) < 1e-12 * (1.0 + abs(float(dens)))
        # the total derivative is not zero here: the reduced form alone differs from √-g R
        assert abs(float(jax.grad(W)(r))) > 1e-2


def test_flrw_lagrangian_matches_curvature_kernels_up_to_total_derivative():
    # √-g R = 16πG L_grav + 6 d/dt(a²ȧ/N) with L_grav = L(ρ₀ = 0), for arbitrary a(t), N(t).
    a = lambda t: 1.0 + 0.5 * t + 0.1 * t**2  # noqa: E731
    N = lambda t: 1.0 + 0.2 * jnp.sin(t)  # noqa: E731
    G = 0.7
    metric = rg.flrw_metric(a, N)
    Y = lambda t: a(t) ** 2 * jax.grad(a)(t) / N(t)  # noqa: E731
    for t in (0.3, 1.1, 2.4):
        X = jnp.array([t, 0.1, -0.2, 0.5])
        dens = N(t) * a(t) ** 3 * cv.ricci_scalar(metric, X)
        red = 16 * math.pi * G * rg.flrw_dust_lagrangian(a(t), jax.grad(a)(t), N(t), 0.0, G) + 6 * jax.grad(Y)(t)
        assert abs(float(dens - red)) < 1e-12 * (1.0 + abs(float(dens)))


@pytest.mark.parametrize("c", [1.0, 2.5])
def test_schwarzschild_is_the_stationary_point(c):
    # Boundary data of B = 1 - 2M/r and A = cB at r0, r1. The midpoint scheme is exact for this
    # solution: 1 - B̄ - r_c ΔB/h = 0 cell by cell (M(1/r_i + 1/r_{i+1}) on both sides), so the
    # discrete stationary point equals it to rounding at every n (no discretization error to
    # converge; the Newton start, the linear interpolation, is off by ~0.1).
    M, r0, r1 = 1.3, 3.0, 15.0
    f = lambda r: 1 - 2 * M / r  # noqa: E731
    for n in (24, 96):
        r = jnp.linspace(r0, r1, n)
        sol = rg.solve_schwarzschild(r, c * jnp.array([f(r0), f(r1)]), jnp.array([f(r0), f(r1)]))
        A, B = sol.fields
        assert float(sol.residual) < 1e-10
        assert float(jnp.max(jnp.abs(B - f(r)))) < 1e-12
        assert float(jnp.max(jnp.abs(A - c * f(r)))) < 1e-12
        # M recovered from the interior of the solution: r(1 - B)/2
        assert float(jnp.max(jnp.abs(r * (1 - B) / 2 - M))) < 1e-11
        lin_err = float(jnp.max(jnp.abs(jnp.interp(r, jnp.array([r0, r1]), jnp.array([f(r0), f(r1)])) - f(r))))
        assert lin_err > 0.05


def test_flrw_dust_converges_to_t_two_thirds_at_second_order():
    # a(t0), a(t1) on a = t^{2/3}; with G = 1 the dust density of that solution is ρ₀ = 1/(6π).
    # Midpoint rule: error O(h²), so halving h divides the error by ~4 (order 2 ± 0.1).
    rho0 = 1 / (6 * math.pi)
    errs, cons = [], []
    for n in (16, 32):
        t = jnp.linspace(0.5, 2.0, n)
        sol = rg.solve_flrw_dust(t, jnp.array([0.5 ** (2 / 3), 2.0 ** (2 / 3)]), rho0=rho0)
        (a,) = sol.fields
        assert float(sol.residual) < 1e-10
        errs.append(float(jnp.max(jnp.abs(a - t ** (2 / 3)))))
        cons.append(float(jnp.max(jnp.abs(rg.friedmann_constraint(a, t, rho0)))))
    order = math.log2(errs[0] / errs[1])
    assert abs(order - 2.0) < 0.1, errs
    assert errs[1] < 2e-5
    # the lapse equation (Friedmann constraint) holds on the solution, also at O(h²)
    assert abs(math.log2(cons[0] / cons[1]) - 2.0) < 0.2, cons
    # …and fails for the wrong density: it is what selects ρ₀ (constraint ≈ ρ₀ - ρ_wrong)
    t = jnp.linspace(0.5, 2.0, 32)
    assert float(jnp.min(jnp.abs(rg.friedmann_constraint(t ** (2 / 3), t, 2 * rho0)))) > 0.9 * rho0


@pytest.mark.unchecked  # asserts the package's own message for input the annotations exclude
def test_bad_input_raises():
    r = jnp.linspace(3.0, 10.0, 8)
    with pytest.raises(ValueError, match="A_ends"):
        rg.solve_schwarzschild(r, jnp.array([-0.1, 0.5]), jnp.array([0.3, 0.5]))
    with pytest.raises(ValueError, match="shape"):
        rg.solve_schwarzschild(r, jnp.array([0.3, 0.4, 0.5]), jnp.array([0.3, 0.5]))
    with pytest.raises(ValueError, match="NaN"):
        rg.solve_flrw_dust(r.at[2].set(jnp.nan), jnp.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="grid spacing"):
        rg.solve_flrw_dust(r[::-1], jnp.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="newton_G"):
        rg.solve_flrw_dust(r, jnp.array([1.0, 2.0]), newton_G=0.0)
    with pytest.raises(ValueError, match="same shape"):
        rg.schwarzschild_action(r[:-1], r, r)


# --------------------------------------------------------------- issue #11: no silent wrong answers
def test_integer_grid_does_not_truncate_the_boundary_data():
    # Before issue #11 the boundary data were cast to r's dtype: on an integer grid A_ends = (4/3, 3.2)
    # became (1, 3) and B_ends = (1/3, 0.8) became (0, 0), then rejected as "B_ends must be > 0".
    # Promotion goes the other way now: the integer grid gives the float grid's solution, A = 4B.
    r_int = jnp.arange(3, 11)
    ends = jnp.array([1 - 2 / 3.0, 1 - 2 / 10.0])
    a = rg.solve_schwarzschild(r_int, 4 * ends, ends)
    b = rg.solve_schwarzschild(r_int.astype(jnp.float64), 4 * ends, ends)
    for x, y in zip(a.fields, b.fields):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_allclose(a.fields[0], 4 * (1 - 2 / r_int), rtol=1e-12)  # A = cB, B = 1 - 2M/r exactly


def test_solver_options_and_non_convergence_are_errors():
    r = jnp.linspace(3.0, 10.0, 8)
    ends = jnp.array([1 - 2 / 3.0, 1 - 2 / 10.0])
    with pytest.raises(ValueError, match="max_steps must be an integer >= 1"):
        rg.solve_schwarzschild(r, ends, ends, max_steps=-5)
    # one Newton step from the linear start cannot reach the tolerance: an error, not a silent residual
    with pytest.raises(ValueError, match="Newton did not converge"):
        rg.solve_schwarzschild(r, ends, ends, max_steps=1)


def test_domain_checks_survive_jit_grad():
    # the Lagrangian needs A/B > 0 (√(A/B)); A < 0 used to give NaN gradients under jit(grad)
    f = jax.jit(jax.grad(lambda A: rg.schwarzschild_lagrangian(3.0, A, 0.5, 0.1)))
    with pytest.raises(Exception, match="A must be > 0"):
        jax.block_until_ready(f(-0.2))
    # and at a valid point the derivative is the analytic one: ∂L/∂A = √(1/(AB)) (1 - B - r B')
    np.testing.assert_allclose(f(0.5), (1 / 0.5) * (1 - 0.5 - 0.3), rtol=1e-14)


from hypothesis import example, given, settings, strategies as st  # noqa: E402

_any_float = st.floats(allow_nan=True, allow_infinity=True, width=64)


@settings(max_examples=60, deadline=None)
@given(_any_float, _any_float, _any_float, _any_float)
@example(1.0, 1.0, 5e-324, 0.0)  # a subnormal B, found by CI: 0 to XLA on CPU
def test_schwarzschild_lagrangian_domain_is_exactly_r_A_B_positive(r, A, B, dB):
    # The reduced Lagrangian 2√(A/B)(1 - B - rB') is defined outside the horizon: it returns iff r, A,
    # B > 0 and every input is finite, over every float hypothesis draws (NaN, ±inf, ±0, subnormals);
    # inside, it is the formula evaluated independently in NumPy, to 1e-13 of the size of its terms.
    ok = all(math.isfinite(x) for x in (r, A, B, dB)) and r > 0 and A > 0 and B > 0
    # XLA on CPU treats subnormal inputs as zero (denormals-are-zero), so a subnormal positive r, A or B
    # is 0 to the kernel and may be refused as "must be > 0": either outcome is right there.
    subnormal = any(0 < abs(x) < sys.float_info.min for x in (r, A, B))
    try:
        L = float(rg.schwarzschild_lagrangian(r, A, B, dB))
    except ValueError as e:
        assert not ok or subnormal, e
        assert any(s in str(e) for s in ("contains NaN or inf", "must be > 0")), e
    else:
        assert ok
        with np.errstate(all="ignore"):
            ref = 2.0 * np.sqrt(np.float64(A) / np.float64(B)) * (1.0 - np.float64(B) - np.float64(r) * np.float64(dB))
        # XLA on CPU may flush subnormals to zero: compare only where every intermediate is normal
        normal = all(x == 0 or abs(x) > 1e-290 for x in (r, A, B, dB, A / B, r * dB, 1.0 - B, ref))
        # (1 - B - rB') may cancel, and XLA may fuse it into an FMA: the error scale is the terms' size
        scale = 2.0 * math.sqrt(A / B) * (1.0 + abs(B) + abs(r * dB)) if normal else math.inf
        if normal and math.isfinite(ref) and math.isfinite(L) and math.isfinite(scale):
            assert abs(L - ref) <= 1e-13 * scale, (L, ref)
