"""Strict test settings: float64 for accuracy work, rank promotion raising (a silent broadcast of a
(N,) against a (B, N) array is a bug here), and a fixed PRNG key."""

import os

# Two virtual CPU devices so sharding code can be exercised on one machine; must precede jax import.
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
os.environ.setdefault("MPLBACKEND", "Agg")

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture
def key():
    return jax.random.PRNGKey(20200804)  # the paper's arXiv date
