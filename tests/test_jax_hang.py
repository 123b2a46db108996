"""Regression guard for the JAX CPU hang (docs/conventions.md, "Numerical hazards").

jax/jaxlib 0.10.0-0.10.2 hang for ever on CPU when one jitted program holds two independent batched
linear-algebra calls; pyproject pins jax < 0.10. The pattern runs in a subprocess under a timeout
so a regression fails the test instead of hanging the suite, and our own batched value-and-grad
(Cholesky forward and backward in one program) is run the same way.
"""

import subprocess
import sys
import textwrap
from importlib.metadata import version

import pytest

PROBE = textwrap.dedent("""
    import jax, jax.numpy as jnp, numpy as np
    jax.config.update("jax_enable_x64", True)
    a = jnp.asarray(np.random.default_rng(0).random((10000, 4, 4)) + 4 * np.eye(4))
    f = jax.jit(lambda a: (jnp.linalg.inv(a), jnp.linalg.inv(jnp.sin(a) + 4 * jnp.eye(4))))
    for _ in range(3):
        jax.block_until_ready(f(a))
    print("finished")
""")

OURS = textwrap.dedent("""
    import jax, jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
    import nnworld_jax as nw
    nets = jax.vmap(lambda k: nw.reference.random_network(8, key=k))(jax.random.split(jax.random.PRNGKey(0), 256))
    loss = lambda nets: jnp.sum(jax.vmap(nw.free_energy, in_axes=(0, None))(nets, 2.0))
    for _ in range(3):
        jax.block_until_ready(jax.jit(jax.value_and_grad(loss))(nets))
    print("finished")
""")


def test_supported_jax_is_below_the_hanging_release():
    major, minor = (int(p) for p in version("jax").split(".")[:2])
    assert (major, minor) < (0, 10), "jax 0.10.x hangs on CPU (see module docstring); pyproject pins < 0.10"


@pytest.mark.parametrize("program", [PROBE, OURS], ids=["shared-probe", "batched-free-energy-grad"])
def test_batched_linear_algebra_finishes(program):
    # Seconds when healthy (the probe runs in ~1 s on 2 cores); a hang is killed at 120 s.
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "finished" in out.stdout
