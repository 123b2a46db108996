"""Sparse weights and the matrix-free Gauss-Newton operator (8)-(9): every product against the dense
matrix it stands for, the fixed point against the dense Newton mean state, O(N) storage at N = 10⁶."""

import chex
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


@pytest.mark.unchecked  # asserts the package's own message for input the annotations exclude
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
    base = [w.values, w.rows, w.cols, w.row_pos, w.row_cols, w.col_pos, w.col_rows]
    assert sum(a.size for a in base) == 7 * n
    # The paths/cycles layout of the exact log-det: ~11 int32 per neuron here (order, positions,
    # the inputs table, the link and common-input tables), still O(N) and no array above 3N.
    plan = [leaf.size for leaf in jax.tree_util.tree_leaves(w.chains)]
    assert max(plan) <= 3 * n and sum(plan) <= 12 * n + 16
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
    chex.assert_trees_all_close(gs, gd, rtol=1e-9, atol=1e-11)


class TestNonContractingFixedPoint(chex.TestCase):
    @chex.variants(with_jit=True, without_jit=True)
    def test_raises(self):
        # Linear f with weight 1.5 on a cycle: x = 1.5 πx + 1 has the fixed point -2 but the
        # iteration diverges (|1.5| > 1); it must raise, not return a state, eagerly and under jit.
        net = sp.SparseNetwork(sp.cycle_weights(8, 1.5), 1.0, activation="linear")
        with pytest.raises(Exception, match="did not converge"):
            jax.block_until_ready(self.variant(lambda n: sp.sparse_mean_state(n, max_steps=200))(net))


def test_sparse_iteration_tests_its_rule_at_the_every_step_stopping_step():
    # x <- x/2 + 1 from 0 is x_k = 2(1 - 2^-k): Δ_k = 2^(1-k), and the every-step rule stops at the
    # first k with Δ_k <= tol (1 + x_k). The rate measured between two tests, from Δ normalized by
    # the growing 1 + x, is a little faster than 1/2, so every predicted test step is at or before
    # the first step that meets the rule: the returned state must be x_{k*} exactly (the sequence is
    # exact in binary floating point up to the last bit of x, hence the exact step count from x).
    tol, x0 = 1e-13, jnp.zeros(4)
    k_star = next(k for k in range(1, 200) if 2.0 ** (1 - k) <= tol * (1 + 2 * (1 - 2.0 ** -k)))
    x, ok = jax.jit(lambda x0: sp._iterate(lambda x: 0.5 * x + 1, x0, tol, 2000))(x0)
    assert bool(ok)
    np.testing.assert_array_equal(np.asarray(x), 2 * (1 - 2.0 ** -k_star))
    # max_steps bounds the steps taken, tested steps or not: k* - 1 steps do not converge, k* do.
    for max_steps, converged in [(k_star - 1, False), (k_star, True)]:
        x, ok = sp._iterate(lambda x: 0.5 * x + 1, x0, tol, max_steps)
        assert bool(ok) == converged
        np.testing.assert_array_equal(np.asarray(x), 2 * (1 - 2.0 ** -max_steps))


def test_fixed_point_meets_the_every_step_rule_on_a_general_network_and_vmaps():
    # Rows with 1-4 inputs (the padded gather): the result must equal the every-step iteration (a
    # NumPy loop) to within both stopping errors, each <= L/(1-L) tol (1 + |x|) for a sup-norm
    # contraction of rate L (here the largest absolute row sum, |tanh'| <= 1), plus round-off (10 eps).
    n, tol = 40, 1e-13
    w = random_sparse(n, seed=11, scale=0.1)
    dense = np.asarray(sp.to_dense(w))
    rate = np.max(np.sum(np.abs(dense), axis=1))
    assert rate < 0.5
    bs = jnp.stack([jnp.linspace(-0.5, 0.7, n), jnp.full(n, 0.3)])
    xs = jax.jit(jax.vmap(lambda b: sp.sparse_mean_state(sp.SparseNetwork(w, b))))(bs)
    for x, b in zip(np.asarray(xs), np.asarray(bs)):
        ref = np.zeros(n)
        while True:
            new = np.tanh(dense @ ref + b)
            done = np.max(np.abs(new - ref)) <= tol * (1 + np.max(np.abs(new)))
            ref = new
            if done:
                break
        bound = 2 * rate / (1 - rate) * tol * (1 + np.max(np.abs(ref))) + 10 * np.finfo(np.float64).eps
        np.testing.assert_allclose(x, ref, rtol=0, atol=bound)
        # vmap runs each member's own steps (finished members are frozen): the unbatched call agrees exactly.
        np.testing.assert_array_equal(np.asarray(sp.sparse_mean_state(sp.SparseNetwork(w, b))), x)


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


@pytest.mark.unchecked  # asserts the package's own message for input the annotations exclude
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


# ------------------------------------------------------------------- exact structured log-dets (45)


def _dense_logdet(net, beta, x):
    """log det((1 - βm)I + βG) from the dense G of nnworld_jax.partition (slogdet): the second method."""
    g = nw.gauss_newton_operator(nw.Network(sp.to_dense(net.weights), net.b, net.activation, net.m), x)
    return jnp.linalg.slogdet((1 - beta * net.m) * jnp.eye(net.n, dtype=g.dtype) + beta * g)[1]


def _structured_cases():
    rng = np.random.default_rng(3)
    return {
        "chain": sp.chain_weights(9, 0.6),
        "cycle": sp.cycle_weights(7, 0.5),
        "multi-cycle (1, 2, 3, 5)": sp.multi_cycle_weights([1, 2, 3, 5], 0.4),
        "random permutation, random weights": sp.permutation_weights(rng.permutation(12), rng.uniform(-0.6, 0.6, 12)),
        "disjoint chains (100) + isolated": sp.chain_network_weights(4, [(0, 1, 3), (2, 3, 2)], weight=0.5, n_total=14),
        "self-loops and a chain": sp.sparse_weights([0, 1, 2, 3, 4, 0], [0, 0, 1, 2, 3, 4], rng.uniform(-0.5, 0.5, 6), 5),
        "two inputs per neuron": sp.sparse_weights([1, 1, 4, 4], [0, 2, 3, 5], rng.uniform(-0.5, 0.5, 4), 6),
    }


@pytest.mark.slow  # seven structures, each one compiled program (dense + structured): ~30 s on a loaded 2-core box
def test_structured_logdet_equals_the_dense_logdet():
    # Pivot recurrence + corner corrections vs dense slogdet of the same A: both exact up to
    # round-off (~N eps ~ 1e-14 relative at N <= 14); 1e-10 is the bound, far above it.
    rng = np.random.default_rng(4)
    for name, w in _structured_cases().items():
        assert sp.has_structured_logdet(w), name
        net = sp.SparseNetwork(w, jnp.asarray(rng.uniform(-0.3, 0.3, w.n)), m=0.2)
        got, want = jax.jit(lambda n: (sp.structured_logdet(n, 1.3), _dense_logdet(n, 1.3, sp.sparse_mean_state(n))))(net)
        assert abs(float(got - want)) <= 1e-10 * abs(float(want)), name


def test_structured_logdet_cycle_matches_circulant_closed_form():
    # Uniform bias on one N-cycle: x̄ is uniform, A is circulant with eigenvalues
    # s + β|1 - ac e^{2πik/N}|² (a = f'(y)); the FFT route (circulant_logdet) and the closed form
    # must both agree with the pivot route to round-off (1e-12 relative over N = 1000 terms).
    n, c, b, beta, m = 1000, 0.5, 0.2, 0.7, 0.3
    net = sp.SparseNetwork(sp.cycle_weights(n, c), b, m=m)
    x = sp.sparse_mean_state(net)
    a = 1 - float(jnp.tanh(c * x[0] + b)) ** 2
    s = 1 - beta * m
    closed = float(np.sum(np.log(s + beta * np.abs(1 - a * c * np.exp(2j * np.pi * np.arange(n) / n)) ** 2)))
    column = np.zeros(n)
    column[0], column[1], column[-1] = s + beta * (1 + (a * c) ** 2), -beta * a * c, -beta * a * c
    fft = float(sp.circulant_logdet(jnp.asarray(column)))
    got = float(jax.jit(lambda net: sp.structured_logdet(net, beta))(net))
    assert abs(fft - closed) <= 1e-12 * abs(closed)
    assert abs(got - closed) <= 1e-12 * abs(closed)


@pytest.mark.slow  # two jit(grad) programs of the scan and of the dense route: ~30 s on a loaded 2-core box
def test_structured_free_energy_gradient_matches_the_dense_route():
    # jax.grad through the pivot scan (values, b, β, m; x̄ by the implicit function theorem) vs
    # jax.grad of the dense slogdet route on the same mean state: the same derivative computed two
    # ways, agreeing to round-off (1e-9 relative: gradients lose a few digits to the fixed point's
    # rtol 1e-13 and the adjoint iteration).
    rng = np.random.default_rng(5)
    for name in ("random permutation, random weights", "self-loops and a chain"):
        w = _structured_cases()[name]
        net = sp.SparseNetwork(w, jnp.asarray(rng.uniform(-0.3, 0.3, w.n)), m=0.1)

        def build(values, b, beta, m):
            return eqx.tree_at(lambda t: (t.weights.values, t.b, t.m), net, (values, b, m)), beta

        def structured(*args):
            net_, beta = build(*args)
            return sp.structured_logdet(net_, beta)

        def dense(*args):
            net_, beta = build(*args)
            return _dense_logdet(net_, beta, sp.sparse_mean_state(net_))

        args = (net.weights.values, net.b, jnp.asarray(1.3), net.m)
        grads = jax.jit(lambda *a: (jax.grad(structured, argnums=(0, 1, 2, 3))(*a), jax.grad(dense, argnums=(0, 1, 2, 3))(*a)))
        g1, g2 = grads(*args)
        chex.assert_trees_all_close(g1, g2, rtol=1e-9, atol=1e-11, custom_message=name)
        # and a central finite difference in β (step 1e-5: error ~h² f''' ~ 1e-10)
        h = 1e-5
        value = jax.jit(structured)
        fd = (value(args[0], args[1], args[2] + h, args[3]) - value(args[0], args[1], args[2] - h, args[3])) / (2 * h)
        assert abs(float(fd - g1[2])) <= 1e-7 * max(1.0, abs(float(g1[2])))


def test_structured_logdet_float32():
    # float32 in, float32 out; against the float64 value of the same network: each pivot carries a
    # few float32 eps of relative error and the N = 1000 logs add up, so |Δ| ~ √N · 1e-7 · |log p|
    # ~ 1e-5 absolute on a value ~ 300: 1e-6 relative is ~10x above the expected error.
    vals = {}
    for dtype in (jnp.float32, jnp.float64):
        net = sp.SparseNetwork(sp.chain_weights(1000, 0.6, dtype=dtype), jnp.linspace(-0.3, 0.3, 1000, dtype=dtype))
        vals[dtype] = jax.jit(lambda n: sp.structured_logdet(n, 1.1))(net)
    assert vals[jnp.float32].dtype == jnp.float32
    assert abs(float(vals[jnp.float32]) - float(vals[jnp.float64])) <= 1e-6 * abs(float(vals[jnp.float64]))


def test_structured_free_energy_is_eq_45_and_detection_is_static():
    net = sp.SparseNetwork(sp.cycle_weights(11, 0.5), 0.1)
    f, logdet = jax.jit(lambda n: (sp.structured_free_energy(n, 2.0), _dense_logdet(n, 2.0, sp.sparse_mean_state(n))))(net)
    # F = (log det A - N log 2π) / 2β, eq. (45): round-off only (1e-12 relative).
    assert abs(float(f) - float((logdet - 11 * np.log(2 * np.pi)) / 4.0)) <= 1e-12 * abs(float(f))
    # Networks whose A has a node with three neighbours are not structured: SLQ or dense stays for them.
    assert not sp.has_structured_logdet(random_sparse(40))
    hub = sp.chain_network_weights(3, [(0, 1, 2), (0, 2, 2), (1, 2, 1)], weight=0.3)  # shared boundary neurons
    assert not sp.has_structured_logdet(hub)
    with pytest.raises(ValueError, match="union of paths and cycles"):
        sp.structured_logdet(sp.SparseNetwork(hub, 0.1), 1.0)


def test_structured_logdet_outside_the_domain_raises():
    # m = 3, β = 1: 1 - βm = -2, A has negative eigenvalues: an error, not a number.
    net = sp.SparseNetwork(sp.cycle_weights(6, 0.3), 0.1, m=3.0)
    with pytest.raises(Exception, match="not positive definite"):
        jax.block_until_ready(jax.jit(lambda n: sp.structured_logdet(n, 1.0))(net))
