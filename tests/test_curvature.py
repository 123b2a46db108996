"""Curvature kernels (paper §9, eqs. (93)-(96)): exact solutions of general relativity, identities
(contracted Bianchi, flat space in curvilinear coordinates), the conventions §6 values, the grid
(spectral) route against the pointwise (autodiff) route, the structure-analysis route against the plain
route, and the curvature core against an independent ∂Γ-form reference written here.

Tolerances: the pointwise route is exact up to round-off (forward-mode autodiff, closed-form
inverse), so float64 checks use ~1e-11 relative to the size of the terms that cancel; the grid
route is spectral, its error set by the Fourier tail of Γ at the grid size used (stated per test)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnworld_jax import _compile
from nnworld_jax import _curvature_core as cc
from nnworld_jax import _jaxpr_structure as js
from nnworld_jax import curvature as cv
from nnworld_jax import grid as gr
from nnworld_jax import metrics as mt

M = 1.0
SCHW = mt.schwarzschild(M)
KERR = mt.kerr(M, 0.7)
RN = mt.reissner_nordstrom(M, 0.6)
Q_RN = 0.6


def _points(key, n_points, r_range=(2.5, 12.0)):
    # Outside the horizons (r_+ ≤ 2M), away from the poles where sinθ → 0.
    k1, k2, k3, k4 = jax.random.split(key, 4)
    t = jax.random.uniform(k1, (n_points,), minval=-1.0, maxval=1.0)
    r = jax.random.uniform(k2, (n_points,), minval=r_range[0], maxval=r_range[1])
    th = jax.random.uniform(k3, (n_points,), minval=0.3, maxval=math.pi - 0.3)
    ph = jax.random.uniform(k4, (n_points,), minval=0.0, maxval=2 * math.pi)
    return jnp.stack([t, r, th, ph], axis=1)


def _scalars_and_ricci(metric, X):
    c = cv.curvature(metric, X)
    return c.ricci_tensor, c.ricci_scalar, c.kretschmann, c.einstein_tensor


# ------------------------------------------------------------------------------ black holes
def test_schwarzschild_is_ricci_flat_with_known_kretschmann(key):
    P = _points(key, 64)
    ric, scalar, K, _ = cv.on_points(_scalars_and_ricci, SCHW, P, chunk_size=32)
    r = P[:, 1]
    K_exact = 48 * M**2 / r**6
    # Ricci components are differences of O(M/r³) terms: zero to round-off relative to K^½.
    np.testing.assert_allclose(ric, 0.0, atol=1e-13)
    np.testing.assert_allclose(scalar, 0.0, atol=1e-13)
    np.testing.assert_allclose(K, K_exact, rtol=1e-12)


def test_kerr_is_ricci_flat_with_known_kretschmann(key):
    a = 0.7
    P = _points(key, 64)
    ric, scalar, K, _ = cv.on_points(_scalars_and_ricci, KERR, P, chunk_size=64)
    r, c = P[:, 1], jnp.cos(P[:, 2])
    sigma = r**2 + (a * c) ** 2
    # Closed form of K for Kerr (Henry 2000): 48M²(r⁶ − 15r⁴a²c² + 15r²a⁴c⁴ − a⁶c⁶)/Σ⁶.
    K_exact = 48 * M**2 * (r**6 - 15 * r**4 * (a * c) ** 2 + 15 * r**2 * (a * c) ** 4 - (a * c) ** 6) / sigma**6
    np.testing.assert_allclose(ric, 0.0, atol=1e-12)  # Kerr's Ricci terms are larger: O(1e-1) at r = 2.5
    np.testing.assert_allclose(K, K_exact, rtol=1e-10, atol=1e-14)


def test_reissner_nordstrom_matches_maxwell_stress(key):
    # G_μν = 8π T_μν with T_μν = (1/4π)(F_μα F_ν^α − ¼ g_μν F²), F_tr = −F_rt = E = Q/r² (built
    # here independently from the metric components); R = 0 because T is traceless.
    P = _points(key, 16)
    _, scalar, _, G = cv.on_points(_scalars_and_ricci, RN, P)
    np.testing.assert_allclose(scalar, 0.0, atol=1e-13)
    for X, Gx in zip(np.asarray(P), np.asarray(G)):
        g = np.asarray(RN(jnp.asarray(X)))
        ginv = np.linalg.inv(g)
        F = np.zeros((4, 4))
        F[0, 1], F[1, 0] = Q_RN / X[1] ** 2, -Q_RN / X[1] ** 2
        F2 = np.einsum("ab,cd,ac,bd->", F, F, ginv, ginv)
        T = (F @ ginv @ F.T - 0.25 * g * F2) / (4 * np.pi)
        np.testing.assert_allclose(Gx, 8 * np.pi * T, atol=1e-13)
    # G_tt = f Q²/r⁴ explicitly at one point (the brief's check).
    X = P[0]
    f = 1 - 2 * M / X[1] + (Q_RN / X[1]) ** 2
    np.testing.assert_allclose(G[0, 0, 0], f * Q_RN**2 / X[1] ** 4, rtol=1e-12)


# --------------------------------------------------------------------------------- cosmology
def _power(t):
    return t ** (2.0 / 3.0)


def _power_derivs(t):
    return t ** (2 / 3), (2 / 3) * t ** (-1 / 3), -(2 / 9) * t ** (-4 / 3)


def _cosh_derivs(t):
    return np.cosh(t), np.sinh(t), np.cosh(t)


FLRW_CASES = {  # name: (a_fn, (a, ȧ, ä) closed form, k)
    "matter k=0": (_power, _power_derivs, 0.0),
    "matter k=+1": (_power, _power_derivs, 1.0),
    "matter k=-1": (_power, _power_derivs, -1.0),
    "cosh k=0": (jnp.cosh, _cosh_derivs, 0.0),
    "cosh k=+1": (jnp.cosh, _cosh_derivs, 1.0),
    "cosh k=-1": (jnp.cosh, _cosh_derivs, -1.0),
}


@pytest.mark.parametrize("case", FLRW_CASES)
def test_flrw_friedmann_equations(case):
    a_fn, derivs, k = FLRW_CASES[case]
    metric = mt.flrw(a_fn, k)
    X = jnp.array([1.3, 0.4, 1.1, 0.7])  # r = 0.4: 1 − k r² > 0 for |k| = 1
    c = cv.curvature(metric, X)
    a, ad, add = derivs(1.3)
    G_mixed = np.asarray(c.inverse_metric @ c.einstein_tensor)
    # Closed forms (−+++): the terms are O(1), round-off ~1e-15 each, so 1e-12 relative.
    np.testing.assert_allclose(c.einstein_tensor[0, 0], 3 * (ad**2 + k) / a**2, rtol=1e-12)
    # (atol: dust with k = 0 has G^i_j = 0 exactly.)
    np.testing.assert_allclose(np.diag(G_mixed)[1:], -(2 * add / a + (ad**2 + k) / a**2), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(G_mixed - np.diag(np.diag(G_mixed)), 0.0, atol=1e-13)
    np.testing.assert_allclose(c.ricci_scalar, 6 * (add / a + (ad**2 + k) / a**2), rtol=1e-12)
    np.testing.assert_allclose(c.kretschmann, 12 * (a**2 * add**2 + (k + ad**2) ** 2) / a**4, rtol=1e-12)


def test_milne_universe_is_flat():
    # a = t, k = −1 is Minkowski space inside the light cone: every Riemann component vanishes.
    R = cv.riemann(mt.flrw(lambda t: t, -1.0), jnp.array([1.7, 0.8, 1.0, 0.4]))
    np.testing.assert_allclose(R, 0.0, atol=1e-13)


def test_de_sitter_is_maximally_symmetric():
    H = 0.7
    c = cv.curvature(mt.de_sitter(H), jnp.array([0.4, 0.1, -0.3, 0.9]))
    np.testing.assert_allclose(c.ricci_scalar, 12 * H**2, rtol=1e-13)
    np.testing.assert_allclose(c.kretschmann, 24 * H**4, rtol=1e-13)
    # G_μν = −Λ g_μν with Λ = 3H² (a vacuum-energy solution).
    np.testing.assert_allclose(c.einstein_tensor, -3 * H**2 * c.metric, atol=1e-13)


# ---------------------------------------------------------------------- geometry and identities
def test_two_sphere_curvature_and_sign_convention():
    a, th = 1.7, 0.9
    c = cv.curvature(mt.sphere(a), jnp.array([th, 0.3]))
    np.testing.assert_allclose(c.ricci_scalar, 2 / a**2, rtol=1e-14)
    # Γ^θ_φφ = −sinθ cosθ, Γ^φ_θφ = cotθ; R^θ_φθφ = sin²θ > 0 fixes the sign convention.
    np.testing.assert_allclose(c.christoffel[0, 1, 1], -math.sin(th) * math.cos(th), rtol=1e-14)
    np.testing.assert_allclose(c.christoffel[1, 0, 1], 1 / math.tan(th), rtol=1e-14)
    np.testing.assert_allclose(c.riemann[0, 1, 0, 1], math.sin(th) ** 2, rtol=1e-14)
    np.testing.assert_allclose(c.christoffel, cv.christoffel(mt.sphere(a), jnp.array([th, 0.3])), atol=0)


def test_flat_space_in_spherical_coordinates_has_zero_riemann():
    def flat_spherical(X):
        _, r, th, _ = X
        return jnp.diag(jnp.stack([-jnp.ones_like(r), jnp.ones_like(r), r**2, (r * jnp.sin(th)) ** 2]))

    X = jnp.array([0.0, 2.3, 0.8, 1.9])
    c = cv.curvature(flat_spherical, X)
    assert float(jnp.max(jnp.abs(c.christoffel))) > 0.5  # the coordinates are curvilinear ...
    np.testing.assert_allclose(c.riemann, 0.0, atol=1e-14)  # ... the space is not curved


def _random_metric(key, n=4, eps=0.15, modes=3):
    # A smooth Lorentzian metric η + ε Σ_k sym(A_k) sin(w_k·X + φ_k): generic (no symmetry).
    ka, kw, kp = jax.random.split(key, 3)
    A = jax.random.normal(ka, (modes, n, n))
    A = 0.5 * (A + jnp.swapaxes(A, 1, 2))
    w = jax.random.normal(kw, (modes, n))
    phase = jax.random.uniform(kp, (modes,), maxval=2 * math.pi)
    eta = jnp.diag(jnp.ones(n).at[0].set(-1.0))

    def g(X):
        return eta + eps * jnp.einsum("k,kab->ab", jnp.sin(w @ X + phase), A)

    return g


@pytest.mark.slow  # third derivatives of g: ~10 s of compilation on a loaded 2-core machine
def test_contracted_bianchi_identity_on_a_random_metric(key):
    metric = _random_metric(key, n=3)  # the identity holds in any dimension; n = 3 compiles faster

    def einstein_upper(X):
        c = cv.curvature(metric, X)
        return c.inverse_metric @ c.einstein_tensor @ c.inverse_metric

    X = jnp.array([0.3, -0.2, 0.5])
    div = cv.covariant_divergence(metric, einstein_upper, X)
    # ∂G is third derivatives of g; the identity cancels terms of size ~|∂_μ G^μν| ~ 0.1-1:
    # a wrong Γ term (or a wrong Riemann convention) leaves O(0.01-1), round-off leaves 1e-15.
    partial = jnp.einsum("mvm->v", jax.jacfwd(einstein_upper)(X))
    assert float(jnp.max(jnp.abs(partial))) > 1e-2
    np.testing.assert_allclose(div, 0.0, atol=1e-13)


def test_inverse_is_closed_form_and_matches_lapack(key):
    for n in (3, 4):
        g = jax.random.normal(jax.random.fold_in(key, n), (n, n)) + 3 * jnp.eye(n)
        det, inv = jax.jit(cc.det_inv)(g)
        np.testing.assert_allclose(det, np.linalg.det(np.asarray(g)), rtol=1e-13)
        np.testing.assert_allclose(inv, np.linalg.inv(np.asarray(g)), rtol=1e-12, atol=1e-14)


def test_five_dimensions_uses_the_general_inverse():
    # S²(a) × R³ in coordinates (θ, φ, x, y, z): R = 2/a², K = 4/a⁴ (only the sphere is curved).
    a = 1.3

    def metric(X):
        return jnp.diag(jnp.stack([a**2 * jnp.ones_like(X[0]), (a * jnp.sin(X[0])) ** 2, *([jnp.ones_like(X[0])] * 3)]))

    c = cv.curvature(metric, jnp.array([1.0, 0.2, 0.3, 0.4, 0.5]))
    np.testing.assert_allclose(c.ricci_scalar, 2 / a**2, rtol=1e-13)
    np.testing.assert_allclose(c.kretschmann, 4 / a**4, rtol=1e-13)


def test_on_points_equals_pointwise_with_an_overlapping_last_chunk(key):
    P = _points(key, 37)
    # chunks of points 0-31 and 5-36 (the last 32, overlapping the first; rows 5-31 of it dropped);
    # the (fn, metric, 32) program is the one compiled above.
    _, _, K, _ = cv.on_points(_scalars_and_ricci, SCHW, P, chunk_size=32)
    one = np.array([cv.curvature(SCHW, x).kretschmann for x in P])
    # Same arithmetic, different compiled programs (vector widths): equal to a few ulp.
    np.testing.assert_allclose(K, one, rtol=1e-14)


# ------------------------------------------------------------------------- conventions §6 test metric
def test_spec_einstein_components_at_a_point():
    # conventions §6: −√g G^{00} = 0.050095596285, −√g G^{01} = −0.026109302857 (d = 3, ε = 0.1), given to
    # 12 digits; the pointwise route is exact, so 1e-12 absolute.
    c = cv.curvature(mt.periodic_test_metric(3, 0.1), jnp.array([0.3, 1.1, 2.0]))
    G_up = c.inverse_metric @ c.einstein_tensor @ c.inverse_metric
    sg = jnp.sqrt(c.det)
    np.testing.assert_allclose(-sg * G_up[0, 0], 0.050095596285, atol=1e-12)
    np.testing.assert_allclose(-sg * G_up[0, 1], -0.026109302857, atol=1e-12)


def _sampled(metric, grid):
    pts = grid.mesh().reshape(grid.ndim, -1).T
    return pts, jax.vmap(metric, out_axes=-1)(pts).reshape(grid.ndim, grid.ndim, *grid.shape)


@pytest.mark.parametrize("route", ["pointwise", "grid"])
def test_spec_integral_of_sqrt_g_R_in_three_dimensions(route):
    # conventions §6: trapezoid ∫√g R on the n = 24 grid = −0.3069736138 (quoted to 1e-9 of it, 10 digits).
    metric, grid = mt.periodic_test_metric(3, 0.1), gr.Grid((24, 24, 24))
    pts, g_field = _sampled(metric, grid)
    if route == "pointwise":
        c = cv.on_points(cv.curvature, metric, pts)
        density = (jnp.sqrt(c.det) * c.ricci_scalar).reshape(grid.shape)
    else:
        c = cv.curvature_on_grid(g_field, grid)
        density = jnp.sqrt(c.det) * c.ricci_scalar
    np.testing.assert_allclose(gr.integral(density, grid), -0.3069736138, atol=1e-9)


def test_gauss_bonnet_in_two_dimensions():
    # ∫√g R over the torus = 4πχ = 0 for any metric (conventions §6: d = 2, ε = 0.2, n = 32); the grid
    # route gives it to round-off times the size of √g R (≈ 1), measured ~1e-12.
    grid = gr.Grid((32, 32))
    _, g_field = _sampled(mt.periodic_test_metric(2, 0.2), grid)
    c = cv.curvature_on_grid(g_field, grid)
    density = jnp.sqrt(c.det) * c.ricci_scalar
    assert float(jnp.max(jnp.abs(density))) > 0.1  # curved pointwise, zero on the whole
    np.testing.assert_allclose(gr.integral(density, grid), 0.0, atol=1e-10)


def test_grid_route_equals_the_pointwise_route_for_a_band_limited_metric():
    # The conventions §6 metric is a trigonometric polynomial of degree ≤ 2 per axis: its spectral
    # ∂g and ∂∂g on n = 16 points are exact, so the grid route (curvature core on grid derivatives)
    # equals the pointwise (autodiff) route to round-off: R ~ 1, a few hundred operations, 1e-11.
    metric, grid = mt.periodic_test_metric(3, 0.1), gr.Grid((16, 16, 16))
    pts, g_field = _sampled(metric, grid)
    c = cv.curvature_on_grid(g_field, grid)
    ref = cv.on_points(cv.curvature, metric, pts)
    assert float(jnp.max(jnp.abs(ref.ricci_scalar))) > 0.05  # curved: not 0 == 0
    for field in ("ricci_scalar", "kretschmann"):
        np.testing.assert_allclose(getattr(c, field).reshape(-1), getattr(ref, field), rtol=0, atol=1e-11, err_msg=field)
    np.testing.assert_allclose(jnp.moveaxis(c.einstein_tensor.reshape(3, 3, -1), -1, 0), ref.einstein_tensor, atol=1e-11)


@pytest.mark.slow  # three grid sizes, each compiled
def test_grid_route_converges_spectrally_for_a_metric_that_is_not_band_limited():
    # g = (1 + ε e^{sin X_0} ...) has every Fourier mode: the spectral ∂g, ∂∂g converge exponentially
    # (measured max |R_grid − R_pointwise| below); each step must gain more than 50× (exponential,
    # not algebraic: fd2 would gain 1.8-2.3× from 16 to 24 to 32).
    def metric(X):
        h = 0.3 * jnp.exp(jnp.sin(X[0] + 2 * X[1]) + 0.5 * jnp.cos(X[2]))
        return jnp.eye(3) + h * jnp.array([[1.0, 0.2, 0.0], [0.2, 0.5, 0.1], [0.0, 0.1, 0.3]])

    errs = []
    for n in (16, 24, 32):
        grid = gr.Grid((n, n, n))
        pts, g_field = _sampled(metric, grid)
        R_grid = cv.curvature_on_grid(g_field, grid).ricci_scalar.reshape(-1)
        R_point = cv.on_points(cv.ricci_scalar, metric, pts)
        errs.append(float(jnp.max(jnp.abs(R_grid - R_point))))
    assert errs[0] < 1e-1 and errs[1] < errs[0] / 50 and errs[2] < errs[1] / 50, errs


# ------------------------------------------------------------------------------- bad input
@pytest.mark.unchecked  # asserts the package's own message for input the annotations exclude
def test_bad_input_raises():
    with pytest.raises(ValueError, match="one point"):
        cv.curvature(SCHW, jnp.zeros((2, 4)))
    with pytest.raises(ValueError, match="shape"):
        cv.curvature(mt.sphere(1.0), jnp.array([1.0, 0.0, 0.0]))
    with pytest.raises(Exception, match="NaN"):
        cv.curvature(SCHW, jnp.array([0.0, jnp.nan, 1.0, 0.0]))
    with pytest.raises(ValueError, match="g_field"):
        cv.curvature_on_grid(jnp.ones((2, 2, 8, 8)), gr.Grid((8, 8, 8)))
    with pytest.raises(ValueError, match="M"):
        mt.schwarzschild(-1.0)
    with pytest.raises(ValueError, match="a"):
        mt.kerr(1.0, 1.5)


def test_float32_in_float32_out():
    c = cv.curvature(mt.sphere(1.0), jnp.array([1.0, 0.3], jnp.float32))
    assert c.ricci_scalar.dtype == jnp.float32
    np.testing.assert_allclose(c.ricci_scalar, 2.0, rtol=1e-5)  # float32 round-off ~1e-7 × O(10) terms


# ------------------------------------------------------- component-wise pointwise kernels (n ≤ 4)
def test_dependent_coordinates_are_found_structurally():
    # Kerr and Schwarzschild depend on (r, θ) only, de Sitter on t only; a metric that mixes the
    # coordinates through a matrix product (an op the analysis treats conservatively) on all.
    X = jnp.array([0.1, 3.0, 1.0, 0.2])
    assert js._dependent_coordinates(KERR, X) == (1, 2)
    assert js._dependent_coordinates(SCHW, X) == (1, 2)
    assert js._dependent_coordinates(mt.de_sitter(0.7), X) == (0,)
    assert js._dependent_coordinates(mt.minkowski(4), X) == ()
    w = jnp.array([0.0, 1.0, 0.0, 0.0])
    assert js._dependent_coordinates(lambda x: jnp.eye(4) * (1 + 0.1 * jnp.sin(x @ w)), X) == (0, 1, 2, 3)


def test_structural_zeros_of_the_metric():
    # Components that depend on no coordinate and vanish are dropped from the algebra: Kerr's
    # zeros are every off-diagonal entry but g_tφ; jnp.diag (Schwarzschild) leaves the diagonal.
    X = jnp.array([0.1, 3.0, 1.0, 0.2])
    _, zero = js._structure(KERR, X)
    expected = ~np.eye(4, dtype=bool)
    expected[0, 3] = expected[3, 0] = False
    np.testing.assert_array_equal(zero, expected)
    _, zero = js._structure(SCHW, X)
    np.testing.assert_array_equal(zero, ~np.eye(4, dtype=bool))

    # A component that vanishes only in part of the space is not a structural zero (it depends on
    # r through the jnp.where), although it is 0 at the point the constants are read at (r = 1).
    def switched(x):
        h = jnp.where(x[1] > 2.0, 0.1 * jnp.sin(x[1]), 0.0)
        return SCHW(x) + h * (jnp.eye(4)[0:1].T @ jnp.eye(4)[1:2] + jnp.eye(4)[1:2].T @ jnp.eye(4)[0:1])

    _, zero = js._structure(switched, X)
    assert not zero[0, 1] and not zero[1, 0]


def _reference_curvature(metric, X):
    # An independent second method, written here with jnp.einsum and LAPACK: Γ from g⁻¹ = inv(g),
    # ∂Γ by jacfwd of Γ, R^a_bcd = ∂_cΓ^a_db − ∂_dΓ^a_cb + Γ^a_ceΓ^e_db − Γ^a_deΓ^e_cb (the ∂Γ form;
    # the core uses the lowered jet form and never forms ∂Γ), Ricci as the trace R^a_bad.
    def gamma(Y):
        gi = jnp.linalg.inv(metric(Y))
        d = jax.jacfwd(metric)(Y)  # d[a, b, c] = ∂_c g_ab
        return 0.5 * jnp.einsum("ad,dbc->abc", gi, jnp.transpose(d, (0, 2, 1)) + d - jnp.transpose(d, (2, 0, 1)))

    g, gam, dgam = metric(X), gamma(X), jax.jacfwd(gamma)(X)  # dgam[a, b, c, e] = ∂_e Γ^a_bc
    riem = (jnp.einsum("adbc->abcd", dgam) - jnp.einsum("acbd->abcd", dgam)
            + jnp.einsum("ace,edb->abcd", gam, gam) - jnp.einsum("ade,ecb->abcd", gam, gam))
    ginv = jnp.linalg.inv(g)
    ricci = jnp.einsum("abad->bd", riem)
    scalar = jnp.einsum("bd,bd->", ginv, ricci)
    low = jnp.einsum("ae,ebcd->abcd", g, riem)
    up = jnp.einsum("ae,bf,cg,dh,efgh->abcd", ginv, ginv, ginv, ginv, low)
    return cv.Curvature(g, ginv, jnp.linalg.det(g), gam, riem, ricci, scalar, ricci - 0.5 * g * scalar,
                        jnp.einsum("abcd,abcd->", low, up))


def _assert_same_curvature(a, b, rel):
    # relative to each field's largest entry, or for a field that vanishes (Ricci of a vacuum
    # metric) to the size of the Riemann terms that cancel in it
    floor = float(np.max(np.abs(np.asarray(b.riemann))))
    for field in cv.Curvature._fields:
        x, y = np.asarray(getattr(a, field)), np.asarray(getattr(b, field))
        scale = max(float(np.max(np.abs(y))), floor)
        np.testing.assert_allclose(x, y, rtol=0, atol=rel * scale, err_msg=field)


@pytest.mark.parametrize("name", ["random n=3", "kerr"])
def test_core_equals_an_independent_christoffel_derivative_reference(key, name):
    # Two formulas: the core's R_abcd from ∂∂g and Γ·Γ (component route for Kerr, plain route for the
    # dense random metric) against R^a_bcd from ∂Γ and Γ·Γ with einsum and LAPACK (above). Every field
    # agrees to round-off: 1e-12 relative to the field's largest entry (a few hundred operations).
    if name == "kerr":
        metric, X = KERR, jnp.array([0.3, 2.7, 0.9, 1.1])
    else:
        metric, X = _random_metric(key, n=3), jnp.array([0.3, -0.2, 0.5])
    ref = jax.jit(_reference_curvature, static_argnums=0)(metric, X)
    _assert_same_curvature(cv.curvature(metric, X), ref, 1e-12)
    assert float(jnp.max(jnp.abs(ref.riemann))) > 1e-2  # curved: the comparison is not 0 == 0


STRUCTURED = {  # metrics with structural zeros / unused coordinates, and a point of each
    "schwarzschild": (SCHW, [0.3, 3.1, 1.2, 0.4]),
    "kerr": (KERR, [0.3, 2.7, 0.9, 1.1]),
    "flrw": (mt.flrw(jnp.cosh, 1.0), [1.3, 0.4, 1.1, 0.7]),
}


@pytest.mark.parametrize("name", STRUCTURED)
def test_structure_analysis_route_equals_the_plain_route(name):
    # The jaxpr structure analysis (nnworld_jax._jaxpr_structure, JAX internals) only selects which
    # derivatives and components the core computes; the plain route (every direction, dense arrays,
    # no analysis) must give the same R, G, K and every other field to round-off (1e-13 of each
    # field's largest entry: the same formulas summed in another order).
    metric, X = STRUCTURED[name]
    X = jnp.array(X)
    assert cv._sparse_structure(4, js._structure(metric, X))  # the component route is the one taken
    fast, plain = cv.curvature(metric, X), cv._curvature_plain(metric, X)
    _assert_same_curvature(fast, plain, 1e-13)
    assert float(jnp.max(jnp.abs(plain.riemann))) > 1e-3


# --------------------------------------------------------------- issue #11: no silent wrong answers
def _upper_triangle_only(X):
    # non-symmetric: g_01 = 0.3, g_10 = 0. Before issue #11 the component route mirrored the upper
    # triangle and returned a finite Ricci scalar for it.
    return jnp.array([[1.0, 0.3], [0.0, 1.0]]) + 0.1 * jnp.sin(X[0]) * jnp.eye(2)


def test_non_symmetric_metric_is_an_error_naming_symmetry():
    with pytest.raises(ValueError, match=r"metric\(X\) must be symmetric"):
        cv.ricci_scalar(_upper_triangle_only, jnp.array([0.1, 0.2]))
    with pytest.raises(Exception, match=r"metric\(X\) must be symmetric"):  # and under jit, per point
        jax.block_until_ready(jax.jit(lambda x: cv.ricci_scalar(_upper_triangle_only, x))(jnp.array([0.1, 0.2])))


def test_schwarzschild_at_the_horizon_is_an_error_naming_the_point():
    # r = 2M: g_tt = 0 and g_rr = 1/0; before issue #11 the kernels returned NaN/inf silently.
    with pytest.raises(ValueError, match=r"degenerate or not finite at X.*X = \[0\.0, 2\.0, 1\.0, 0\.0\]"):
        cv.curvature(SCHW, jnp.array([0.0, 2.0, 1.0, 0.0]))


def test_sphere_at_the_pole_is_an_error_under_jit_vmap_and_grad():
    pole, ok = jnp.array([0.0, 0.3]), jnp.array([1.0, 0.3])
    sphere = mt.sphere(1.0)
    with pytest.raises(ValueError, match="degenerate"):
        cv.ricci_scalar(sphere, pole)
    R = lambda x: cv.ricci_scalar(sphere, x)
    for f, x in ((jax.jit(R), pole), (jax.vmap(R), jnp.stack([ok, pole])), (jax.jit(jax.grad(R)), pole),
                 (jax.jit(jax.vmap(jax.grad(R))), jnp.stack([ok, pole]))):
        with pytest.raises(Exception, match="degenerate"):
            jax.block_until_ready(f(x))
    with pytest.raises(Exception, match="degenerate"):
        cv.on_points(cv.ricci_scalar, sphere, jnp.stack([ok, pole]))
    # the same calls at regular points are unaffected: R = 2/a² on the unit sphere, exactly (to round-off)
    np.testing.assert_allclose(jax.vmap(R)(jnp.stack([ok, ok])), 2.0, rtol=1e-13)


def test_integer_point_is_promoted_not_truncated():
    # X = (1, 0) as integers is the float point (1.0, 0.0): same Γ^θ_φφ = -sin1 cos1 to the last bit.
    sphere = mt.sphere(1.0)
    np.testing.assert_array_equal(cv.christoffel(sphere, jnp.array([1, 0])), cv.christoffel(sphere, jnp.array([1.0, 0.0])))


@pytest.mark.unchecked  # asserts the package's own message for input the annotations exclude
def test_metric_parameters_are_scalars_and_dimensions_integers():
    with pytest.raises(ValueError, match=r"M must be a scalar.*jax\.vmap"):
        mt.schwarzschild(jnp.array([1.0, 2.0]))
    with pytest.raises(TypeError, match="n must be an integer"):
        mt.minkowski(2.5)  # used to build a 2-dimensional metric silently
    # an integer parameter is the float one: M = 1 and M = 1.0 give the same metric
    X = jnp.array([0.0, 3.0, 1.0, 0.0])
    np.testing.assert_array_equal(mt.schwarzschild(1)(X), mt.schwarzschild(1.0)(X))


# ------------------------------------------------------------------------------ cold start helpers
@pytest.mark.parametrize("name", ["schwarzschild", "kerr", "flrw", "minkowski", "periodic_test_metric", "sphere",
                                  "de_sitter", "reissner_nordstrom"])
def test_numpy_evaluation_of_a_metric_jaxpr_equals_the_metric(name):
    # The structure analysis reads the constant entries of g (its structural zeros) from a NumPy
    # evaluation of the metric's jaxpr. Second method: the metric itself, jitted. Both are float64
    # evaluations of the same expressions (libm vs XLA's sin/cos/exp differ by ≤ 1 ulp, then a few
    # more operations), so 1e-14 relative to max|g|; the zeros must be exact.
    metric, X = {
        "schwarzschild": (SCHW, [0.3, 3.1, 1.2, 0.4]),
        "kerr": (KERR, [0.3, 3.1, 1.2, 0.4]),
        "flrw": (mt.flrw(lambda t: 1.0 + 0.5 * jnp.sin(t), -1.0), [0.7, 0.4, 1.1, 2.0]),
        "minkowski": (mt.minkowski(4), [0.1, 0.2, 0.3, 0.4]),
        "periodic_test_metric": (mt.periodic_test_metric(3, 0.1, "lorentzian"), [0.3, 1.1, 2.0]),
        "sphere": (mt.sphere(1.7), [1.0, 0.3]),
        "de_sitter": (mt.de_sitter(0.6), [0.5, 0.1, 0.2, 0.3]),
        "reissner_nordstrom": (RN, [0.3, 3.1, 1.2, 0.4]),
    }[name]
    X = jnp.array(X)
    closed = jax.make_jaxpr(metric)(X)
    (g_np,) = js._np_eval_jaxpr(closed.jaxpr, closed.consts, [np.asarray(X)])
    g = np.asarray(jax.jit(metric)(X))
    assert g_np.shape == g.shape and g_np.dtype == g.dtype
    np.testing.assert_array_equal(g_np == 0, g == 0)
    np.testing.assert_allclose(g_np, g, rtol=0, atol=1e-14 * np.max(np.abs(g)))


def test_structure_without_numpy_support_falls_back_to_jax():
    # A primitive the NumPy evaluator does not know (cumsum) in a metric with structural zeros:
    # the analysis falls back to evaluating the metric with JAX and finds the same zeros.
    def metric(X):
        d = jnp.cumsum(jnp.stack([1.0 + 0.0 * X[0], X[1] ** 2 + 1.0]))  # (1, 2 + X1²)
        return jnp.diag(d)

    closed = jax.make_jaxpr(metric)(jnp.ones(2))
    with pytest.raises(NotImplementedError):
        js._np_eval_jaxpr(closed.jaxpr, closed.consts, [np.ones(2)])
    _, zero = js._structure(metric, jnp.ones(2))
    np.testing.assert_array_equal(zero, [[False, True], [True, False]])
    # R of a flat metric (g depends on X1 only through g_11: a reparametrized line) is 0 exactly.
    assert float(cv.ricci_scalar(metric, jnp.array([0.2, 0.7]))) == 0.0


def test_unknown_cpu_compiler_option_falls_back_to_the_default(monkeypatch):
    # An XLA without the CPU option: the first compile reports it, every later one uses the plain
    # jit, and the numbers are the sphere's (R = 2/a², round-off only: 1e-14).
    monkeypatch.setattr(_compile, "_CPU_COMPILER_OPTIONS", {"xla_cpu_no_such_option_for_this_test": True})
    monkeypatch.setattr(_compile, "_cpu_options_ok", [True])
    f = _compile._jit(lambda x: 2.0 / x**2)
    if jax.default_backend() == "cpu":
        np.testing.assert_allclose(f(jnp.array(1.3)), 2 / 1.3**2, rtol=1e-14)
        assert _compile._cpu_options_ok == [False]
    np.testing.assert_allclose(f(jnp.array(1.3)), 2 / 1.3**2, rtol=1e-14)
