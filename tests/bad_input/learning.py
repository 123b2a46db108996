"""Bad input for nnworld_jax.learning: MLP conversion, metrics, training, the paper's learning, laws."""

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from nnworld_jax import learning as ln
from nnworld_jax.network import Network
from nnworld_jax.thermo import Thermodynamics

from ._harness import Case

MLP = eqx.nn.MLP(2, 1, 2, 1, activation=jnp.tanh, final_activation=jnp.tanh, key=jax.random.PRNGKey(0))
NET = ln.network_from_mlp(MLP)  # N = 5: inputs (0, 1), bulk (2, 3), output (4)
FREE = Network(0.3 * jnp.eye(3), jnp.zeros(3))  # no boundary neurons
SAMPLE = jnp.array([0.5, -0.3, 0.2])
DATA = jnp.array([[0.5, -0.3, 0.2], [-0.1, 0.4, -0.6]])
NAN_NET = eqx.tree_at(lambda n: n.w, NET, NET.w.at[2, 0].set(jnp.nan))
KEY = jax.random.PRNGKey(0)
TASK = ln.TeacherStudent(jnp.zeros((4, 2)), jnp.zeros((4, 1)), MLP)


def _thermo(n):
    return Thermodynamics(*(jnp.linspace(1.0, 2.0, n) for _ in Thermodynamics._fields))


HIST = ln.LearningHistory(_thermo(5), jnp.zeros(5))
NAN_HIST = ln.LearningHistory(_thermo(5)._replace(entropy=jnp.linspace(1.0, 2.0, 5).at[2].set(jnp.nan)), jnp.zeros(5))
STATE = Thermodynamics(*(jnp.asarray(1.0) for _ in Thermodynamics._fields))


def run(fn, *args, **kw):
    return lambda: jax.block_until_ready(fn(*args, **kw))


CASES = [
    Case("learning.network_from_mlp", "relu hidden activation (a kink where f'' is needed)",
         run(ln.network_from_mlp, eqx.nn.MLP(2, 1, 2, 1, activation=jax.nn.relu, key=jax.random.PRNGKey(0))),
         "kink"),
    Case("learning.network_from_mlp", "not an MLP", run(ln.network_from_mlp, [eqx.nn.Linear(2, 1, key=KEY)]),
         "needs an eqx.nn.MLP"),
    Case("learning.network_from_model", "a conv layer", run(ln.network_from_model, [eqx.nn.Conv1d(1, 1, 3, key=KEY)]),
         "expected eqx.nn.Linear layers"),
    Case("learning.network_from_model", "layers that do not chain",
         run(ln.network_from_model, [eqx.nn.Linear(2, 3, key=KEY), jnp.tanh, eqx.nn.Linear(4, 1, key=KEY)]),
         "do not chain"),
    Case("learning.model_layers", "two activations in a row",
         run(ln.model_layers, [eqx.nn.Linear(2, 3, key=KEY), jnp.tanh, jnp.tanh]), "must follow an eqx.nn.Linear"),
    Case("learning.model_layers", "integer weights",
         run(ln.model_layers, [eqx.tree_at(lambda l: l.weight, eqx.nn.Linear(2, 3, key=KEY), jnp.ones((3, 2), int))]),
         "weight must be a floating array"),
    Case("learning.layer_sizes", "no Linear layer", run(ln.layer_sizes, []), "no eqx.nn.Linear layer"),
    Case("learning.check_activation", "clip (kinks at ±1)", run(ln.check_activation, lambda y: jnp.clip(y, -1, 1)),
         "not twice differentiable"),
    Case("learning.check_activation", "not elementwise", run(ln.check_activation, lambda y: y - jnp.mean(y)),
         "not elementwise"),
    Case("learning.check_activation", "not a function of arrays", run(ln.check_activation, lambda y: y.nonexistent),
         "not a differentiable elementwise function"),
    Case("learning.thermo_metrics", "not a network", run(ln.thermo_metrics, object(), 1.0), "Network or an equinox"),
    Case("learning.thermo_metrics", "beta = 0", run(ln.thermo_metrics, MLP, 0.0), "beta must be finite and > 0",
         kind="domain"),
    Case("learning.free_energy_regularizer", "beta = -1", run(lambda: ln.free_energy_regularizer(-1.0)(MLP)),
         "beta must be finite and > 0", kind="domain"),
    Case("learning.teacher_student_task", "n_data = 0", run(ln.teacher_student_task, key=jax.random.PRNGKey(0), n_data=0),
         "n_data must be"),
    Case("learning.teacher_student_task", "noise = nan",
         run(ln.teacher_student_task, key=jax.random.PRNGKey(0), noise=float("nan")), "noise must be"),
    Case("learning.train_student", "beta = nan", run(ln.train_student, TASK, float("nan"), key=jax.random.PRNGKey(1), steps=2),
         "beta must be finite and > 0", kind="domain"),
    Case("learning.train_student", "beta shape (2,)",
         run(ln.train_student, TASK, jnp.ones(2), key=jax.random.PRNGKey(1), steps=2), "beta must be a scalar"),
    Case("learning.boundary_neurons", "no boundary neurons", run(ln.boundary_neurons, FREE), "no boundary neurons"),
    Case("learning.clamped_mean_state", "sample of the wrong length", run(ln.clamped_mean_state, NET, SAMPLE[:2]),
         r"values must have shape \(3,\)"),
    Case("learning.clamped_mean_state", "NaN in the sample", run(ln.clamped_mean_state, NET, SAMPLE.at[1].set(jnp.nan)),
         "values contains NaN"),
    Case("learning.clamped_mean_state", "unknown clamp", run(ln.clamped_mean_state, NET, SAMPLE, clamp="outputs"),
         "clamp must be one of"),
    Case("learning.clamped_mean_state", "input sample of the wrong length (clamp='inputs')",
         run(ln.clamped_mean_state, MLP, SAMPLE, clamp="inputs"), r"values must have shape \(2,\)"),
    Case("learning.clamped_mean_state", "NaN in w under jit", run(jax.jit(ln.clamped_mean_state), NAN_NET, SAMPLE),
         "w contains NaN", kind="transform"),
    Case("learning.clamped_thermodynamics", "beta = 0", run(ln.clamped_thermodynamics, NET, 0.0, SAMPLE),
         "beta must be finite and > 0", kind="domain"),
    Case("learning.clamped_thermodynamics", "beta < 0 under jit",
         run(jax.jit(ln.clamped_thermodynamics), NET, -2.0, SAMPLE), "beta must be finite and > 0", kind="transform"),
    Case("learning.clamped_thermodynamics", "unknown method",
         run(ln.clamped_thermodynamics, NET, 1.0, SAMPLE, method="exact"), "method must be one of"),
    Case("learning.data_thermodynamics", "data of the wrong width", run(ln.data_thermodynamics, NET, 1.0, DATA[:, :2]),
         r"data must have shape \(P, 3\)"),
    Case("learning.data_thermodynamics", "inf in data under jit",
         run(jax.jit(ln.data_thermodynamics), NET, 1.0, DATA.at[0, 0].set(jnp.inf)), "data contains NaN or inf",
         kind="transform"),
    Case("learning.learn", "beta shape (2,)", run(ln.learn, NET, DATA, jnp.ones(2), steps=1), "beta must be a scalar"),
    Case("learning.learn", "edges of the wrong shape", run(ln.learn, NET, DATA, 1.0, steps=1, edges=jnp.ones((2, 2), bool)),
         "edges must have the shape of w"),
    # U runs unchecked inside the loops (learning._average_loss): the network is checked at entry and
    # the run's result once, so a step that puts NaN in the weights is still an error.
    Case("learning.learn", "NaN in w", run(ln.learn, NAN_NET, DATA, 1.0, steps=2), "w contains NaN or inf"),
    Case("learning.learn", "NaN in w under jit", run(jax.jit(lambda n: ln.learn(n, DATA, 1.0, steps=2)), NAN_NET),
         "w contains NaN or inf", kind="transform"),
    Case("learning.learn", "a step that puts NaN in the weights",
         run(ln.learn, NET, DATA, 1.0, steps=3, optimizer=optax.scale(jnp.nan)), "learning diverged"),
    Case("learning.learn", "a step that puts NaN in the weights, under jit",
         run(jax.jit(lambda n: ln.learn(n, DATA, 1.0, steps=3, optimizer=optax.scale(jnp.nan))), NET),
         "learning diverged", kind="transform"),
    Case("learning.learning_equilibrium", "a step that puts NaN in the weights",
         run(ln.learning_equilibrium, NET, DATA, 1.0, max_steps=3, optimizer=optax.scale(jnp.nan)),
         "learning diverged"),
    Case("learning.learning_equilibrium", "gtol = 0", run(ln.learning_equilibrium, NET, DATA, 1.0, gtol=0.0),
         "gtol must be finite and > 0", kind="domain"),
    Case("learning.learning_equilibrium", "NaN in data",
         run(ln.learning_equilibrium, NET, DATA.at[1, 2].set(jnp.nan), 1.0, optimizer=optax.sgd(0.1)),
         "data contains NaN"),
    Case("learning.laws_of_learning", "NaN in the history", run(ln.laws_of_learning, NAN_HIST, 1.0),
         "history entropy S_x contains NaN"),
    Case("learning.laws_of_learning", "NaN in the history under jit", run(jax.jit(ln.laws_of_learning), NAN_HIST, 1.0),
         "history entropy S_x contains NaN", kind="transform"),
    Case("learning.laws_of_learning", "start leaves one step", run(ln.laws_of_learning, HIST, 1.0, start=4),
         "start must leave at least two steps"),
    Case("learning.laws_of_learning", "beta = inf", run(ln.laws_of_learning, HIST, float("inf")),
         "beta must be finite and > 0", kind="domain"),
    Case("learning.first_law", "beta = 0", run(ln.first_law, STATE, STATE, 0.0), "beta must be finite and > 0",
         kind="domain"),
    Case("learning.first_law", "NaN in a state", run(ln.first_law, STATE, STATE._replace(free_energy=jnp.asarray(jnp.nan)), 1.0),
         "free_energy contains NaN"),
]

EXEMPT = {
    "learning.Layer": "a NamedTuple of one layer's arrays, built by model_layers (which checks them)",
    "learning.LayeredActivation": "a frozen dataclass built by network_from_model from checked activations",
    "learning.TeacherStudent": "a NamedTuple of arrays; the functions that take it check its contents",
    "learning.TrainingHistory": "a NamedTuple of results; laws_of_learning checks what it reads",
    "learning.LearningHistory": "a NamedTuple of results; laws_of_learning checks what it reads",
    "learning.LearningEquilibrium": "a NamedTuple of results",
    "learning.LawsOfLearning": "a NamedTuple of results",
    "learning.FirstLaw": "a NamedTuple of results",
}
