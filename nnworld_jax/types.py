"""The package's array annotations, defined once: what a scalar, a field, a wavefunction, a
network's weights or a metric is, as a jaxtyping type (https://docs.kidger.site/jaxtyping/).

Every module of ``nnworld_jax`` takes its annotation types from here (``tests/test_layout.py``
keeps every other module from importing ``jaxtyping`` itself). The annotations are statements
about *valid* input and about output: the test suite checks every annotated signature at run
time (``tests/conftest.py`` installs ``jaxtyping.install_import_hook`` with beartype on the package's
modules), so an annotation that a call contradicts fails the suite. Users who install the same hook get the
same checks; without it the annotations cost nothing, and the package's own input checks (which
name the argument and the condition, eagerly and under ``jit``/``vmap``/``grad``) are what reject
bad input.

Dimension names. Within one call, a name stands for the same size in every argument and in the
result, so ``f(p: Field, S: Field) -> VectorField`` states that ``p`` and ``S`` live on one
grid and that the result has one component per axis of that grid. A leading space (``" N"``) marks a one-axis shape string.

* ``*grid``: the shape of a periodic grid, one axis per spatial dimension
  (:class:`~nnworld_jax.grid.Grid` ``.shape``); ``*pts`` a batch of points; ``*b`` broadcast axes.
* ``K``: the number of axes of a grid: components of a vector field, rows of a metric field;
  ``n`` the dimension of a manifold's coordinates (:mod:`~nnworld_jax.curvature`, n = 4 for a
  spacetime).
* ``N``: the number of neurons of a network (the length of its state ``x``, bias ``b``, the side of
  its weights ``w``), or the number of points of a one-dimensional profile.
* ``B``: a batch (of data samples, networks, probes); ``T`` the number of time steps or slices
  (``*space`` the spatial axes that follow a time axis).

Dtypes. An annotation states what the function accepts, and the package's input policy
(``nnworld_jax._checks``) promotes integer input to the floating dtype, never truncating a float to
it: so the real-valued aliases (``Scalar``, ``Field``, ``State``, ``Weights``, ...) are ``Real``
(any float or integer dtype) over ``ArrayLike`` (a JAX or NumPy array, a NumPy scalar, and for a
0-d shape a Python number). What a kernel computes and returns is floating (float32 or float64 as
:func:`nnworld_jax.set_precision` picks, or the input's): ``FloatScalar`` is the returned scalar.
``ComplexField`` is complex; ``RealOrComplexField`` (``Num``) is either.

The generic builders (``Array``, ``ArrayLike``, ``Float``, ``Real``, ``Complex``, ``Inexact``,
``Num``, ``Int``, ``Bool``, ``Shaped``, ``PyTree``, ``PRNGKeyArray``) are re-exported for the shapes
that are one function's own (``Float[Array, "p N"]``: p probe vectors of a network's length).
"""

from __future__ import annotations

from collections.abc import Callable

from jaxtyping import (
    Array,
    ArrayLike,
    Bool,
    Complex,
    Float,
    Inexact,
    Int,
    Num,
    PRNGKeyArray,
    PyTree,
    Real,
    Shaped,
)

__all__ = [
    # generic builders, for a function's own shapes
    "Array", "ArrayLike", "Bool", "Complex", "Float", "Inexact", "Int", "Num", "PRNGKeyArray", "PyTree", "Real",
    "Shaped",
    # scalars
    "Scalar", "FloatScalar",
    # fields on a grid
    "Field", "ComplexField", "RealOrComplexField", "VectorField", "MetricField", "SpaceTimeField",
    "SpaceTimePotential",
    # networks and states
    "Weights", "State", "States", "Indices",
    # geometry
    "Point", "MetricTensor", "Metric",
    # randomness
    "Key",
]

# --- scalars ----------------------------------------------------------------------------------

Scalar = Real[ArrayLike, ""]
"""A real number as input: a Python ``int``/``float``, a NumPy scalar or a 0-d float or integer
array (integers are promoted to float): ``beta``, ``hbar``, ``dt``, a mass. Under ``jax.vmap`` each
call sees one 0-d value, so a batch of them is vmapped, never passed whole."""

FloatScalar = Float[Array, ""]
"""A 0-d float array: what a kernel returns for a scalar (a free energy, an action, a norm)."""

# --- fields on a periodic grid ------------------------------------------------------------------

Field = Real[ArrayLike, "*grid"]
"""A real field on a grid: one value per grid point, shape ``grid.shape`` (a probability density,
a phase, a potential, a Hamilton-Jacobi action)."""

ComplexField = Complex[ArrayLike, "*grid"]
"""A complex field on a grid: a wavefunction ψ of :mod:`~nnworld_jax.quantum`."""

RealOrComplexField = Num[ArrayLike, "*grid"]
"""A real or complex field on a grid: the input of a linear operator (derivative, Laplacian,
integral) that keeps the dtype of what it is given (integers promoted to float)."""

VectorField = Real[ArrayLike, "K *grid"]
"""A vector field on a K-dimensional grid: component ``v[k]`` along axis ``k`` (a gradient, a
velocity, a probability current)."""

MetricField = Real[ArrayLike, "K K *grid"]
"""A metric (or any rank-2 tensor) field on a grid: ``g[μ, ν]`` is a field, symmetric in μ, ν."""

SpaceTimeField = Real[ArrayLike, "T *space"]
"""A real field on a space-time grid whose axis 0 is time: T slices of a field on the spatial grid
``*space`` (a history p(t, q) of :func:`nnworld_jax.entropic.action`)."""

SpaceTimePotential = Real[ArrayLike, "*space"] | Real[ArrayLike, "T *space"]
"""A potential beside a :data:`SpaceTimeField`: one spatial field (constant in time) or one value
per space-time point."""

# --- networks and their states -------------------------------------------------------------------

Weights = Real[ArrayLike, "N N"]
"""A network's weight matrix: ``w[i, j]`` the weight of the edge j -> i (paper §2)."""

State = Real[ArrayLike, " N"]
"""A state of the N neurons (``x``), or any vector over them (a bias ``b``, a spectrum). Not
:class:`nnworld_jax.stepping.State`, the (t, y) carried by a time stepper."""

States = Real[ArrayLike, "B N"]
"""A batch of B states (or data samples) of N neurons: one per row."""

Indices = Int[ArrayLike, " N"]
"""N integer indices: a permutation of the neurons, or positions into an array."""

# --- geometry ------------------------------------------------------------------------------------

Point = Real[ArrayLike, " n"]
"""The coordinates ``X^μ`` of one point of an n-dimensional manifold (a spacetime: n = 4)."""

MetricTensor = Real[ArrayLike, "n n"]
"""A metric tensor ``g_{μν}`` at one point (symmetric, n = the manifold's dimension)."""

Metric = Callable[[Point], MetricTensor]
"""A metric as a function of the coordinates, ``X -> g_{μν}(X)`` (:mod:`~nnworld_jax.metrics`,
:mod:`~nnworld_jax.curvature`): differentiable in ``X`` by ``jax.jacfwd``."""

# --- randomness ----------------------------------------------------------------------------------

Key = PRNGKeyArray
"""A JAX PRNG key (``jax.random.PRNGKey(0)`` or ``jax.random.key(0)``); keyword-only in every
public function (``f(..., *, key)``)."""
