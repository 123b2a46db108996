"""Strict test settings: float64 for accuracy work, rank promotion raising (a silent broadcast of a
(N,) against a (B, N) array is a bug here), and a fixed PRNG key."""

import os

from _env import xla_flags  # noqa: E402

# Two virtual CPU devices so sharding code can be exercised on one machine, and the suite's XLA:CPU emitter setting
# (tests/_env.py says why); must precede jax import.
os.environ.setdefault("XLA_FLAGS", xla_flags(devices=2))
os.environ.setdefault("MPLBACKEND", "Agg")

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture
def key():
    return jax.random.PRNGKey(20200804)  # the paper's arXiv date


@pytest.fixture(scope="module", autouse=True)
def _free_compiled_programs():
    # Every jitted function keeps its compiled programs alive: a worker that runs ~1,000 tests grew to
    # 6 GB by the end of the suite (measured). Programs rarely outlive their module, so free them there.
    yield
    jax.clear_caches()
