"""The one equation-of-motion builder (nnworld_jax._eom): canonical flows of a density by jax.grad.

References, each independent of the builder: equations of motion derived by hand for simple
densities (a harmonic oscillator at one point; the free Schrödinger field and the wave equation on
plane waves, whose dispersion relations are closed forms); the closed-form split-step kinetic symbol
(4D/μ) Σ k̃² (Nyquist zeroed for the odd derivative); the grid Laplacian's own multiplier -|k|²;
and, for the characteristics, the learning term (γ/μ) tr S of eq. (43) that the field now derives
from the density.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnworld_jax import entropic as en
from nnworld_jax import grid as gr
from nnworld_jax import hamilton_jacobi as hj
from nnworld_jax import quantum as qm
from nnworld_jax._eom import _canonical_flow, _linear_symbol, _variation
from nnworld_jax._fields import _gradient, _laplacian

C = en.Coefficients(D=0.3, gamma=0.7, mu=1.6)  # conventions §3 test constants
EPS = float(jnp.finfo(jnp.float64).eps)


def closed_form_kinetic_symbol(space, c):
    """(4D/μ) Σ_k k̃_k² in FFT order, k̃ with the Nyquist mode of even axes zeroed (written out)."""
    ks = []
    for n, length in zip(space.shape, space.lengths):
        k = 2 * np.pi * np.fft.fftfreq(n, d=length / n)
        if n % 2 == 0:
            k[n // 2] = 0.0
        ks.append(k)
    mesh = np.meshgrid(*ks, indexing="ij")
    return 4 * c.D / c.mu * sum(k**2 for k in mesh)


def test_point_flow_is_hamiltons_equations():
    # H = ω(P² + Q²)/2 at one point (measure 1): by hand Q̇ = ωP/s, Ṗ = -ωQ/s. Two roundings per
    # component (a product and a quotient): 4 eps relative.
    omega, s = 1.7, 0.3

    def density(q, p):
        return 0.5 * omega * (jnp.sum(p**2) + jnp.sum(q**2))

    q, p = jnp.array([0.4, -1.2]), jnp.array([2.0, 0.5])
    q_dot, p_dot = _canonical_flow(density, None, q, p, scale=s)
    np.testing.assert_allclose(q_dot, omega * p / s, rtol=4 * EPS)
    np.testing.assert_allclose(p_dot, -omega * q / s, rtol=4 * EPS)
    # The one-rate forms are the same numbers (one gradient each).
    np.testing.assert_array_equal(_canonical_flow(density, None, q, p, scale=s, only="Q"), q_dot)
    np.testing.assert_array_equal(_canonical_flow(density, None, q, p, scale=s, only="P"), p_dot)


@pytest.mark.parametrize("shape", [(32,), (12, 10)])
def test_grid_flow_gives_the_free_schrodinger_dispersion(shape):
    # Density 4D(|∇a|² + |∇b|²) with scale 2μħ (eq. (36) at V = 0). By hand: ∂_tΨ = -iωΨ on a plane
    # wave Ψ = e^{ik·q}, ω = (4D/μ)|k|²/ħ (the heat/Schrödinger free particle). Spectral derivatives
    # are exact on a resolved mode, so only round-off remains: FFTs carry ~log2(n) eps relative to
    # max|Ψ'|; 1e-12 of ω max|Ψ| leaves a wide margin for a 32-point grid.
    space = gr.Grid(shape, [2 * math.pi, 3.0][:len(shape)])
    hbar = 2 * math.sqrt(C.D / (C.gamma * C.mu))
    m = (3, 2)[:len(shape)]
    k = [2 * math.pi * mi / length for mi, length in zip(m, space.lengths)]
    phase = sum(ki * qi for ki, qi in zip(k, space.mesh()))
    psi = jnp.exp(1j * phase.astype(complex))  # explicit: strict dtype promotion

    def density(a, b):
        return 4 * C.D * jnp.sum(_gradient(space, a, "spectral") ** 2 + _gradient(space, b, "spectral") ** 2, axis=0)

    a_t, b_t = _canonical_flow(density, space, psi.real, psi.imag, scale=2 * C.mu * hbar)
    omega = 4 * C.D / C.mu * sum(ki**2 for ki in k) / hbar
    np.testing.assert_allclose(jax.lax.complex(a_t, b_t), -1j * omega * psi, atol=1e-12 * omega)


def test_grid_flow_gives_the_wave_equation():
    # H = ∫ ½ P² + ½ c²|∇Q|² (fd2): by hand Q̇ = P, Ṗ = c² ∇²_fd2 Q, and on Q = cos(kq) the fd2
    # Laplacian is -(2 - 2cos kh)/h² cos(kq) (its closed-form symbol). Round-off only: the fd2
    # stencil divides by h² (h = 2π/24), so 1e-12 relative to c²k² max|Q| is ample.
    space = gr.Grid((24,))
    q = space.axis(0)
    h, kk, c2 = space.spacing[0], 5.0, 0.8

    def density(Q, P):
        return 0.5 * P**2 + 0.5 * c2 * jnp.sum(_gradient(space, Q, "fd2") ** 2, axis=0)

    # The density's |∇Q|² uses the fd2 first difference, so δH/δQ = -c² D₁ᵀD₁... = c² × the wide
    # (2h) Laplacian: symbol -(sin kh / h)².
    Q, P = jnp.cos(kk * q), jnp.sin(kk * q)
    q_dot, p_dot = _canonical_flow(density, space, Q, P)
    np.testing.assert_allclose(q_dot, P, atol=1e-13)
    np.testing.assert_allclose(p_dot, -c2 * (math.sin(kk * h) / h) ** 2 * Q, atol=1e-12 * c2 * kk**2)


def test_variation_is_the_grid_functional_derivative():
    # The builder and grid.functional_derivative are the same quotient jax.grad ÷ cell volume: equal
    # to the last bit on the same density (the second a public, checked entry).
    space = gr.Grid((16,), 3.0)
    q = space.axis(0)
    f = jnp.exp(jnp.sin(2 * math.pi * q / 3.0))

    def density(u):
        return u**3 + jnp.sum(_gradient(space, u, "fd4") ** 2, axis=0)

    ref = gr.functional_derivative(lambda u: gr.integral(density(u), space), f, space)
    np.testing.assert_allclose(_variation(density, space, (f,), 0), ref, rtol=4 * EPS, atol=4 * EPS)


@pytest.mark.parametrize("shape, lengths", [((16,), None), ((15,), None), ((8, 6), (3.0, 5.0)),
                                            ((4, 5, 6), (1.0, 2.0, 3.0))])
def test_derived_kinetic_symbol_is_the_closed_form(shape, lengths):
    # The split-step symbol comes from the density (36) (grad-built flow on the unit impulse); it must
    # be (4D/μ) Σ k̃², Nyquist zeroed on even axes as grid.gradient does. The impulse route's
    # round-off is a few FFT roundings relative to the largest ε: 1e-13 × max ε.
    space = gr.Grid(shape, lengths)
    ref = closed_form_kinetic_symbol(space, C)
    eps = qm._kinetic_symbol(space, C, jnp.float64)
    assert eps.shape == space.shape and eps.dtype == jnp.float64
    np.testing.assert_allclose(eps, ref, atol=1e-13 * ref.max())


def test_linear_symbol_of_the_laplacian_keeps_the_nyquist_mode():
    # An independent operator: the spectral Laplacian's multiplier is -|k|² with the Nyquist mode
    # kept (grid docstring), unlike the kinetic form built from first derivatives. Round-off as above.
    space = gr.Grid((8, 7), (2.0, 3.0))
    sym = _linear_symbol(lambda f: _laplacian(space, f, "spectral"), space, jnp.float64)
    k0 = 2 * np.pi * np.fft.fftfreq(8, d=2.0 / 8)
    k1 = 2 * np.pi * np.fft.fftfreq(7, d=3.0 / 7)
    ref = -(k0[:, None] ** 2 + k1[None, :] ** 2)
    np.testing.assert_allclose(sym, ref, atol=1e-13 * np.abs(ref).max())
    assert abs(sym[4, 0] + k0[4] ** 2) < 1e-12 * k0[4] ** 2  # Nyquist row kept: -(π n/L)²


def test_split_step_phase_is_the_closed_form_symbol():
    # One Strang step at V = 0 is exactly e^{-i ε_k dt/ħ} on every plane wave: the derived symbol
    # drives the integrator (a wrong symbol would show in the phase of the mode). Round-off ~1e-13.
    from nnworld_jax.stepping import solve

    space = gr.Grid((16,))
    hbar = 2 * math.sqrt(C.D / (C.gamma * C.mu))
    ref = closed_form_kinetic_symbol(space, C)
    dt = 0.05
    for m in (1, 5, 8):  # 8: the Nyquist mode, whose symbol is 0 (it does not move)
        psi0 = jnp.exp(1j * m * space.axis(0).astype(complex))
        out = solve(qm.split_step(jnp.zeros(16), space, C, dt, scheme="strang"), psi0, n_steps=1).y
        np.testing.assert_allclose(out, psi0 * np.exp(-1j * ref[m] * dt / hbar), atol=1e-13)


def test_characteristic_learning_term_comes_from_the_density():
    # Ḟ(learning) - Ḟ(no learning) = -(γ/μ) tr S (eq. (43)'s (γ/μ)∇²F moved along the path), now
    # produced by jax.grad of the classical density; q̇, Ṗ, Ṡ do not change (the learning term depends
    # on q only through S). A few roundings: 1e-14.
    gamma, mu = 0.7, 1.6

    def potential(q):
        return 0.5 * jnp.sum(q**2) + 0.1 * q[0] ** 4

    s = hj.CharacteristicState(jnp.array([0.3, -0.2]), jnp.array([0.5, 1.1]), jnp.asarray(0.4),
                               jnp.array([[1.3, 0.2], [0.2, -0.7]]))
    with_l = hj.characteristic_field(potential, gamma, mu, learning=True)(0.0, s)
    without = hj.characteristic_field(potential, gamma, mu, learning=False)(0.0, s)
    np.testing.assert_allclose(with_l.F - without.F, -gamma / mu * (1.3 - 0.7), rtol=1e-14)
    for a, b in zip((with_l.q, with_l.P, with_l.S), (without.q, without.P, without.S)):
        np.testing.assert_allclose(a, b, rtol=1e-14)
    # And the learning-free field is Hamilton's equations of H = γ|P|² + V by hand.
    np.testing.assert_allclose(without.q, 2 * gamma * s.P, rtol=1e-14)
    np.testing.assert_allclose(without.P, -jax.grad(potential)(s.q), rtol=1e-14)
