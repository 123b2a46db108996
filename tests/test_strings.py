"""Paper §8 (eqs. (66)-(76)): the π/πᵀ ensemble, Polyakov / Nambu-Goto, Virasoro, catenoid."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnworld_jax import hidden as H
from nnworld_jax import strings as S
from nnworld_jax.grid import Grid, derivative


def gaussian(s):
    return jnp.exp(-0.5 * s**2)


def gaussian_dd(s):
    return (s**2 - 1) * gaussian(s)


def test_ensemble_exact_vs_neuron_simulation():
    # Two routes to (x⁻, x⁺): FFT multipliers and RK4 on rolled neurons (α dt = 0.25: error ~1e-8).
    alpha, tau = 8.0, 3.0
    sigma = jnp.arange(320, dtype=float) / alpha - 20.0
    x0 = gaussian(sigma)
    ex = S.ensemble_exact(x0, alpha, tau)
    sim = jax.jit(S.ensemble_simulate, static_argnums=(1, 2, 3))(x0, alpha, 0.25 / alpha, 96)
    assert float(jnp.max(jnp.abs(sim - ex))) < 1e-7
    # x⁻ moves right and x⁺ left, each by ατ sites.
    _, c0, _ = H.profile_moments(x0)
    assert float(H.profile_moments(ex[0])[1] - c0) == pytest.approx(alpha * tau, rel=1e-10)
    assert float(H.profile_moments(ex[1])[1] - c0) == pytest.approx(-alpha * tau, rel=1e-10)


def test_ensemble_average_obeys_corrected_string_equation():
    # conventions §5: x̄ = ½(x⁻ + x⁺) satisfies ∂²_τx̄ = αΛ∂_τx̄ + α²Λx̄ exactly. ∂_τ by central differences
    # of the exact solution (step 1e-3: error ~α⁴h²·|x| ~ 1e-6 relative at α = 4) must match; the
    # bare wave equation ∂²_τx̄ = α²Λx̄ (73) misses by the (1/α)∂²_σ∂_τx̄ term, far above that.
    alpha, tau, h = 4.0, 2.0, 1e-3
    sigma = jnp.arange(200, dtype=float) / alpha - 25.0
    x0 = gaussian(sigma)

    def xbar(t):
        return jnp.mean(S.ensemble_exact(x0, alpha, t), axis=0)

    def lam(x):
        return H.shift(x) + H.shift_transpose(x) - 2 * x

    x_m, x_0, x_p = xbar(tau - h), xbar(tau), xbar(tau + h)
    d1, d2 = (x_p - x_m) / (2 * h), (x_p - 2 * x_0 + x_m) / h**2
    corrected = alpha * lam(d1) + alpha**2 * lam(x_0)
    scale = float(jnp.max(jnp.abs(d2)))
    assert float(jnp.max(jnp.abs(d2 - corrected))) < 1e-5 * scale
    bare = float(jnp.max(jnp.abs(d2 - alpha**2 * lam(x_0))))
    assert bare > 1e-2 * scale


def test_dalembert_limit_with_quantified_correction():
    # (73): x̄ → ½[f(σ-τ) + f(σ+τ)] with error (τ/4α)[f''(σ-τ) + f''(σ+τ)] + O(α⁻²): fitted slopes
    # -1 ± 0.1 without and -2 ± 0.15 with the correction over α = 32, 64, 128 (at α = 16 the
    # O(α⁻²) term, ~9τ-weighted f'''' / α², still bends the uncorrected slope to -0.86).
    tau = 5.0
    raw, cor = [], []
    alphas = (32.0, 64.0, 128.0)
    for alpha in alphas:
        sigma = jnp.arange(int(40 * alpha), dtype=float) / alpha - 20.0
        xb = jnp.mean(S.ensemble_exact(gaussian(sigma), alpha, tau), axis=0)
        d = xb - S.dalembert(gaussian, sigma, tau)
        raw.append(float(jnp.max(jnp.abs(d))))
        cor.append(float(jnp.max(jnp.abs(d - S.dalembert_correction(gaussian_dd, sigma, tau, alpha)))))
    la = np.log(alphas)
    assert np.polyfit(la, np.log(raw), 1)[0] == pytest.approx(-1.0, abs=0.1)
    assert np.polyfit(la, np.log(cor), 1)[0] == pytest.approx(-2.0, abs=0.15)


def _sheet(n_t, n_s):
    g = Grid((n_t, n_s))
    t, s = g.mesh()
    y = jnp.stack([0.3 * jnp.sin(t + s) * jnp.cos(s),
                   jnp.cos(2 * t) * jnp.sin(s) + 0.2 * jnp.cos(t - 3 * s),
                   0.5 * jnp.sin(t) * jnp.cos(2 * s)])
    return g, t, s, y


def _wave(g, y, method="spectral"):
    return jnp.stack([derivative(f, g, 1, 2, method=method) - derivative(f, g, 0, 2, method=method) for f in y])


def test_polyakov_eom_is_wave_equation_spectral():
    # (74): jax.grad of the conformal-gauge Polyakov action / cell volume = T η (∂²_σ - ∂²_τ) X.
    # Spectral derivatives of a band-limited field: both sides are exact up to round-off (1e-12 of
    # an O(10) field). The drift v τ drops out (its second derivative is zero).
    g, _, _, y = _sheet(24, 32)
    drift = jnp.array([1.3, 0.0, 0.0])
    eom = jax.jit(lambda y: S.polyakov_eom(y, g, drift=drift, tension=1.7))(y)
    ref = 1.7 * jnp.einsum("mn,nij->mij", S.minkowski(3), _wave(g, y))
    assert float(jnp.max(jnp.abs(eom - ref))) < 1e-12 * float(jnp.max(jnp.abs(ref)))


@pytest.mark.slow  # three grid sizes, each compiled: ~10 s on a loaded 2-core machine
def test_polyakov_eom_fd2_converges_at_second_order():
    # With fd2 derivatives grad(S) is the wide (2h) stencil; it converges to the analytic wave
    # operator like h² (fitted slope 2 ± 0.1 over n = 16, 32, 64).
    errs = []
    for n in (16, 32, 64):
        g, _, _, y = _sheet(n, n)
        eom = jax.jit(lambda y: S.polyakov_eom(y, g, method="fd2"))(y)
        errs.append(float(jnp.max(jnp.abs(eom - jnp.einsum("mn,nij->mij", S.minkowski(3), _wave(g, y))))))
    slope = np.polyfit(np.log([16, 32, 64]), np.log(errs), 1)[0]
    assert slope == pytest.approx(-2.0, abs=0.1)


def test_polyakov_general_metric_weyl_invariance():
    # (76) with a general h_ab: √|h| h^{ab} is Weyl invariant, so h → e^{φ} h leaves S_P unchanged
    # (1e-13); a non-conformal constant h changes it (by far more).
    g, t, s, y = _sheet(16, 20)
    h0 = jnp.array([[-1.0, 0.2], [0.2, 1.5]])
    h_field = jnp.broadcast_to(h0.reshape(2, 2, 1, 1), (2, 2, 16, 20)) * jnp.exp(0.3 * jnp.sin(t + 2 * s)).reshape(1, 1, 16, 20)
    a = S.polyakov_action(y, g, h=h0)
    b = S.polyakov_action(y, g, h=h_field)
    c = S.polyakov_action(y, g)
    assert float(abs(a - b)) < 1e-13 * float(abs(a))
    assert float(abs(a - c)) > 1e-2 * float(abs(c))
    with pytest.raises(ValueError, match="non-degenerate"):
        S.polyakov_action(y, g, h=jnp.zeros((2, 2)))


def _rotating(g, t, s, r=0.7):
    # Folded rotating string in conformal gauge: X⁰ = rτ, X¹ + iX² = r cos σ e^{iτ}.
    y = jnp.stack([jnp.zeros_like(t), r * jnp.cos(s) * jnp.cos(t), r * jnp.cos(s) * jnp.sin(t)])
    return y, jnp.array([r, 0.0, 0.0])


def test_virasoro_zero_for_rotating_string_nonzero_generic():
    # (75): the rotating string solves (74) and satisfies T_±± = 0 (spectral, 1e-13); a generic
    # configuration violates the constraints at O(1).
    g, t, s, y = _sheet(16, 24)
    yr, v = _rotating(g, t, s)
    vir = jax.jit(lambda y: S.virasoro_residuals(y, g, drift=v))
    assert float(jnp.max(jnp.abs(vir(yr)))) < 1e-13
    assert float(jnp.max(jnp.abs(S.polyakov_eom(yr, g, drift=v)))) < 1e-12
    assert float(jnp.max(jnp.abs(vir(y)))) > 0.1


def test_nambu_goto_equals_polyakov_on_shell():
    # On a conformal-gauge solution with (75), √(-det γ) = ½ h^{ab}γ_ab √|h|: S_NG = S_P (1e-12
    # relative); off shell they differ.
    g, t, s, y = _sheet(16, 24)
    yr, v = _rotating(g, t, s)
    p, ng = S.polyakov_action(yr, g, drift=v), S.nambu_goto_action(yr, g, drift=v)
    assert float(abs(p - ng)) < 1e-12 * float(abs(p))
    assert float(abs(S.polyakov_action(y, g, drift=v) - S.nambu_goto_action(y, g, drift=v))) > 1.0


def test_goldschmidt_ratio_and_catenoid_parameter():
    # The Goldschmidt ratio is 2u*/cosh u* with u* tanh u* = 1: 1.32548683... (1e-8). The parameter
    # solves R = a cosh(L/2a) (1e-12) and is the larger root.
    assert S.GOLDSCHMIDT_RATIO == pytest.approx(1.3254868, abs=1e-7)
    a = S.catenoid_parameter(1.0, 1.0)
    assert a * math.cosh(0.5 / a) == pytest.approx(1.0, abs=1e-12)
    assert a == pytest.approx(0.848338, abs=1e-6)
    with pytest.raises(S.GoldschmidtError, match="Goldschmidt"):
        S.catenoid_parameter(1.0, 1.4)
    with pytest.raises(ValueError):
        S.catenoid_parameter(-1.0, 1.0)


@pytest.mark.slow  # three BFGS solves, each compiled: ~9 s on a loaded 2-core machine
def test_catenoid_minimizer_second_order():
    # The discretized area's minimizer matches a cosh(z/a) at the nodes with error O(Δz²): fitted
    # slope 2 ± 0.1 over n = 8, 16, 32; at n = 32 the error is < 1e-4 R and the area within 1e-3
    # of the exact catenoid area π a (L + a sinh(L/a)).
    big_r, sep = 1.0, 1.0
    a = S.catenoid_parameter(big_r, sep)
    errs = []
    for n in (8, 16, 32):
        res = S.minimize_ring_surface(big_r, sep, n)
        assert not res.collapsed
        errs.append(float(jnp.max(jnp.abs(res.r - S.catenoid_profile(res.z, a)))))
    assert np.polyfit(np.log([8, 16, 32]), np.log(errs), 1)[0] == pytest.approx(-2.0, abs=0.1)
    assert errs[-1] < 1e-4
    exact_area = math.pi * a * (sep + a * math.sinh(sep / a))
    assert float(res.area) == pytest.approx(exact_area, rel=1e-3)


def test_goldschmidt_collapse_detected():
    # Beyond L/R = 1.3255 no catenoid exists: the minimizer's neck runs to zero and the area tends to
    # the two discs 2πR² (within 1% at n = 24, the thin conical thread costing O(Δz)).
    res = S.minimize_ring_surface(1.0, 1.5, 24)
    assert res.collapsed
    assert float(res.neck) < 1e-2
    assert float(res.area) == pytest.approx(res.disc_area, rel=1e-2)


def test_polyakov_target_covariance_and_eq76_typo():
    # The corrected (76) contracts ∂_aX^μ ∂_bX^ν η_μν: invariant under a linear change of target
    # coordinates X → ΛX, η → Λ⁻ᵀηΛ⁻¹ (here light-cone X^± = X⁰ ± X¹; 1e-12 relative). The printed
    # contraction (both factors indexed μ) equals it for diagonal η but not in light-cone coordinates.
    g, _, _, y = _sheet(16, 16)
    drift = jnp.array([1.3, 0.0, 0.0])
    lc = jnp.array([[1.0, 1.0, 0.0], [1.0, -1.0, 0.0], [0.0, 0.0, 1.0]])
    inv = jnp.linalg.inv(lc)
    eta_lc = inv.T @ S.minkowski(3) @ inv
    y_lc, d_lc = jnp.einsum("mn,nij->mij", lc, y), lc @ drift
    s = S.polyakov_action(y, g, drift=drift)
    assert float(abs(S.polyakov_action(y_lc, g, drift=d_lc, eta=eta_lc) - s)) < 1e-12 * float(abs(s))

    def printed(y, drift, eta):
        dx = S.worldsheet_derivatives(y, g, drift=drift)
        return -0.5 * jnp.sum(jnp.einsum("mn,mij->ij", eta, -dx[0] ** 2 + dx[1] ** 2)) * g.cell_volume

    assert float(abs(printed(y, drift, S.minkowski(3)) - s)) < 1e-12 * float(abs(s))
    assert float(abs(printed(y_lc, d_lc, eta_lc) - s)) > 0.1 * float(abs(s))


def test_kernels_vmap_and_keep_float32():
    # One unbatched field per call: vmap over subsystems equals the loop exactly; float32 inputs stay
    # float32 (no silent up- or down-casts).
    x = jnp.stack([gaussian(jnp.arange(64, dtype=float) / 4.0 - 8.0 - k) for k in range(3)])
    batched = jax.vmap(lambda v: S.ensemble_exact(v, 4.0, 1.0))(x)
    for k in range(3):
        np.testing.assert_array_equal(batched[k], S.ensemble_exact(x[k], 4.0, 1.0))
    assert S.ensemble_exact(x[0].astype(jnp.float32), 4.0, 1.0).dtype == jnp.float32
    g, _, _, y = _sheet(8, 8)
    assert S.polyakov_action(y.astype(jnp.float32), g).dtype == jnp.float32
    assert S.virasoro_residuals(y.astype(jnp.float32), g).dtype == jnp.float32


# --------------------------------------------------------------------------- input policy (issue #11)
def test_polyakov_eom_nan_check_is_not_discarded_under_jit():
    # polyakov_eom called check_finite(Y) and dropped the result: dead code under jit.
    g = Grid((4, 6))
    y = jnp.zeros((3, 4, 6)).at[0, 0, 0].set(jnp.nan)
    with pytest.raises(Exception, match="Y contains NaN"):
        jax.block_until_ready(jax.jit(lambda v: S.polyakov_eom(v, g))(y))


def test_target_metric_must_be_symmetric_and_non_degenerate():
    # η's antisymmetric part drops out of η_μν ∂X^μ ∂X^ν: a typo in η gave a finite, wrong action.
    g = Grid((4, 6))
    y = jnp.zeros((3, 4, 6)).at[1].set(jnp.sin(g.mesh()[1]))
    eta = jnp.diag(jnp.array([-1.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="eta must be symmetric"):
        S.polyakov_action(y, g, eta=eta.at[0, 1].set(0.5))
    with pytest.raises(ValueError, match="non-degenerate"):
        S.virasoro_residuals(y, g, eta=eta.at[2, 2].set(0.0))


@pytest.mark.unchecked  # asserts the package's own message for input the annotations exclude
def test_catenoid_rejects_strings_and_fractional_counts():
    with pytest.raises(ValueError, match="radius must be a finite number"):
        S.catenoid_parameter("1", 1.0)  # float("1") used to accept it
    with pytest.raises(ValueError, match="n must be an integer"):
        S.minimize_ring_surface(1.0, 1.0, 8.5)


def test_sliced_fd_action_and_its_transpose_match_the_grid_stencils():
    # The fd2/fd4 action differentiates Y by slicing (12 × 20: a band of rows of Y plus edge rows;
    # 3 × 3: a ghost-padded copy), with a hand-given transpose (the mirrored stencil) for jax.grad. Independent route: the same action built from
    # the grid's jnp.roll derivatives, differentiated by JAX's own transpose. Same discretization, so
    # values, gradients (the EOM) and a forward-mode derivative agree to round-off (1e-12 relative);
    # a non-square sheet catches a swapped τ/σ axis, and 3 × 3 exercises the wrap of fd4's ±2 taps.
    from nnworld_jax.grid import derivative as grid_derivative

    rng = np.random.default_rng(7)
    for shape in ((12, 20), (3, 3)):
        g = Grid(shape)
        y = jnp.asarray(rng.standard_normal((3, *shape)))
        v = jnp.asarray(rng.standard_normal((3, *shape)))
        drift = jnp.array([0.7, 0.0, 0.2])
        h = jnp.array([[-1.0, 0.3], [0.3, 1.4]])
        eta = S.minkowski(3)
        for method in ("fd2", "fd4"):
            def by_rolls(y_):
                dt = jnp.stack([grid_derivative(f, g, 0, method=method) for f in y_]) + drift[:, None, None]
                ds = jnp.stack([grid_derivative(f, g, 1, method=method) for f in y_])
                return jnp.sum(S.polyakov_density(jnp.stack([dt, ds]), h, eta, 1.3)) * g.cell_volume

            def sliced(y_):
                return S.polyakov_action(y_, g, drift=drift, h=h, eta=eta, tension=1.3, method=method)

            ref_val, ref_grad = jax.value_and_grad(by_rolls)(y)
            val, grad = jax.value_and_grad(sliced)(y)
            scale = float(jnp.max(jnp.abs(ref_grad)))
            assert abs(float(val - ref_val)) <= 1e-12 * abs(float(ref_val)), (shape, method)
            assert float(jnp.max(jnp.abs(grad - ref_grad))) <= 1e-12 * scale, (shape, method)
            eom = S.polyakov_eom(y, g, drift=drift, h=h, eta=eta, tension=1.3, method=method)
            assert float(jnp.max(jnp.abs(eom * g.cell_volume - ref_grad))) <= 1e-12 * scale, (shape, method)
            tangent = jax.jvp(sliced, (y,), (v,))[1]  # forward mode applies the stencil itself
            assert abs(float(tangent - jnp.vdot(ref_grad, v))) <= 1e-11 * scale * float(jnp.sum(jnp.abs(v))), (shape, method)


@pytest.mark.slow  # 3 sheets x 3 metric pairs, each compiled two or three times: ~15 s of CPU
def test_band_fd_eom_matches_rolls_for_general_metrics():
    # The fd2/fd4 EOM on sheets of >= 6w rows is sliced from Y as a band of rows plus thin edge rows
    # (no ghost copy), with η's and h's off-diagonal terms dropped only where they are statically 0.
    # Independent route: jax.grad of the density built from the grid's jnp.roll derivatives, by
    # JAX's own transpose. Cases: the smallest band sheets (6 rows for fd2, 12 for fd4), one row
    # short of it (fd4 on 11 rows: the fallback), σ just wider than the stencil (5 columns for fd4),
    # a field h with h_τσ != 0, a non-diagonal η (light-cone-like), and η/h passed as jit arguments
    # (traced: the general path even when diagonal). Same discretization, so equal to round-off:
    # 1e-12 of the largest entry (sums of ~10 terms of O(10 / h²) with h ~ 0.5-1).
    from nnworld_jax.grid import derivative as grid_derivative

    rng = np.random.default_rng(11)
    eta_lc = jnp.array([[0.0, -0.5, 0.0], [-0.5, 0.0, 0.0], [0.0, 0.0, 1.0]])
    cases = [((6, 7), "fd2"), ((12, 5), "fd4"), ((11, 9), "fd4")]
    for shape, method in cases:
        g = Grid(shape)
        t, s = g.mesh()
        y = jnp.asarray(rng.standard_normal((3, *shape)))
        drift = jnp.array([0.7, 0.0, 0.2])
        h_field = jnp.stack([jnp.stack([-1.0 - 0.2 * jnp.cos(t), 0.3 * jnp.sin(s)]),
                             jnp.stack([0.3 * jnp.sin(s), 1.2 + 0.1 * jnp.cos(t + s)])])
        for h, eta in ((None, None), (h_field, eta_lc), (jnp.array([[-1.0, 0.0], [0.0, 2.0]]), S.minkowski(3))):
            def by_rolls(y_):
                dt = jnp.stack([grid_derivative(f, g, 0, method=method) for f in y_]) + drift[:, None, None]
                ds = jnp.stack([grid_derivative(f, g, 1, method=method) for f in y_])
                return jnp.sum(S.polyakov_density(jnp.stack([dt, ds]), h, eta, 1.3))

            ref = jax.jit(jax.grad(by_rolls))(y)
            tol = 1e-12 * float(jnp.max(jnp.abs(ref)))
            eom = S.polyakov_eom(y, g, drift=drift, h=h, eta=eta, tension=1.3, method=method)
            assert float(jnp.max(jnp.abs(eom - ref))) <= tol, (shape, method, h is None)
            if eta is not None:
                traced = jax.jit(lambda y_, h_, e_: S.polyakov_eom(y_, g, drift=drift, h=h_, eta=e_, tension=1.3,
                                                                  method=method))(y, h, eta)
                assert float(jnp.max(jnp.abs(traced - ref))) <= tol, (shape, method, "traced")


def test_band_fd_eom_batches_and_keeps_float32():
    # vmap over sheets equals the per-sheet loop (1e-13: the same program per sheet, up to XLA's
    # reassociation across the batch); a float32 sheet gives a float32 EOM within 1e-5 relative of
    # float64 (float32 eps 6e-8 times ~100 for the O(1/h²) sums on an 8 × 8 sheet).
    g = Grid((8, 8))
    y = jnp.asarray(np.random.default_rng(3).standard_normal((2, 3, 8, 8)))
    eom = lambda v: S.polyakov_eom(v, g, method="fd2", tension=0.8)  # noqa: E731
    batched = jax.vmap(eom)(y)
    for k in range(2):
        assert float(jnp.max(jnp.abs(batched[k] - eom(y[k])))) <= 1e-13 * float(jnp.max(jnp.abs(batched[k])))
    e32 = eom(y[0].astype(jnp.float32))
    assert e32.dtype == jnp.float32
    assert float(jnp.max(jnp.abs(e32.astype(batched.dtype) - batched[0]))) <= 1e-5 * float(jnp.max(jnp.abs(batched[0])))


def test_fd_eom_compiles_to_one_pass_over_the_sheet():
    # Performance structure (issue #15): jax.grad of the fd action must compile to one fused loop
    # that reads Y and writes the EOM, with no intermediate the size of the sheet (a ghost-padded
    # copy of Y, a materialized cotangent, a guarded copy of Y): XLA's temporary buffers are then
    # only the thin edge rows (fd4: ~14 arrays of 8 rows) and Y's finiteness mask (1 byte per
    # float64, 1/8 of a sheet), under 1/2 of a sheet at 512 × 512, where one sheet-sized temporary
    # would already exceed it. The previous ghost-copy program needed 5 sheets.
    g = Grid((512, 512))
    y = jnp.zeros((4, 512, 512))
    sheet = y.size * y.dtype.itemsize
    for method in ("fd2", "fd4"):
        compiled = jax.jit(lambda v: S.polyakov_eom(v, g, method=method)).lower(y).compile()
        assert compiled.memory_analysis().temp_size_in_bytes < sheet / 2, method


def test_polyakov_density_is_eq76_written_out_for_general_metrics():
    # polyakov_density and the action/EOM core are one implementation (_pointwise_polyakov), so the
    # density itself is checked here against eq. (76) written out independently, site by site in
    # NumPy: ℒ_P = -(T/2) √|det h| (h⁻¹)^{ab} ∂_aX^μ ∂_bX^ν η_μν, with a field-valued non-diagonal
    # h (inverted by np.linalg.inv) and a non-diagonal η. Same arithmetic up to ordering: 1e-13
    # relative to the largest |ℒ| (inputs O(1), a few dozen roundings per site).
    rng = np.random.default_rng(11)
    nt, ns, d1 = 5, 7, 3
    dx = rng.standard_normal((2, d1, nt, ns))
    off = 0.3 * rng.standard_normal((nt, ns))
    h = np.stack([np.stack([-1.0 - 0.2 * rng.random((nt, ns)), off]),
                  np.stack([off, 1.0 + 0.5 * rng.random((nt, ns))])])
    eta = np.array([[-1.0, 0.2, 0.0], [0.2, 1.0, 0.1], [0.0, 0.1, 1.5]])
    tension = 1.3
    ref = np.empty((nt, ns))
    for i in range(nt):
        for j in range(ns):
            hij = h[:, :, i, j]
            induced = dx[:, :, i, j] @ eta @ dx[:, :, i, j].T  # γ_ab
            ref[i, j] = -0.5 * tension * math.sqrt(abs(np.linalg.det(hij))) * np.sum(np.linalg.inv(hij) * induced)
    got = S.polyakov_density(jnp.asarray(dx), jnp.asarray(h), jnp.asarray(eta), tension)
    assert got.shape == (nt, ns)
    np.testing.assert_allclose(got, ref, atol=1e-13 * np.abs(ref).max())
    # A constant (2, 2) metric broadcasts to the sheet and gives the same numbers as its field form.
    h0 = np.array([[-1.2, 0.25], [0.25, 0.9]])
    field = np.broadcast_to(h0.reshape(2, 2, 1, 1), (2, 2, nt, ns))
    np.testing.assert_allclose(S.polyakov_density(jnp.asarray(dx), jnp.asarray(h0), jnp.asarray(eta), tension),
                               S.polyakov_density(jnp.asarray(dx), jnp.asarray(field), jnp.asarray(eta), tension),
                               rtol=1e-14, atol=1e-14)
