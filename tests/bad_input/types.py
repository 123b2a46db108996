"""Bad input for nnworld_jax.types: none to give. The module defines annotation types (jaxtyping
aliases such as ``Scalar``, ``Field``, ``Weights``) and no function or class of its own; what the
aliases accept and reject is tested by tests/test_types.py."""

CASES = []
