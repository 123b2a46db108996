"""Thermodynamics inside a training loop, paper §3: metrics, a free-energy regularizer, and the
laws of learning (15), (17) measured on a teacher–student task.

A feed-forward ``equinox.nn.MLP`` is a network in the sense of §2: its neurons (inputs, hidden,
outputs) form one state vector, and its layers fill the blocks of one N×N weight matrix below the
diagonal (:func:`network_from_mlp`). Every thermodynamic quantity of :mod:`nnworld_jax.thermo`
is then a differentiable function of the model's parameters, usable in a user's own jitted step.
"""

from __future__ import annotations

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, Float, PRNGKeyArray

from .network import Network
from .partition import Method, free_energy
from .thermo import Thermodynamics, thermodynamics


def network_from_mlp(mlp: eqx.nn.MLP, m=0.0) -> Network:
    """The §2 network of a feed-forward MLP: N = in + Σ widths neurons, layer blocks in one w.

    Neuron order: inputs first, then each layer's outputs. Input neurons get zero bias and no
    incoming edges; the MLP's activation must equal its final activation (one f for all neurons,
    as in eq. (1)). Jit-compatible: the block positions are static.
    """
    if mlp.activation is not mlp.final_activation:
        raise ValueError("network_from_mlp needs activation == final_activation (one activation f for all neurons)")
    sizes = [mlp.layers[0].in_features] + [layer.out_features for layer in mlp.layers]
    offsets = [sum(sizes[:k]) for k in range(len(sizes) + 1)]
    n = offsets[-1]
    dtype = mlp.layers[0].weight.dtype
    w = jnp.zeros((n, n), dtype)
    b = jnp.zeros((n,), dtype)
    for k, layer in enumerate(mlp.layers):
        rows = slice(offsets[k + 1], offsets[k + 2])
        w = w.at[rows, offsets[k]:offsets[k + 1]].set(layer.weight)
        if layer.bias is not None:
            b = b.at[rows].set(layer.bias)
    return Network(w, b, activation=mlp.activation, m=m,
                   inputs=range(offsets[0], offsets[1]), outputs=range(offsets[-2], offsets[-1]))


def _as_network(model) -> Network:
    if isinstance(model, Network):
        return model
    if isinstance(model, eqx.nn.MLP):
        return network_from_mlp(model)
    raise TypeError(f"expected a nnworld_jax.Network or an equinox.nn.MLP, got {type(model).__name__}")


def thermo_metrics(model, beta, *, method: Method = "paper") -> Thermodynamics:
    """F (6), U (10), S_x (13), S_0, C (12)-(14) and heat capacity of a model, jit-compatible.

    ``model`` is a :class:`Network` or an ``equinox.nn.MLP`` (converted by
    :func:`network_from_mlp`). Drop it into a training step to record the laws of learning.

    Example:
        >>> import equinox as eqx, jax, jax.numpy as jnp
        >>> mlp = eqx.nn.MLP(2, 1, 4, 1, activation=jnp.tanh, final_activation=jnp.tanh,
        ...                  key=jax.random.PRNGKey(0))
        >>> th = eqx.filter_jit(thermo_metrics)(mlp, 10.0)  # an MLP holds functions: filter_jit
        >>> bool(th.entropy == th.thermodynamic_entropy + th.complexity)
        True
    """
    return thermodynamics(_as_network(model), beta, method=method)


def free_energy_regularizer(beta, strength=1.0, *, method: Method = "paper"):
    """A loss term ``reg(model) = strength * F(model; β)``, eq. (6), to add to a training loss.

    Minimizing F at fixed β favours networks whose Gauss-Newton operator (8) has small eigenvalues
    (flat directions of the bulk loss). Works with ``optax`` like any other loss term.
    """

    def reg(model) -> Float[Array, ""]:
        return strength * free_energy(_as_network(model), beta, method=method)

    return reg


class TeacherStudent(NamedTuple):
    """Data of a teacher–student regression task: inputs, noisy teacher outputs, the teacher."""

    x: Array
    y: Array
    teacher: eqx.nn.MLP


def teacher_student_task(key: PRNGKeyArray, *, in_size: int = 4, out_size: int = 2, width: int = 8,
                         depth: int = 2, n_data: int = 256, noise: float = 0.01) -> TeacherStudent:
    """A random tanh teacher MLP and ``n_data`` noisy samples of it (generated, nothing fetched)."""
    k_t, k_x, k_n = jax.random.split(key, 3)
    teacher = eqx.nn.MLP(in_size, out_size, width, depth, activation=jnp.tanh,
                         final_activation=jnp.tanh, key=k_t)
    x = jax.random.normal(k_x, (n_data, in_size))
    y = jax.vmap(teacher)(x) + noise * jax.random.normal(k_n, (n_data, out_size))
    return TeacherStudent(x, y, teacher)


class TrainingHistory(NamedTuple):
    loss: Array  # (steps,) data loss (mean squared error)
    thermo: Thermodynamics  # each field (steps,)


def train_student(key: PRNGKeyArray, task: TeacherStudent, beta, *, steps: int = 300,
                  learning_rate: float = 1e-2, regularization: float = 0.0,
                  method: Method = "paper") -> tuple[eqx.nn.MLP, TrainingHistory]:
    """Train a student MLP (the teacher's architecture) with optax Adam, recording F (6), U (10),
    S_x (13), S_0 and C (14) at every step inside one ``lax.scan``, for the laws (15)-(17).

    The training loss is the mean squared error plus, if ``regularization > 0``,
    ``regularization * F`` (:func:`free_energy_regularizer`).
    """
    t = task.teacher
    student = eqx.nn.MLP(t.in_size, t.out_size, t.width_size, t.depth, activation=jnp.tanh,
                         final_activation=jnp.tanh, key=key)
    reg = free_energy_regularizer(beta, regularization, method=method)
    opt = optax.adam(learning_rate)
    params, static = eqx.partition(student, eqx.is_inexact_array)

    def loss_fn(p):
        model = eqx.combine(p, static)
        mse = jnp.mean((jax.vmap(model)(task.x) - task.y) ** 2)
        total = mse + reg(model) if regularization else mse
        return total, mse

    def one_step(carry, _):
        p, opt_state = carry
        (_, mse), grads = jax.value_and_grad(loss_fn, has_aux=True)(p)
        updates, opt_state = opt.update(grads, opt_state, p)
        p = optax.apply_updates(p, updates)
        return (p, opt_state), (mse, thermo_metrics(eqx.combine(p, static), beta, method=method))

    (params, _), (loss, thermo) = jax.lax.scan(one_step, (params, opt.init(params)), None, length=steps)
    return eqx.combine(params, static), TrainingHistory(loss, thermo)


class LawsOfLearning(NamedTuple):
    """What a training history shows about the second (15) and first (17) laws of learning."""

    entropy_decrease_fraction: Array  # fraction of steps with ΔS_x ≤ 0
    net_entropy_change: Array  # S_x(end) - S_x(start)
    first_law_residual: Array  # Σ|ΔU - TΔS_x| / Σ|ΔU| over the window (0 if dU = T dS_x)


def laws_of_learning(history: TrainingHistory, beta, *, start: int = 0) -> LawsOfLearning:
    """Measure (15) dS_x/dt ≤ 0 and (17) dU = T(dS_0 + dC) = T dS_x on steps ``start:`` of a run.

    At fixed T = 1/β, dS_0 = 0 and dU - T dS_x = dF identically, so the first-law residual is
    Σ|ΔF| / Σ|ΔU|: it vanishes exactly when training moves along constant free energy.
    """
    s = history.thermo.entropy[start:]
    u = history.thermo.average_loss[start:]
    ds, du = jnp.diff(s), jnp.diff(u)
    residual = jnp.sum(jnp.abs(du - ds / beta)) / jnp.sum(jnp.abs(du))
    return LawsOfLearning(jnp.mean((ds <= 0).astype(s.dtype)), s[-1] - s[0], residual)
