"""Periodic grids: derivatives converge at their order, integrals are exact for trigonometric
polynomials, and functional_derivative is the Euler-Lagrange expression of a known action."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnworld_jax import grid as gr


def smooth(q):
    # A smooth periodic test field with known derivatives: f = exp(sin q).
    return jnp.exp(jnp.sin(q))


def smooth_d1(q):
    return jnp.cos(q) * jnp.exp(jnp.sin(q))


def smooth_d2(q):
    return (jnp.cos(q) ** 2 - jnp.sin(q)) * jnp.exp(jnp.sin(q))


def max_error(method, order, n):
    g = gr.Grid((n,))
    q = g.axis(0)
    exact = smooth_d1(q) if order == 1 else smooth_d2(q)
    return float(jnp.max(jnp.abs(gr.derivative(smooth(q), g, 0, order, method=method) - exact)))


@pytest.mark.parametrize("method,expected", [("fd2", 2.0), ("fd4", 4.0)])
@pytest.mark.parametrize("order", [1, 2])
def test_finite_differences_converge_at_their_order(method, expected, order):
    # Fitted slope of log error vs log h over n = 32..256; the asymptotic regime is reached by
    # n = 32 for exp(sin q), so the slope is within 0.1 of the order.
    ns = np.array([32, 64, 128, 256])
    errs = np.array([max_error(method, order, n) for n in ns])
    slope = np.polyfit(np.log(2 * np.pi / ns), np.log(errs), 1)[0]
    assert abs(slope - expected) < 0.1, (slope, errs)


@pytest.mark.parametrize("order", [1, 2])
def test_spectral_derivative_converges_exponentially(order):
    # Spectral error of an analytic function decays like exp(-c n): log error falls roughly
    # linearly in n (not in log n), reaching round-off by n = 64.
    errs = [max_error("spectral", order, n) for n in (8, 16, 32, 64)]
    assert errs[0] > 1e-3 and errs[1] < 1e-3 * errs[0] and errs[3] < 1e-12, errs


def test_gradient_divergence_laplacian_in_3d():
    g = gr.Grid((16, 12, 20), lengths=(2 * math.pi, 4 * math.pi, 2 * math.pi))
    x, y, z = g.mesh()
    f = jnp.sin(x) * jnp.cos(0.5 * y) + jnp.cos(2 * z)
    grad = gr.gradient(f, g)
    assert grad.shape == (3, *g.shape)
    np.testing.assert_allclose(grad[1], -0.5 * jnp.sin(x) * jnp.sin(0.5 * y), atol=1e-13)
    lap = -jnp.sin(x) * jnp.cos(0.5 * y) * 1.25 - 4 * jnp.cos(2 * z)
    np.testing.assert_allclose(gr.laplacian(f, g), lap, atol=1e-12)
    np.testing.assert_allclose(gr.divergence(grad, g), lap, atol=1e-12)


def test_nyquist_mode_has_no_first_derivative():
    # cos(n q / 2) sampled on n points is (-1)^j: its interpolant's derivative vanishes at the nodes.
    g = gr.Grid((16,))
    f = jnp.cos(8 * g.axis(0))
    np.testing.assert_allclose(gr.derivative(f, g, 0), 0.0, atol=1e-13)
    np.testing.assert_allclose(gr.derivative(f, g, 0, 2), -64 * f, atol=1e-10)


def test_complex_fields_keep_their_dtype():
    g = gr.Grid((32,))
    q = g.axis(0)
    psi = jnp.exp(3j * q.astype(complex))  # explicit: strict dtype promotion
    np.testing.assert_allclose(gr.derivative(psi, g, 0), 3j * psi, atol=1e-12)
    assert gr.laplacian(q, g).dtype == q.dtype


def test_integral_is_exact_for_trigonometric_polynomials():
    g = gr.Grid((24, 10), lengths=(3.0, 2 * math.pi))
    x, y = g.mesh()
    f = 1.5 + jnp.cos(2 * math.pi * x / 3.0) * jnp.sin(y) ** 2
    assert abs(float(gr.integral(f, g)) - 1.5 * 3.0 * 2 * math.pi) < 1e-12


def test_functional_derivative_of_dirichlet_energy_is_minus_laplacian():
    # S[φ] = ∫ ½|∇φ|² + ¼φ⁴ has δS/δφ = -∇²φ + φ³ exactly at the discrete level when the
    # gradient is spectral (the spectral derivative matrix is antisymmetric: Dᵀ = -D).
    g = gr.Grid((32, 24))
    x, y = g.mesh()
    phi = jnp.sin(x + 0.3) * jnp.cos(2 * y) + 0.2 * jnp.cos(x - y)

    def action(p):
        return gr.integral(0.5 * jnp.sum(gr.gradient(p, g) ** 2, axis=0) + 0.25 * p**4, g)

    el = gr.functional_derivative(action, phi, g)
    np.testing.assert_allclose(el, -gr.laplacian(phi, g) + phi**3, atol=1e-11)


def test_jit_and_vmap():
    g = gr.Grid((32,))
    fields = jnp.stack([jnp.sin(k * g.axis(0)) for k in (1, 2, 3)])
    out = jax.jit(jax.vmap(lambda f: gr.laplacian(f, g)))(fields)
    np.testing.assert_allclose(out, -jnp.array([1.0, 4.0, 9.0])[:, None] * fields, atol=1e-11)


def test_bad_input_is_rejected():
    g = gr.Grid((16, 16))
    with pytest.raises(ValueError, match="use jax.vmap"):
        gr.laplacian(jnp.zeros((3, 16, 16)), g)
    with pytest.raises(ValueError, match="method"):
        gr.derivative(jnp.zeros((16, 16)), g, 0, method="fd3")
    with pytest.raises(ValueError, match="positive"):
        gr.Grid((16,), lengths=(-1.0,))
    with pytest.raises(ValueError, match="shape"):
        gr.Grid((1,))


# --------------------------------------------------------------------------- input policy (issue #11)
@pytest.mark.parametrize("shape,lengths,match", [
    ((8.7,), None, "integer point counts"),      # int(8.7) silently built an 8-point grid
    ((8,), math.inf, "finite positive"),         # h = inf: every derivative 0, every integral inf
    ((8,), math.nan, "finite positive"),
    ((8, 4), (1.0,), "lengths must be 2"),
])
@pytest.mark.unchecked  # asserts the package's own message for input the annotations exclude
def test_grid_rejects_non_integer_counts_and_infinite_lengths(shape, lengths, match):
    with pytest.raises(ValueError, match=match):
        gr.Grid(shape, lengths)


def test_integer_field_is_promoted_before_the_wavenumbers_are_cast():
    # The spectral multiplier was built in the field's dtype: an int field truncated i k to
    # integers (k = 2π m / L with L = 2π·1.5 is not an integer). Promotion gives the float answer.
    g = gr.Grid((8,), 3 * math.pi)
    f = jnp.arange(8) % 3
    np.testing.assert_array_equal(gr.derivative(f, g, 0), gr.derivative(f.astype(float), g, 0))


def test_nan_check_survives_jit_grad_of_a_linear_kernel():
    # ∫f is linear: jax.jit(jax.grad) needs no primal, so a primal-only check was dead code and
    # the gradient h came back for a NaN field. The guard rides on the derivative.
    g = gr.Grid((8,))
    bad = jnp.zeros(8).at[3].set(jnp.nan)
    with pytest.raises(Exception, match="f contains NaN"):
        jax.block_until_ready(jax.jit(jax.grad(lambda f: gr.integral(f, g)))(bad))
    good = jax.jit(jax.grad(lambda f: gr.integral(f, g)))(jnp.ones(8))
    np.testing.assert_array_equal(good, jnp.full(8, g.cell_volume))  # the guard multiplies by exactly 1


@pytest.mark.parametrize("n", [1, 2, 7, 8, 49])
def test_fft_wavenumbers_are_the_modes_the_fft_resolves(n):
    # Independent of fftfreq: the FFT of the plane wave exp(i k x) on x_j = j h puts all of its
    # weight n at the index whose wavenumber is k; for every index, that k is fft_wavenumbers'.
    h = 0.37
    x = np.arange(n) * h
    k = gr.fft_wavenumbers(n, h)
    modes = gr.fft_modes(n)
    assert modes.dtype.kind == "i" and sorted(modes) == list(range(-(n // 2), (n + 1) // 2))
    for j in range(n):
        spectrum = np.fft.fft(np.exp(1j * k[j] * x))
        assert np.argmax(np.abs(spectrum)) == j and abs(spectrum[j] - n) < 1e-9 * n
    np.testing.assert_allclose(k, 2 * np.pi * modes / (n * h), rtol=1e-15, atol=0)
    half = gr.fft_wavenumbers(n, h, half=True)  # the rfft layout: 0 … ⌊n/2⌋, nonnegative
    np.testing.assert_allclose(half, 2 * np.pi * np.arange(n // 2 + 1) / (n * h), rtol=1e-15, atol=0)
    if n >= 2:  # a Grid has at least 2 points per axis
        np.testing.assert_array_equal(gr.Grid((n,), (n * h,)).wavenumbers(0, jnp.float64), k)
