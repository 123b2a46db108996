"""XLA settings shared by the test processes and every interpreter they start.

The suite compiles a few thousand small programs that each run for milliseconds, so XLA:CPU's compile
time dominates it. Two options cut it, as ``nnworld reproduce`` does for its run-once programs:
``--xla_cpu_use_fusion_emitters=false`` compiles fused loops with XLA's older (elemental) emitters
(tests/test_gravity.py + tests/test_partition.py: 247 s -> 176 s of CPU on an idle 2-core CPU), and
``--xla_backend_optimization_level=0`` compiles with LLVM at -O0 (-> 119 s; the whole suite 18:39 ->
12:50 wall). A program compiled at -O0 sums in another order than at -O2, so results agree with the
default level's to rounding, not bitwise: every process the tests start gets the same flags, so a
comparison across processes (sharded vs one device, a killed and resumed run) compares like with like.
"""

import os

EMITTERS = "--xla_cpu_use_fusion_emitters=false"
OPT_FLAGS = f"{EMITTERS} --xla_backend_optimization_level=0"


def xla_flags(devices: int | None = None, *, llvm_o0: bool = True) -> str:
    """The test XLA flags, with ``devices`` virtual CPU devices (``None``: XLA's default of one).
    ``llvm_o0=False``: XLA's default LLVM level, for a process that checks bitwise equality across
    batch layouts (a property of the code XLA generates at the level users run; at -O0 another
    per-device batch width sums in another order)."""
    flags = OPT_FLAGS if llvm_o0 else EMITTERS
    return flags if devices is None else f"{flags} --xla_force_host_platform_device_count={devices}"


def subprocess_env(devices: int | None = None, *, llvm_o0: bool = True) -> dict[str, str]:
    """This process's environment for a child interpreter with ``devices`` virtual CPU devices."""
    return {**os.environ, "XLA_FLAGS": xla_flags(devices, llvm_o0=llvm_o0)}
