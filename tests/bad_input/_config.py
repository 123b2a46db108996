"""Bad input for nnworld_jax._config: the precision switch and the dtype-keyed tolerances."""

import math

from nnworld_jax import _config as cf

from ._harness import Case, run

CASES = [
    # set_precision must reject before touching the global switch.
    Case("_config.set_precision", "'float16'", run(cf.set_precision, "float16"), r"precision must be one of", "input"),
    Case("_config.set_precision", "64 (an int)", run(cf.set_precision, 64), r"precision must be one of", "input"),
    Case("_config.set_precision", "'Float64' (case)", run(cf.set_precision, "Float64"), r"precision must be one of", "input"),
    Case("_config.rtol", "int32", run(cf.rtol, "int32"), r"dtype must be float32 or float64", "input"),
    Case("_config.rtol", "float16 (no tolerance defined)", run(cf.rtol, "float16"), r"dtype must be float32 or float64", "input"),
    Case("_config.rtol", "'banana'", run(cf.rtol, "banana"), r"dtype must be a NumPy/JAX dtype", "input"),
    Case("_config.dtype_tol", "integer dtype", run(cf.dtype_tol, "int64", float64=1e-12, float32=1e-6), r"dtype must be a floating", "input"),
    Case("_config.dtype_tol", "'banana'", run(cf.dtype_tol, "banana", float64=1e-12, float32=1e-6), r"dtype must be a NumPy/JAX dtype", "input"),
    Case("_config.solver_tol", "tol=NaN", run(cf.solver_tol, math.nan, "float64", 1e-10), r"tol must be a finite scalar >= 0", "input"),
    Case("_config.solver_tol", "tol=-1e-8", run(cf.solver_tol, -1e-8, "float64", 1e-10), r"tol must be a finite scalar >= 0", "domain"),
    Case("_config.solver_tol", "tol a list", run(cf.solver_tol, [1e-8, 1e-9], "float64", 1e-10), r"tol must be a finite scalar", "input"),
    Case("_config.solver_tol", "integer dtype", run(cf.solver_tol, None, "int64", 1e-10), r"dtype must be a floating", "input"),
    Case("_config.solver_tol", "float64_default=inf", run(cf.solver_tol, None, "float64", math.inf), r"float64_default must be a finite scalar", "domain"),
]

EXEMPT = {"_config.default_dtype": "takes no arguments"}
