"""XLA settings shared by the test processes and every interpreter they start.

The suite compiles a few thousand small programs that each run for milliseconds, so XLA:CPU's compile
time dominates it. ``--xla_cpu_use_fusion_emitters=false`` compiles fused loops with XLA's older
(elemental) emitters: the CPU time of tests/test_gravity.py + tests/test_partition.py fell from 247 s
to 176 s on an idle 2-core CPU, with the same results (the bitwise sharded-vs-one-device tests and the
float32-vs-float64 bounds all hold). ``--xla_backend_optimization_level=0`` would cut further (119 s
with both) but is not used: it changes float32 rounding enough to fail a stated float32 bound and
breaks bitwise equalities that hold at XLA's default level, which is what users run. Subprocesses get
the same setting, so a comparison across processes compares like with like.
"""

import os

OPT_FLAGS = "--xla_cpu_use_fusion_emitters=false"


def xla_flags(devices: int | None = None) -> str:
    """The test XLA flags, with ``devices`` virtual CPU devices (``None``: XLA's default of one)."""
    return OPT_FLAGS if devices is None else f"{OPT_FLAGS} --xla_force_host_platform_device_count={devices}"


def subprocess_env(devices: int | None = None) -> dict[str, str]:
    """This process's environment for a child interpreter with ``devices`` virtual CPU devices."""
    return {**os.environ, "XLA_FLAGS": xla_flags(devices)}
