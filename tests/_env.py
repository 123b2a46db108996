"""XLA settings shared by the test processes and every interpreter they start.

The suite compiles a few thousand small programs that each run for milliseconds, so LLVM's
optimization passes cost far more than they save: ``--xla_backend_optimization_level=0`` cut the CPU
time of tests/test_gravity.py + tests/test_partition.py from 247 s to 181 s on an idle 2-core CPU.
It changes how XLA:CPU's code is optimized, never what it computes (no fast-math at any level), so
every tolerance keeps its meaning; users' programs run at XLA's default level. Subprocesses get the
same setting so that a comparison across processes (sharded vs one device) compares like with like.
"""

import os

OPT_FLAGS = "--xla_backend_optimization_level=0"


def xla_flags(devices: int | None = None) -> str:
    """The test XLA flags, with ``devices`` virtual CPU devices (``None``: XLA's default of one)."""
    return OPT_FLAGS if devices is None else f"{OPT_FLAGS} --xla_force_host_platform_device_count={devices}"


def subprocess_env(devices: int | None = None) -> dict[str, str]:
    """This process's environment for a child interpreter with ``devices`` virtual CPU devices."""
    return {**os.environ, "XLA_FLAGS": xla_flags(devices)}
