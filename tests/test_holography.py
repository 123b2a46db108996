"""Holography §10: the boundary map (97)-(99) against conventions §7 values, its walk series, gradients,
the chain length (100) on exact chain networks, the two actions of (102) on explicit bulk/boundary
variables, and this toolkit's OU entropy-production model."""

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from nnworld_jax import holography as h
from nnworld_jax.entropic import Coefficients


def wb_and_d(w, eps, boundary):
    wb = h.boundary_weights(jnp.asarray(w), eps, boundary)
    return wb, h.chain_length(wb, eps)


def test_spec_single_chain():
    # conventions §7: L = 8, ε = 0.3: w∂ = ε⁹ = 1.9683e-5 exactly, d = 8. The solve involves only exact
    # unit entries and powers of 0.3, so 1e-12 (relative) is float64 round-off with margin.
    net = h.chain_network(2, [(0, 1, 8)])
    wb, d = wb_and_d(net.w, 0.3, net.boundary)
    assert float(wb[1, 0]) == pytest.approx(1.9683e-5, rel=1e-12)
    assert float(d[1, 0]) == pytest.approx(8.0, abs=1e-12)
    # Asymmetry: no walk 1 → 0, so w∂_01 = 0 and d(0, 1) = +inf (never NaN).
    assert float(wb[0, 1]) == 0.0 and math.isinf(float(d[0, 1])) and float(d[0, 1]) > 0


@pytest.mark.parametrize("eps,expected", [(0.5, 2.830075), (0.1, 2.999566), (0.01, 3.000000)])
def test_spec_parallel_chains(eps, expected):
    # conventions §7 values are printed to 6 decimals: tolerance half a unit of the last digit. The exact
    # form d = 3 + log(1 + ε³)/log ε is checked to round-off.
    net = h.chain_network(2, [(0, 1, 3), (0, 1, 6)])
    _, d = wb_and_d(net.w, eps, net.boundary)
    assert float(d[1, 0]) == pytest.approx(expected, abs=5e-7)
    assert float(d[1, 0]) == pytest.approx(3 + math.log1p(eps**3) / math.log(eps), abs=1e-12)


def test_spec_cycle():
    # conventions §7: 10-cycle, boundary {0, 4}, ε = 0.5: w∂ = ε⁴/(1 - ε¹⁰), d = 2.99859043 (8 decimals).
    w = h.cycle_network(10)
    wb, d = wb_and_d(w, 0.5, (0, 4))
    assert float(wb[1, 0]) == pytest.approx(0.5**4 / (1 - 0.5**10), rel=1e-13)
    assert float(wb[1, 0]) == pytest.approx(6.25610948e-2, abs=5e-11)
    assert float(d[1, 0]) == pytest.approx(2.99859043, abs=5e-9)


@pytest.mark.parametrize("c", [3, 7, 12])
@pytest.mark.parametrize("eps", [0.3, 0.8])
def test_cycle_factor(c, eps):
    # Every boundary pair on a C-cycle: w∂ = ε^{n}/(1 - ε^C), n the forward distance (1..C, C for
    # the return walk i → i). Exact geometric series; 1e-12 relative round-off.
    w = h.cycle_network(c)
    wb = np.asarray(h.boundary_weights(jnp.asarray(w), eps, tuple(range(c))))
    i, j = np.meshgrid(np.arange(c), np.arange(c), indexing="ij")
    n = (i - j) % c
    n[n == 0] = c
    np.testing.assert_allclose(wb, eps**n / (1 - eps**c), rtol=1e-12)


def test_solve_agrees_with_series(key):
    # Random dense w scaled to ε ρ = 0.7: the series converges like 0.7ⁿ, 200 terms leave < 1e-25;
    # the two agree to LU round-off (1e-12 relative to the largest entry).
    w = np.asarray(jax.random.normal(key, (9, 9)))
    rho = np.max(np.abs(np.linalg.eigvals(w)))
    eps = 0.7 / rho
    boundary = (0, 3, 5, 8)
    a = h.boundary_weights(jnp.asarray(w), eps, boundary)
    b = h.boundary_weights_series(jnp.asarray(w), eps, boundary, n_terms=200)
    np.testing.assert_allclose(a, b, atol=1e-12 * float(jnp.max(jnp.abs(a))))
    # Too few terms: the convergence check fires instead of returning a truncated sum.
    with pytest.raises(ValueError, match="not converged"):
        h.boundary_weights_series(jnp.asarray(w), eps, boundary, n_terms=10)


def test_spectral_radius_matches_eigenvalues(key):
    # Gelfand's formula with k = 2^40 vs LAPACK eigenvalues: error ~ log(N)/k, far below 1e-9.
    for k in jax.random.split(key, 3):
        w = np.asarray(jax.random.normal(k, (8, 8)))
        assert float(h.spectral_radius(jnp.asarray(w))) == pytest.approx(np.max(np.abs(np.linalg.eigvals(w))), rel=1e-9)
    assert float(h.spectral_radius(jnp.asarray(h.chain_network(2, [(0, 1, 4)]).w))) == 0.0  # nilpotent


class TestDomainError(chex.TestCase):
    """ε ρ(w) ≥ 1 (the walk sum of (98) diverges) or ε < 0: refused eagerly and under jit."""

    @chex.variants(with_jit=True, without_jit=True)
    def test_domain_error(self):
        w = jnp.asarray(h.cycle_network(6))  # ρ = 1
        expected = ValueError if self.variant.type == chex.ChexVariantType.WITHOUT_JIT else Exception
        f = self.variant(lambda w, e: h.boundary_weights(w, e, (0, 3)))
        assert np.isfinite(f(w, 0.9)).all()  # the positive control: inside the domain
        for eps, name in ((1.0, "spectral_radius"), (1.5, "spectral_radius"), (1.01, "spectral_radius"),
                          (-0.1, "eps")):
            with pytest.raises(expected, match=name):
                jax.block_until_ready(f(w, eps))


def test_gradients_match_finite_differences(key):
    # check_grads compares forward and reverse mode with central differences (eps = 1e-4 in x64):
    # its default tolerances are set for that O(eps²) truncation error.
    w = 0.4 * jax.random.normal(key, (6, 6))
    f = jax.jit(h.boundary_weights, static_argnums=2)
    check_grads(lambda w: f(w, 0.5, (0, 2, 5)), (w,), order=1, modes=("fwd", "rev"))
    check_grads(lambda e: f(w, e, (0, 2, 5)), (0.5,), order=1, modes=("fwd", "rev"))
    # d/dε of the single-chain entry ε^{L+1} is (L+1) ε^L exactly.
    net = h.chain_network(2, [(0, 1, 4)])
    g = jax.grad(lambda e: h.boundary_weights(jnp.asarray(net.w), e, net.boundary)[1, 0])(0.3)
    assert float(g) == pytest.approx(5 * 0.3**4, rel=1e-12)
    # And d(chain length)/dε = 0 on an exact chain (d = L for all ε); no NaN from the inf entries.
    gd = jax.grad(lambda e: jnp.sum(jnp.where(
        jnp.isinf(h.chain_length(h.boundary_weights(jnp.asarray(net.w), e, net.boundary), e)), 0.0,
        h.chain_length(h.boundary_weights(jnp.asarray(net.w), e, net.boundary), e))))(0.3)
    assert abs(float(gd)) < 1e-12


def test_weights_shift_chain_length():
    # conventions §7: weights shift d by log_ε Π w. Chain of L = 5 with every edge 0.7: Π w = 0.7⁶.
    net = h.chain_network(2, [(0, 1, 5)], weight=0.7)
    _, d = wb_and_d(net.w, 0.2, net.boundary)
    assert float(d[1, 0]) == pytest.approx(5 + 6 * math.log(0.7) / math.log(0.2), abs=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_random_chain_networks_decode_exactly(seed):
    # Disjoint source → sink chains: the only walks are the chains, so d = L to round-off on every
    # chained pair and +inf elsewhere (reverse pairs, unchained pairs, the diagonal).
    net = h.random_chain_network(key=jax.random.PRNGKey(seed), n_boundary=8, n_chains=9, max_length=9)
    for eps in (0.5, 0.2):
        _, d = wb_and_d(net.w, eps, net.boundary)
        d = np.asarray(d)
        finite = np.isfinite(net.lengths)
        np.testing.assert_array_equal(np.isfinite(d), finite)
        np.testing.assert_allclose(d[finite], net.lengths[finite], atol=1e-9)


def test_parallel_random_chains_approach_shortest():
    # Up to three parallel chains per pair: w∂ = Σ_chains ε^{L+1} exactly (only those walks), so
    # d = L_min + log_ε(Σ ε^{L - L_min}) ≤ L_min, and the gap shrinks like log(multiplicity)/|ln ε|
    # as ε → 0 (d → L_min). Exact formula to 1e-9; monotone approach.
    net = h.random_chain_network(key=jax.random.PRNGKey(3), n_boundary=6, n_chains=6, min_length=1,
                                 max_length=7, parallel=3)
    finite = np.isfinite(net.lengths)
    gaps = []
    for eps in (0.5, 0.1, 1e-2, 1e-4):
        _, d = wb_and_d(net.w, eps, net.boundary)
        d = np.asarray(d)
        exact = np.full(net.lengths.shape, 0.0)
        for a, b, length in net.chains:
            exact[b, a] += eps ** (length + 1)
        np.testing.assert_allclose(d[finite], np.log(exact[finite]) / np.log(eps) - 1, atol=1e-9)
        gaps.append(d[finite] - net.lengths[finite])
    gaps = np.array(gaps)
    assert np.all(gaps <= 1e-12)
    assert np.all(np.diff(np.abs(gaps), axis=0) <= 1e-12)
    assert np.max(np.abs(gaps[-1])) <= math.log(3) / abs(math.log(1e-4)) + 1e-12


def test_boundary_response_identity(key):
    # Reading of (97)-(99): the linear stationary state x = εw x + b with b = P∂ᵀ b∂ has
    # x∂ = (I + w∂) b∂. Two independent solves: 1e-12.
    w = 0.3 * jax.random.normal(key, (7, 7))
    boundary = (1, 4, 6)
    p = h.boundary_projector(boundary, 7)
    b_boundary = jnp.array([0.3, -1.2, 0.7])
    b = p.T @ b_boundary
    x = jnp.linalg.solve(jnp.eye(7) - 0.8 * w, b)
    wb = h.boundary_weights(w, 0.8, boundary)
    np.testing.assert_allclose(h.boundary_state(x, boundary), b_boundary + wb @ b_boundary, atol=1e-12)
    np.testing.assert_allclose(h.boundary_bias(b, boundary), b_boundary, atol=0)


def test_ou_entropy_production_analytic():
    # dx = -A x + √2 dW with A = [[1, -c], [c, 1]]: Σ = I and σ = tr(AᵀA) - tr A = 2c² exactly.
    c = 0.7
    a = jnp.array([[1.0, -c], [c, 1.0]])
    np.testing.assert_allclose(h.stationary_covariance(a, jnp.eye(2)), np.eye(2), atol=1e-14)
    assert float(h.ou_entropy_production(a, jnp.eye(2))) == pytest.approx(2 * c**2, rel=1e-13)


def test_entropy_production_current_form(key):
    # σ = ∫ Jᵀ D⁻¹ J / p with J = -(A - DΣ⁻¹) x p, i.e. tr((A - DΣ⁻¹)ᵀ D⁻¹ (A - DΣ⁻¹) Σ): an
    # independent form of the same rate; also checks the Lyapunov equation residual. 1e-11.
    k1, k2 = jax.random.split(key)
    w = 0.3 * jax.random.normal(k1, (5, 5))
    a = jnp.eye(5) - w
    m = jax.random.normal(k2, (5, 5))
    dmat = m @ m.T / 5 + jnp.eye(5)
    s = h.stationary_covariance(a, dmat)
    np.testing.assert_allclose(a @ s + s @ a.T, 2 * dmat, atol=1e-12)
    r = a - dmat @ jnp.linalg.inv(s)
    current = jnp.trace(r.T @ jnp.linalg.solve(dmat, r) @ s)
    assert float(h.ou_entropy_production(a, dmat)) == pytest.approx(float(current), rel=1e-11)
    assert float(current) > 0


def test_entropy_production_reversible_and_temperature(key):
    # Symmetric w: detailed balance, σ = 0 (round-off 1e-12); σ does not depend on T, but T ≤ 0 is
    # refused eagerly and under jit.
    m = 0.3 * jax.random.normal(key, (6, 6))
    sym = 0.5 * (m + m.T)
    assert abs(float(h.bulk_entropy_production(sym, 0.9))) < 1e-12
    net = h.chain_network(2, [(0, 1, 3)])
    s1 = h.bulk_entropy_production(jnp.asarray(net.w), 0.5, temperature=1.0)
    s2 = h.bulk_entropy_production(jnp.asarray(net.w), 0.5, temperature=3.7)
    assert float(s1) > 0.1 and float(s1) == pytest.approx(float(s2), rel=1e-12)
    with pytest.raises(ValueError, match="temperature"):
        h.bulk_entropy_production(jnp.asarray(net.w), 0.5, temperature=-1.0)
    with pytest.raises(Exception, match="temperature"):
        jax.block_until_ready(jax.jit(lambda t: h.bulk_entropy_production(jnp.asarray(net.w), 0.5, temperature=t))(-1.0))
    # Boundary network of one chain: w∂ has the single entry c = ε^{L+1}; A∂ = [[1, 0], [-c, 1]]
    # gives σ∂ = c²/2 (Σ = [[1, c/2], [c/2, 1 + c²/2]]).
    c = 0.5**4
    assert float(h.boundary_entropy_production(jnp.asarray(net.w), 0.5, net.boundary)) == pytest.approx(c**2 / 2, rel=1e-12)


def test_boundary_action_small_eps_is_the_fisher_term():
    # ε → 0: w∂ → 0, F(q) no longer depends on q and S_q = 4D∫|∇√p|² = D/width² (Gaussian p). The grid
    # (fd4, 8 points per width) and the e^{-32} tails limit the agreement to ~3e-6 relative; the
    # learning term is then round-off (< 1e-9).
    w = jnp.asarray(h.cycle_network(8))
    b = jnp.zeros(8).at[jnp.array([0, 3, 5])].set(jnp.array([0.4, -0.2, 0.7]))
    out = h.boundary_action(w, 1e-4, (0, 3, 5), b, coefficients=Coefficients(0.7, 1.0, 1.0), width=0.5)
    assert float(out.action) == pytest.approx(0.7 / 0.25, rel=1e-5)
    assert abs(float(out.learning)) < 1e-9


@pytest.mark.slow
def test_boundary_action_learning_term_independent_form():
    # The boxed term γ∫p∇²F, recomputed here from F(q) of partition.free_energy and a NumPy second
    # difference (fd2; the action uses fd4, so the two agree to O(h²) ~ 1e-3 relative of the term).
    from nnworld_jax.network import Network
    from nnworld_jax.partition import free_energy

    w = jnp.asarray(h.cycle_network(6))
    bd = (0, 2, 4)
    b = jnp.zeros(6).at[jnp.array(bd)].set(jnp.array([0.3, -0.5, 0.6]))
    eps, width, n, gamma = 0.6, 0.5, 128, 1.3
    out = h.boundary_action(w, eps, bd, b, coefficients=Coefficients(1.0, gamma, 1.0), width=width, n=n)
    net = h.boundary_network(w, eps, bd, b)
    length = 16 * width
    dq = length / n
    q = np.arange(n) * dq - length / 2
    f_at = jax.jit(chex.assert_max_traces(lambda qi: free_energy(Network(net.w, net.b.at[0].add(qi)), 1.0), n=1))
    F = np.array([float(f_at(qi)) for qi in q])
    p = np.exp(-0.5 * (q / width) ** 2)
    p /= p.sum() * dq
    lap = (np.roll(F, -1) - 2 * F + np.roll(F, 1)) / dq**2
    inner = slice(8, n - 8)  # away from the wrap-around of the non-periodic F (p ~ e^{-25} there)
    want = gamma * np.sum((p * lap)[inner]) * dq
    assert abs(want) > 1e-4
    assert float(out.learning) == pytest.approx(want, rel=3e-3)


def test_bulk_state_and_action_closed_form(key):
    # bulk_state solves x = εw x + P∂ᵀ b∂ (residual 1e-14) and its boundary part is (I + w∂) b∂ (99);
    # bulk_action = -½ Σ_σ ((Q_{σ+1} - Q_{σ-1})/2)² per unit τ (η flat: R = 0; 1e-13 against NumPy).
    c, bd, eps = 10, (1, 4, 7), 0.45
    w = jnp.asarray(h.cycle_network(c))
    bb = jax.random.normal(key, (3,))
    x = h.bulk_state(w, eps, bd, bb)
    src = np.zeros(c)
    src[list(bd)] = np.asarray(bb)
    np.testing.assert_allclose(x - eps * (w @ x), src, atol=1e-14)
    wb = h.boundary_weights(w, eps, bd)
    np.testing.assert_allclose(x[jnp.array(bd)], bb + wb @ bb, atol=1e-14)
    q = np.asarray(x)
    want = -0.5 * np.sum(((np.roll(q, -1) - np.roll(q, 1)) / 2) ** 2)
    assert float(h.bulk_action(w, eps, bd, bb)) == pytest.approx(want, rel=1e-13)


@pytest.mark.unchecked  # asserts the package's own message for input the annotations exclude
def test_bad_input():
    with pytest.raises(ValueError, match="boundary"):
        h.boundary_weights(jnp.zeros((3, 3)), 0.5, (0, 0))
    with pytest.raises(ValueError, match="boundary"):
        h.boundary_weights(jnp.zeros((3, 3)), 0.5, (0, 3))
    with pytest.raises(ValueError, match="vmap"):
        h.boundary_weights(jnp.zeros((2, 3, 3)), 0.5, (0,))
    with pytest.raises(ValueError, match="NaN"):
        h.boundary_weights(jnp.full((3, 3), jnp.nan), 0.5, (0,))
    with pytest.raises(ValueError, match="eps"):
        h.chain_length(jnp.ones((2, 2)), 1.5)


def test_vmap_over_eps():
    # One jit(vmap) program (one batched LU): values match the per-ε calls exactly.
    net = h.chain_network(2, [(0, 1, 3), (0, 1, 6)])
    eps = jnp.array([0.5, 0.1, 0.01])
    d = jax.jit(jax.vmap(lambda e: h.chain_length(h.boundary_weights(jnp.asarray(net.w), e, (0, 1)), e)[1, 0]))(eps)
    np.testing.assert_allclose(d, [2.830074998557688, 2.999565922520681, 2.9999997828528677], rtol=1e-13)


def test_docstring_examples_run():
    import doctest

    assert doctest.testmod(h, optionflags=doctest.ELLIPSIS).failed == 0


def test_public_functions_name_their_equation():
    import inspect
    import re

    eq = re.compile(r"\(\d+\)")
    own_model = {"stationary_covariance", "ou_entropy_production"}  # this toolkit's OU model: no paper equation
    missing = [n for n in h.__all__ if n not in own_model and not inspect.isclass(getattr(h, n))
               and not eq.search(inspect.getdoc(getattr(h, n)) or "")]
    assert not missing, missing


class TestUnstableDrift(chex.TestCase):
    @chex.variants(with_jit=True, without_jit=True)
    def test_ou_entropy_production_refuses_an_unstable_drift(self):
        # Issue #11: ou_entropy_production(-I, I) returned 0 for a process with no stationary state. The
        # Lyapunov equation still has a solution (Σ = -I), which is not a covariance: that is what is
        # checked, eagerly (ValueError) and under jit (equinox's runtime error).
        expected = ValueError if self.variant.type == chex.ChexVariantType.WITHOUT_JIT else Exception
        with pytest.raises(expected, match="a must be a stable drift"):
            jax.block_until_ready(self.variant(h.ou_entropy_production)(-jnp.eye(2), jnp.eye(2)))
