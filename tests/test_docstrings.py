"""Docstrings: examples run as written, and every public physics function names its equation."""

import doctest
import inspect
import re

import jax
import pytest

import nnworld_jax as nw
from nnworld_jax import (curvature, entropic, fokker_planck, gravity, grid, hamilton_jacobi, hidden,
                         minimal_coupling, network_gravity, holography, lanczos, sparse, learning, metrics, network, partition, quantum, reduced_gravity,
                         strings, thermo, training)

# Utilities that implement no equation of the paper.
NOT_PHYSICS = {"set_precision", "default_dtype", "rtol", "logdet_spd", "network_from_mlp",
               "teacher_student_task", "reference", "ACTIVATIONS", "MonteCarloEstimate",
               "TeacherStudent", "TrainingHistory", "LawsOfLearning", "Thermodynamics",
               "SparseWeights", "LogDetEstimate", "FreeEnergyEstimate",
               # time-stepping and grid plumbing shared by the physics modules
               "normalize", "norm",
               "unwrap_phase", "apply_filter", "Grid", "check_field", "on_points",
               # batch-experiment plumbing (issue #6)
               "batch_map", "run_chunked",
               # holography's own OU model (no paper equation; issue #19)
               "stationary_covariance", "ou_entropy_production"}
from nnworld_jax.emergence import learning_fokker_planck, learning_laws_ensemble, permutation_waves  # noqa: E402

PHYSICS_MODULES = [fokker_planck, entropic, quantum, hamilton_jacobi, hidden, strings, curvature, gravity, reduced_gravity,
                   minimal_coupling, network_gravity, holography, sparse, lanczos,
                   training, learning_fokker_planck, learning_laws_ensemble, permutation_waves]
EQUATION = re.compile(r"[Ee]qs?\. \(\d+\)|\(\d+\)-\(\d+\)|\(\d+\)")


@pytest.mark.parametrize("module", [network, partition, thermo, learning, grid, metrics, *PHYSICS_MODULES],
                         ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_docstring_examples_run(module):
    # A reader pastes an example into a fresh interpreter, where JAX computes in float32: the examples
    # run with x64 off (this suite otherwise turns it on), and an example whose figures need float64
    # says so with set_precision("float64"). x64 is restored after, whatever the example set.
    jax.config.update("jax_enable_x64", False)
    try:
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    finally:
        jax.config.update("jax_enable_x64", True)
    assert result.failed == 0


def _public_callables(namespace, module_name=None):
    for name in dir(namespace):
        obj = getattr(namespace, name)
        if name.startswith("_") or name.isupper() or name in NOT_PHYSICS or not callable(obj) or inspect.ismodule(obj):
            continue
        if module_name and getattr(obj, "__module__", None) != module_name:
            continue  # imported from elsewhere
        if inspect.isclass(obj) and issubclass(obj, tuple):
            continue  # NamedTuple states and results: documented by the function returning them
        yield name, obj


@pytest.mark.parametrize("namespace", [nw, *PHYSICS_MODULES], ids=lambda m: m.__name__)
def test_public_functions_name_their_equation(namespace):
    module_name = None if namespace is nw else namespace.__name__
    missing = [name for name, obj in _public_callables(namespace, module_name)
               if not EQUATION.search(inspect.getdoc(obj) or "")]
    assert not missing, f"public functions without a paper equation in their docstring: {missing}"


def test_functional_derivative_names_its_role():
    # The grid layer implements no paper equation but is where every EOM comes from.
    assert "jax.grad" in inspect.getdoc(grid.functional_derivative)
