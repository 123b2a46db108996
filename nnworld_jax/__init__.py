"""nnworld_jax: JAX toolkit for V. Vanchurin, "The world as a neural network" (arXiv:2008.01540).

The names below load on first use (PEP 562): ``import nnworld_jax`` imports neither JAX nor a
physics module, so ``nnworld reproduce`` starts its worker processes before this one imports JAX
(their imports overlap: ~1.5 s of a 45 s ``--quick`` run). ``nw.free_energy``, ``from nnworld_jax
import quantum`` and ``nw.learning`` work as with eager imports; each module loads once."""

from __future__ import annotations

import importlib as _importlib
import importlib.metadata as _metadata
import importlib.util as _util
import warnings as _warnings
from typing import TYPE_CHECKING

# jax/jaxlib 0.10.0-0.10.2 hang for ever on CPU when one jitted program holds two batched
# linear-algebra calls (a batched value-and-grad of the free energy is such a program). pyproject
# pins jax < 0.10; warn a user who installed a newer one by hand. (Read from the installed
# metadata: importing JAX here would cost the second it takes.)
try:
    _jax_version = _metadata.version("jax")
except _metadata.PackageNotFoundError:  # pragma: no cover  (jax is a dependency)
    _jax_version = "0"
if tuple(int(p) for p in _jax_version.split(".")[:2]) >= (0, 10):
    _warnings.warn(f"nnworld_jax is tested with jax < 0.10; jax {_jax_version} was seen to hang on CPU "
                   "in batched linear algebra (see tests/test_jax_hang.py)", RuntimeWarning, stacklevel=2)

try:  # one source of truth: the installed metadata (pyproject's version)
    __version__ = _metadata.version("nnworld_jax")
except _metadata.PackageNotFoundError:  # a source tree on sys.path without an install
    __version__ = "0.0.0+unknown"

# Where each re-exported name lives (module of this package).
_SOURCE = {
    "default_dtype": "_config", "rtol": "_config", "set_precision": "_config",
    "ACTIVATIONS": "network", "Network": "network", "activation_slope": "network", "boundary_loss": "network",
    "bulk_loss": "network", "preactivation": "network", "step": "network",
    "free_energy": "partition", "gauss_newton_operator": "partition", "log_partition": "partition",
    "log_partition_from_operator": "partition", "logdet_spd": "partition", "mean_state": "partition",
    "Thermodynamics": "thermo", "average_loss": "thermo", "complexity": "thermo", "entropy": "thermo",
    "free_energy_eigen": "thermo", "heat_capacity": "thermo", "operator_spectrum": "thermo",
    "thermodynamics": "thermo", "virial_average_loss": "thermo",
    "MonteCarloEstimate": "estimators", "log_partition_monte_carlo": "estimators",
    "log_partition_quadrature": "estimators",
    "FirstLaw": "learning", "LawsOfLearning": "learning", "LearningEquilibrium": "learning",
    "LearningHistory": "learning", "TeacherStudent": "learning", "TrainingHistory": "learning",
    "boundary_neurons": "learning", "clamped_mean_state": "learning", "clamped_thermodynamics": "learning",
    "data_thermodynamics": "learning", "first_law": "learning", "free_energy_regularizer": "learning",
    "laws_of_learning": "learning", "learn": "learning", "learning_equilibrium": "learning",
    "model_layers": "learning", "network_from_mlp": "learning", "network_from_model": "learning",
    "teacher_student_task": "learning", "thermo_metrics": "learning", "train_student": "learning",
    "batch_map": "batch", "run_chunked": "batch",
    "FreeEnergyEstimate": "lanczos", "LogDetEstimate": "lanczos", "free_energy_slq": "lanczos",
    "gauss_newton_logdet": "lanczos", "sparse_free_energy": "lanczos",
    "SparseNetwork": "sparse", "SparseWeights": "sparse", "sparse_mean_state": "sparse",
}


def __getattr__(name: str):
    """Load a re-exported name (``_SOURCE``) or a submodule (``nw.quantum``) on first use."""
    if name in _SOURCE:
        value = getattr(_importlib.import_module(f".{_SOURCE[name]}", __name__), name)
    elif not name.startswith("__") and _util.find_spec(f"{__name__}.{name}") is not None:
        value = _importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # the same names, eagerly, for type checkers and IDEs
    from ._config import default_dtype as default_dtype, rtol as rtol, set_precision as set_precision
    from .network import (
        ACTIVATIONS as ACTIVATIONS,
        Network as Network,
        activation_slope as activation_slope,
        boundary_loss as boundary_loss,
        bulk_loss as bulk_loss,
        preactivation as preactivation,
        step as step,
    )
    from .partition import (
        free_energy as free_energy,
        gauss_newton_operator as gauss_newton_operator,
        log_partition as log_partition,
        log_partition_from_operator as log_partition_from_operator,
        logdet_spd as logdet_spd,
        mean_state as mean_state,
    )
    from .thermo import (
        Thermodynamics as Thermodynamics,
        average_loss as average_loss,
        complexity as complexity,
        entropy as entropy,
        free_energy_eigen as free_energy_eigen,
        heat_capacity as heat_capacity,
        operator_spectrum as operator_spectrum,
        thermodynamics as thermodynamics,
        virial_average_loss as virial_average_loss,
    )
    from .estimators import (
        MonteCarloEstimate as MonteCarloEstimate,
        log_partition_monte_carlo as log_partition_monte_carlo,
        log_partition_quadrature as log_partition_quadrature,
    )
    from .learning import (
        FirstLaw as FirstLaw,
        LawsOfLearning as LawsOfLearning,
        LearningEquilibrium as LearningEquilibrium,
        LearningHistory as LearningHistory,
        TeacherStudent as TeacherStudent,
        TrainingHistory as TrainingHistory,
        boundary_neurons as boundary_neurons,
        clamped_mean_state as clamped_mean_state,
        clamped_thermodynamics as clamped_thermodynamics,
        data_thermodynamics as data_thermodynamics,
        first_law as first_law,
        free_energy_regularizer as free_energy_regularizer,
        laws_of_learning as laws_of_learning,
        learn as learn,
        learning_equilibrium as learning_equilibrium,
        model_layers as model_layers,
        network_from_mlp as network_from_mlp,
        network_from_model as network_from_model,
        teacher_student_task as teacher_student_task,
        thermo_metrics as thermo_metrics,
        train_student as train_student,
    )
    from . import reference as reference
    from . import training as training
    from . import grid as grid
    from . import stepping as stepping
    from . import fokker_planck as fokker_planck
    from . import entropic as entropic
    from . import quantum as quantum
    from . import hamilton_jacobi as hamilton_jacobi
    from . import hidden as hidden
    from . import strings as strings
    from . import metrics as metrics
    from . import curvature as curvature
    from . import gravity as gravity
    from . import reduced_gravity as reduced_gravity
    from . import network_gravity as network_gravity
    from . import minimal_coupling as minimal_coupling
    from . import holography as holography
    from . import batch as batch
    from . import experiments as experiments
    from . import emergence as emergence
    from .batch import batch_map as batch_map, run_chunked as run_chunked
    from . import sparse as sparse
    from . import lanczos as lanczos
    from .lanczos import (FreeEnergyEstimate as FreeEnergyEstimate, LogDetEstimate as LogDetEstimate,
                          free_energy_slq as free_energy_slq, gauss_newton_logdet as gauss_newton_logdet,
                          sparse_free_energy as sparse_free_energy)
    from .sparse import SparseNetwork as SparseNetwork, SparseWeights as SparseWeights, sparse_mean_state as sparse_mean_state

# The public API: every name re-exported above (``from nnworld_jax import *`` gives exactly these).
__all__ = [
    # precision (_config)
    "default_dtype", "rtol", "set_precision",
    # the network of §2 (network)
    "ACTIVATIONS", "Network", "activation_slope", "boundary_loss", "bulk_loss", "preactivation", "step",
    # partition function (5)-(9) (partition)
    "free_energy", "gauss_newton_operator", "log_partition", "log_partition_from_operator", "logdet_spd",
    "mean_state",
    # thermodynamics (10)-(17), (45)-(46) (thermo)
    "Thermodynamics", "average_loss", "complexity", "entropy", "free_energy_eigen", "heat_capacity",
    "operator_spectrum", "thermodynamics", "virial_average_loss",
    # independent estimates of (5) (estimators)
    "MonteCarloEstimate", "log_partition_monte_carlo", "log_partition_quadrature",
    # learning (learning)
    "FirstLaw", "LawsOfLearning", "LearningEquilibrium", "LearningHistory", "TeacherStudent", "TrainingHistory",
    "boundary_neurons", "clamped_mean_state", "clamped_thermodynamics", "data_thermodynamics", "first_law",
    "free_energy_regularizer", "laws_of_learning", "learn", "learning_equilibrium", "model_layers",
    "network_from_mlp", "network_from_model", "teacher_student_task", "thermo_metrics", "train_student",
    # namespaces
    "reference", "training", "grid", "stepping", "fokker_planck", "entropic", "quantum", "hamilton_jacobi", "hidden",
    "strings", "metrics", "curvature", "gravity", "reduced_gravity", "network_gravity", "minimal_coupling",
    "holography", "batch", "experiments", "emergence", "sparse", "lanczos",
    # scale: batch experiments, matrix-free large networks (batch, lanczos, sparse)
    "batch_map", "run_chunked", "FreeEnergyEstimate", "LogDetEstimate", "free_energy_slq", "gauss_newton_logdet",
    "sparse_free_energy", "SparseNetwork", "SparseWeights", "sparse_mean_state",
]
