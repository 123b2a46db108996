"""The Madelung / Schrödinger limit of the entropic dynamics, paper §5.2, eqs. (34)-(36).

Drop the learning term γ p ∇²F from the density (28) (``learning=False`` in
:mod:`nnworld_jax.entropic`). What is left,

    ℒ₂₈ = -4D √p ∇²√p + μ p ∂_tF + μγ p |∇F|² + μ p V,

is the Madelung (hydrodynamic) form of a Schrödinger field. With μ kept (``docs/conventions.md`` §3;
the paper's (34)-(36) silently set μ = 1):

    ħ_eff = 2 √(D / (γμ)),   m_eff = 1 / (2γ),   ħ_eff² / (2 m_eff) = 4D / μ,             (34)
    Ψ = √p exp(i F / ħ_eff)   (phase S = F),                                              (35)
    i ħ_eff ∂_tΨ = -(ħ_eff² / 2m_eff) ∇²Ψ + V Ψ
                 ⇔  -i √(4Dμ/γ) ∂_tΨ = (4D ∇² - μ V) Ψ.

The Schrödinger action (36) with μ restored, in the real fields a = Re Ψ, b = Im Ψ, is

    ℒ₃₆ = μħ_eff (a ∂_t b - b ∂_t a) + 4D (|∇a|² + |∇b|²) + μ V (a² + b²)
        = (iμħ_eff/2)(Ψ ∂_tΨ* - Ψ* ∂_tΨ) + 4D |∇Ψ|² + μ V |Ψ|²,                           (36)

and ℒ₂₈ = ℒ₃₆ - 4D ∇·(√p ∇√p) on Ψ = √p e^{iF/ħ}: the two actions differ by a total derivative (equal
integrals over a periodic box). ℒ₃₆ is -μ times the textbook Schrödinger Lagrangian
(iħ/2)(Ψ*Ψ_t - ΨΨ*_t) - (ħ²/2m)|∇Ψ|² - V|Ψ|². Splitting off the time derivative,
S₃₆ = ∫dt [∫ μħ (a b_t - b a_t) + H] with H[Ψ] = ∫ 4D |∇Ψ|² + μ V |Ψ|² = μ ⟨Ψ|Ĥ|Ψ⟩, and δS = 0 gives

    2μħ ∂_t a = δH/δb,   2μħ ∂_t b = -δH/δa,   i.e.  ∂_tΨ = (δH/δb - i δH/δa) / (2μħ) = -iĤΨ/ħ.

:func:`schrodinger_equations_of_motion` evaluates exactly this with ``jax.grad`` of the discretized H
(δ/δφ = ``jax.grad`` ÷ cell volume, the canonical-flow builder shared with
:mod:`nnworld_jax.entropic`); :func:`hamiltonian_matrix` and the split-step kinetic symbol are built
from it.

Time stepping (:class:`~nnworld_jax.stepping.Stepper` pairs over the layer's
:class:`~nnworld_jax.stepping.State` ``(t, y)``, run by :func:`nnworld_jax.stepping.solve`;
jit/vmap/grad-able):

* :func:`split_step`: Fourier split-step for Ĥ = T̂ + V on a periodic grid (K = 1, 2, 3), T̂ with
  the Fourier symbol of the same discretized H, derived from it (the grad-built flow applied once to
  the unit impulse): (4D/μ) Σ_k k̃_k², where k̃ is the wavenumber with the Nyquist mode zeroed
  exactly as :func:`nnworld_jax.grid.gradient` does. Schemes: Strang (order 2),
  Yoshida's triple jump (4) and 7-stage composition (6), Blanes-Moan's optimized RKN SRKN₆ᵇ (4) and
  general S₁₀ (6). Unitary to round-off (every sub-step is a phase).
* :func:`harmonic_split_step`: for V = ½ m_eff ω² |q - q₀|² the three-factor product
  e^{-iαV/ħ} e^{-iβT̂/ħ} e^{-iαV/ħ}, α = tan(ωΔt/2)/ω, β = sin(ωΔt)/ω, equals e^{-iĤΔt/ħ} exactly (the
  metaplectic factorization of the Mehler kernel): no time-discretization error for |ωΔt| < π.
* :func:`eigen_propagator`: e^{-iĤt/ħ} = U e^{-iEt/ħ} Uᵀ by ``jnp.linalg.eigh`` of the dense
  :func:`hamiltonian_matrix` (small grids; unbatched: see reference hazards on batched LAPACK).
* :func:`fock_propagator`: the same exact-in-time evolution with Ĥ written in the first ``levels``
  eigenfunctions of an oscillator ½ m_eff ω²(q - q₀)² (Hermite functions): ħω(n + ½) on the
  diagonal, ⟨φ_m|V - V_HO|φ_n⟩ by the grid's quadrature; a ``levels``-sized ``eigh`` instead of a
  grid-sized one, for potentials whose low states a few oscillator levels hold (1-D).
* :func:`madelung_stepper`: classical RK4 for (p, F) driven by
  :func:`nnworld_jax.entropic.equations_of_motion` (``learning=False``), the Madelung side: it is
  :func:`nnworld_jax.entropic.entropic_stepper` with ``learning=False``.

Units and measure: fields on a :class:`~nnworld_jax.grid.Grid` ``grid``; integrals Σ · cell volume;
∫|Ψ|² = ∫p. Time t is the paper's time; D, γ, μ are :class:`~nnworld_jax.entropic.Coefficients`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from ._checks import as_float, check_count, check_scalar, float_dtype, is_traced
from ._entropic import _scalar_coefficients
from ._fields import (_check_method, _checked_field, _derivative, _gradient, _guard, _guard_finite, _guard_positive,
                      _integral, _is_integer)
from ._fields import _cis, _promote
from .entropic import Coefficients, entropic_stepper
from ._eom import _canonical_flow, _linear_symbol, _variation
from ._eom import _hamiltonian as _eom_hamiltonian
from .grid import Grid
from .stepping import Stepper, from_update
from .types import Array, Complex, ComplexField, Field, Float, FloatScalar, Scalar, SpaceTimeField, SpaceTimePotential

__all__ = ["EffectiveConstants", "effective_constants", "psi_from_madelung", "unwrap_phase",
           "madelung_from_psi", "wrap_phase_difference", "schrodinger_density", "schrodinger_hamiltonian",
           "schrodinger_action", "schrodinger_equations_of_motion", "norm", "energy", "hamiltonian_matrix",
           "energy_levels", "eigen_propagator", "FockPropagator", "fock_propagator", "split_step", "harmonic_potential",
           "harmonic_split_step", "madelung_stepper", "SCHEMES", "ORDERS"]


# --------------------------------------------------------------------------------- constants (34)
class EffectiveConstants(NamedTuple):
    """ħ_eff and m_eff of eq. (34) (μ kept)."""

    hbar: FloatScalar
    mass: FloatScalar


def effective_constants(c: Coefficients) -> EffectiveConstants:
    """ħ_eff = 2√(D/(γμ)) and m_eff = 1/(2γ), eq. (34) with μ restored (conventions §3).

    The paper prints ħ = √(4D/γ), i.e. μ = 1; ``effective_constants(Coefficients(D, γ, 1.0))`` gives
    that form. ħ_eff²/(2m_eff) = 4D/μ is the coefficient of -∇² in Ĥ.

    Arguments:
        c: the action's constants (D, γ, μ); γμ/D must be finite and > 0 (a clear error otherwise:
            eager ``ValueError``, a runtime error under jit).

    Returns: ``EffectiveConstants(hbar, mass)`` (0-d arrays).

    Example:
        >>> k = effective_constants(Coefficients(D=0.125, gamma=0.5, mu=1.0))
        >>> float(k.hbar), float(k.mass)
        (1.0, 1.0)
    """
    D, gamma, mu = _schrodinger_coefficients(c)
    return EffectiveConstants(2.0 / jnp.sqrt(gamma * mu / D), 1.0 / (2.0 * gamma))


def _schrodinger_coefficients(c: Coefficients, dtype=None) -> Coefficients:
    """(D, γ, μ) as checked scalars: each finite and > 0 (the domain of (34)-(36))."""
    D, gamma, mu = _scalar_coefficients(c, dtype)
    # Each sign separately: γ, μ < 0 would give γμ/D > 0 and a negative mass m_eff = 1/(2γ).
    bad = ~(D > 0) | ~(gamma > 0) | ~(mu > 0) | ~jnp.isfinite(D) | ~jnp.isfinite(gamma) | ~jnp.isfinite(mu)
    message = ("the Schrodinger limit (34) needs finite D > 0, gamma > 0 and mu > 0 "
               f"(hbar_eff = 2 sqrt(D/(gamma mu)), m_eff = 1/(2 gamma)), got {_show(c)}")
    return Coefficients(*(_guard(x, bad, message) for x in (D, gamma, mu)))


def _show(c) -> str:
    """D, γ, μ for an error message (values only when concrete)."""
    try:
        return "D={:g}, gamma={:g}, mu={:g}".format(*(float(x) for x in c))
    except (TypeError, ValueError, jax.errors.ConcretizationTypeError):
        return "traced values"


def _constants(c: Coefficients, dtype) -> tuple[Coefficients, Array]:
    """(D, γ, μ) as scalars of ``dtype`` and ħ_eff, all checked (the Schrödinger domain)."""
    c = _schrodinger_coefficients(c, dtype)
    return c, 2.0 / jnp.sqrt(c.gamma * c.mu / c.D)


# ------------------------------------------------------------------------------- the map (35)
def psi_from_madelung(p: Field, F: Field, c: Coefficients) -> Complex[Array, "*grid"]:
    """Ψ = √p exp(iF/ħ_eff), eq. (35) with μ restored (phase S = F).

    Arguments:
        p: probability density ≥ 0 (any shape; usually ``grid.shape``).
        F: free energy (the phase), same shape.
        c: constants (D, γ, μ) fixing ħ_eff = 2√(D/(γμ)).

    Returns: complex Ψ of the shape of p (complex128 for float64 input); |Ψ|² = p.

    Example:
        >>> c = Coefficients(0.125, 0.5, 1.0)  # ħ_eff = 1
        >>> complex(psi_from_madelung(jnp.asarray(4.0), jnp.asarray(jnp.pi / 2), c)).imag
        2.0
    """
    if jnp.shape(p) != jnp.shape(F):
        raise ValueError(f"p and F must have the same shape, got {jnp.shape(p)} and {jnp.shape(F)}")
    dtype = float_dtype(p, F)  # integers promoted first: an int F must not make ħ_eff an integer
    p, F = as_float(p, "p", dtype), as_float(F, "F", dtype)
    if jnp.iscomplexobj(p) or jnp.iscomplexobj(F):
        raise TypeError("p and F must be real (p the density, F the phase)")
    p = _guard(p, ~(p >= 0) | ~jnp.isfinite(p), "p must be finite and >= 0")
    F = _guard_finite(F, "F")
    hbar = effective_constants(c).hbar.astype(F.dtype)  # kernels keep the input dtype
    phase = _cis(F / hbar)  # e^{iF/ħ} in F's precision
    return jnp.sqrt(p).astype(phase.dtype) * phase


def unwrap_phase(phase: Field) -> Float[Array, "*grid"]:
    """Continuous phase from a principal value angle(Ψ) ∈ (-π, π] on a grid (for eq. (35)).

    Itoh's method axis by axis: every line along the last axis is unwrapped (neighbour jumps wrapped
    into (-π, π]); then the first points of those lines are unwrapped along the axis before, and the
    resulting 2π offsets are carried to the whole line; and so on to axis 0. The result is the
    continuous phase provided neighbouring grid points differ by less than π in true phase
    (|∇F| h < π ħ_eff) and Ψ has no node (p > 0, else the phase is undefined there). On a periodic
    box the unwrapped phase may wind: φ(L) - φ(0) = 2π n (a quantized current), which is kept.
    The value at index 0 stays in (-π, π]: the overall 2π branch is the caller's to fix.
    """
    phase = as_float(phase, "phase")
    if jnp.iscomplexobj(phase) or phase.ndim < 1:
        raise ValueError(f"phase must be a real array with at least one axis, got dtype {phase.dtype}, "
                         f"shape {phase.shape}")
    phase = _guard_finite(phase, "phase")
    u = jnp.unwrap(phase, axis=-1)
    for axis in reversed(range(phase.ndim - 1)):
        anchor = u[(slice(None),) * (axis + 1) + (slice(0, 1),) * (phase.ndim - axis - 1)]
        u = u + (jnp.unwrap(anchor, axis=axis) - anchor)
    return u


def madelung_from_psi(psi: ComplexField, c: Coefficients, *, unwrap: bool = True
                      ) -> tuple[Float[Array, "*grid"], Float[Array, "*grid"]]:
    """(p, F) = (|Ψ|², ħ_eff · arg Ψ), the inverse of eq. (35).

    F is recovered only modulo 2πħ_eff (Ψ is unchanged by F → F + 2πħ_eff). With ``unwrap=True``
    the phase is made continuous on the grid by :func:`unwrap_phase` (valid where p > 0 and
    neighbouring points differ by less than πħ_eff in F); F at index 0 lies in (-πħ_eff, πħ_eff].
    With ``unwrap=False`` F is the principal value in (-πħ_eff, πħ_eff] pointwise.

    Returns: (p, F), real, of the shape of ``psi``.
    """
    psi = _guard_finite(as_float(psi, "psi"), "psi")
    if unwrap and psi.ndim < 1:
        raise ValueError("psi must have at least one axis to unwrap its phase (or pass unwrap=False)")
    phase = jnp.angle(psi)
    hbar = effective_constants(c).hbar.astype(phase.dtype)
    if unwrap:
        phase = unwrap_phase(phase)
    return jnp.abs(psi) ** 2, hbar * phase


def wrap_phase_difference(F1: Field, F2: Field, c: Coefficients) -> Float[Array, "*grid"]:
    """F1 - F2 reduced modulo 2πħ_eff into [-πħ_eff, πħ_eff): the distance of two phases of eq. (35)."""
    if jnp.shape(F1) != jnp.shape(F2):
        raise ValueError(f"F1 and F2 must have the same shape, got {jnp.shape(F1)} and {jnp.shape(F2)}")
    dtype = float_dtype(F1, F2)
    F1 = _guard_finite(as_float(F1, "F1", dtype), "F1")
    F2 = _guard_finite(as_float(F2, "F2", dtype), "F2")
    period = 2 * jnp.pi * effective_constants(c).hbar.astype(dtype)
    return jnp.mod(F1 - F2 + period / 2, period) - period / 2


# --------------------------------------------------------------------------- the action (36)
def schrodinger_density(a: Field, b: Field, a_t: Field,
                        b_t: Field, V: Field, grid: Grid, c: Coefficients, *,
                        method: str = "spectral") -> Float[Array, "*grid"]:
    """The Schrödinger density, eq. (36) with μ restored, at one time (all fields ``grid.shape``).

    ℒ₃₆ = μħ_eff (a ∂_t b - b ∂_t a) + 4D (|∇a|² + |∇b|²) + μ V (a² + b²), Ψ = a + ib; on
    Ψ = √p e^{iF/ħ} it equals ℒ₂₈(learning=False) + 4D ∇·(√p ∇√p). Sign: -μ × the textbook
    Lagrangian, the same overall sign as (28).
    """
    _check_method(method)
    fields = (("a", a), ("b", b), ("a_t", a_t), ("b_t", b_t), ("V", V))
    dtype = float_dtype(*(f for _, f in fields))
    a, b, a_t, b_t, V = (_real_field(grid, f, name, dtype) for name, f in fields)
    c, hbar = _constants(c, dtype)
    return _schrodinger_density(a, b, a_t, b_t, V, grid, c, hbar, method)


def _real_field(grid: Grid, f, name: str, dtype=None) -> Array:
    f = _checked_field(grid, f, name, dtype)
    if jnp.iscomplexobj(f):
        raise TypeError(f"{name} must be real (a = Re Psi, b = Im Psi), got dtype {f.dtype}")
    return f


def _schrodinger_density(a, b, a_t, b_t, V, grid: Grid, c: Coefficients, hbar, method: str):
    # Unchecked ℒ₃₆: differentiated by the equations of motion and the Hamiltonian matrix.
    grad_sq = jnp.sum(_gradient(grid, a, method) ** 2 + _gradient(grid, b, method) ** 2, axis=0)
    return c.mu * hbar * (a * b_t - b * a_t) + 4.0 * c.D * grad_sq + c.mu * V * (a**2 + b**2)


def schrodinger_hamiltonian(a: Field, b: Field, V: Field, grid: Grid,
                            c: Coefficients, *, method: str = "spectral") -> FloatScalar:
    """H[Ψ] = ∫ 4D |∇Ψ|² + μ V |Ψ|² = μ⟨Ψ|Ĥ|Ψ⟩: eq. (36) with the ∂_t terms removed (a = Re Ψ, b = Im Ψ)."""
    _check_method(method)
    dtype = float_dtype(a, b, V)
    a, b, V = (_real_field(grid, f, name, dtype) for name, f in (("a", a), ("b", b), ("V", V)))
    c, hbar = _constants(c, dtype)
    return _schrodinger_hamiltonian(a, b, V, grid, c, hbar, method)


def _schrodinger_hamiltonian(a, b, V, grid: Grid, c: Coefficients, hbar, method: str):
    return _eom_hamiltonian(_static_density(V, grid, c, hbar, method), grid)(a, b)


def schrodinger_action(a: SpaceTimeField, b: SpaceTimeField, V: SpaceTimePotential, grid: Grid,
                       c: Coefficients, *, method: str = "spectral") -> FloatScalar:
    """The action (36) with μ restored, S = ∫dt dᴷq ℒ₃₆, over a space-time grid whose axis 0 is time.

    Time is periodic (as :func:`nnworld_jax.entropic.action`); ∂_t a, ∂_t b by ``method`` along axis 0;
    ``V`` has the shape of one time slice or of the whole grid. Returns Σ ℒ₃₆ h_t h_q.
    """
    _check_method(method)
    if grid.ndim < 2:
        raise ValueError(f"grid must have a time axis and at least one space axis, got a {grid.ndim}-D grid")
    space = Grid(grid.shape[1:], grid.lengths[1:])
    if jnp.shape(V) not in (space.shape, grid.shape):
        raise ValueError(f"V must have shape {space.shape} or {grid.shape}, got {jnp.shape(V)}")
    dtype = float_dtype(a, b, V)
    a, b = _real_field(grid, a, "a", dtype), _real_field(grid, b, "b", dtype)
    V = _guard_finite(as_float(V, "V", dtype), "V")
    c, hbar = _constants(c, dtype)
    a_t = _derivative(grid, a, 0, 1, method)
    b_t = _derivative(grid, b, 0, 1, method)
    V = jnp.broadcast_to(V, grid.shape)

    def slice_density(*fields):
        return _schrodinger_density(*fields, space, c, hbar, method)

    return _integral(grid, jax.vmap(slice_density)(a, b, a_t, b_t, V))


def schrodinger_equations_of_motion(psi: ComplexField, V: Field, grid: Grid, c: Coefficients,
                                    *, method: str = "spectral") -> Complex[Array, "*grid"]:
    """∂_tΨ from δS₃₆ = 0, eq. (36): (δH/δb - i δH/δa) / (2μħ_eff) by ``jax.grad`` of H.

    The canonical flow 2μħ ∂_t a = δH/δb, 2μħ ∂_t b = -δH/δa of the density (36), built by the
    same builder as :func:`nnworld_jax.entropic.equations_of_motion` (``jax.grad`` ÷ cell volume).

    This is iħ_eff ∂_tΨ = -(ħ_eff²/2m_eff)∇²Ψ + VΨ (the tests compare it with that form).

    Arguments:
        psi: complex field of shape ``grid.shape``.
        V: real potential, same shape.

    Returns: ∂_tΨ, complex, shape ``grid.shape``.
    """
    _check_method(method)
    psi = _checked_field(grid, psi, "psi")
    V = _real_field(grid, V, "V", jnp.real(psi).dtype)
    c, hbar = _constants(c, V.dtype)
    a_t, b_t = _canonical_flow(_static_density(V, grid, c, hbar, method), grid, jnp.real(psi), jnp.imag(psi),
                               scale=2.0 * c.mu * hbar)
    return jax.lax.complex(a_t, b_t)  # a_t + i b_t, with no real-complex promotion


def _static_density(V, grid: Grid, c: Coefficients, hbar, method: str):
    """ℒ₃₆ at ∂_t = 0 as a function of the canonical pair (a, b): the density whose lift is H."""
    return lambda a, b: _schrodinger_density(a, b, jnp.zeros_like(a), jnp.zeros_like(a), V, grid, c, hbar, method)


def norm(psi: ComplexField, grid: Grid) -> FloatScalar:
    """∫|Ψ|² dᴷq = ∫p (conserved by eq. (36)'s dynamics); Ψ of ``grid.shape``, finite."""
    return _integral(grid, jnp.abs(_checked_field(grid, psi, "psi")) ** 2)


def energy(psi: ComplexField, V: Field, grid: Grid, c: Coefficients) -> FloatScalar:
    """⟨Ĥ⟩ = H[Ψ] / (μ ∫|Ψ|²), H of eq. (36): the energy per unit norm (same units as V)."""
    psi = _checked_field(grid, psi, "psi")
    n = norm(psi, grid)
    n = _guard(n, ~(n > 0), "psi must not vanish everywhere (the energy per unit norm needs ∫|psi|² > 0)")
    V = _real_field(grid, V, "V", n.dtype)
    c, hbar = _constants(c, n.dtype)
    return _schrodinger_hamiltonian(jnp.real(psi), jnp.imag(psi), V, grid, c, hbar, "spectral") / (c.mu * n)


def hamiltonian_matrix(V: Field, grid: Grid, c: Coefficients) -> Float[Array, "M M"]:
    """Dense Ĥ (M = Π n_k points, row-major flattening) of eq. (36)'s dynamics, from ``jax.grad``.

    Column j is iħ ∂_tΨ for Ψ = e_j, i.e. δH/δa(e_j) / (2μ): real and symmetric (the spectral first
    derivative is a real antisymmetric matrix, V is diagonal). Meant for small grids (M ≲ 10³):
    ``jnp.linalg.eigh`` of it gives the levels (:func:`energy_levels`) and :func:`eigen_propagator`.
    """
    V = _real_field(grid, V, "V")
    c, hbar = _constants(c, V.dtype)
    return _hamiltonian_matrix(V, grid, c, hbar)


@jax.jit
def _hamiltonian_matrix(V, grid: Grid, c: Coefficients, hbar):
    m = math.prod(grid.shape)
    zero = jnp.zeros(grid.shape, V.dtype)

    def column(e):
        # δH/δa at Ψ = e_j (the builder's variation of the density (36)) / 2μ = ĤΨ.
        dh_da = _variation(_static_density(V, grid, c, hbar, "spectral"), grid, (e.reshape(grid.shape), zero), 0)
        return dh_da.reshape(m) / (2.0 * c.mu)

    # lax.map, not vmap: with a vmapped (batched) FFT here, XLA CPU (jax 0.9.2) fails to compile a
    # program that also feeds the matrix to eigh (fft_thunk layout RET_CHECK); one FFT per column
    # in a loop keeps the default layout.
    cols = jax.lax.map(column, jnp.eye(m, dtype=V.dtype))
    return 0.5 * (cols + cols.T)  # exact symmetry (columns are symmetric to round-off already)


def energy_levels(V: Field, grid: Grid, c: Coefficients, k: int | None = None) -> Float[Array, " k"]:
    """The lowest ``k`` eigenvalues of Ĥ (eq. (36) dynamics) on the grid, ascending (all if None).

    For V = ½ m_eff ω² q² these approach ħ_eff ω (n + ½) spectrally as the grid resolves the states.
    One dense ``eigh``: unbatched, small grids only.
    """
    size = math.prod(grid.shape)
    if k is not None and (isinstance(k, bool) or not _is_integer(k) or not 1 <= k <= size):
        raise ValueError(f"k must be None or an integer in [1, {size}] (the number of levels), got {k!r}")
    e = jnp.linalg.eigvalsh(hamiltonian_matrix(V, grid, c))
    return e if k is None else e[:int(k)]


def eigen_propagator(V: Field, grid: Grid, c: Coefficients
                     ) -> Callable[[Complex[Array, "*grid"], FloatScalar], Complex[Array, "*grid"]]:
    """Exact-in-time evolution Ψ(t) = U e^{-iEt/ħ} Uᵀ Ψ(0) under eq. (36)'s Ĥ on the grid.

    One ``jnp.linalg.eigh`` of :func:`hamiltonian_matrix` at construction (small grids); the returned
    ``propagate(psi, t)`` has no time-step error, only the spatial discretization shared with
    :func:`split_step` — the reference the splitting-order tests measure against.
    """
    energies, vecs = jnp.linalg.eigh(hamiltonian_matrix(V, grid, c))
    hbar = effective_constants(c).hbar

    def propagate(psi, t):
        psi = _checked_field(grid, psi, "psi")
        t = _guard_finite(check_scalar(as_float(t, "t"), "t"), "t")
        # The real eigenbasis, the state and the phases e^{-iEt/ħ} in their common dtype, cast
        # explicitly (strict dtype promotion).
        u, psi, phase = _promote(vecs, psi.reshape(-1), _cis(-energies * (t / hbar)))
        return (u @ (phase * (u.T @ psi))).reshape(grid.shape)

    return propagate


class FockPropagator(NamedTuple):
    """What :func:`fock_propagator` returns (eq. (36) dynamics in the oscillator basis).

    ``propagate(psi, t)``: Ψ(t) on the grid from Ψ(0) on the grid (raises when the basis holds less
    than 1 - ``truncation_tol`` of ∫|Ψ|²). ``energies``: the ``levels`` eigenvalues of Ĥ in the
    basis, ascending (Rayleigh-Ritz upper bounds of the lowest levels). ``states``: the matching
    eigenfunctions on the grid, shape ``(levels, n)``, orthonormal for Σ · h. ``lost_norm(psi)``:
    ∫|Ψ|² - Σ_n |⟨φ_n|Ψ⟩|², the norm outside the basis (≥ 0 up to round-off).
    """

    propagate: Callable[[Complex[Array, " n"], FloatScalar], Complex[Array, " n"]]
    energies: Float[Array, " levels"]
    states: Float[Array, "levels n"]
    lost_norm: Callable[[Complex[Array, " n"]], FloatScalar]


def _hermite_functions(xi, levels: int, scale):
    """φ_0..φ_{levels-1} at ξ = (q - q₀)/ℓ, normalized on the continuum in q (scale = ℓ^{-1/2}).

    Stable three-term recurrence φ_k = √(2/k) ξ φ_{k-1} - √((k-1)/k) φ_{k-2} (no factorials, no
    Hermite-polynomial overflow); φ_0 = π^{-1/4} e^{-ξ²/2} underflows where ξ²/2 exceeds the
    dtype's exponent range, which the Gram check of :func:`fock_propagator` then reports."""
    phi0 = scale * jnp.asarray(math.pi ** -0.25, xi.dtype) * jnp.exp(-0.5 * xi**2)
    phi1 = jnp.sqrt(jnp.asarray(2.0, xi.dtype)) * xi * phi0
    if levels <= 2:
        return jnp.stack([phi0, phi1][:levels])

    def body(carry, k):
        prev2, prev1 = carry
        nxt = jnp.sqrt(2.0 / k) * xi * prev1 - jnp.sqrt((k - 1.0) / k) * prev2
        return (prev1, nxt), nxt

    _, rest = jax.lax.scan(body, (phi0, phi1), jnp.arange(2, levels, dtype=xi.dtype))
    return jnp.concatenate([phi0[None], phi1[None], rest])


@functools.partial(jax.jit, static_argnames=("levels",))
def _fock_basis(V, grid: Grid, hbar, mass, omega, center, levels: int):
    """max|Gram - I| of the basis on the grid, and eigh of H_mn = ħω(n + ½)δ_mn + ⟨φ_m|V - V_HO|φ_n⟩ as
    (energies, eigenfunctions on the grid); one compile per grid and number of levels."""
    dtype = V.dtype
    q = grid.axis(0, dtype)
    h = jnp.asarray(grid.cell_volume, dtype)
    ell = jnp.sqrt(hbar / (mass * omega))
    phi = _hermite_functions((q - center[0]) / ell, levels, 1.0 / jnp.sqrt(ell))  # (levels, n)
    gram_error = jnp.max(jnp.abs((phi * h) @ phi.T - jnp.eye(levels, dtype=dtype)))
    v_ho = 0.5 * mass * omega**2 * (q - center[0]) ** 2
    n = jnp.arange(levels, dtype=dtype)
    h_mat = (phi * ((V - v_ho) * h)[None, :]) @ phi.T + jnp.diag(hbar * omega * (n + 0.5))
    energies, vecs = jnp.linalg.eigh(0.5 * (h_mat + h_mat.T))
    return gram_error, energies, vecs.T @ phi  # eigenfunctions on the grid, (levels, n)


def fock_propagator(V: Field, grid: Grid, c: Coefficients, omega: Scalar, levels: int, *,
                    center=None, truncation_tol: float | None = None) -> FockPropagator:
    """Exact-in-time evolution under eq. (36)'s Ĥ = -(ħ_eff²/2m_eff)∂²_q + V in an oscillator (Fock) basis.

    Basis: the first ``levels`` eigenfunctions φ_n of Ĥ_HO = -(ħ²/2m)∂²_q + ½ m_eff ω²(q - q₀)²
    (Hermite functions of ξ = (q - q₀)/ℓ, ℓ = √(ħ_eff/(m_eff ω)), by their stable three-term
    recurrence, normalized on the continuum: ∫φ_m φ_n dq = δ_mn). In it

        H_mn = ħ_eff ω (n + ½) δ_mn + ⟨φ_m|V - V_HO|φ_n⟩,   V_HO = ½ m_eff ω² (q - q₀)²,

    the oscillator part exact, the rest by the grid's quadrature Σ_j φ_m(q_j)(V - V_HO)(q_j)φ_n(q_j) h
    (the measure of every integral of this module). One ``jnp.linalg.eigh`` of the ``levels`` ×
    ``levels`` matrix at construction gives E_k and the eigenvectors W; ``propagate(psi, t)`` projects
    Ψ onto the basis by the same quadrature, multiplies by e^{-iE_k t/ħ_eff} and synthesizes on the
    grid: no time-step error, and the result is Ĥ's evolution restricted to the span of the basis.
    The energies are Rayleigh-Ritz upper bounds of the lowest levels of Ĥ, decreasing with ``levels``.

    When this basis is the right one: V close to an oscillator (anharmonic wells, weak
    perturbations), where a few tens of levels hold the states of interest; a Gaussian-like state
    far from q₀ or a potential with distant wells needs many levels, and the grid solvers
    (:func:`split_step`, :func:`eigen_propagator`) are then the better basis.

    Condition (checked): the basis functions must decay inside the box (V_HO is not wrapped: q - q₀
    is measured inside the box, as :func:`harmonic_potential` does) and be resolved by the grid:
    the highest level reaches |q - q₀| ≈ ℓ√(2 levels + 1) and wavenumbers ≈ √(2 levels + 1)/ℓ, so
    both the box half-width and π/h must exceed those with a margin of a few ℓ (resp. 1/ℓ). The
    grid Gram matrix Σ_j φ_m(q_j)φ_n(q_j) h must equal the identity to √ε of the dtype (1.5e-8 in
    float64), else ``ValueError`` naming ``levels`` and ``grid``.

    Arguments:
        V: real finite potential on the 1-D grid, shape ``grid.shape``; its dtype sets the basis's.
        grid: a 1-D :class:`~nnworld_jax.grid.Grid`.
        c: constants (D, γ, μ) > 0 giving ħ_eff, m_eff (eq. (34), :func:`effective_constants`).
        omega: the basis oscillator's angular frequency, a concrete finite scalar > 0 (any value
            gives the same limit; close to the well's curvature √(V''/m_eff) needs fewest levels).
        levels: number of basis functions, a Python integer in [1, n].
        center: q₀, shape (1,) (default: the box centre, as :func:`harmonic_potential`).
        truncation_tol: ``propagate`` raises (eagerly; a runtime error under jit) when
            ``lost_norm(psi) > truncation_tol · ∫|Ψ|²``; default max(1e-6, 1000 ε) (1e-6 in float64:
            an L² error of at most 1e-3 relative). ``lost_norm`` reports the exact figure.

    Returns: :class:`FockPropagator` ``(propagate, energies, states, lost_norm)``.

    Example:
        >>> g, c = Grid((64,), lengths=(20.0,)), Coefficients(0.125, 0.5, 1.0)  # ħ_eff = m_eff = 1
        >>> fp = fock_propagator(harmonic_potential(g, c, 1.0), g, c, 1.0, 4)
        >>> [round(float(e), 10) for e in fp.energies]
        [0.5, 1.5, 2.5, 3.5]
    """
    if not isinstance(grid, Grid):
        raise TypeError(f"grid must be a Grid, got {type(grid).__name__}")
    if grid.ndim != 1:
        raise ValueError(f"fock_propagator needs a 1-D grid, got a {grid.ndim}-D grid")
    n_points = grid.shape[0]
    levels = check_count(levels, "levels")
    if levels > n_points:
        raise ValueError(f"levels must be <= the number of grid points {n_points} (grid), got {levels}")
    if (isinstance(omega, bool) or is_traced(omega)) or jnp.shape(omega) != () or jnp.iscomplexobj(omega) or \
            not math.isfinite(float(omega)):
        raise ValueError(f"omega must be a concrete finite scalar, got {omega!r}")
    if not float(omega) > 0:
        raise ValueError(f"omega must be > 0, got {float(omega)}")
    V = _real_field(grid, V, "V")
    dtype = V.dtype
    eps = float(jnp.finfo(dtype).eps)
    if truncation_tol is None:
        truncation_tol = max(1e-6, 1e3 * eps)
    elif (isinstance(truncation_tol, bool) or is_traced(truncation_tol)) or jnp.shape(truncation_tol) != () or \
            not 0 < float(truncation_tol) < math.inf:
        raise ValueError(f"truncation_tol must be a concrete finite scalar > 0, got {truncation_tol!r}")
    c, hbar = _constants(c, dtype)
    mass = 1.0 / (2.0 * c.gamma)
    omega_value = float(omega)
    omega = jnp.asarray(omega_value, dtype)
    center = jnp.asarray([grid.lengths[0] / 2], dtype) if center is None else as_float(center, "center", dtype)
    if center.shape != (1,):
        raise ValueError(f"center must have shape (1,), got {center.shape}; use jax.vmap to batch")
    center = _guard_finite(center, "center")

    gram_error, energies, states = _fock_basis(V, grid, hbar, mass, omega, center, levels)
    gram_tol = math.sqrt(eps)
    message = (f"the oscillator basis (levels={levels}, omega={omega_value:g}) is not orthonormal on the grid "
               f"(grid: {n_points} points over length {grid.lengths[0]:g}) to {gram_tol:.1e}: its highest functions "
               "reach the box edge or are not resolved by the grid; use fewer levels, a larger or finer grid, "
               "or an omega that fits")
    energies, states = (_guard(x, ~(gram_error <= gram_tol), message) for x in (energies, states))
    h = jnp.asarray(grid.cell_volume, dtype)

    def _coefficients(psi):
        w, psi = _promote(states * h, psi)  # explicit: a real basis, a complex state (strict promotion)
        return w @ psi

    def lost_norm(psi):
        psi = _checked_field(grid, psi, "psi")
        return _integral(grid, jnp.abs(psi) ** 2) - jnp.sum(jnp.abs(_coefficients(psi)) ** 2)

    def propagate(psi, t):
        psi = _checked_field(grid, psi, "psi")
        t = _guard_finite(check_scalar(as_float(t, "t", jnp.real(psi).dtype), "t"), "t")
        coeff = _coefficients(psi)
        total = _integral(grid, jnp.abs(psi) ** 2)
        lost = total - jnp.sum(jnp.abs(coeff) ** 2)
        coeff = _guard(coeff, ~(lost <= truncation_tol * total),
                       f"psi is not held by the oscillator basis (levels={levels}): more than "
                       f"{truncation_tol:.1e} of its norm lies outside it (see lost_norm); use more levels, "
                       "or a center/omega nearer the state")
        phase, coeff, basis = _promote(_cis(-energies * (t / hbar)), coeff, states)
        return (phase * coeff) @ basis

    return FockPropagator(propagate, energies, states, lost_norm)


# ------------------------------------------------------------------------------- split-step
def _composition(weights):
    """A composition Π S₂(w_j Δt) of Strang steps as (potential, kinetic) fractions."""
    pot = [weights[0] / 2] + [(u + v) / 2 for u, v in zip(weights[:-1], weights[1:])] + [weights[-1] / 2]
    return tuple(pot), tuple(weights)


def _symmetric(half_pot, half_kin):
    """Palindromic V T V … T V scheme from its first half; the middle V fraction makes Σ a = 1 (the
    kinetic half must already sum to ½)."""
    pot = list(half_pot) + [1 - 2 * sum(half_pot)] + list(reversed(half_pot))
    kin = list(half_kin) + list(reversed(half_kin))
    return tuple(pot), tuple(kin)


_W4 = 1 / (2 - 2 ** (1 / 3))
_Y6 = (0.784513610477560, 0.235573213359357, -1.17767998417887)  # Yoshida (1990) solution A: w3, w2, w1
_BM_S10 = _symmetric(  # Blanes & Moan (2002) S₁₀, order 6: V(a1)T(b1)…, 6 potential + 5 kinetic per half
    (0.050262764400392, 0.413514300428344, 0.045079889794398, -0.188054853819569, 0.541960678450780),
    (0.148816447901042, -0.132385865767784, 0.067307604692185, 0.432666402578175,
     0.5 - (0.148816447901042 - 0.132385865767784 + 0.067307604692185 + 0.432666402578175)))
_BM_RKN6 = _symmetric(  # Blanes & Moan (2002) SRKN₆ᵇ, order 4 when [V,[V,[V,T]]] = 0 (Schrödinger)
    (0.0829844064174052, 0.396309801498368, -0.0390563049223486),
    (0.245298957184271, 0.604872665711080, 0.5 - 0.245298957184271 - 0.604872665711080))

SCHEMES: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "strang": ((0.5, 0.5), (1.0,)),
    "yoshida4": _composition((_W4, 1 - 2 * _W4, _W4)),
    "yoshida6": _composition((*_Y6, 1 - 2 * sum(_Y6), *reversed(_Y6))),
    "blanes-moan4": _BM_RKN6,
    "blanes-moan6": _BM_S10,
}
"""Splitting schemes V(a₀) T(b₀) V(a₁) … T(b_{s-1}) V(a_s): (a, b) fractions of Δt, each summing to 1."""

ORDERS = {"strang": 2, "yoshida4": 4, "yoshida6": 6, "blanes-moan4": 4, "blanes-moan6": 6}


def _kinetic_symbol(grid: Grid, c: Coefficients, dtype) -> Float[Array, "*grid"]:
    """T̂'s Fourier symbol ε_k, derived from the density (36), never written beside it.

    T̂Ψ = iħ ∂_tΨ at V = 0 is the canonical flow of ℒ₃₆ (:func:`schrodinger_equations_of_motion`'s
    builder); for a real Ψ = a it is -ħ ∂_t b = δH/δa / (2μ). Applied once to the unit impulse it
    gives the symbol of every plane wave at once (``nnworld_jax._eom._linear_symbol``). The result
    is (4D/μ) Σ_k k̃_k², k̃ with the Nyquist mode zeroed as grid.gradient does (the tests compare).
    Built in the widest float the process allows (float64 with x64): the impulse route has
    round-off relative to the largest ε, which float64 keeps far below the smallest mode's phase."""
    work = jax.dtypes.canonicalize_dtype(jnp.float64)
    # Concrete constants: built once at trace time and embedded, not recomputed per call under jit.
    with jax.ensure_compile_time_eval():
        cw = Coefficients(*(jnp.asarray(x).astype(work) for x in c))
        hbar = 2.0 / jnp.sqrt(cw.gamma * cw.mu / cw.D)
        zero = jnp.zeros(grid.shape, work)
        density = _static_density(zero, grid, cw, hbar, "spectral")

        def kinetic(a):  # T̂ a = -ħ ∂_t b for Ψ = a + 0i
            return -hbar * _canonical_flow(density, grid, a, zero, scale=2.0 * cw.mu * hbar, only="P")

        return _linear_symbol(kinetic, grid, work).astype(dtype)


def _phase_stepper(V, grid, c, dt, pot_fracs, kin_fracs):
    """Ψ ↦ V(a₀) T(b₀) … V(a_s) Ψ with V(a) = e^{-i a V/ħ}, T(b) = F⁻¹ e^{-i b ε_k/ħ} F (a, b in time units)."""
    V = _real_field(grid, V, "V")
    real = V.dtype  # phases are built in V's precision, then applied in Ψ's (the state sets the dtype)
    c, hbar = _constants(c, real)
    eps = _kinetic_symbol(grid, c, real)
    axes = tuple(range(grid.ndim))
    pot = [_cis(-(jnp.asarray(a * dt / hbar, real) * V)) for a in pot_fracs]  # e^{-i a dt V/ħ}
    kin = [_cis(-(jnp.asarray(b * dt / hbar, real) * eps)) for b in kin_fracs]

    def apply(psi):
        cast = [ph.astype(psi.dtype) for ph in pot], [ph.astype(psi.dtype) for ph in kin]
        psi = cast[0][0] * psi
        for k_phase, v_phase in zip(cast[1], cast[0][1:]):
            psi = v_phase * jnp.fft.ifftn(k_phase * jnp.fft.fftn(psi, axes=axes), axes=axes)
        return psi

    return apply


def _validate_psi(grid: Grid):
    def validate(psi: ComplexField) -> Complex[Array, "*grid"]:
        psi = _checked_field(grid, psi, "psi")
        return psi.astype(jnp.result_type(psi.dtype, 1j))

    return validate


def split_step(V: Field, grid: Grid, c: Coefficients, dt: Scalar, *,
               scheme: str = "blanes-moan6"):
    """Fourier split-step integrator for iħ_eff ∂_tΨ = -(ħ_eff²/2m_eff)∇²Ψ + VΨ (eq. (36) dynamics).

    A step is V(a₀Δt) T(b₀Δt) V(a₁Δt) … V(a_sΔt) with V(τ) = e^{-iτV/ħ} (pointwise) and
    T(τ) = F⁻¹ e^{-iτε_k/ħ} F, ε_k = (4D/μ)|k̃|² the Fourier symbol of the kinetic part of the
    discretized H (Nyquist handled as :func:`nnworld_jax.grid.gradient`). The (a, b) fractions are
    :data:`SCHEMES`: ``"strang"`` (order 2), ``"yoshida4"`` (4; triple jump), ``"yoshida6"`` (6;
    Yoshida 1990, 7 Strang stages), ``"blanes-moan4"`` (4; SRKN₆ᵇ of Blanes & Moan 2002, valid since
    [V,[V,[V,T]]] = 0), ``"blanes-moan6"`` (6; S₁₀ of Blanes & Moan 2002). Every sub-step is a unitary
    phase: ∫|Ψ|² is conserved to round-off. Periodic grids, K = 1, 2, 3 (any K works).

    Arguments:
        V: real potential, shape ``grid.shape`` (time independent).
        grid, c: grid and constants (ħ_eff, m_eff from :func:`effective_constants`).
        dt: time step (may be traced; negative steps run backwards).
        scheme: a key of :data:`SCHEMES`.

    Returns: :class:`~nnworld_jax.stepping.Stepper` over :class:`~nnworld_jax.stepping.State`
    ``(t, psi)``: ``init(psi, t0=0.0)``, ``step(state) -> state``; run it with
    :func:`nnworld_jax.stepping.solve`. Every sub-step multiplies by a phase of finite arguments, so
    a finite state stays finite: the layer's per-step check is not needed and does not run.

    Example:
        >>> from nnworld_jax import set_precision
        >>> set_precision("float64")  # the figures below are float64 ones
        >>> from nnworld_jax.stepping import solve
        >>> g = Grid((32,))
        >>> s = solve(split_step(jnp.cos(g.axis(0)), g, Coefficients(0.3, 0.7, 1.6), 0.01), jnp.ones(32, complex),
        ...           n_steps=10)
        >>> round(float(s.t), 12), round(float(norm(s.y, g)), 12) == round(2 * math.pi, 12)
        (0.1, True)
    """
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {tuple(SCHEMES)}, got {scheme!r}")
    dt = _guard_finite(check_scalar(as_float(dt, "dt"), "dt"), "dt")
    apply = _phase_stepper(V, grid, c, dt, *SCHEMES[scheme])
    return from_update(lambda t, psi: apply(psi), dt, name="quantum.split_step", validate=_validate_psi(grid),
                       check_step=False)


def harmonic_potential(grid: Grid, c: Coefficients, omega: Scalar, center=None, *, dtype=None) -> Float[Array, "*grid"]:
    """V = ½ m_eff ω² |q - q₀|² on the grid (q₀ the box centre by default): E_n = ħ_eff ω(n + K/2), eq. (34).

    ``dtype`` (default: the precision setting's float) is the dtype of the returned V.

    On the periodic box V jumps at the faces; states must vanish there (a box many widths
    √(ħ/(m ω)) wide).
    """
    if not isinstance(grid, Grid):
        raise TypeError(f"grid must be a Grid, got {type(grid).__name__}")
    center = jnp.asarray([length / 2 for length in grid.lengths]) if center is None else as_float(center, "center")
    if center.shape != (grid.ndim,):
        raise ValueError(f"center must have shape ({grid.ndim},), got {center.shape}; use jax.vmap to batch")
    center = _guard_finite(center, "center")
    omega = _guard_positive(check_scalar(as_float(omega, "omega"), "omega"), "omega")
    mass = effective_constants(c).mass
    q = grid.mesh()
    r2 = sum((q[k] - center[k]) ** 2 for k in range(grid.ndim))
    return jnp.asarray(0.5 * mass * omega**2 * r2, dtype)


def harmonic_split_step(grid: Grid, c: Coefficients, omega: Scalar, dt: Scalar, *, center=None):
    """Exact propagator e^{-iĤΔt/ħ} for the harmonic oscillator V = ½ m_eff ω²|q - q₀|² (eq. (36) dynamics).

    The metaplectic (Mehler-kernel) factorization e^{-iĤΔt/ħ} = V(α) T(β) V(α) with
    α = tan(ωΔt/2)/ω and β = sin(ωΔt)/ω holds exactly for quadratic Ĥ (it is the same product of
    shears that writes a phase-space rotation by ωΔt), so a step has no time-discretization error:
    the only error is the grid's (spectral in the resolution, plus the box edges). Needs
    0 < |ωΔt| < π (α diverges at ωΔt = π); larger t takes several steps. The half kick V(α) gives
    the state momenta up to m ω² α |q - q₀| = m ω tan(ωΔt/2) |q - q₀| (in units of ħ k): keep them
    inside the grid's wavenumber range π/h, or the step aliases (fewer, larger steps need a finer
    grid; |ωΔt| ≤ 1 is safe wherever the grid resolves the state's own momenta twice over).

    Returns: :class:`~nnworld_jax.stepping.Stepper` over ``(t, psi)`` as :func:`split_step`; V is
    :func:`harmonic_potential`.
    """
    for name, x in (("omega", omega), ("dt", dt)):
        if (isinstance(x, bool) or is_traced(x)) or jnp.shape(x) != () or not math.isfinite(float(x)):
            raise ValueError(f"{name} must be a concrete finite scalar, got {x!r}")
    omega, dt = float(omega), float(dt)
    if not omega > 0:
        raise ValueError(f"omega must be > 0, got {omega}")
    if not (0 < abs(omega * dt) < math.pi):
        raise ValueError(f"harmonic_split_step needs 0 < |omega*dt| < pi, got omega*dt = {omega * dt}")
    V = harmonic_potential(grid, c, omega, center)
    alpha, beta = math.tan(omega * dt / 2) / omega, math.sin(omega * dt) / omega
    apply = _phase_stepper(V, grid, c, 1.0, (alpha, alpha), (beta,))
    return from_update(lambda t, psi: apply(psi), dt, name="quantum.harmonic_split_step",
                       validate=_validate_psi(grid), check_step=False)


# ------------------------------------------------------------------------- the Madelung side
def madelung_stepper(V: Field, grid: Grid, c: Coefficients, dt: Scalar, *,
                     method: str = "spectral") -> Stepper:
    """RK4 for the Madelung equations (32)-(33) without the learning term (eqs. (29)-(30)).

    This is :func:`nnworld_jax.entropic.entropic_stepper` with ``learning=False`` (its checks
    included: the RK4 stability bound for a concrete ``dt``, p > 0 and finite fields after every
    step), plus the condition of the Madelung map (34): D, γ, μ > 0. The right-hand side is
    :func:`nnworld_jax.entropic.equations_of_motion` (``jax.grad`` of the discretized action (28)):
    ∂_t p = -2γ∇·(p∇F), ∂_t F = -γ|∇F|² - V + (4D/μ)∇²√p/√p. Needs p > 0 on the grid (the quantum
    potential is singular at nodes); explicit, so Δt must resolve the fastest dispersive frequency
    (ħ_eff/2m_eff) k_max², |ω Δt| ≲ 2.8.

    Returns: :class:`~nnworld_jax.stepping.Stepper` over :class:`~nnworld_jax.stepping.State`
    ``(t, (p, F))``; ``init((p, F), t0=0.0)``.
    """
    _check_method(method)
    V = _real_field(grid, V, "V")
    c, _ = _constants(c, V.dtype)  # the Madelung map needs D, γ, μ > 0 as (34) does
    if is_traced(dt) or jnp.shape(dt) != () or not math.isfinite(float(dt)):
        raise ValueError(f"dt must be a concrete finite scalar > 0 (dt contains NaN or inf, has a shape or is "
                         f"traced), got {dt!r}")
    return entropic_stepper(V, grid, c, dt, learning=False, method=method)
