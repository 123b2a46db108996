"""Scalar matter minimally coupled to an emergent metric (nnworld_jax.minimal_coupling, the toolkit's
own model for the matter Lagrangian of (84)-(85), not the paper's (77)-(80)): its Euler-Lagrange
equations and energy-momentum tensor density from jax.grad, and covariant conservation.

References are independent of nnworld_jax.minimal_coupling: the analytic forms of E and T evaluated
with exact forward-mode derivatives of analytic fields (jax.jacfwd, no grid), and
nnworld_jax.curvature.covariant_divergence for ∇_μT^{μν}. Grids are 2D (1+1) unless a test says
otherwise; spectral derivatives. Tolerances: the discrete identities are exact up to the aliasing
error of products of smooth periodic fields, which falls exponentially with n (measured for the
fields below: on-shell |∇T| 3e-3, 1e-5, 4e-11, 1e-12 at n = 24, 32, 48, 64)."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnworld_jax import gravity as gv
from nnworld_jax import minimal_coupling as hg
from nnworld_jax.grid import Grid

MASS, COUPLING = 0.7, 0.5
LORENTZ = (-1.0, 1.0)


def _metric_fn(X):
    return gv.reference_metric(X, eps=0.1, signature=LORENTZ)


def _fields_fn(X):  # two hidden-variable fields, analytic and periodic
    return jnp.stack([0.3 * jnp.sin(X[0] + 2 * X[1]) + 0.2 * jnp.cos(X[1]) + 0.1,
                      0.4 * jnp.cos(X[0] - X[1]) + 0.1 * jnp.sin(2 * X[0])])


def _sample(grid, fn):
    pts = jnp.moveaxis(grid.mesh().reshape(grid.ndim, -1), 0, -1)
    vals = jax.vmap(fn)(pts)
    return jnp.moveaxis(vals, 0, -1).reshape((*vals.shape[1:], *grid.shape))


def _inv_root(g):
    # closed-form 2 x 2 inverse and √|det| (cheap to compile, independent of the module's cofactors)
    det = g[0, 0] * g[1, 1] - g[0, 1] * g[1, 0]
    adj = jnp.stack([jnp.stack([g[1, 1], -g[0, 1]]), jnp.stack([-g[1, 0], g[0, 0]])])
    return adj / det, jnp.sqrt(jnp.abs(det))


def _point_quantities(metric_fn, fields_fn, mass, coupling):
    """Analytic E_A and 𝒯^{μν} at one point with exact autodiff derivatives (the test reference)."""
    def pot_prime(q):
        return mass**2 * q + coupling * q**3

    def flux(X):  # √|g| g^{μν} ∂_νφ_A, shape (m, K)
        gi, root = _inv_root(metric_fn(X))
        return root * jax.jacfwd(fields_fn)(X) @ gi

    def quantities(X):
        gi, root = _inv_root(metric_fn(X))
        q, dq = fields_fn(X), jax.jacfwd(fields_fn)(X)  # dq[A, μ]
        e = jnp.einsum("amm->a", jax.jacfwd(flux)(X)) - root * pot_prime(q)
        up = dq @ gi  # ∂^μ φ_A
        pot = jnp.sum(0.5 * mass**2 * q**2 + 0.25 * coupling * q**4)
        t_up = jnp.einsum("am,an->mn", up, up) - gi * (0.5 * jnp.sum(up * dq) + pot)
        return e, root * t_up

    return quantities


@functools.lru_cache(maxsize=None)
def _fields(n):
    grid = Grid((n, n))
    return grid, _sample(grid, _metric_fn), _sample(grid, _fields_fn)


@functools.lru_cache(maxsize=None)
def _reference(n):
    # Every 2D test uses n = 48 and two fields, so the public kernels compile once per method.
    grid, g, phi = _fields(n)
    pts = jnp.moveaxis(grid.mesh().reshape(2, -1), 0, -1)
    e, t = jax.jit(jax.vmap(_point_quantities(_metric_fn, _fields_fn, MASS, COUPLING)))(pts)
    return grid, g, phi, jnp.moveaxis(e, 0, -1).reshape((2, n, n)), jnp.moveaxis(t, 0, -1).reshape((2, 2, n, n))


def test_energy_momentum_density_is_2_dS_dg():
    # (80): 𝒯 = 2δS/δg by jax.grad equals √|g|T^{μν} of the analytic form. The only difference
    # between the two is the grid derivative of φ (spectral, error ~1e-13 here at n = 48).
    grid, g, phi, _, t_ref = _reference(48)
    t = hg.energy_momentum_density(g, phi, grid, mass=MASS, coupling=COUPLING)
    assert jnp.allclose(t, jnp.swapaxes(t, 0, 1), rtol=0, atol=1e-15)
    assert float(jnp.max(jnp.abs(t - t_ref))) < 1e-11 * float(jnp.max(jnp.abs(t_ref)))
    # Mostly-plus sign: for static fields in flat space T^{00} = ½|∇φ|² + V > 0.
    flat = jnp.broadcast_to(jnp.diag(jnp.asarray(LORENTZ)).reshape(2, 2, 1, 1), (2, 2, 48, 48))
    static = jnp.stack([jnp.sin(grid.mesh()[1]), 0.5 * jnp.cos(2 * grid.mesh()[1])])
    t00 = hg.energy_momentum_density(flat, static, grid, mass=MASS, coupling=COUPLING)[0, 0]
    assert float(jnp.min(t00)) > 0


def test_euler_lagrange_from_grad_matches_covariant_klein_gordon():
    # E = ∂_μ(√|g| g^{μν}∂_νφ) - √|g|V'(φ) with exact derivatives vs jax.grad of the discrete action:
    # spectral error of the composite flux; measured 4e-13 relative at n = 48.
    grid, g, phi, e_ref, _ = _reference(48)
    e = hg.hidden_euler_lagrange(g, phi, grid, mass=MASS, coupling=COUPLING)
    assert float(jnp.max(jnp.abs(e - e_ref))) < 1e-10 * float(jnp.max(jnp.abs(e_ref)))


def test_off_shell_noether_identity():
    # √|g|∇_μT^μ_ν = E_A ∂_νφ_A for arbitrary (off-shell) fields and metric: both sides of size ~1,
    # their difference the aliasing error (measured 1.5e-10 at n = 48, 1e-12 at n = 64).
    grid, g, phi, _, _ = _reference(48)
    res, div, src = hg.noether_residual(g, phi, grid, mass=MASS, coupling=COUPLING)
    scale = float(jnp.max(jnp.abs(src)))
    assert scale > 0.1  # off shell: T is not conserved here, so the identity is sharp
    assert float(jnp.max(jnp.abs(div))) > 0.1
    assert float(jnp.max(jnp.abs(res))) < 1e-8 * scale
    # The sign matters: with the opposite sign the identity fails by 2|E∂φ|.
    assert float(jnp.max(jnp.abs(div + src))) > scale


def test_noether_identity_fd4_converges_at_fourth_order():
    # Convergence-order check of the same identity with 4th-order differences: slope of log|res|
    # against log h between n = 24 and 48 must be ≈ 4 (measured 3.75: 2.8e-2 -> 2.1e-3; 3.5-4.6
    # allows the pre-asymptotic term).
    errs = []
    for n in (24, 48):
        grid, g, phi = _fields(n)
        res, _, _ = hg.noether_residual(g, phi, grid, mass=MASS, coupling=COUPLING, method="fd4")
        errs.append(float(jnp.max(jnp.abs(res))))
    slope = np.log(errs[0] / errs[1]) / np.log(2.0)
    assert 3.5 < slope < 4.6, (errs, slope)


def _curvilinear(n, eps=0.1):
    # Network states x̄^μ(Y) = Y^μ + u^μ(Y): a periodic deformation of the lattice (det J > 0 for eps = 0.1).
    grid = Grid((n, n))
    t, s = grid.mesh()
    u = jnp.stack([eps * jnp.sin(s + 0.3) + 0.05 * jnp.cos(t), eps * jnp.cos(t - s) + 0.05 * jnp.sin(2 * s)])
    return grid, u, t + u[0], s + u[1]


def test_on_shell_conservation_in_curved_2d_space():
    # Massless fields in 1+1 are conformally invariant, so d'Alembert's φ = f(X¹-X⁰) + h(X¹+X⁰) of
    # the flat coordinates X = x̄(Y) solve the EOM for g = e^{2ω} x̄*η (curved for ω ≠ 0). Then E = 0
    # and ∇_μT^{μν} = 0, both to the aliasing error (measured ≤ 4e-11 at n = 48; the n = 24 value,
    # 3e-3, shows it is discretization error that converges).
    errs = {}
    for n in (24, 48):
        grid, u, x0, x1 = _curvilinear(n)
        t, s = grid.mesh()
        g = hg.emergent_metric(u, grid, conformal=0.2 * jnp.sin(t + 2 * s) + 0.1 * jnp.cos(s))
        phi = jnp.stack([jnp.sin(x1 - x0) + 0.5 * jnp.cos(2 * (x1 + x0)), 0.3 * jnp.cos(x1 + x0 + 1.0)])
        _, div, src = hg.noether_residual(g, phi, grid)
        errs[n] = float(jnp.max(jnp.abs(div))), float(jnp.max(jnp.abs(src)))
        if n == 48:
            e = hg.hidden_euler_lagrange(g, phi, grid)
            size = float(jnp.max(jnp.abs(hg.energy_momentum_density(g, phi, grid))))
    assert float(jnp.max(jnp.abs(e))) < 1e-9
    assert errs[48][0] < 1e-9 * size and errs[48][1] < 1e-9 * size
    assert errs[24][0] > 1e4 * errs[48][0]  # the residual converges: discretization error


def test_on_shell_massive_plane_waves_in_curvilinear_coordinates():
    # Klein-Gordon solutions cos(5X⁰ - 4X¹) and cos(3X⁰) with m = 3 (5² = 4² + 3²: periodic) in
    # Minkowski space written in the lattice coordinates Y; spectral error at n = 48, eps = 0.05,
    # measured below 1e-9 of |T|.
    grid, u, x0, x1 = _curvilinear(48, eps=0.05)
    g = hg.emergent_metric(u, grid)
    phi = jnp.stack([jnp.cos(5 * x0 - 4 * x1), 0.5 * jnp.cos(3 * x0)])
    e = hg.hidden_euler_lagrange(g, phi, grid, mass=3.0)
    _, div, _ = hg.noether_residual(g, phi, grid, mass=3.0)
    scale = float(jnp.max(jnp.abs(hg.energy_momentum_density(g, phi, grid, mass=3.0))))
    assert float(jnp.max(jnp.abs(e))) < 1e-7 * scale
    assert float(jnp.max(jnp.abs(div))) < 1e-7 * scale
    # the wrong mass is off shell: E is O(1)
    e_wrong = hg.hidden_euler_lagrange(g, phi, grid, mass=2.5)
    assert float(jnp.max(jnp.abs(e_wrong))) > 1.0


def test_grid_divergence_matches_curvature_covariant_divergence():
    # An arbitrary symmetric T^{μν}(X) (not conserved): the grid ∂_μ𝒯^{μν} + Γ^ν_{μλ}𝒯^{μλ} equals
    # √|g| × curvature.covariant_divergence with exact autodiff (spectral error, 1e-12 at n = 48).
    from nnworld_jax.curvature import covariant_divergence

    def t_up(X):
        a, b = jnp.sin(X[0] + X[1]), jnp.cos(2 * X[1] - X[0])
        return jnp.stack([jnp.stack([1.0 + 0.3 * a, 0.2 * b]), jnp.stack([0.2 * b, 0.5 - 0.4 * a * b])])

    n = 48
    grid = Grid((n, n))
    g = _sample(grid, _metric_fn)
    root = _sample(grid, lambda X: jnp.sqrt(jnp.abs(jnp.linalg.det(_metric_fn(X)))))
    dens = _sample(grid, t_up) * root.reshape(1, 1, n, n)
    div = hg.covariant_divergence_density(g, dens, grid)
    pts = jnp.moveaxis(grid.mesh().reshape(2, -1), 0, -1)
    ref = jax.vmap(lambda X: covariant_divergence(_metric_fn, t_up, X))(pts)
    ref = jnp.moveaxis(ref, 0, -1).reshape(2, n, n) * root.reshape(1, n, n)
    assert float(jnp.max(jnp.abs(div - ref))) < 1e-10 * float(jnp.max(jnp.abs(ref)))


def test_christoffel_field_matches_curvature_christoffel():
    from nnworld_jax.curvature import christoffel
    n = 32
    grid = Grid((n, n))
    gam = hg.christoffel_field(_sample(grid, _metric_fn), grid)
    ref = _sample(grid, lambda X: christoffel(_metric_fn, X))
    # spectral derivative of an analytic metric: 1e-13 at n = 32
    assert float(jnp.max(jnp.abs(gam - ref))) < 1e-11


def test_emergent_metric_is_pullback_of_minkowski():
    # g_ab = ∂_a x̄^μ ∂_b x̄^ν η_μν by grid derivatives vs the exact Jacobian of the analytic map.
    n = 32
    grid, u, _, _ = _curvilinear(n)

    def xbar(Y):
        return Y + jnp.stack([0.1 * jnp.sin(Y[1] + 0.3) + 0.05 * jnp.cos(Y[0]),
                              0.1 * jnp.cos(Y[0] - Y[1]) + 0.05 * jnp.sin(2 * Y[1])])

    eta = jnp.diag(jnp.asarray(LORENTZ))
    ref = jax.jit(lambda: _sample(grid, lambda Y: jax.jacfwd(xbar)(Y).T @ eta @ jax.jacfwd(xbar)(Y)))()
    g = hg.emergent_metric(u, grid)
    assert float(jnp.max(jnp.abs(g - ref))) < 1e-12  # spectral derivative of trig polynomials: exact
    # Lorentzian everywhere: det g = -det(J)² < 0
    assert float(jnp.max(g[0, 0] * g[1, 1] - g[0, 1] ** 2)) < 0


@pytest.mark.slow
def test_3d_off_shell_identity():
    # 2+1 dimensions with a Lorentzian reference metric: the identity is dimension independent.
    # n = 20 keeps the compile short (~8 s); measured residual 9e-5 of |E∂φ| there (aliasing of
    # the inverse metric's harmonics), so the bound is 3e-4.
    n = 20
    grid = Grid((n, n, n))

    def metric_fn(X):
        return gv.reference_metric(X, eps=0.1, signature=(-1.0, 1.0, 1.0))

    def fields_fn(X):
        return jnp.stack([0.3 * jnp.sin(X[0] + X[1] - X[2]) + 0.2 * jnp.cos(X[2])])

    res, div, src = hg.noether_residual(_sample(grid, metric_fn), _sample(grid, fields_fn), grid, mass=MASS)
    scale = float(jnp.max(jnp.abs(src)))
    assert scale > 0.05
    assert float(jnp.max(jnp.abs(res))) < 3e-4 * scale


def test_float32_in_float32_out():
    # dtype propagation checked by tracing (jax.eval_shape: no compilation, so no test time).
    n = 16
    grid = Grid((n, n))
    g = jax.ShapeDtypeStruct((2, 2, n, n), jnp.float32)
    phi = jax.ShapeDtypeStruct((2, n, n), jnp.float32)
    kw = dict(mass=MASS, coupling=COUPLING)
    calls = [lambda a, b: hg.hidden_density(a, b, grid, **kw), lambda a, b: hg.hidden_action(a, b, grid, **kw),
             lambda a, b: hg.hidden_euler_lagrange(a, b, grid, **kw),
             lambda a, b: hg.energy_momentum_density(a, b, grid, **kw),
             lambda a, b: hg.christoffel_field(a, grid),
             lambda a, b: hg.covariant_divergence_density(a, jnp.ones((2, 2, n, n), jnp.float32), grid),
             lambda a, b: hg.noether_residual(a, b, grid, **kw),
             lambda a, b: hg.emergent_metric(b, grid, conformal=b[0]),
             lambda a, b: hg.string_action(jnp.concatenate([b, b[:1]]), grid, _minkowski3),
             lambda a, b: hg.string_eom(jnp.concatenate([b, b[:1]]), grid, _CURVED3, tension=0.5)]
    for call in calls:
        for leaf in jax.tree_util.tree_leaves(jax.eval_shape(call, g, phi)):
            assert leaf.dtype == jnp.float32
    # and one real evaluation
    out = hg.hidden_action(jnp.broadcast_to(jnp.eye(2, dtype=jnp.float32).reshape(2, 2, 1, 1), (2, 2, n, n)), jnp.ones((2, n, n), jnp.float32),
                           grid, **kw)
    assert out.dtype == jnp.float32


@pytest.mark.unchecked  # asserts the package's own message for input the annotations exclude
def test_bad_input_raises():
    n = 8
    grid = Grid((n, n))
    flat = jnp.broadcast_to(jnp.diag(jnp.asarray(LORENTZ)).reshape(2, 2, 1, 1), (2, 2, n, n))
    phi = jnp.zeros((1, n, n))
    with pytest.raises(ValueError, match="metric must have shape"):
        hg.hidden_action(flat[:, :, :4], phi, grid)
    with pytest.raises(ValueError, match="fields must have shape"):
        hg.hidden_action(flat, phi[0], grid)
    with pytest.raises(ValueError, match="method"):
        hg.hidden_action(flat, phi, grid, method="fd3")
    with pytest.raises(ValueError, match="coupling"):
        hg.hidden_action(flat, phi, grid, coupling=-1.0)
    with pytest.raises(ValueError, match="mass"):
        hg.hidden_action(flat, phi, grid, mass=float("nan"))
    with pytest.raises(ValueError, match="NaN"):
        hg.energy_momentum_density(flat.at[0, 0, 1, 1].set(jnp.nan), phi, grid)
    with pytest.raises(ValueError, match="NaN"):
        hg.hidden_euler_lagrange(flat, phi.at[0, 2, 2].set(jnp.nan), grid)
    with pytest.raises(ValueError, match="degenerate"):
        hg.noether_residual(flat.at[0, 0].set(0.0), phi, grid)
    with pytest.raises(ValueError, match="displacement"):
        hg.emergent_metric(jnp.zeros((3, n, n)), grid)


# ---------------------------------------------------------------------------------------------
# The Polyakov string (76) of x̄^μ(τ, σ) in a curved target metric


_CURVED3 = functools.partial(gv.reference_metric, eps=0.1, signature=(-1.0, 1.0, 1.0))


def _minkowski3(X):
    return jnp.diag(jnp.asarray([-1.0, 1.0, 1.0], dtype=X.dtype))


def _sheet(tau, sig):  # periodic part Y of x̄ = (τ, 0, 0) + Y: an analytic world sheet
    return jnp.stack([0.2 * jnp.sin(sig) + 0.1 * jnp.cos(tau - sig),
                      0.5 * jnp.cos(sig - tau) + 0.2 * jnp.sin(tau),
                      0.3 * jnp.sin(sig + tau) - 0.1 * jnp.cos(2 * sig)])


def test_string_action_flat_target_is_polyakov():
    # g ≡ η: the curved-target action and its EOM equal nnworld_jax.strings (independent code).
    from nnworld_jax import strings
    n = 32
    grid = Grid((n, n))
    tau, sig = grid.mesh()
    y, drift = _sheet(tau, sig), jnp.asarray([1.0, 0.0, 0.0])
    s = hg.string_action(y, grid, _minkowski3, drift=drift, tension=1.3)
    ref = strings.polyakov_action(y, grid, drift=drift, tension=1.3)
    assert abs(float(s - ref)) < 1e-12 * abs(float(ref))
    e = hg.string_eom(y, grid, _minkowski3, drift=drift, tension=1.3)
    e_ref = strings.polyakov_eom(y, grid, drift=drift, tension=1.3)
    assert float(jnp.max(jnp.abs(e - e_ref))) < 1e-10


def test_string_eom_in_curved_metric_matches_analytic():
    # jax.grad of the discrete action vs the continuum string equation in the conventions §6 Lorentzian
    # metric, with exact autodiff derivatives of the analytic sheet and metric (spectral error of the
    # composite g(x̄(τ, σ)): measured 1e-12 relative at n = 48).
    n, tension = 48, 0.8
    grid = Grid((n, n))
    drift = jnp.asarray([1.0, 0.0, 0.0])

    def xbar(p):
        return drift * p[0] + _sheet(p[0], p[1])

    def momenta(p):  # (g ẋ, g x') at a point
        g, j = _CURVED3(xbar(p)), jax.jacfwd(xbar)(p)  # j[μ, a]
        return jnp.stack([g @ j[:, 0], g @ j[:, 1]])

    def eom(p):
        j, dg = jax.jacfwd(xbar)(p), jax.jacfwd(_CURVED3)(xbar(p))  # dg[ν, ρ, μ] = ∂_μ g_νρ
        dm = jax.jacfwd(momenta)(p)  # dm[a, μ, b] = ∂_b (momentum a)_μ
        quad = (jnp.einsum("nrm,n,r->m", dg, j[:, 0], j[:, 0]) - jnp.einsum("nrm,n,r->m", dg, j[:, 1], j[:, 1]))
        return tension * (dm[1, :, 1] - dm[0, :, 0]) + 0.5 * tension * quad

    ref = jax.jit(lambda: _sample(grid, eom))()
    tau, sig = grid.mesh()
    e = hg.string_eom(_sheet(tau, sig), grid, _CURVED3, drift=drift, tension=tension)
    assert float(jnp.max(jnp.abs(e - ref))) < 1e-9 * float(jnp.max(jnp.abs(ref)))
    # the curvature matters: the flat-target EOM differs at O(ε)
    e_flat = hg.string_eom(_sheet(tau, sig), grid, _minkowski3, drift=drift, tension=tension)
    assert float(jnp.max(jnp.abs(e_flat - ref))) > 1e-2


def test_string_bad_input_raises():
    grid = Grid((8, 8))
    y = jnp.zeros((3, 8, 8))
    with pytest.raises(ValueError, match="Y must have shape"):
        hg.string_action(y[:, :4], grid, _minkowski3)
    with pytest.raises(ValueError, match="tension"):
        hg.string_action(y, grid, _minkowski3, tension=0.0)
    with pytest.raises(ValueError, match="metric_fn"):
        hg.string_action(y, grid, lambda X: jnp.eye(2))
    with pytest.raises(ValueError, match="NaN"):
        hg.string_eom(y.at[0, 0, 0].set(jnp.nan), grid, _minkowski3)
    with pytest.raises(ValueError, match="drift"):
        hg.string_eom(y, grid, _minkowski3, drift=jnp.ones(2))


def test_docstrings_name_equations_and_examples_run():
    # The same rules as tests/test_docstrings.py, for this module (not yet in its module list).
    import doctest
    import inspect
    import re
    assert doctest.testmod(hg, optionflags=doctest.ELLIPSIS).failed == 0
    pattern = re.compile(r"[Ee]qs?\. \(\d+\)|\(\d+\)-\(\d+\)|\(\d+\)")
    missing = [name for name in hg.__all__ if not pattern.search(inspect.getdoc(getattr(hg, name)) or "")]
    assert not missing
