"""Sparse weights and the matrix-free Gauss-Newton operator (8)-(9): every product against the dense
matrix it stands for, the fixed point against the dense Newton mean state, O(N) storage at N = 10⁶."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nnworld_jax as nw
from nnworld_jax import hidden, holography
from nnworld_jax import sparse as sp


def random_sparse(n, seed=0, scale=0.3, dtype=jnp.float64):
    """A permutation plus a chain plus random edges: rows and columns with 1 to 4 entries."""
    rng = np.random.default_rng(seed)
    rows = np.concatenate([np.arange(n), np.arange(1, n), rng.integers(0, n, n // 2)])
    cols = np.concatenate([rng.permutation(n), np.arange(n - 1), rng.integers(0, n, n // 2)])
    keep = np.unique(rows * n + cols, return_index=True)[1]
    rows, cols = rows[keep], cols[keep]
    return sp.sparse_weights(rows, cols, scale * rng.standard_normal(rows.size), n, dtype=dtype)


def with_values(w, values):
    return sp.SparseWeights(values, w.rows, w.cols, w.row_pos, w.row_cols, w.col_pos, w.col_rows, w.n)


# ------------------------------------------------------------------------------ builders


def test_cycle_and_multi_cycle_match_the_index_maps_of_eq_60():
    # (w x)_i = c x_{perm[i]}: the dense matrix has c at (i, perm[i]) and nowhere else.
    for w, perm in [(sp.cycle_weights(7, 0.4), hidden.cycle_permutation(7)),
                    (sp.multi_cycle_weights([2, 3, 4], 0.4), hidden.multi_cycle_permutation([2, 3, 4]))]:
        n = perm.shape[0]
        dense = np.zeros((n, n))
        dense[np.arange(n), np.asarray(perm)] = 0.4
        np.testing.assert_array_equal(np.asarray(sp.to_dense(w)), dense)
        x = jnp.arange(n, dtype=jnp.float64) ** 2
        np.testing.assert_array_equal(np.asarray(sp.weights_matvec(w, x)),
                                      0.4 * np.asarray(hidden.apply_permutation(perm, x)))


def test_chain_network_weights_equal_the_dense_holography_builder():
    chains = [(0, 2, 3), (1, 3, 0), (0, 3, 2), (1, 3, 0)]  # includes parallel L = 0 chains (weights add)
    dense = holography.chain_network(4, chains, weight=0.7, n_total=14).w
    w = sp.chain_network_weights(4, chains, weight=0.7, n_total=14)
    np.testing.assert_array_equal(np.asarray(sp.to_dense(w)), dense)
    np.testing.assert_array_equal(np.asarray(sp.to_dense(sp.chain_weights(4, 0.5))),
                                  np.diag([0.5, 0.5, 0.5], -1))


def test_dense_round_trip_and_bcoo():
    w = random_sparse(23, seed=3)
    dense = sp.to_dense(w)
    np.testing.assert_array_equal(np.asarray(sp.to_dense(sp.from_dense(dense))), np.asarray(dense))
    x = jnp.linspace(-1, 2, 23)
    np.testing.assert_allclose(np.asarray(sp.to_bcoo(w) @ x), np.asarray(dense @ x), rtol=1e-14, atol=1e-15)


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="duplicate"):
        sp.sparse_weights([0, 0], [1, 1], 1.0, 3)
    with pytest.raises(ValueError, match="indices"):
        sp.sparse_weights([0], [3], 1.0, 3)
    with pytest.raises(ValueError, match="permutation"):
        sp.permutation_weights([0, 0, 1])
    with pytest.raises(ValueError, match="use jax.vmap"):
        sp.weights_matvec(sp.cycle_weights(4), jnp.ones((2, 4)))
    with pytest.raises(TypeError, match="SparseWeights"):
        sp.SparseNetwork(jnp.eye(3), jnp.zeros(3))


# ------------------------------------------------------------------------------ products


def test_matvec_and_rmatvec_equal_dense_products():
    # Rows and columns with 1 to 4 entries exercise the padded gather tables; exact up to the
    # order of at most 4 additions (1e-13 relative).
    w = random_sparse(40, seed=1)
    dense = np.asarray(sp.to_dense(w))
    per_row, per_col = (dense != 0).sum(axis=1), (dense != 0).sum(axis=0)
    assert per_row.min() < per_row.max() >= 3 and per_col.min() < per_col.max() >= 3  # padded slots in use
    x = np.random.default_rng(2).standard_normal(40)
    np.testing.assert_allclose(np.asarray(sp.weights_matvec(w, jnp.asarray(x))), dense @ x, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(np.asarray(sp.weights_rmatvec(w, jnp.asarray(x))), dense.T @ x, rtol=1e-13, atol=1e-15)


def test_gauss_newton_matvec_equals_the_dense_operator_of_eq_8():
    w = random_sparse(30, seed=4)
    net = sp.SparseNetwork(w, jnp.linspace(-0.5, 0.5, 30))
    dense = nw.Network(sp.to_dense(w), net.b)
    x = jnp.sin(jnp.arange(30.0))
    v = jnp.cos(jnp.arange(30.0) * 0.7)
    g = nw.gauss_newton_operator(dense, x)
    d = nw.activation_slope(dense, nw.preactivation(dense, x))
    jac = jnp.eye(30) - d[:, None] * dense.w
    np.testing.assert_allclose(np.asarray(sp.gauss_newton_matvec(net, x, v)), np.asarray(g @ v), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(np.asarray(sp.jacobian_matvec(net, x, v)), np.asarray(jac @ v), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(np.asarray(sp.jacobian_rmatvec(net, x, v)), np.asarray(jac.T @ v),
                               rtol=1e-13, atol=1e-14)


def test_million_neuron_cycle_is_stored_in_O_N():
    # Every array leaf is O(N) (no N × N anywhere), and w x is c · roll(x) as eq. (60) says.
    n = 10**6
    w = sp.cycle_weights(n, 0.5)
    sizes = [leaf.size for leaf in jax.tree_util.tree_leaves(w)]
    assert max(sizes) == n and sum(sizes) == 7 * n
    x = jnp.sin(jnp.arange(n, dtype=jnp.float64))
    np.testing.assert_array_equal(np.asarray(sp.weights_matvec(w, x)), 0.5 * np.roll(np.asarray(x), 1))
    np.testing.assert_array_equal(np.asarray(sp.weights_rmatvec(w, x)), 0.5 * np.roll(np.asarray(x), -1))


# ------------------------------------------------------------------------------ mean state


def test_fixed_point_equals_dense_newton_mean_state_and_its_gradient():
    # m = 0: the fixed point x = tanh(wx + b) is the stationary point of (3) (conventions §1), so the
    # iteration and partition.mean_state's Newton solve are two independent routes to one x*;
    # both differentiate through the implicit function theorem. 1e-10: both converge to ~1e-13.
    w = random_sparse(25, seed=5, scale=0.25)
    b = jnp.linspace(-0.4, 0.6, 25)
    probe = jnp.cos(jnp.arange(25.0))

    def sparse_obj(values, b):
        return jnp.vdot(probe, sp.sparse_mean_state(sp.SparseNetwork(with_values(w, values), b)) ** 2)

    def dense_obj(values, b):
        return jnp.vdot(probe, nw.mean_state(nw.Network(sp.to_dense(with_values(w, values)), b)) ** 2)

    np.testing.assert_allclose(jax.jit(sparse_obj)(w.values, b), jax.jit(dense_obj)(w.values, b), rtol=1e-12)
    gs = jax.jit(jax.grad(sparse_obj, argnums=(0, 1)))(w.values, b)
    gd = jax.jit(jax.grad(dense_obj, argnums=(0, 1)))(w.values, b)
    for a, r in zip(gs, gd):
        np.testing.assert_allclose(np.asarray(a), np.asarray(r), rtol=1e-9, atol=1e-11)


def test_non_contracting_fixed_point_raises():
    # Linear f with weight 1.5 on a cycle: x = 1.5 πx + 1 has the fixed point -2 but the
    # iteration diverges (|1.5| > 1); it must raise, not return a state.
    net = sp.SparseNetwork(sp.cycle_weights(8, 1.5), 1.0, activation="linear")
    with pytest.raises(Exception, match="did not converge"):
        jax.block_until_ready(sp.sparse_mean_state(net, max_steps=200))
    with pytest.raises(Exception, match="did not converge"):
        jax.block_until_ready(jax.jit(sp.sparse_mean_state)(net))


def test_float32_in_float32_out():
    w = sp.cycle_weights(16, 0.5, dtype=jnp.float32)
    net = sp.SparseNetwork(w, 0.2)
    x = sp.sparse_mean_state(net)
    v = jnp.ones(16, jnp.float32)
    outs = [x, sp.weights_matvec(w, v), sp.weights_rmatvec(w, v), sp.jacobian_matvec(net, x, v),
            sp.jacobian_rmatvec(net, x, v), sp.gauss_newton_matvec(net, x, v), sp.sparse_step(net, x)]
    assert all(o.dtype == jnp.float32 for o in outs)
    assert net.b.dtype == jnp.float32 and net.m.dtype == jnp.float32
    # float32 fixed point: the uniform x = tanh(0.5 x + 0.2) to float32 rounding (rtol 1e-6 iteration).
    x64 = 0.0
    for _ in range(200):
        x64 = np.tanh(0.5 * x64 + 0.2)
    np.testing.assert_allclose(np.asarray(x), x64, rtol=5e-6)


def test_non_integer_counts_and_indices_are_errors_not_truncated():
    # n = 8.7 used to build an 8-neuron cycle; a row index 1.5 used to become 1 (issue #11).
    with pytest.raises(TypeError, match="n must be an integer"):
        sp.cycle_weights(8.7)
    with pytest.raises(ValueError, match="rows must be integer indices"):
        sp.sparse_weights([1.5], [0], 1.0, 3)
    with pytest.raises(ValueError, match="values contains NaN"):
        sp.chain_weights(4, jnp.nan)
    with pytest.raises(ValueError, match="max_steps must be an integer >= 1"):
        sp.sparse_mean_state(sp.SparseNetwork(sp.chain_weights(3, 0.3), 0.1), max_steps=0)


def test_integer_bias_and_mass_are_promoted():
    w = sp.chain_weights(3, 0.3)
    net_int, net = sp.SparseNetwork(w, jnp.array([1, 0, -1]), m=1), sp.SparseNetwork(w, jnp.array([1.0, 0.0, -1.0]), m=1.0)
    assert net_int.b.dtype == w.dtype and float(net_int.m) == 1.0
    x = jnp.array([0.1, 0.2, 0.3])
    assert jnp.array_equal(sp.gauss_newton_matvec(net_int, x, x), sp.gauss_newton_matvec(net, x, x))


def test_nan_weights_set_after_construction_are_caught_under_jit():
    net = sp.SparseNetwork(sp.chain_weights(3, 0.3), 0.1)
    bad = eqx.tree_at(lambda n: n.weights.values, net, net.weights.values.at[0].set(jnp.nan))
    with pytest.raises(Exception, match="w contains NaN"):
        jax.block_until_ready(jax.jit(sp.sparse_mean_state)(bad))
