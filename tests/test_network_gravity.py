"""Paper §9, eqs. (77)-(83): the network's hidden-variable action in per-neuron metrics.

References are independent of nnworld_jax.network_gravity: analytic τ derivatives of trigonometric
trajectories, NumPy contractions, a Monte Carlo ensemble, the Gaussian's Fourier transform, and the
Gauss-Bonnet theorem. The claims in nnworld_jax/claims/network_gravity.py (run by test_claims.py)
cover the comparisons with (78) as printed, the string limit, (79)-(80) on a network, (82) and (81)."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnworld_jax import gravity as gv
from nnworld_jax import network_gravity as ng
from nnworld_jax.grid import Grid

ALPHA = 1.3
K, N, NT = 2, 5, 16


def _traj(t, i):
    """x̄_i^(μ)(τ) and its first two τ derivatives, analytic; shapes (K, N, Nτ)."""
    x = np.stack([0.5 * np.sin(t + 0.5 * i) + 0.2 * np.cos(2 * t - i) + i,
                  0.4 * np.cos(t + i) + 0.1 * np.sin(3 * t)])
    v = np.stack([0.5 * np.cos(t + 0.5 * i) - 0.4 * np.sin(2 * t - i),
                  -0.4 * np.sin(t + i) + 0.3 * np.cos(3 * t)])
    a = np.stack([-0.5 * np.sin(t + 0.5 * i) - 0.8 * np.cos(2 * t - i),
                  -0.4 * np.cos(t + i) - 0.9 * np.sin(3 * t)])
    return x, v, a


@functools.lru_cache(maxsize=None)
def _setup():
    tau = Grid((NT,))
    t = np.asarray(tau.axis(0))[None, :]
    i = np.arange(N)[:, None]
    x, v, a = _traj(t, i)
    rng = np.random.default_rng(3)
    jac = np.eye(N) - 0.3 * rng.normal(size=(N, N)) / np.sqrt(N)
    G = jac.T @ jac
    eta = np.diag([-1.0, 1.0])
    # per-neuron metrics that also vary in τ (g^i(τ)): symmetric, Lorentzian
    g = np.stack([[eta + 0.2 * np.array([[np.sin(k + s), 0.3 * np.cos(k - s)], [0.3 * np.cos(k - s), np.cos(2 * k + s)]])
                   for s in np.asarray(tau.axis(0))] for k in range(N)])  # (N, Nτ, K, K)
    g = np.moveaxis(g, 1, -1)  # (N, K, K, Nτ)
    return tau, x, v, a, G, g


def test_eom_from_grad_matches_continuum_form():
    # δA/δx̄_k^ρ = -2∂_τ(g^k_ρν ẋ^ν) + (α/2)[g^k_ρν(Gx̄^ν)_k + (G g x̄)_k^ρ] with analytic ẋ, ẍ and ∂_τg
    # from the exact spectral derivative of the metric's τ harmonics (its harmonics ≤ 1: exact here);
    # spectral derivatives of trigonometric polynomials are exact, so the tolerance is roundoff.
    tau, x, v, a, G, g = _setup()
    e = np.asarray(ng.hidden_eom(jnp.asarray(x), G, g, tau, alpha=ALPHA))
    s = np.asarray(tau.axis(0))
    k = np.arange(N)[:, None]
    dg = 0.2 * np.stack([np.stack([np.cos(k + s), 0.3 * np.sin(k - s)]), np.stack([0.3 * np.sin(k - s), -np.sin(2 * k + s)])])
    dg = np.moveaxis(dg, 2, 0)  # (N, K, K, Nτ)
    gv_ = np.einsum("irnt,nit->rit", g, v)
    kin = -2 * (np.einsum("irnt,nit->rit", dg, v) + np.einsum("irnt,nit->rit", g, a))
    pot = 0.5 * ALPHA * (np.einsum("irnt,ij,njt->rit", g, G, x) + np.einsum("ij,mrjt,mjt->rit", G, np.moveaxis(g, 0, 2), x))
    ref = kin + pot
    assert np.max(np.abs(gv_)) > 0.1
    assert np.max(np.abs(e - ref)) < 1e-11 * np.max(np.abs(ref))


def test_printed_78_is_minus_half_eom_for_a_shared_constant_metric_only():
    # One metric for all neurons: -½δA/δx̄ = (78) exactly; per-neuron metrics: off by (α/4)(gG - Gg)x̄.
    tau, x, _, _, G, g = _setup()
    shared = np.broadcast_to(g[0, :, :, 0], (N, K, K))
    e = np.asarray(ng.hidden_eom(jnp.asarray(x), G, shared, tau, alpha=ALPHA))
    p = np.asarray(ng.printed_eom(jnp.asarray(x), G, shared, tau, alpha=ALPHA))
    assert np.max(np.abs(-0.5 * e - p)) < 1e-12 * np.max(np.abs(p))
    per = g[..., 0]
    e = np.asarray(ng.hidden_eom(jnp.asarray(x), G, per, tau, alpha=ALPHA))
    p = np.asarray(ng.printed_eom(jnp.asarray(x), G, per, tau, alpha=ALPHA))
    comm = 0.25 * ALPHA * (np.einsum("imn,ij,njt->mit", per, G, x) - np.einsum("ij,jmn,njt->mit", G, per, x))
    assert np.max(np.abs(comm)) > 1e-2 * np.max(np.abs(p))
    assert np.max(np.abs(-0.5 * e - p - comm)) < 1e-12 * np.max(np.abs(p))


def test_state_average_matches_monte_carlo_and_drops_out_of_the_eom(key):
    # ⟨x_i^μ G_ij x_j^ν⟩ over Gaussian states with mean x̄ and covariance C^μ (subsystems independent),
    # sampled; tolerance 5 standard errors of the sample mean.
    tau, x, _, _, G, g = _setup()
    x0 = x[:, :, :1]
    rng = np.random.default_rng(7)
    cov = np.stack([(lambda b: 0.2 * b @ b.T)(rng.normal(size=(N, N))) for _ in range(K)])
    samples = 100_000
    draws = np.stack([rng.multivariate_normal(x0[m, :, 0], cov[m], size=samples) for m in range(K)])  # (K, S, N)
    per = np.einsum("msi,ij,nsj->mnsi", draws, G, draws)  # no sum over i
    mc, se = per.mean(axis=2), per.std(axis=2) / np.sqrt(samples)
    exact = np.asarray(ng.state_average(jnp.asarray(x0), G, covariance=cov))[..., 0]
    assert np.all(np.abs(mc - exact) < 5 * se + 1e-12)
    # The fluctuation term is constant: same EOM, action shifted by (α/2)Σ_i g^i_μμ (G C^μ)_ii · period.
    per_g = g[..., 0]
    e0 = ng.hidden_eom(jnp.asarray(x), G, per_g, tau, alpha=ALPHA)
    e1 = ng.hidden_eom(jnp.asarray(x), G, per_g, tau, alpha=ALPHA, covariance=cov)
    assert float(jnp.max(jnp.abs(e0 - e1))) < 1e-12
    shift = 0.5 * ALPHA * np.einsum("imm,ij,mji->", per_g, G, cov) * 2 * np.pi
    a0 = float(ng.hidden_action(jnp.asarray(x), G, per_g, tau, alpha=ALPHA))
    a1 = float(ng.hidden_action(jnp.asarray(x), G, per_g, tau, alpha=ALPHA, covariance=cov))
    assert abs(a1 - a0 - shift) < 1e-11 * abs(shift)


@pytest.mark.parametrize("mode", [1, 3, 7])
def test_ring_dispersion_printed_versus_corrected(mode):
    # g = η, w = π (single 32-cycle), f' = I: for x̄^0 = cos(k i)cos(Ωτ) the EOM is linear, E = (2Ω² + c)ηx̄.
    # Corrected (77): ω² = α²(2 - 2cos k) (the lattice wave equation, → K² = (kα)², eq. (73));
    # printed (77): ω² = -(α/2)(2 - 2cos k) < 0 (growing modes). Exact identities: roundoff tolerance.
    n, nt, omega = 32, 8, 2.0
    alpha, k = n / (2 * np.pi), 2 * np.pi * mode / n
    tau = Grid((nt,))
    pi = np.roll(np.eye(n), 1, axis=0)
    G = (np.eye(n) - pi).T @ (np.eye(n) - pi)
    x0 = np.cos(k * np.arange(n))[:, None] * np.cos(omega * np.asarray(tau.axis(0)))[None, :]
    x = jnp.asarray(np.stack([x0, 0 * x0]))
    eta = np.broadcast_to(np.diag([-1.0, 1.0]), (n, 2, 2))
    for form, want in (("corrected", alpha**2 * (2 - 2 * np.cos(k))), ("printed", -0.5 * alpha * (2 - 2 * np.cos(k)))):
        e = np.asarray(ng.hidden_eom(x, G, eta, tau, alpha=alpha, form=form))
        w2 = omega**2 + np.sum(e[0] * x0) / np.sum(x0**2) / 2
        assert abs(w2 - want) < 1e-9 * abs(want), (form, w2, want)
        assert np.max(np.abs(e[1])) < 1e-12


def test_deposit_matches_the_gaussian_fourier_transform_and_converges_at_order_two():
    # One source of unit weight δ^{μν} at x0, metric g_μν = δ_μν cos(k·X), k = (1, 1): the continuum
    # smoothing gives ∫g𝒯 = 2 cos(k·x0) exp(-σ²|k|²/2) (per unit τ length) exactly; on the grid the
    # normalized Gaussian reproduces it to its aliasing, exp(-2π²σ²/h²) < 1e-12 for σ ≥ 1.5h.
    tau = Grid((2,))
    x0 = np.array([1.3, 4.1])
    x = jnp.asarray(np.broadcast_to(x0[:, None, None], (2, 1, 2)))
    w = jnp.asarray(np.broadcast_to(np.eye(2)[:, :, None, None], (2, 2, 1, 2)))
    spacetime = Grid((96, 96))
    X = np.asarray(spacetime.mesh())
    kvec = np.array([1.0, 1.0])
    metric = jnp.asarray(np.eye(2)[:, :, None, None] * np.cos(kvec[0] * X[0] + kvec[1] * X[1]))
    widths, errs = (0.4, 0.2, 0.1), []
    exact_point = 2 * np.cos(kvec @ x0) * 2 * np.pi  # σ → 0 limit, times the τ period
    for width in widths:
        dens = ng.deposit_sources(x, w, tau, spacetime, width=width)
        # normalization: ∫𝒯^{μν} d^2X = ∫dτ w^{μν} exactly
        assert abs(float(jnp.sum(dens[0, 0])) * spacetime.cell_volume - 2 * np.pi) < 1e-12
        val = float(ng.spacetime_action(metric, dens, spacetime))
        assert abs(val - exact_point * np.exp(-0.5 * width**2 * kvec @ kvec)) < 1e-10
        errs.append(abs(val - exact_point))
    order = np.polyfit(np.log(widths), np.log(errs), 1)[0]
    assert abs(order - 2) < 0.1, order  # 1 - exp(-σ²|k|²/2) = 1 - exp(-σ²): slope 1.95 over these σ


@pytest.mark.slow  # ~12 s on a shared CPU (compiles the deposit and the metric variation)
def test_source_variation_and_symmetry():
    # (82): δ/δg ∫ g 𝒯 = 𝒯 (symmetric weights); a non-symmetric density comes back symmetrized.
    tau, x, _, _, G, _ = _setup()
    w = ng.source_weights(jnp.asarray(x), G, tau, alpha=ALPHA)
    assert float(jnp.max(jnp.abs(w - jnp.swapaxes(w, 0, 1)))) < 1e-15 * float(jnp.max(jnp.abs(w)))  # roundoff of the fused sum
    spacetime = Grid((32, 32))
    metric = gv.sample_metric(spacetime, functools.partial(gv.reference_metric, eps=0.1, signature=(-1.0, 1.0)))
    dens = ng.deposit_sources(jnp.asarray(x), w, tau, spacetime, width=0.3)
    assert float(jnp.max(jnp.abs(ng.source_variation(metric, dens, spacetime) - dens))) < 1e-13 * float(jnp.max(jnp.abs(dens)))
    skew = dens.at[0, 1].add(1.0)
    var = ng.source_variation(metric, skew, spacetime)
    assert float(jnp.max(jnp.abs(var[0, 1] - dens[0, 1] - 0.5))) < 1e-13


@pytest.mark.slow  # ~14 s: compiles jax.grad through the curvature core
def test_metric_equation_in_two_dimensions_is_the_source_alone():
    # Gauss-Bonnet: in 1+1 dimensions ∫√-g R is topological, so δS_x/δg = -κ𝒯 (spectral aliasing of
    # the curvature core's grad: measured 1e-12 of |κ𝒯| at n = 32 for the ε = 0.1 reference metric).
    tau, x, _, _, G, _ = _setup()
    w = ng.source_weights(jnp.asarray(x), G, tau, alpha=ALPHA)
    spacetime = Grid((32, 32))
    metric = gv.sample_metric(spacetime, functools.partial(gv.reference_metric, eps=0.1, signature=(-1.0, 1.0)))
    dens = ng.deposit_sources(jnp.asarray(x), w, tau, spacetime, width=0.4)
    e = ng.entropy_production_equation(metric, dens, spacetime, kappa=0.7)
    assert float(jnp.max(jnp.abs(e + 0.7 * dens))) < 1e-9 * float(jnp.max(jnp.abs(dens)))
    s = ng.entropy_production_action(metric, dens, spacetime, kappa=0.7, average=2.0)
    assert abs(float(s) - 0.7 * (2.0 - float(ng.spacetime_action(metric, dens, spacetime)))) < 1e-9


def test_metric_at_neurons_gives_the_79_reading_of_77():
    # g^i(τ) = g(x̄_i(τ)): the action with per-neuron metrics equals Σ_τ Σ_i g(x̄_i)_μν w^{μν} h_τ (NumPy).
    tau, x, _, _, G, _ = _setup()
    fn = functools.partial(gv.reference_metric, eps=0.1, signature=(-1.0, 1.0))
    gi = ng.metric_at_neurons(fn, jnp.asarray(x))
    assert gi.shape == (N, K, K, NT)
    ref = np.stack([[np.asarray(fn(jnp.asarray(x[:, i, t]))) for t in range(NT)] for i in range(N)])
    assert np.max(np.abs(np.asarray(gi) - np.moveaxis(ref, 1, -1))) < 1e-15
    w = np.asarray(ng.source_weights(jnp.asarray(x), G, tau, alpha=ALPHA))
    want = np.einsum("imnt,mnit->", np.asarray(gi), w) * tau.cell_volume
    assert abs(float(ng.hidden_action(jnp.asarray(x), G, gi, tau, alpha=ALPHA)) - want) < 1e-12 * abs(want)


def test_jit_vmap_and_float32():
    tau, x, _, _, G, g = _setup()
    per = g[..., 0]
    f = jax.jit(lambda a: ng.hidden_action(jnp.asarray(x), G, per, tau, alpha=a))
    alphas = jnp.asarray([0.5, 1.3])
    batched = jax.vmap(f)(alphas)
    for a, b in zip(alphas, batched):
        assert abs(float(b) - float(ng.hidden_action(jnp.asarray(x), G, per, tau, alpha=float(a)))) < 1e-12 * abs(float(b))
    x32 = jax.ShapeDtypeStruct((K, N, NT), jnp.float32)
    for call in (lambda y: ng.hidden_action(y, G.astype(np.float32), per.astype(np.float32), tau, alpha=ALPHA),
                 lambda y: ng.hidden_eom(y, G.astype(np.float32), per.astype(np.float32), tau, alpha=ALPHA),
                 lambda y: ng.source_weights(y, G.astype(np.float32), tau, alpha=ALPHA)):
        assert jax.eval_shape(call, x32).dtype == jnp.float32


def test_corrected_form_is_what_the_permutation_ensemble_obeys():
    # The network itself decides the sign and the α²: x̄ = ½(x⁻ + x⁺) of the π/πᵀ ensemble (exact, by FFT in
    # nnworld_jax.strings) obeys ∂²_τx̄ = -α²Gx̄ - αG∂_τx̄ (docs/conventions.md §5), so the corrected (78),
    # ẍ̄ + α²Gx̄ = 0, is violated only at O(1/α) (fitted order 1 ± 0.2), while the printed ẍ̄ - (α/2)Gx̄ = 0
    # misses by O(1) at every α. τ derivatives by forward-mode autodiff of the exact solution.
    from nnworld_jax import strings
    r_corr, r_print, alphas = [], [], []
    for n in (64, 128, 256):  # measured r_corr 0.29, 0.13, 0.064 (order 1.09); n = 32 (0.71) is pre-asymptotic
        alpha = n / (2 * np.pi)  # σ = i/α on [0, 2π)
        x0 = jnp.asarray(np.exp(np.cos(2 * np.pi * np.arange(n) / n)))
        pi = np.roll(np.eye(n), 1, axis=0)
        G = (np.eye(n) - pi).T @ (np.eye(n) - pi)

        def xbar(t, x0=x0, alpha=alpha):
            return jnp.real(jnp.mean(strings.ensemble_exact(x0, alpha, t), axis=0))

        x = np.asarray(xbar(0.5))
        acc = np.asarray(jax.jacfwd(jax.jacfwd(xbar))(0.5))
        r_corr.append(np.max(np.abs(acc + alpha**2 * G @ x)) / np.max(np.abs(acc)))
        r_print.append(np.max(np.abs(acc - 0.5 * alpha * G @ x)) / np.max(np.abs(acc)))
        alphas.append(alpha)
    order = np.polyfit(np.log(alphas), np.log(r_corr), 1)[0]
    assert abs(order + 1) < 0.2, (r_corr, order)
    assert min(r_print) > 0.9, r_print


def test_metric_read_at_the_neurons_gives_the_geodesic_equation():
    # (79)'s reading g^i = g(x̄_i(τ)): differentiating through metric_at_neurons adds the metric's gradient.
    # With G = 0 each neuron's action is ∫ g_μν(x̄)ẋ̄^μẋ̄^ν dτ, whose EOM is -2 g_ρλ(ẍ̄^λ + Γ^λ_μν ẋ̄^μ ẋ̄^ν):
    # the geodesic equation, Γ from the curvature core (autodiff) at the analytic trajectory. Spectral τ
    # derivatives of the trigonometric trajectory are exact; the composite g(x̄(τ)) is not band-limited,
    # so the tolerance is the aliasing at Nτ = 64 (measured 1.6e-13 relative).
    from nnworld_jax import curvature
    nt = 64
    tau = Grid((nt,))
    fn = functools.partial(gv.reference_metric, eps=0.1, signature=(-1.0, 1.0))
    t = np.asarray(tau.axis(0))[None, :]
    i = np.arange(2)[:, None]
    x, v, a = _traj(t, i)
    x, G0 = jnp.asarray(x), np.zeros((2, 2))
    e = np.asarray(jax.grad(lambda y: ng.hidden_action(y, G0, ng.metric_at_neurons(fn, y), tau, alpha=1.0))(x))
    e = e / tau.cell_volume
    pts = np.moveaxis(np.asarray(x), 0, -1).reshape(-1, 2)
    gam = np.asarray(jax.vmap(lambda p: curvature.christoffel(fn, p))(jnp.asarray(pts))).reshape(2, nt, 2, 2, 2)
    gmat = np.asarray(jax.vmap(fn)(jnp.asarray(pts))).reshape(2, nt, 2, 2)
    vv, aa = np.moveaxis(v, 0, -1), np.moveaxis(a, 0, -1)  # (N, Nτ, K)
    geo = aa + np.einsum("itlmn,itm,itn->itl", gam, vv, vv)
    ref = np.moveaxis(-2 * np.einsum("itrl,itl->itr", gmat, geo), -1, 0)  # (K, N, Nτ)
    assert np.max(np.abs(e - ref)) < 1e-10 * np.max(np.abs(ref))
    # holding g^i fixed (hidden_eom) drops the Γ term: a different, O(ε) equation
    fixed = np.asarray(ng.hidden_eom(x, G0, ng.metric_at_neurons(fn, x), tau, alpha=1.0))
    assert np.max(np.abs(fixed - ref)) > 1e-2 * np.max(np.abs(ref))
