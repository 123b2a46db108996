"""The curvature core (nnworld_jax._curvature_core, paper §9 (93)-(96)) on its own: the closed-form
det/inverse against LAPACK, the component backend (structural zeros skipped) against the dense
backend on the same jet, and the Ricci tensor contracted from the jet against the trace of the
Riemann tensor. The kernels' physics (exact solutions, identities) is tested in test_curvature.py.

Tolerances: float64 round-off of O(10²) operations on O(1) numbers, stated per test."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnworld_jax import _curvature_core as cc


def _random_jet(key, n, zero=None, points=(5,)):
    # A random symmetric metric near η with its first and second derivatives, with the index
    # symmetries of a true jet (g_ab = g_ba, ∂_e∂_c = ∂_c∂_e), zero where ``zero[a, b]`` (then every
    # derivative of g_ab vanishes too), trailing point axes ``points``.
    k1, k2, k3 = jax.random.split(key, 3)
    eta = jnp.diag(jnp.ones(n).at[0].set(-1.0)).reshape((n, n) + (1,) * len(points))
    sym = lambda a, i, j: 0.5 * (a + jnp.swapaxes(a, i, j))
    g = eta + 0.2 * sym(jax.random.normal(k1, (n, n, *points)), 0, 1)
    dg = sym(jax.random.normal(k2, (n, n, n, *points)), 0, 1)
    ddg = sym(sym(jax.random.normal(k3, (n, n, n, n, *points)), 0, 1), 2, 3)
    if zero is not None:
        keep = jnp.asarray(~zero, g.dtype)
        g = g * keep.reshape((n, n) + (1,) * len(points))
        dg = dg * keep.reshape((n, n, 1) + (1,) * len(points))
        ddg = ddg * keep.reshape((n, n, 1, 1) + (1,) * len(points))
    return g, dg, ddg


def _fields(g, dg, ddg):
    det, ginv = cc.det_inv(g)
    first = cc.christoffel_first_kind(dg)
    gamma = cc.christoffel_second_kind(ginv, first)
    low = cc.riemann_lower(first, gamma, ddg)
    up = cc.riemann_up(ginv, low)
    ric = cc.ricci(ginv, first, gamma, ddg)  # the jet form (the low= form is checked below)
    scalar = cc.scalar_curvature(ginv, ric)
    return {"det": det, "ginv": cc.dense(ginv), "gamma": cc.dense(gamma), "low": cc.dense(low),
            "up": cc.dense(up), "ricci": cc.dense(ric), "scalar": scalar,
            "einstein": cc.dense(cc.einstein(g, ric, scalar)), "kretschmann": cc.kretschmann_scalar(ginv, low)}


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_det_inv_matches_lapack_with_trailing_point_axes(key, n):
    # cofactors for n ≤ 4 (the 4 × 4 by complementary 2 × 2 minors), jnp.linalg above; each point of
    # the trailing (2, 3) axes against NumPy's LU: round-off of ~n! products of O(1) entries.
    g = jax.random.normal(key, (n, n, 2, 3)) + 3 * jnp.eye(n).reshape(n, n, 1, 1)
    det, inv = jax.jit(cc.det_inv)(g)
    gm = np.moveaxis(np.asarray(g), (0, 1), (-2, -1))
    np.testing.assert_allclose(det, np.linalg.det(gm), rtol=1e-13)
    np.testing.assert_allclose(np.moveaxis(np.asarray(inv), (0, 1), (-2, -1)), np.linalg.inv(gm), rtol=1e-12, atol=1e-14)


KERR_LIKE = ~np.eye(4, dtype=bool)
KERR_LIKE[0, 3] = KERR_LIKE[3, 0] = False


@pytest.mark.parametrize("n, zero", [(4, KERR_LIKE), (4, ~np.eye(4, dtype=bool))], ids=["kerr-like", "diagonal"])
def test_component_backend_equals_the_dense_backend(key, n, zero):
    # The same formulas on the same jet through the two backends: cc.Components (lazy, independent
    # components only, structural zeros never multiplied) and dense broadcast products. A wrong
    # symmetry canonicalization, sign or skipped product would differ by O(1); the two sum the same
    # terms in other orders: 1e-12 of each field's largest entry. (A dense n = 4 jet through the
    # component backend is a ~20 s compile; the Kerr-like pattern has 10 non-zero g_ab.)
    g, dg, ddg = _random_jet(key, n, zero)
    dense = jax.jit(_fields)(g, dg, ddg)
    z = np.zeros((n, n), bool) if zero is None else zero

    def components(g, dg, ddg):
        mask = lambda k: np.broadcast_to(z.reshape((n, n) + (1,) * (k - 2)), (n,) * k)
        return _fields(cc.Components.of(g, z, cc.symmetric((0, 1))),
                       cc.Components.of(dg, mask(3), cc.symmetric((0, 1))),
                       cc.Components.of(ddg, mask(4), cc.symmetric((0, 1), (2, 3))))

    comp = jax.jit(components)(g, dg, ddg)
    for name in dense:
        a, b = np.asarray(comp[name]), np.asarray(dense[name])
        assert a.shape == b.shape, name
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12 * max(float(np.max(np.abs(b))), 1.0), err_msg=name)
    assert float(np.max(np.abs(np.asarray(dense["low"])))) > 0.1  # not 0 == 0


def test_ricci_from_the_jet_is_the_trace_of_the_riemann_tensor(key):
    # ricci() without ``low`` contracts the jet without forming Riemann; R_bd = R^a_bad of riemann_up
    # must agree, and
    # the Riemann tensor must have its symmetries (a wrong transposition in riemann_lower breaks
    # them by O(1)). Round-off of O(10²) products: 1e-12 relative.
    g, dg, ddg = _random_jet(key, 4, points=())
    f = jax.jit(_fields)(g, dg, ddg)
    low, up = np.asarray(f["low"]), np.asarray(f["up"])
    scale = float(np.max(np.abs(low)))
    np.testing.assert_allclose(np.einsum("abad->bd", up), f["ricci"], atol=1e-12 * scale)
    # ... and so must the core's other evaluation order, the contraction of the lowered Riemann tensor
    _, ginv = cc.det_inv(g)
    first = cc.christoffel_first_kind(dg)
    gamma = cc.christoffel_second_kind(ginv, first)
    from_low = cc.ricci(ginv, first, gamma, ddg, cc.riemann_lower(first, gamma, ddg))
    np.testing.assert_allclose(from_low, f["ricci"], atol=1e-12 * scale)
    np.testing.assert_allclose(low, -np.swapaxes(low, 0, 1), atol=1e-12 * scale)
    np.testing.assert_allclose(low, -np.swapaxes(low, 2, 3), atol=1e-12 * scale)
    np.testing.assert_allclose(low, np.transpose(low, (2, 3, 0, 1)), atol=1e-12 * scale)
    # first Bianchi identity R_a[bcd] = 0: not built into the formula, a check of it
    cyc = low + np.transpose(low, (0, 2, 3, 1)) + np.transpose(low, (0, 3, 1, 2))
    np.testing.assert_allclose(cyc, 0.0, atol=1e-12 * scale)
    assert scale > 0.1


def test_symmetric_canonicalization():
    # (sign, key) of the Riemann symmetries: antisymmetric pairs, pair exchange, zero on a repeated index.
    canon = cc.symmetric(anti=((0, 1), (2, 3)), swap=((0, 1), (2, 3)))
    assert canon((1, 0, 2, 3)) == (-1, (0, 1, 2, 3))
    assert canon((3, 2, 1, 0)) == (1, (0, 1, 2, 3))
    assert canon((2, 3, 0, 1)) == (1, (0, 1, 2, 3))
    assert canon((1, 1, 2, 3))[0] == 0
    keys = {canon(i)[1] for i in itertools.product(range(4), repeat=4) if canon(i)[0] != 0}
    assert len(keys) == 21  # the independent components of an n = 4 pair-symmetric tensor
