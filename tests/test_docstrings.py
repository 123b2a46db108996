"""Docstrings: examples run as written, and every public physics function names its equation."""

import doctest
import inspect
import re

import pytest

import nnworld_jax as nw
from nnworld_jax import learning, network, partition, thermo

# Utilities that implement no equation of the paper.
NOT_PHYSICS = {"set_precision", "default_dtype", "rtol", "logdet_spd", "network_from_mlp",
               "teacher_student_task", "reference", "ACTIVATIONS", "MonteCarloEstimate",
               "TeacherStudent", "TrainingHistory", "LawsOfLearning", "Thermodynamics"}


@pytest.mark.parametrize("module", [network, partition, thermo, learning])
def test_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_public_functions_name_their_equation():
    missing = []
    for name in dir(nw):
        obj = getattr(nw, name)
        if name.startswith("_") or name in NOT_PHYSICS or not callable(obj) or inspect.ismodule(obj):
            continue
        doc = inspect.getdoc(obj) or ""
        if not re.search(r"[Ee]qs?\. \(\d+\)|\(\d+\)-\(\d+\)|\(\d+\)", doc):
            missing.append(name)
    assert not missing, f"public functions without a paper equation in their docstring: {missing}"
