"""Thermodynamics inside a training loop, paper §3: metrics, a free-energy regularizer, learning
that lowers the average loss U (10) toward a learning equilibrium (11), and the laws of learning
(15)-(17) read against the paper's text.

A feed-forward ``equinox.nn.MLP`` is a network in the sense of §2: its neurons (inputs, hidden,
outputs) form one state vector, and its layers fill the blocks of one N×N weight matrix below the
diagonal (:func:`network_from_mlp`). Every thermodynamic quantity of :mod:`nnworld_jax.thermo`
is then a differentiable function of the model's parameters, usable in a user's own jitted step.

How the data enter (this module's reading, the paper states none explicitly). §2: "the boundary
loss is usually used in supervised learning" and the boundary neurons are N_∂ = N_in + N_out.
Here a data sample clamps the boundary neurons (inputs and outputs) to its values; the canonical
ensemble (5) runs over the bulk neurons only, with the bulk loss (3) of the whole network, so the
output neurons' terms ½(x_out - f(w x + b)_out)² are the supervised error and the data enter Z,
F and U. Around the clamped mean state x* (∂H/∂x_bulk = 0) the Gaussian forms of (7) use
G = J_bᵀJ_b, J_b the bulk columns of J = I - diag(f′(y*)) w (eqs. (8)-(9)), times exp(-βH*):
(7) is printed for H* = 0 (the free network's fixed point); with data clamped H* > 0 in general.
Per-sample quantities are averaged over the data set (P independent clamped copies: F, U, S_x
are extensive, so the average is the per-copy value).

Learning, §3: "If the neural network was trained for a long time, then the weight matrix and the
bias vector are in a state that minimizes (at least locally) the average loss function" (11), the
learning equilibrium. :func:`learn` lowers U (10) by any optax transformation at fixed β;
:func:`learning_equilibrium` runs until ‖∂U/∂(w, b)‖ ≤ gtol, i.e. until (11) holds to gtol.

The laws. (15): "the total entropy of a learning system can never increase during learning and
is constant in a learning equilibrium, dS_x/dt ≤ 0" — the paper asserts it (citing [16]); here it
is measured along :func:`learn`. (16)-(17): "For a system transitioning between equilibrium
states at constant temperature, T = 1/β, variations of the free energy must vanish, dF = 0, and
then Equation (12) takes the form of the first law dU = T dS_x = T dS_0 + T dC". Since
S_x = β(U - F) (13), at constant T dU - T dS_x = dF identically and dS_0(β) = 0: (17) between
two equilibria holds exactly when their free energies are equal, the paper's premise, which
:func:`first_law` measures (docs/conventions.md §1).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
from collections.abc import Callable
from typing import Literal, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import optimistix as optx

from ._checks import as_float, check, check_count, check_finite, check_positive, check_scalar, check_vector, validated
from ._config import dtype_tol
from ._free_energy import _thermo_from_logdet
from ._gaussian import Method, _check_method, _log_partition_from_operator
from ._netcore import _check_network
from .network import Network, activation_slope, bulk_loss, preactivation, step
from .partition import free_energy
from .thermo import Thermodynamics, thermodynamics
from .types import Array, FloatScalar, Key, State

__all__ = ["check_activation", "Layer", "LayeredActivation", "model_layers", "layer_sizes", "network_from_model",
           "network_from_mlp", "thermo_metrics", "free_energy_regularizer", "TeacherStudent", "teacher_student_task",
           "TrainingHistory", "train_student", "boundary_neurons", "clamped_mean_state", "clamped_thermodynamics",
           "data_thermodynamics", "LearningHistory", "learn", "LearningEquilibrium", "learning_equilibrium",
           "LawsOfLearning", "laws_of_learning", "FirstLaw", "first_law"]


# --- Any equinox model of Linear layers and elementwise activations as the network (2) ----------


def _identity(y):
    return y


# Activations with a kink (f' jumps) or a corner where the free energy needs f'': eq. (9) reads f'(y*),
# and every β- or parameter-derivative of F through G = JᵀJ reads f''; autodiff returns a one-sided
# value at the kink (and 0 for f'' of relu everywhere), a silent wrong answer. Refused by name; any
# other callable is probed numerically (:func:`check_activation`).
_KINKED = {getattr(mod, name): name for mod, names in
           ((jax.nn, ("relu", "relu6", "hard_tanh", "leaky_relu", "hard_sigmoid", "hard_silu", "hard_swish")),
            (jnp, ("abs", "absolute", "sign", "floor", "round", "ceil")))
           for name in names if hasattr(mod, name)}
_SMOOTH_CHECKED: set = set()  # activations that passed the probe (the probe runs once per function)
# Points where the usual activations put their kinks (0 for relu-likes and abs, ±1 for hard_tanh,
# ±3 for hard_sigmoid, 6 for relu6), and a few generic ones.
_PROBE_POINTS = (-6.0, -3.0, -1.0, -0.5, -0.1, 0.0, 0.1, 0.5, 1.0, 3.0, 6.0, 0.37, -2.3)


def _probe(f):
    ys = jnp.asarray(_PROBE_POINTS, jnp.float32)
    h = 1e-2
    df = jax.vmap(jax.grad(lambda y: f(y)))
    out = (f(ys), df(ys), jax.vmap(jax.grad(jax.grad(lambda y: f(y))))(ys), (f(ys + h) - f(ys - h)) / (2 * h),
           (df(ys + h) - df(ys - h)) / (2 * h), jnp.stack([f(y) for y in ys]), ys)
    return tuple(np.asarray(a, np.float64) for a in out)


def check_activation(f: Callable, name: str = "activation") -> Callable:
    """``f`` if it is an elementwise activation with the two derivatives the free energy needs, else
    a ``ValueError`` naming ``name``.

    Eq. (9) evaluates f′(y*) and every derivative of F (6)-(7) through G = JᵀJ (8) reads f″, so f
    must be C² where it is evaluated. Known kinked functions (relu, relu6, leaky_relu, hard_tanh,
    hard_sigmoid, hard_silu, abs, sign, floor, round, ceil) are refused by name. Any other f is
    probed in float32 at 13 points y (0, ±0.1, ±0.5, ±1, ±3, ±6, 0.37, -2.3, where common activations
    put their kinks): autodiff's f′(y) and f″(y) must match the central differences
    (f(y+h) - f(y-h))/2h and (f′(y+h) - f′(y-h))/2h with h = 1e-2 to 0.05 (1 + |f′|, |f″|) -- a
    C³ function misses by h²|f‴|/6 and h²|f⁗|/6 ≈ 2e-5 |f⁗|, a jump of size s in f′ gives a
    difference s/2h = 50 s -- and ``f(v)`` of a vector must equal ``f`` of each entry (elementwise).
    """
    try:
        hash(f)
        known = f in _KINKED
        if f in _SMOOTH_CHECKED:
            return f
    except TypeError:  # an unhashable callable (a module holding arrays): probe it every time
        known = False
    if known:
        raise ValueError(f"{name} {_KINKED[f]} has a kink where the free energy needs f'' (eqs. (8)-(9)); "
                         "use a smooth activation (tanh, sigmoid, softplus, gelu, silu, identity, ...)")
    try:
        # The probe runs in a worker thread: JAX's trace state is thread-local, so the probe is evaluated
        # eagerly even when the model is first converted inside a user's jit/vmap/scan.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            fv, d1, d2, fd1, fd2, each, ys = pool.submit(_probe, f).result()
    except Exception as e:  # noqa: BLE001 - any failure to evaluate or differentiate f is the user's f
        raise ValueError(f"{name} {getattr(f, '__name__', f)!r} is not a differentiable elementwise "
                         f"function of an array ({type(e).__name__}: {e})") from e
    if fv.shape != ys.shape or not np.allclose(fv, each.reshape(fv.shape), rtol=1e-6, atol=1e-6):
        raise ValueError(f"{name} {getattr(f, '__name__', f)!r} is not elementwise (f(v)[i] != f(v[i]))")
    if not (np.all(np.isfinite(d1)) and np.all(np.isfinite(d2))):
        raise ValueError(f"{name} {getattr(f, '__name__', f)!r} has a non-finite f' or f'' at a probe point")
    bad = (np.abs(d1 - fd1) > 0.05 * (1 + np.abs(d1))) | (np.abs(d2 - fd2) > 0.05 * (1 + np.abs(d2)))
    if np.any(bad):
        y = float(np.asarray(ys)[np.argmax(bad)])
        raise ValueError(f"{name} {getattr(f, '__name__', f)!r} is not twice differentiable near y = {y:g} "
                         "(a kink: the free energy needs f'', eqs. (8)-(9)); use a smooth activation")
    try:
        _SMOOTH_CHECKED.add(f)
    except TypeError:
        pass
    return f


@dataclasses.dataclass(frozen=True)
class LayeredActivation:
    """The activation f of eq. (1) for a layered network: f_k on the neurons of segment k (static, hashable).

    ``segments`` is a tuple of (size, f) in neuron order; calling it on a state (N,) applies each f
    to its slice. Equal segments compare equal, so jit does not retrace for a rebuilt model.
    """

    segments: tuple[tuple[int, Callable], ...]

    def __call__(self, y):
        parts, start = [], 0
        for size, f in self.segments:
            parts.append(f(y[..., start:start + size]))
            start += size
        return jnp.concatenate(parts, axis=-1)


class Layer(NamedTuple):
    """One layer of a feed-forward model, eq. (1) on its block: x_k = f(W x_{k-1} + b) (W (out, in), b (out,) or None)."""

    weight: Array
    bias: Array | None
    activation: Callable


def _is_activation(item) -> bool:
    return callable(item) and not isinstance(item, eqx.Module) or isinstance(item, eqx.nn.Lambda)


def _sequence_layers(items, where: str) -> list[Layer]:
    layers: list[Layer] = []
    pending = None
    for item in items:
        if isinstance(item, eqx.nn.Linear):
            if pending is not None:
                layers.append(Layer(pending.weight, pending.bias, _identity))
            pending = item
        elif _is_activation(item):
            fn = item.fn if isinstance(item, eqx.nn.Lambda) else item
            if pending is None:
                raise ValueError(f"{where}: an activation must follow an eqx.nn.Linear layer (two activations "
                                 "in a row, or one first, have no place in the network (2))")
            layers.append(Layer(pending.weight, pending.bias, fn))
            pending = None
        else:
            raise TypeError(f"{where}: expected eqx.nn.Linear layers and elementwise activations, got "
                            f"{type(item).__name__}")
    if pending is not None:
        layers.append(Layer(pending.weight, pending.bias, _identity))
    return layers


def model_layers(model) -> list[Layer]:
    """The layers x_k = f_k(W_k x_{k-1} + b_k), k = 1..L, of a feed-forward equinox model (eqs. (1)-(2)).

    Accepted: ``eqx.nn.MLP`` (its ``activation`` on the hidden layers, ``final_activation`` on the
    last); ``eqx.nn.Sequential``, a list or a tuple of ``eqx.nn.Linear`` layers each optionally
    followed by one elementwise activation (a function or ``eqx.nn.Lambda``; none = identity); any
    ``eqx.Module`` with a ``layers`` attribute of that form, or of Linear layers only together with
    an ``activation`` (hidden layers) and optional ``final_activation`` (default identity)
    attribute. Every activation passes :func:`check_activation`; consecutive layers must chain
    (in_features of layer k = out_features of layer k - 1).
    """
    if isinstance(model, eqx.nn.MLP):
        acts = [model.activation] * (len(model.layers) - 1) + [model.final_activation]
        layers = [Layer(lin.weight, lin.bias, f) for lin, f in zip(model.layers, acts)]
    elif isinstance(model, eqx.nn.Sequential):
        layers = _sequence_layers(model.layers, "eqx.nn.Sequential")
    elif isinstance(model, (list, tuple)):
        layers = _sequence_layers(model, "model sequence")
    elif isinstance(model, eqx.Module) and isinstance(getattr(model, "layers", None), (list, tuple)):
        items = model.layers
        if all(isinstance(i, eqx.nn.Linear) for i in items) and hasattr(model, "activation"):
            final = getattr(model, "final_activation", _identity)
            acts = [model.activation] * (len(items) - 1) + [final]
            layers = [Layer(lin.weight, lin.bias, f) for lin, f in zip(items, acts)]
        else:
            layers = _sequence_layers(items, f"{type(model).__name__}.layers")
    else:
        raise TypeError("model must be an eqx.nn.MLP, an eqx.nn.Sequential, a list of eqx.nn.Linear layers and "
                        "activations, or an eqx.Module with a `layers` attribute; got "
                        f"{type(model).__name__}")
    if not layers:
        raise ValueError("model has no eqx.nn.Linear layer")
    for k, layer in enumerate(layers):
        if jnp.ndim(layer.weight) != 2:
            raise ValueError(f"layer {k}: weight must be 2-D (eqx.nn.Linear with in/out_features 'scalar' is "
                             f"not supported), got shape {jnp.shape(layer.weight)}")
        if not jnp.issubdtype(jnp.result_type(layer.weight), jnp.floating):
            raise TypeError(f"layer {k}: weight must be a floating array, got {jnp.result_type(layer.weight)}")
        if k and layer.weight.shape[1] != layers[k - 1].weight.shape[0]:
            raise ValueError(f"layer {k}: in_features {layer.weight.shape[1]} != out_features "
                             f"{layers[k - 1].weight.shape[0]} of layer {k - 1}: the layers do not chain")
        check_activation(layer.activation, f"layer {k} activation")
    return layers


def layer_sizes(model) -> tuple[int, ...]:
    """(n_0, n_1, ..., n_L): the input width and each layer's width (the neuron blocks of w in eq. (2))."""
    layers = model_layers(model)
    return (layers[0].weight.shape[1],) + tuple(layer.weight.shape[0] for layer in layers)


def network_from_model(model, m=0.0) -> Network:
    """The paper's network (2) of a feed-forward equinox model (:func:`model_layers`).

    State layout: x = (x_0, x_1, ..., x_L), x_0 the n_0 input neurons (``inputs``), x_k the n_k
    outputs of layer k, x_L the model's outputs (``outputs``); N = Σ n_k. ``w[i, j]`` (edge j -> i)
    holds W_k in the block (rows of x_k, columns of x_{k-1}) and zeros elsewhere (m = 0 makes it
    the paper's feed-forward network: no loops, w strictly block lower triangular); ``b`` holds b_k
    on x_k and 0 on the inputs. The activation is f_k on the neurons of layer k: one callable when
    every layer shares it (then also on the inputs, as :func:`network_from_mlp` always did), else a
    :class:`LayeredActivation` (the inputs get layer 1's f; they are clamped or have y = 0, and
    nothing below reads f on them otherwise). With the inputs clamped to an example and the
    dynamics (1)-(2) run L steps, x_L is the model's output. Jit-compatible (block positions are
    static).
    """
    layers = model_layers(model)
    sizes = (layers[0].weight.shape[1],) + tuple(layer.weight.shape[0] for layer in layers)
    offsets = [sum(sizes[:k]) for k in range(len(sizes) + 1)]
    n = offsets[-1]
    dtype = jnp.result_type(*(layer.weight for layer in layers))
    w = jnp.zeros((n, n), dtype)
    b = jnp.zeros((n,), dtype)
    for k, layer in enumerate(layers):
        rows = slice(offsets[k + 1], offsets[k + 2])
        w = w.at[rows, offsets[k]:offsets[k + 1]].set(layer.weight.astype(dtype))
        if layer.bias is not None:
            b = b.at[rows].set(layer.bias.astype(dtype))
    acts = [layer.activation for layer in layers]
    if all(f is acts[0] for f in acts):
        activation = acts[0]
    else:
        activation = LayeredActivation(tuple(zip(sizes, [acts[0]] + acts)))
    return Network(w, b, activation=activation, m=m,
                   inputs=range(offsets[0], offsets[1]), outputs=range(offsets[-2], offsets[-1]))


def network_from_mlp(mlp: eqx.nn.MLP, m=0.0) -> Network:
    """The §2 network (2) of an ``eqx.nn.MLP``: :func:`network_from_model` for an MLP.

    Neuron order: inputs first, then each layer's outputs (N = in + Σ widths); input neurons get
    zero bias and no incoming edges. When ``activation is final_activation`` the network has that
    one f on every neuron (eq. (1)); otherwise (e.g. the default identity output) f is the hidden
    activation on the inputs and hidden neurons and the final one on the outputs. Jit-compatible.
    """
    if not isinstance(mlp, eqx.nn.MLP):
        raise TypeError(f"network_from_mlp needs an eqx.nn.MLP, got {type(mlp).__name__}; "
                        "use network_from_model for other models")
    return network_from_model(mlp, m)


def _as_network(model) -> Network:
    if isinstance(model, Network):
        return model
    try:
        return network_from_model(model)
    except TypeError as e:
        raise TypeError(f"expected a nnworld_jax.Network or an equinox model of Linear layers (eqx.nn.MLP, "
                        f"eqx.nn.Sequential, ...): {e}") from None


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

    def reg(model) -> FloatScalar:
        return strength * free_energy(_as_network(model), beta, method=method)

    return reg


class TeacherStudent(NamedTuple):
    """Data of a teacher–student regression task: inputs, noisy teacher outputs, the teacher."""

    x: Array
    y: Array
    teacher: eqx.nn.MLP


def teacher_student_task(*, key: Key, in_size: int = 4, out_size: int = 2, width: int = 8,
                         depth: int = 2, n_data: int = 256, noise: float = 0.01) -> TeacherStudent:
    """A random tanh teacher MLP and ``n_data`` noisy samples of it (generated, nothing fetched).

    The teacher is ``equinox.nn.MLP(in_size, out_size, width, depth)`` with tanh everywhere (one f,
    eq. (2)); inputs are standard normal, outputs the teacher's plus Gaussian noise of std ``noise``.
    ``key`` (keyword-only, as in equinox) draws the teacher, the inputs and the noise.
    """
    for name, v in (("in_size", in_size), ("out_size", out_size), ("width", width), ("n_data", n_data)):
        if int(v) != v or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if depth < 0 or int(depth) != depth:
        raise ValueError(f"depth must be a non-negative integer, got {depth!r}")
    if not (float(noise) >= 0 and jnp.isfinite(noise)):
        raise ValueError(f"noise must be finite and >= 0, got {noise!r}")
    return _teacher_student(key, int(in_size), int(out_size), int(width), int(depth), int(n_data), float(noise))


@eqx.filter_jit  # one program per size (eagerly, the MLP's initialization compiled one per operation)
def _teacher_student(key, in_size: int, out_size: int, width: int, depth: int, n_data: int, noise: float):
    k_t, k_x, k_n = jax.random.split(key, 3)
    teacher = eqx.nn.MLP(in_size, out_size, width, depth, activation=jnp.tanh,
                         final_activation=jnp.tanh, key=k_t)
    x = jax.random.normal(k_x, (n_data, in_size))
    y = jax.vmap(teacher)(x) + noise * jax.random.normal(k_n, (n_data, out_size))
    return TeacherStudent(x, y, teacher)


class TrainingHistory(NamedTuple):
    loss: Array  # (steps,) data loss (mean squared error)
    thermo: Thermodynamics  # each field (steps,)


def train_student(task: TeacherStudent, beta, *, key: Key, steps: int = 300,
                  learning_rate: float = 1e-2, regularization: float = 0.0,
                  method: Method = "paper",
                  optimizer: optax.GradientTransformation | None = None) -> tuple[eqx.nn.MLP, TrainingHistory]:
    """Fixed-β MSE training: a student MLP (the teacher's architecture) trained on the data's mean
    squared error, recording F (6), U (10), S_x (13), S_0 and C (14) of the free network at every
    step inside one ``lax.scan``.

    This is ordinary supervised training observed through §3's quantities, not the paper's
    learning: the data never enter Z or U here (U is that of the free network, eq. (10)), and
    nothing makes U decrease. The paper's learning, which lowers U toward (11), is :func:`learn`.

    Arguments:
        task: a :class:`TeacherStudent`.
        beta: inverse temperature β > 0 of the recorded thermodynamics (fixed).
        key: PRNG key of the student's initialization (keyword-only, as in equinox).
        steps: number of optimizer steps.
        learning_rate: Adam's step size when ``optimizer`` is None.
        regularization: adds ``regularization * F`` (:func:`free_energy_regularizer`) to the loss.
        method: ``"paper"`` (eq. (7)) or ``"laplace"``.
        optimizer: any ``optax.GradientTransformation``; default ``optax.adam(learning_rate)``.

    Returns: the trained MLP and a :class:`TrainingHistory` (values after each step).
    """
    beta = check_positive(check_scalar(as_float(beta, "beta"), "beta"), "beta")
    t = task.teacher
    student = eqx.nn.MLP(t.in_size, t.out_size, t.width_size, t.depth, activation=jnp.tanh,
                         final_activation=jnp.tanh, key=key)
    reg = free_energy_regularizer(beta, regularization, method=method)
    opt = optax.adam(learning_rate) if optimizer is None else optimizer
    params, static = eqx.partition(student, eqx.is_inexact_array)

    def loss_fn(p):
        model = eqx.combine(p, static)
        mse = jnp.mean((jax.vmap(model)(task.x) - task.y) ** 2)
        total = mse + reg(model) if regularization else mse
        return total, mse

    def one_step(carry, _):
        p, opt_state = carry
        (_, mse), grads = jax.value_and_grad(loss_fn, has_aux=True)(p)
        with jax.numpy_dtype_promotion("standard"):  # optax mixes its int32 step count with floats
            updates, opt_state = opt.update(grads, opt_state, p)
        p = optax.apply_updates(p, updates)
        return (p, opt_state), (mse, thermo_metrics(eqx.combine(p, static), beta, method=method))

    (params, _), (loss, thermo) = jax.lax.scan(one_step, (params, opt.init(params)), None, length=steps)
    return eqx.combine(params, static), TrainingHistory(loss, thermo)


# --- Learning that lowers the paper's U (10): data clamp the boundary neurons -----------------


def boundary_neurons(net: Network) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(boundary, bulk) neuron indices of §2 (the projections of eq. (4)): N_∂ = N_in + N_out, the rest bulk.

    A data sample lists values for ``boundary`` in this order. Raises if the network has no boundary
    neuron or no bulk neuron (then there is nothing to clamp or nothing to fluctuate).
    """
    bnd = tuple(net.inputs) + tuple(i for i in net.outputs if i not in net.inputs)
    bulk = tuple(i for i in range(net.n) if i not in set(bnd))
    if not bnd:
        raise ValueError("the network has no boundary neurons (Network(..., inputs=..., outputs=...)): "
                         "the data have nothing to clamp")
    if not bulk:
        raise ValueError("the network has no bulk neurons: every neuron is clamped, the ensemble (5) is empty")
    return bnd, bulk


Clamp = Literal["boundary", "inputs"]
CLAMPS = ("boundary", "inputs")


def _split(net: Network, clamp: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(clamped, free) neuron indices: the §2 boundary and bulk, or the inputs and the rest."""
    if clamp not in CLAMPS:
        raise ValueError(f"clamp must be one of {CLAMPS}, got {clamp!r}")
    if clamp == "boundary":
        return boundary_neurons(net)
    if not net.inputs:
        raise ValueError("the network has no input neurons (Network(..., inputs=...)): the data have nothing "
                         "to clamp")
    free = tuple(i for i in range(net.n) if i not in set(net.inputs))
    if not free:
        raise ValueError("the network has no neuron besides its inputs: the ensemble (5) is empty")
    return tuple(net.inputs), free


def _clamp(net: Network, values, x_free, clamp: str = "boundary"):
    fixed, free = _split(net, clamp)
    x = jnp.zeros(net.n, net.w.dtype).at[jnp.asarray(fixed)].set(values)
    return x.at[jnp.asarray(free)].set(x_free)


def _clamped_h(net: Network, x, clamp: str):
    """The loss (3) that the free neurons feel. ``"boundary"``: the whole H(x) (as :func:`learn` has
    always used). ``"inputs"``: the terms of the non-input neurons only, ½ Σ_{i ∉ in} (x_i - f(y_i))²
    - (m/2) Σ_{i ∉ in} x_i²: an input neuron is set by the data, not by the dynamics (1), and its own
    term does not depend on the free state of a layered net (no incoming edges)."""
    if clamp == "boundary":
        return bulk_loss(net, x)
    keep = jnp.ones(net.n, net.w.dtype).at[jnp.asarray(net.inputs)].set(0.0)
    r = (x - net.activation(net.w @ x + net.b)) * keep
    return 0.5 * jnp.vdot(r, r) - 0.5 * net.m * jnp.vdot(x * keep, x)


def _check_sample(net: Network, values, name: str = "values", clamp: str = "boundary"):
    fixed, _ = _split(net, clamp)
    values = as_float(values, name, net.w.dtype)
    check_vector(values, name, len(fixed))
    return check_finite(values, name)


def clamped_mean_state(net: Network | eqx.Module, values, *, max_steps: int = 64, clamp: Clamp = "boundary") -> State:
    """The mean state x* of the free neurons with the clamped neurons held at ``values`` (§2's boundary).

    x* is the stationary point ∂H/∂x_free = 0 of the loss (3) that the free neurons feel
    (``clamp="boundary"``: the boundary neurons, inputs and outputs of :func:`boundary_neurons`,
    clamped, the whole H; ``clamp="inputs"``: the input neurons clamped, H without their own terms,
    docs/conventions.md "Data-conditioned thermodynamics"). Newton's method (optimistix) from 8
    clamped iterations of (1)-(2) (for a layered net of depth ≤ 8 with the inputs clamped and m = 0,
    those iterations are already the forward pass, x* exactly); derivatives with respect to the
    network and the data go through the implicit function theorem.

    Arguments:
        net: a :class:`Network` or an equinox model (:func:`network_from_model`).
        values: (N_clamped,) one data sample: inputs then outputs (order of :func:`boundary_neurons`)
            for ``"boundary"``, the input values for ``"inputs"``.
        max_steps: Newton's step limit (an integer >= 1).
        clamp: ``"boundary"`` (default) or ``"inputs"``.

    Returns: the full state (N,): ``values`` on the clamped neurons, x*_free on the others.
    """
    net = _as_network(net)
    max_steps = check_count(max_steps, "max_steps")
    values = _check_sample(net, values, clamp=clamp)
    w = check_finite(net.w, "w")
    b = check_finite(net.b, "b")
    net = eqx.tree_at(lambda n: (n.w, n.b), net, (w, b))
    _, free = _split(net, clamp)
    idx = jnp.asarray(free)

    def warm_start(k, xf):
        return step(net, _clamp(net, values, xf, clamp))[idx]

    xf0 = jax.lax.fori_loop(0, 8, warm_start, jnp.zeros(len(free), net.w.dtype))
    xf0 = jax.lax.stop_gradient(jnp.where(jnp.all(jnp.isfinite(xf0)), xf0, jnp.zeros_like(xf0)))
    # Newton: near machine precision of the dtype
    rtol = dtype_tol(net.w.dtype, float64=1e-12, float32=1e-5)
    atol = dtype_tol(net.w.dtype, float64=1e-14, float32=1e-6)
    grad_h = jax.grad(lambda xf, n, v: _clamped_h(n, _clamp(n, v, xf, clamp), clamp))
    sol = optx.root_find(lambda xf, a: grad_h(xf, *a), optx.Newton(rtol=rtol, atol=atol), xf0,
                         args=(net, values), max_steps=max_steps, throw=True)
    return _clamp(net, values, sol.value, clamp)


def clamped_thermodynamics(net: Network | eqx.Module, beta, values, *, method: Method = "paper",
                           clamp: Clamp = "boundary") -> Thermodynamics:
    """F (6), U (10), S_x (13), S_0, C (12)-(14) of the free neurons with the clamped ones held at data.

    Z(β, b, w | data) = ∫d^n x_free exp(-βH(x)), H the loss (3) that the free neurons feel
    (:func:`clamped_mean_state`), n = number of free neurons. Gaussian forms about the clamped mean
    state x*: G = J_fᵀJ_f with J_f the free columns (and, for ``"inputs"``, the non-input rows) of
    J = I - diag(f′(w x* + b)) w (eqs. (8)-(9)), and

    * ``"paper"``: log Z = -βH* + (n/2) log 2π - ½ log det((1 - βm)I + βG), i.e. eq. (7) times
      exp(-βH*) (the paper prints (7) for H* = 0);
    * ``"laplace"``: log Z = -βH* + (n/2) log(2π/β) - ½ log det(G - mI).

    Every quantity is a β-derivative of βF by ``jax.jvp``, as in :func:`nnworld_jax.thermodynamics`;
    S_0 = (n/2)(1 + log(2π/β)) and C = S_x - S_0 (docs/conventions.md §1). U = H* + (fluctuation
    part). With ``clamp="boundary"`` the data's supervised error at x* enters U, which :func:`learn`
    lowers; with ``clamp="inputs"`` (the data-conditioned metrics of a model, docs/conventions.md
    "Data-conditioned thermodynamics") H* = 0 for a feed-forward net with m = 0 and the data enter
    through f′(y*) in G.

    Arguments:
        net: a :class:`Network` or an equinox model (:func:`network_from_model`).
        beta: inverse temperature β > 0, scalar.
        values: (N_clamped,) one data sample (see :func:`clamped_mean_state`).
        method: ``"paper"`` or ``"laplace"``.
        clamp: ``"boundary"`` (inputs and outputs; default) or ``"inputs"``.

    Returns: a :class:`Thermodynamics` of scalars (loss units for F, U; nats for entropies).
    """
    _check_method(method)
    net = _as_network(net)
    dtype = net.w.dtype
    beta = check_positive(check_scalar(as_float(beta, "beta", dtype), "beta"), "beta")
    x = clamped_mean_state(net, values, clamp=clamp)
    fixed, free = _split(net, clamp)
    slope = activation_slope(net, preactivation(net, x))
    jac = (jnp.eye(net.n, dtype=dtype) - slope[:, None] * net.w)[:, jnp.asarray(free)]
    if clamp == "inputs":
        jac = jac[jnp.asarray(free), :]
    g = jac.T @ jac
    h_star = _clamped_h(net, x, clamp)

    def beta_f(bt):  # βF(β) = -log Z(β)
        log_z = _log_partition_from_operator(g, bt, net.m, h_star, method)
        return -log_z + (bt * h_star if method == "paper" else 0.0)

    return _thermo_from_logdet(beta_f, beta, len(free))


def data_thermodynamics(net: Network | eqx.Module, beta, data, *, method: Method = "paper",
                        clamp: Clamp = "boundary") -> Thermodynamics:
    """:func:`clamped_thermodynamics` averaged over a data set: the per-sample F, U (10), S_x, S_0, C.

    The data set is P independent copies of the network, each with its clamped neurons held at one
    sample; Z is their product, so F, U and the entropies are sums and the average is per copy.
    With ``clamp="boundary"`` this U is the average loss that the paper's learning lowers (§3,
    (10)-(11)); with ``clamp="inputs"`` it is the data-conditioned metric of a model.

    Arguments: ``data`` (P, N_clamped), one sample per row (order of :func:`boundary_neurons` for
    ``"boundary"``, the inputs for ``"inputs"``); the rest as :func:`clamped_thermodynamics`.
    """
    net = _as_network(net)
    data = _check_data(net, data, clamp)
    per_sample = jax.vmap(lambda v: clamped_thermodynamics(net, beta, v, method=method, clamp=clamp))(data)
    return jax.tree_util.tree_map(jnp.mean, per_sample)


def _trainable(net: Network, edges) -> tuple[Array, Array]:
    """Masks of the trained weights and biases: the edges of ``edges`` (default: the edges present in
    w), and every bias except the input neurons' (the data set the inputs)."""
    w_mask = (net.w != 0) if edges is None else jnp.asarray(edges, bool)
    if w_mask.shape != net.w.shape:
        raise ValueError(f"edges must have the shape of w {net.w.shape}, got {w_mask.shape}")
    b_mask = jnp.ones(net.n, bool).at[jnp.asarray(net.inputs, int)].set(False) if net.inputs else jnp.ones(net.n, bool)
    return w_mask.astype(net.w.dtype), b_mask.astype(net.w.dtype)


class LearningHistory(NamedTuple):
    """A run of :func:`learn`: the data thermodynamics before each step and the gradient norm."""

    thermo: Thermodynamics  # each field (steps,): F, U (10), S_x, S_0, C, heat capacity of the data ensemble
    grad_norm: Array  # (steps,) ‖∂U/∂(w, b)‖₂ over the trained entries; (11) is grad_norm = 0


@functools.partial(jax.jit, static_argnames="method")
def _average_loss(net: Network, beta, data, method: Method):
    """U (10) and the data thermodynamics, as one jitted program: learning traces U in several places
    (the step, L-BFGS's line search, the equilibrium's end), and optimistix's Newton solve inside
    takes ~1 s to trace; jit traces it once per shape and every caller reuses that trace. Only
    :func:`learn` and :func:`learning_equilibrium` call it, after checking their inputs, so the
    kernels' per-evaluation checks are left out (``validated``) and the loop's result is checked."""
    with validated():
        th = data_thermodynamics(net, beta, data, method=method)
    return th.average_loss, th


def _objective(net: Network, beta, data, method, edges):
    w_mask, b_mask = _trainable(net, edges)

    def u_of(params):
        # U runs unchecked (_average_loss); one check of the iterate keeps a step that puts NaN in the
        # weights from reaching the Newton solve inside U, whose own error would not say why.
        w, b = check(params, ~jnp.all(jnp.isfinite(params[0])) | ~jnp.all(jnp.isfinite(params[1])), _DIVERGED)
        return _average_loss(eqx.tree_at(lambda n: (n.w, n.b), net, (w, b)), beta, data, method)

    def value_and_grad(params):
        (u, th), (gw, gb) = jax.value_and_grad(u_of, has_aux=True)(params)
        grads = (gw * w_mask, gb * b_mask)
        norm = jnp.sqrt(jnp.sum(grads[0] ** 2) + jnp.sum(grads[1] ** 2))
        return u, th, grads, norm

    return u_of, value_and_grad


def _check_data(net: Network, data, clamp: str = "boundary"):
    data = as_float(data, "data", net.w.dtype)
    fixed, _ = _split(net, clamp)
    if data.ndim != 2 or data.shape[1] != len(fixed) or data.shape[0] == 0:
        what = "boundary neurons" if clamp == "boundary" else "input neurons"
        raise ValueError(f"data must have shape (P, {len(fixed)}) (one sample of the {what} per row, "
                         f"P >= 1), got {data.shape}")
    return check_finite(data, "data")


def _check_learning_inputs(net: Network, beta, data):
    # Everything U reads, checked once here: U itself runs unchecked (_average_loss).
    net = _check_network(net)
    beta = check_positive(check_scalar(as_float(beta, "beta", net.w.dtype), "beta"), "beta")
    return net, beta, _check_data(net, data)


_DIVERGED = ("learning diverged: the weights, U (10) or its gradient became NaN or inf (a smaller step size, "
             "or a beta inside the domain of (7))")


def _check_learned(net: Network, w, b, norm):
    """The network with the learned (w, b), and ``norm``: an error if either or the gradient norm went
    NaN/inf along the run (U is evaluated unchecked inside the loop; this is its one check)."""
    bad = ~jnp.all(jnp.isfinite(norm)) | ~jnp.all(jnp.isfinite(w)) | ~jnp.all(jnp.isfinite(b))
    w, b, norm = check((w, b, norm), bad, _DIVERGED)
    return eqx.tree_at(lambda n: (n.w, n.b), net, (w, b)), norm


def learn(net: Network, data, beta, *, steps: int = 200, optimizer: optax.GradientTransformation | None = None,
          method: Method = "paper", edges=None) -> tuple[Network, LearningHistory]:
    """The paper's learning (§3): lower the average loss U (10) of the data ensemble at fixed β.

    U = ⟨H⟩ of :func:`data_thermodynamics`, the data clamping the boundary neurons (module
    docstring). Each step applies ``optimizer`` to ∂U/∂(w, b) (the trained entries only: see
    ``edges``); the history records F, U, S_x, S_0, C before each step and ‖∂U/∂(w, b)‖, so the
    second law (15), dS_x/dt ≤ 0, can be read along it (:func:`laws_of_learning`).

    Arguments:
        net: the initial network (with ``inputs`` and ``outputs``).
        data: (P, N_∂) samples of the boundary neurons.
        beta: inverse temperature β > 0, held fixed (the paper lets β⁻¹ decrease as learning
            progresses; a fixed β isolates the change of S_x due to (b, w), since S_0(β) is then constant).
        steps: optimizer steps (one ``lax.scan``).
        optimizer: any ``optax.GradientTransformation`` (extra-args ones such as ``optax.lbfgs`` get
            value, grad and value_fn); default ``optax.sgd(0.05)``, discretized gradient flow.
        method: ``"paper"`` or ``"laplace"`` (:func:`clamped_thermodynamics`).
        edges: (N, N) bool, the trained weights; default the nonzero entries of ``net.w`` (learning
            keeps the architecture). Input neurons' biases are not trained.

    Returns: the network after ``steps`` steps and a :class:`LearningHistory`.
    """
    net, beta, data = _check_learning_inputs(net, beta, data)
    opt = optax.with_extra_args_support(optax.sgd(0.05) if optimizer is None else optimizer)
    u_of, value_and_grad = _objective(net, beta, data, method, edges)
    params = (net.w, net.b)

    def one_step(carry, _):
        p, state = carry
        u, th, grads, norm = value_and_grad(p)
        with jax.numpy_dtype_promotion("standard"):  # optax mixes its int32 step count with floats
            updates, state = opt.update(grads, state, p, value=u, grad=grads, value_fn=lambda q: u_of(q)[0])
        return (optax.apply_updates(p, updates), state), (th, norm)

    ((w, b), _), (thermo, norm) = jax.lax.scan(one_step, (params, opt.init(params)), None, length=steps)
    out, norm = _check_learned(net, w, b, norm)
    return out, LearningHistory(thermo, norm)


class LearningEquilibrium(NamedTuple):
    """The end of :func:`learning_equilibrium`: the data thermodynamics there and the criterion."""

    thermo: Thermodynamics  # scalars at the equilibrium
    grad_norm: Array  # ‖∂U/∂(w, b)‖₂ reached (≤ gtol when converged)
    steps: Array  # optimizer steps taken
    converged: Array  # bool: grad_norm ≤ gtol


def learning_equilibrium(net: Network, data, beta, *, gtol=None, max_steps: int = 2000,
                         optimizer: optax.GradientTransformation | None = None, method: Method = "paper",
                         edges=None) -> tuple[Network, LearningEquilibrium]:
    """Learn until the learning equilibrium (11): ∂U/∂w = ∂U/∂b = 0, to ‖∂U/∂(w, b)‖₂ ≤ gtol.

    Same objective as :func:`learn`, in a ``lax.while_loop`` that stops when the criterion holds or
    after ``max_steps`` (then ``converged`` is False; callers must look). Default optimizer
    ``optax.lbfgs()`` (with its line search). Default ``gtol``: 1e-6 in float64, 1e-4 in float32
    (a float32 U carries ~1e-7 relative rounding, its implicit-function gradient ~1e-5; 1e-4 is
    reachable, and a point within gtol of (11) changes U by O(gtol²/curvature), below either dtype's
    resolution of the first-law increments).
    """
    net, beta, data = _check_learning_inputs(net, beta, data)
    if gtol is None:
        gtol = dtype_tol(net.w.dtype, float64=1e-6, float32=1e-4)
    gtol = check_positive(check_scalar(as_float(gtol, "gtol", net.w.dtype), "gtol"), "gtol")
    opt = optax.with_extra_args_support(optax.lbfgs() if optimizer is None else optimizer)
    u_of, value_and_grad = _objective(net, beta, data, method, edges)
    params = (net.w, net.b)
    u, th, grads, norm = value_and_grad(params)

    def cond(carry):
        k, _, _, _, _, norm = carry
        return (k < max_steps) & (norm > gtol)

    def body(carry):
        k, p, state, u, grads, _ = carry
        with jax.numpy_dtype_promotion("standard"):  # optax mixes its int32 step count with floats
            updates, state = opt.update(grads, state, p, value=u, grad=grads, value_fn=lambda q: u_of(q)[0])
        p = optax.apply_updates(p, updates)
        u, _, grads, norm = value_and_grad(p)
        return k + 1, p, state, u, grads, norm

    k, (w, b), _, _, _, norm = jax.lax.while_loop(
        cond, body, (jnp.asarray(0), params, opt.init(params), u, grads, norm))
    out, norm = _check_learned(net, w, b, norm)
    _, th = _average_loss(out, beta, data, method)
    return out, LearningEquilibrium(th, norm, k, norm <= gtol)


class LawsOfLearning(NamedTuple):
    """What a history shows about the second law (15) and the first-law residual (17)."""

    entropy_decrease_fraction: Array  # fraction of steps with ΔS_x ≤ 0 (the paper's (15): 1)
    net_entropy_change: Array  # S_x(end) - S_x(start)
    first_law_residual: Array  # Σ|ΔU - TΔS_x| / Σ|ΔU| over the window (= Σ|ΔF|/Σ|ΔU| at fixed T)


def laws_of_learning(history: TrainingHistory | LearningHistory, beta, *, start: int = 0) -> LawsOfLearning:
    """Read (15) dS_x/dt ≤ 0 and the residual of (17) dU = T dS_x on steps ``start:`` of a history.

    Works on a :class:`LearningHistory` (:func:`learn`, the paper's learning) or a
    :class:`TrainingHistory` (:func:`train_student`, fixed-β MSE training). At fixed T = 1/β,
    dS_0 = 0 and dU - T dS_x = dF identically, so the residual is Σ|ΔF| / Σ|ΔU|: along learning it
    measures how far the steps are from the paper's premise dF = 0, which (16)-(17) state for
    transitions *between equilibria* (:func:`first_law`), not along non-equilibrium steps.
    A NaN or inf in the history is an error.
    """
    beta = check_positive(check_scalar(as_float(beta, "beta"), "beta"), "beta")
    s_all = history.thermo.entropy
    if jnp.ndim(s_all) != 1:
        raise ValueError(f"history fields must be 1-D over steps, got shape {jnp.shape(s_all)}; use jax.vmap for a batch")
    if not 0 <= start <= s_all.shape[0] - 2:
        raise ValueError(f"start must leave at least two steps: 0 <= start <= {s_all.shape[0] - 2}, got {start}")
    s = check_finite(s_all[start:], "history entropy S_x")
    u = check_finite(history.thermo.average_loss[start:], "history average loss U")
    ds, du = jnp.diff(s), jnp.diff(u)
    residual = jnp.sum(jnp.abs(du - ds / beta)) / jnp.sum(jnp.abs(du))
    return LawsOfLearning(jnp.mean((ds <= 0).astype(s.dtype)), s[-1] - s[0], residual)


class FirstLaw(NamedTuple):
    """The terms of (16)-(17) between two states at one temperature T (all scalars)."""

    du: Array  # dU
    t_ds: Array  # T dS_x
    t_ds0: Array  # T dS_0 (0 at constant T: S_0 depends on β only)
    t_dc: Array  # T dC
    df: Array  # dF; (17) dU = T dS_x holds iff dF = 0, the paper's stated condition


def first_law(a: Thermodynamics, b: Thermodynamics, beta) -> FirstLaw:
    """The increments of (16)-(17), dU = T dS_x = T dS_0 + T dC, from state ``a`` to state ``b`` at T = 1/β.

    For "a system transitioning between equilibrium states at constant temperature" the paper
    states "variations of the free energy must vanish, dF = 0, and then Equation (12) takes the form
    of the first law". Since S_x = β(U - F) (13) at one β, du - t_ds = df exactly; the measurement is
    whether df = 0 between two learning equilibria (:func:`learning_equilibrium`).
    """
    beta = check_positive(check_scalar(as_float(beta, "beta"), "beta"), "beta")
    fields = [check_finite(jnp.asarray(v), f"thermodynamics field {k}") for k, v in
              zip(Thermodynamics._fields, jax.tree_util.tree_map(lambda p, q: q - p, tuple(a), tuple(b)))]
    d = Thermodynamics(*fields)
    t = 1.0 / beta
    return FirstLaw(d.average_loss, t * d.entropy, t * d.thermodynamic_entropy, t * d.complexity, d.free_energy)
