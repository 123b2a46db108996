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

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
import optimistix as optx
from jaxtyping import Array, Float, PRNGKeyArray

from ._checks import as_float, check_finite, check_positive, check_scalar, check_vector
from .network import Network, activation_slope, bulk_loss, preactivation, step
from .partition import Method, _check_method, _log_partition_from_operator, free_energy
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
    """A random tanh teacher MLP and ``n_data`` noisy samples of it (generated, nothing fetched).

    The teacher is ``equinox.nn.MLP(in_size, out_size, width, depth)`` with tanh everywhere (one f,
    eq. (2)); inputs are standard normal, outputs the teacher's plus Gaussian noise of std ``noise``.
    """
    for name, v in (("in_size", in_size), ("out_size", out_size), ("width", width), ("n_data", n_data)):
        if int(v) != v or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if depth < 0 or int(depth) != depth:
        raise ValueError(f"depth must be a non-negative integer, got {depth!r}")
    if not (float(noise) >= 0 and jnp.isfinite(noise)):
        raise ValueError(f"noise must be finite and >= 0, got {noise!r}")
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
                  method: Method = "paper",
                  optimizer: optax.GradientTransformation | None = None) -> tuple[eqx.nn.MLP, TrainingHistory]:
    """Fixed-β MSE training: a student MLP (the teacher's architecture) trained on the data's mean
    squared error, recording F (6), U (10), S_x (13), S_0 and C (14) of the free network at every
    step inside one ``lax.scan``.

    This is ordinary supervised training observed through §3's quantities, not the paper's
    learning: the data never enter Z or U here (U is that of the free network, eq. (10)), and
    nothing makes U decrease. The paper's learning, which lowers U toward (11), is :func:`learn`.

    Arguments:
        key: PRNG key of the student's initialization.
        task: a :class:`TeacherStudent`.
        beta: inverse temperature β > 0 of the recorded thermodynamics (fixed).
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


def _clamp(net: Network, values, x_bulk):
    bnd, bulk = boundary_neurons(net)
    x = jnp.zeros(net.n, net.w.dtype).at[jnp.asarray(bnd)].set(values)
    return x.at[jnp.asarray(bulk)].set(x_bulk)


def _clamped_loss(x_bulk, net: Network, values):
    return bulk_loss(net, _clamp(net, values, x_bulk))


def _check_sample(net: Network, values, name: str = "values"):
    bnd, _ = boundary_neurons(net)
    values = as_float(values, name, net.w.dtype)
    check_vector(values, name, len(bnd))
    return check_finite(values, name)


def clamped_mean_state(net: Network, values, *, max_steps: int = 64) -> Float[Array, " N"]:
    """The mean state x* of the bulk neurons with the boundary neurons clamped to ``values``.

    x* is the stationary point ∂H/∂x_bulk = 0 of the bulk loss (3) over the bulk neurons, the
    boundary neurons (inputs, outputs; :func:`boundary_neurons`) held at the data's values. Newton's
    method (optimistix) from a few clamped iterations of (1)-(2); derivatives with respect to the
    network and the data go through the implicit function theorem.

    Arguments:
        net: a network with boundary and bulk neurons.
        values: (N_∂,) one data sample, inputs then outputs (order of :func:`boundary_neurons`).

    Returns: the full state (N,): ``values`` on the boundary, x*_bulk on the bulk.
    """
    values = _check_sample(net, values)
    w = check_finite(net.w, "w")
    b = check_finite(net.b, "b")
    net = eqx.tree_at(lambda n: (n.w, n.b), net, (w, b))
    _, bulk = boundary_neurons(net)
    idx = jnp.asarray(bulk)

    def warm_start(k, xb):
        return step(net, _clamp(net, values, xb))[idx]

    xb0 = jax.lax.fori_loop(0, 8, warm_start, jnp.zeros(len(bulk), net.w.dtype))
    xb0 = jax.lax.stop_gradient(xb0)
    f64 = jnp.dtype(net.w.dtype) == jnp.float64
    rtol, atol = (1e-12, 1e-14) if f64 else (1e-5, 1e-6)  # Newton: near machine precision of the dtype
    grad_h = jax.grad(_clamped_loss)
    sol = optx.root_find(lambda xb, a: grad_h(xb, *a), optx.Newton(rtol=rtol, atol=atol), xb0,
                         args=(net, values), max_steps=max_steps, throw=True)
    return _clamp(net, values, sol.value)


def clamped_thermodynamics(net: Network, beta, values, *, method: Method = "paper") -> Thermodynamics:
    """F (6), U (10), S_x (13), S_0, C (12)-(14) of the bulk ensemble with the boundary clamped to data.

    Z(β, b, w | data) = ∫d^{N_bulk}x exp(-βH(x)), H the bulk loss (3) with the boundary neurons held
    at ``values``. Gaussian forms about the clamped mean state x* (:func:`clamped_mean_state`):
    G = J_bᵀJ_b with J_b the bulk columns of J = I - diag(f′(w x* + b)) w (eqs. (8)-(9)), and

    * ``"paper"``: log Z = -βH* + (n/2) log 2π - ½ log det((1 - βm)I + βG), i.e. eq. (7) times
      exp(-βH*) (the paper prints (7) for H* = 0);
    * ``"laplace"``: log Z = -βH* + (n/2) log(2π/β) - ½ log det(G - mI),

    with n = N_bulk. Every quantity is a β-derivative of βF by ``jax.jvp``, as in
    :func:`nnworld_jax.thermodynamics`; S_0 = (n/2)(1 + log(2π/β)) and C = S_x - S_0
    (docs/conventions.md §1). U = H* + (fluctuation part): the data's supervised error at x*
    enters U, which :func:`learn` lowers.

    Arguments:
        net: one network with boundary (inputs/outputs) and bulk neurons.
        beta: inverse temperature β > 0, scalar.
        values: (N_∂,) one data sample (order of :func:`boundary_neurons`).
        method: ``"paper"`` or ``"laplace"``.

    Returns: a :class:`Thermodynamics` of scalars (loss units for F, U; nats for entropies).
    """
    _check_method(method)
    dtype = net.w.dtype
    beta = check_positive(check_scalar(as_float(beta, "beta", dtype), "beta"), "beta")
    x = clamped_mean_state(net, values)
    _, bulk = boundary_neurons(net)
    slope = activation_slope(net, preactivation(net, x))
    jac = (jnp.eye(net.n, dtype=dtype) - slope[:, None] * net.w)[:, jnp.asarray(bulk)]
    g = jac.T @ jac
    h_star = bulk_loss(net, x)
    n = len(bulk)

    def beta_f(bt):  # βF(β) = -log Z(β)
        log_z = _log_partition_from_operator(g, bt, net.m, h_star, method)
        return -log_z + (bt * h_star if method == "paper" else 0.0)

    def beta_f_and_u(bt):
        return jax.jvp(beta_f, (bt,), (jnp.ones_like(bt),))

    (bf, u), (_, du_dbeta) = jax.jvp(beta_f_and_u, (beta,), (jnp.ones_like(beta),))
    s = beta * u - bf
    s0 = 0.5 * n * (1.0 + jnp.log(2 * jnp.pi / beta))
    return Thermodynamics(bf / beta, u, s, s0, s - s0, -beta**2 * du_dbeta)


def data_thermodynamics(net: Network, beta, data, *, method: Method = "paper") -> Thermodynamics:
    """:func:`clamped_thermodynamics` averaged over a data set: the per-sample F, U (10), S_x, S_0, C.

    The data set is P independent copies of the network, each with its boundary clamped to one
    sample; Z is their product, so F, U and the entropies are sums and the average is per copy.
    This U is the average loss that the paper's learning lowers (§3, (10)-(11)).

    Arguments: ``data`` (P, N_∂), one sample per row (order of :func:`boundary_neurons`); the rest
    as :func:`clamped_thermodynamics`.
    """
    data = _check_data(net, data)
    per_sample = jax.vmap(lambda v: clamped_thermodynamics(net, beta, v, method=method))(data)
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


def _objective(net: Network, beta, data, method, edges):
    w_mask, b_mask = _trainable(net, edges)

    def u_of(params):
        w, b = params
        th = data_thermodynamics(eqx.tree_at(lambda n: (n.w, n.b), net, (w, b)), beta, data, method=method)
        return th.average_loss, th

    def value_and_grad(params):
        (u, th), (gw, gb) = jax.value_and_grad(u_of, has_aux=True)(params)
        grads = (gw * w_mask, gb * b_mask)
        norm = jnp.sqrt(jnp.sum(grads[0] ** 2) + jnp.sum(grads[1] ** 2))
        return u, th, grads, norm

    return u_of, value_and_grad


def _check_data(net: Network, data):
    data = as_float(data, "data", net.w.dtype)
    bnd, _ = boundary_neurons(net)
    if data.ndim != 2 or data.shape[1] != len(bnd) or data.shape[0] == 0:
        raise ValueError(f"data must have shape (P, {len(bnd)}) (one sample of the boundary neurons per row, "
                         f"P >= 1), got {data.shape}")
    return check_finite(data, "data")


def _check_learning_inputs(net: Network, beta, data):
    beta = check_positive(check_scalar(as_float(beta, "beta", net.w.dtype), "beta"), "beta")
    return beta, _check_data(net, data)


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
    beta, data = _check_learning_inputs(net, beta, data)
    opt = optax.with_extra_args_support(optax.sgd(0.05) if optimizer is None else optimizer)
    u_of, value_and_grad = _objective(net, beta, data, method, edges)
    params = (net.w, net.b)

    def one_step(carry, _):
        p, state = carry
        u, th, grads, norm = value_and_grad(p)
        updates, state = opt.update(grads, state, p, value=u, grad=grads, value_fn=lambda q: u_of(q)[0])
        return (optax.apply_updates(p, updates), state), (th, norm)

    ((w, b), _), (thermo, norm) = jax.lax.scan(one_step, (params, opt.init(params)), None, length=steps)
    return eqx.tree_at(lambda n: (n.w, n.b), net, (w, b)), LearningHistory(thermo, norm)


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
    beta, data = _check_learning_inputs(net, beta, data)
    if gtol is None:
        gtol = 1e-6 if jnp.dtype(net.w.dtype) == jnp.float64 else 1e-4
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
        updates, state = opt.update(grads, state, p, value=u, grad=grads, value_fn=lambda q: u_of(q)[0])
        p = optax.apply_updates(p, updates)
        u, _, grads, norm = value_and_grad(p)
        return k + 1, p, state, u, grads, norm

    k, (w, b), _, _, _, norm = jax.lax.while_loop(
        cond, body, (jnp.asarray(0), params, opt.init(params), u, grads, norm))
    out = eqx.tree_at(lambda n: (n.w, n.b), net, (w, b))
    th = data_thermodynamics(out, beta, data, method=method)
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
