"""Bad input for nnworld_jax.experiments: config files, parameters, the ensemble and its kernel."""

import tempfile

import jax
import jax.numpy as jnp

from nnworld_jax import experiments as ex

from ._harness import Case, in_dir

KEY = jax.random.PRNGKey(0)
BETAS = jnp.geomspace(0.1, 10.0, 4)
NET = dict(n=4, sigma=0.5, bias=0.3, max_norm=0.9)
FE = "free_energy_vs_beta"
PARAMS = ex.EXPERIMENTS[FE].defaults


def run(fn, *args, **kw):
    return lambda: jax.block_until_ready(fn(*args, **kw))


def config_file(name, text):
    """``load_config`` of a file ``name`` holding ``text``, in a fresh temporary directory."""
    return in_dir(lambda d: ex.load_config(d / name), setup=lambda d: (d / name).write_text(text))


def cfg(**params):
    return {"experiment": FE, "params": params}



CASES = [
    # load_config: the file
    Case("experiments.load_config", "missing file", run(ex.load_config, "/nonexistent/c.toml"), r"c\.toml not found", "io"),
    Case("experiments.load_config", "a directory", run(ex.load_config, tempfile.gettempdir() + "/"), r"is not a file", "io"),
    Case("experiments.load_config", ".yaml suffix", config_file("c.yaml", "experiment: x"), r"must end in \.toml or \.json", "io"),
    Case("experiments.load_config", "TOML syntax error", config_file("c.toml", 'experiment = "x"\n[params\n'),
         r"c\.toml is not valid TOML", "io"),
    Case("experiments.load_config", "JSON syntax error", config_file("c.json", '{"experiment": '), r"c\.json is not valid JSON", "io"),
    Case("experiments.load_config", "JSON list at top level", config_file("c.json", "[1, 2]"), r"top level must be a table", "io"),
    Case("experiments.load_config", "path None", run(ex.load_config, None), r"config path must be", "io"),
    # resolve_params: keys, values, types, ranges
    Case("experiments.resolve_params", "top-level typo", run(ex.resolve_params, {"experimnt": FE}),
         r"unknown config key 'experimnt' \(did you mean 'experiment'\?\)"),
    Case("experiments.resolve_params", "no experiment key", run(ex.resolve_params, {"params": {}}), r"no 'experiment' key"),
    Case("experiments.resolve_params", "unknown experiment", run(ex.resolve_params, {"experiment": "free_energy"}),
         r"experiment = 'free_energy' is not a known experiment \(did you mean 'free_energy_vs_beta'\?\)"),
    Case("experiments.resolve_params", "parameter typo", run(ex.resolve_params, cfg(n_neuron=8)),
         r"params\.n_neuron = 8: unknown parameter of free_energy_vs_beta \(did you mean 'n_neurons'\?\)"),
    Case("experiments.resolve_params", "typo in [quick] without --quick",
         run(ex.resolve_params, {"experiment": FE, "quick": {"chunksize": 8}}), r"quick\.chunksize = 8: unknown parameter"),
    Case("experiments.resolve_params", "params not a table", run(ex.resolve_params, {"experiment": FE, "params": [1]}),
         r"section params must be a table"),
    Case("experiments.resolve_params", "n_networks = 0", run(ex.resolve_params, cfg(n_networks=0)),
         r"params\.n_networks = 0: expected an integer >= 1", "domain"),
    Case("experiments.resolve_params", "n_neurons = 8.5 (never truncated)", run(ex.resolve_params, cfg(n_neurons=8.5)),
         r"params\.n_neurons = 8\.5: expected an integer", "input"),
    Case("experiments.resolve_params", "chunk_size = true", run(ex.resolve_params, cfg(chunk_size=True)),
         r"params\.chunk_size = True: expected an integer", "input"),
    Case("experiments.resolve_params", "sigma = '0.5' (a string)", run(ex.resolve_params, cfg(sigma="0.5")),
         r"params\.sigma = '0\.5': expected a finite number"),
    Case("experiments.resolve_params", "bias = NaN", run(ex.resolve_params, cfg(bias=float("nan"))),
         r"params\.bias = nan: expected a finite number"),
    Case("experiments.resolve_params", "max_norm = 1 (no contraction)", run(ex.resolve_params, cfg(max_norm=1.0)),
         r"params\.max_norm = 1\.0: expected a finite number in \(0\.0, 1\.0\)", "domain"),
    Case("experiments.resolve_params", "beta_min = 0", run(ex.resolve_params, cfg(beta_min=0.0)),
         r"params\.beta_min = 0\.0: expected a finite number > 0", "domain"),
    Case("experiments.resolve_params", "beta_min > beta_max", run(ex.resolve_params, cfg(beta_min=5.0, beta_max=1.0)),
         r"beta_min = 5\.0 must be <= beta_max = 1\.0", "domain"),
    Case("experiments.resolve_params", "seed = -1", run(ex.resolve_params, cfg(seed=-1)), r"params\.seed = -1: expected", "domain"),
    Case("experiments.resolve_params", "precision = float16", run(ex.resolve_params, cfg(precision="float16")),
         r"params\.precision = 'float16': expected one of 'float64', 'float32'"),
    Case("experiments.resolve_params", "description not a string",
         run(ex.resolve_params, {"experiment": FE, "description": 3}), r"description = 3: expected a string"),
    Case("experiments.resolve_params", "config not a dict", run(ex.resolve_params, [FE]), r"config must be a dict"),
    # run_experiment / the runner: validated before anything is written
    Case("experiments.run_experiment", "n_beta = 0", in_dir(lambda d: ex.run_experiment(cfg(n_beta=0), d / "o")),
         r"params\.n_beta = 0: expected an integer >= 1", "io"),
    Case("experiments.run_experiment", "out_dir None", run(ex.run_experiment, cfg(), None), r"out_dir must be a path", "io"),
    Case("experiments.free_energy_vs_beta", "a parameter missing",
         in_dir(lambda d: ex.free_energy_vs_beta({k: v for k, v in PARAMS.items() if k != "seed"}, d)),
         r"missing \['seed'\]", "io"),
    Case("experiments.free_energy_vs_beta", "n_neurons = 0", in_dir(lambda d: ex.free_energy_vs_beta({**PARAMS, "n_neurons": 0}, d)),
         r"n_neurons = 0: expected an integer >= 1", "io"),
    # the ensemble and its kernel
    Case("experiments.sample_network", "n = 4.5", run(ex.sample_network, 4.5, key=KEY, sigma=0.5, bias=0.3, max_norm=0.9,
                                                      dtype=jnp.float64), r"n must be a positive integer, got 4\.5", "domain"),
    Case("experiments.sample_network", "sigma < 0", run(ex.sample_network, 4, key=KEY, sigma=-0.5, bias=0.3, max_norm=0.9,
                                                        dtype=jnp.float64), r"sigma must be finite and >= 0", "domain"),
    Case("experiments.sample_network", "max_norm = 1.2", run(ex.sample_network, 4, key=KEY, sigma=0.5, bias=0.3, max_norm=1.2,
                                                             dtype=jnp.float64), r"max_norm must be in \(0, 1\)", "domain"),
    Case("experiments.sample_network", "bias = inf", run(ex.sample_network, 4, key=KEY, sigma=0.5, bias=float("inf"),
                                                         max_norm=0.9, dtype=jnp.float64), r"bias must be finite", "domain"),
    Case("experiments.sample_network", "integer dtype", run(ex.sample_network, 4, key=KEY, sigma=0.5, bias=0.3, max_norm=0.9,
                                                            dtype=jnp.int32), r"dtype must be a floating dtype", "input"),
    Case("experiments.sample_network", "batch of keys", run(ex.sample_network, 4, key=jax.random.split(KEY, 3), sigma=0.5,
                                                            bias=0.3, max_norm=0.9, dtype=jnp.float64),
         r"key must be one PRNG key", "input"),
    Case("experiments.spectral_norm", "non-square w", run(ex.spectral_norm, jnp.ones((3, 4))), r"w must have shape \(N, N\)"),
    Case("experiments.spectral_norm", "NaN in w", run(ex.spectral_norm, jnp.eye(3).at[0, 1].set(jnp.nan)),
         r"w contains NaN or inf"),
    Case("experiments.spectral_norm", "NaN in w under jit(grad)",
         lambda: jax.block_until_ready(jax.jit(jax.grad(ex.spectral_norm))(jnp.eye(3).at[0, 1].set(jnp.nan))),
         r"w contains NaN or inf", "transform"),
    Case("experiments.spectral_norm", "batch of matrices", run(ex.spectral_norm, jnp.ones((2, 3, 3))),
         r"w must have shape \(N, N\).*use jax\.vmap"),
    Case("experiments.spectral_norm", "string w", run(ex.spectral_norm, "w"), r"w must be a number or an array"),
    Case("experiments.free_energy_vs_beta_item", "beta <= 0", run(ex.free_energy_vs_beta_item, BETAS.at[1].set(-1.0), key=KEY, **NET),
         r"betas must be finite and > 0", "domain"),
    Case("experiments.free_energy_vs_beta_item", "NaN beta", run(ex.free_energy_vs_beta_item, BETAS.at[0].set(jnp.nan), key=KEY, **NET),
         r"betas must be finite and > 0", "input"),
    Case("experiments.free_energy_vs_beta_item", "beta <= 0 under jit",
         lambda: jax.block_until_ready(jax.jit(lambda b: ex.free_energy_vs_beta_item(b, key=KEY, **NET))(BETAS.at[1].set(-1.0))),
         r"betas must be finite and > 0", "transform"),
    Case("experiments.free_energy_vs_beta_item", "2-D betas", run(ex.free_energy_vs_beta_item, BETAS.reshape(2, 2), key=KEY, **NET),
         r"betas must be a non-empty 1-D grid", "input"),
    Case("experiments.free_energy_vs_beta_item", "integer betas with a 0 (promoted, then checked)",
         run(ex.free_energy_vs_beta_item, jnp.arange(0, 3), key=KEY, **NET), r"betas must be finite and > 0", "domain"),
    Case("experiments.free_energy_vs_beta_item", "max_norm = 1", run(ex.free_energy_vs_beta_item, BETAS, key=KEY,
                                                                     **{**NET, "max_norm": 1.0}),
         r"max_norm must be in \(0, 1\)", "domain"),

    # the helpers every experiment's runner uses
    Case("experiments.check_params", "exp a name, not an Experiment", lambda: ex.check_params(FE, dict(PARAMS)),
         r"exp must be an Experiment", "input"),
    Case("experiments.check_params", "n_networks = 0", lambda: ex.check_params(ex.EXPERIMENTS[FE],
                                                                               {**PARAMS, "n_networks": 0}),
         r"n_networks = 0: expected", "domain"),
    Case("experiments.check_key", "a batch of keys", lambda: ex.check_key(key=jax.random.split(KEY, 3)),
         r"key must be one PRNG key", "input"),
    Case("experiments.check_key", "float array", lambda: ex.check_key(key=jnp.zeros(2)), r"key must be one PRNG key", "input"),
    Case("experiments.check_static", "a bool", lambda: ex.check_static(True, "n", lambda v: v > 0, "a positive number"),
         r"n must be a positive number", "input"),
    Case("experiments.check_static", "out of domain", lambda: ex.check_static(-1, "n", lambda v: v > 0, "a positive number"),
         r"n must be a positive number", "domain"),
    Case("experiments.run_dtype", "precision float16", lambda: ex.run_dtype({"precision": "float16"}),
         r"precision.*must be 'float64' or 'float32'", "domain"),
    Case("experiments.run_dtype", "params not a dict", lambda: ex.run_dtype("float64"),
         r"precision.*must be 'float64' or 'float32'", "input"),
]

EXEMPT = {
    "experiments.Experiment": "a frozen record of an experiment's defaults and runner, built by the package",
    "experiments.Param": "a frozen record of a parameter's domain, built by the package",
}
