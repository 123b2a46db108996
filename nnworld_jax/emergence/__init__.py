"""Experiments from network dynamics: the paper's bridges tested on ensembles of networks.

Each module defines one named experiment for ``nnworld batch`` and registers it in
:data:`nnworld_jax.experiments.EXPERIMENTS` when imported (:mod:`nnworld_jax.experiments` imports
every module of this package). Runs are chunked, sharded over the devices JAX sees and resumable
through :func:`nnworld_jax.batch.run_chunked`.
"""

# One module per experiment (a new module is added here too; nnworld_jax.experiments finds them by file).
__all__ = ["learning_fokker_planck", "learning_laws_ensemble", "permutation_waves"]
