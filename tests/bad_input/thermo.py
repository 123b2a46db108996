"""Bad input for nnworld_jax.thermo: U, S, S_0, C, heat capacity (10)-(14), eigenvalue forms (45)-(46)."""

import jax.numpy as jnp

import nnworld_jax as nw
from nnworld_jax import reference as ref
from nnworld_jax import thermo as th

from ._harness import Case, jit_grad, jit_vmap_grad, jitted, run

NET = ref.diagonal_network([0.3, 1.7])
HEAVY = ref.diagonal_network([0.3, 1.7], m=5.0)  # every 1 + β(λ_i - m) < 0 at β = 1
LAM = jnp.array([0.3, 1.7, 4.0])
TANH = nw.Network(jnp.array([[0.2, -0.3], [0.1, 0.4]]), jnp.array([0.5, -0.2]))  # G reads x (linear G does not)
XNAN = jnp.array([jnp.nan, 0.0])
B2 = jnp.array([1.0, 2.0])

_DERIVED = ("average_loss", "entropy", "complexity", "heat_capacity")

CASES = [
    Case("thermo.thermodynamics", "beta shape (2,)", run(th.thermodynamics, NET, B2), r"beta must be a scalar.*vmap", "input"),
    Case("thermo.thermodynamics", "beta=-1", run(th.thermodynamics, NET, -1.0), r"beta must be finite and > 0", "domain"),
    Case("thermo.thermodynamics", "beta=NaN under jit", jitted(th.thermodynamics, NET, jnp.nan), r"beta must be finite", "transform"),
    Case("thermo.thermodynamics", "unknown method", run(th.thermodynamics, NET, 1.0, method="exact"), r"method must be one of", "input"),
    Case("thermo.thermodynamics", "x NaN", run(th.thermodynamics, NET, 1.0, x=jnp.array([jnp.nan, 0.0])), r"x contains NaN", "input"),
    Case("thermo.thermodynamics", "x shape (3,)", run(th.thermodynamics, NET, 1.0, x=jnp.zeros(3)), r"x must have shape", "input"),
    Case("thermo.thermodynamics", "x NaN under jit(grad) of S_x", jit_grad(lambda x: th.thermodynamics(TANH, 1.0, x=x).entropy, XNAN),
         r"x contains NaN", "transform"),
    Case("thermo.thermodynamics", "outside 1 + beta (lambda - m) > 0", run(th.thermodynamics, HEAVY, 1.0),
         r"1 \+ beta \(lambda_i - m\) > 0", "domain"),
    Case("thermo.thermodynamics", "laplace with lambda < m under jit", jitted(lambda b: th.thermodynamics(HEAVY, b, method="laplace"), 1.0),
         r"lambda_i > m", "transform"),
    Case("thermo.Thermodynamics", "missing fields", run(th.Thermodynamics, 1.0, 2.0), r"missing .*argument", "input"),
    Case("thermo.operator_spectrum", "x shape (3,)", run(th.operator_spectrum, NET, jnp.zeros(3)), r"x must have shape", "input"),
    Case("thermo.operator_spectrum", "x NaN under jit", jitted(th.operator_spectrum, NET, jnp.array([0.0, jnp.nan])),
         r"x contains NaN", "transform"),
    Case("thermo.operator_spectrum", "x NaN under jit(grad)", jit_grad(lambda x: jnp.sum(th.operator_spectrum(TANH, x)), XNAN),
         r"x contains NaN", "transform"),
    Case("thermo.operator_spectrum", "net is an array", run(th.operator_spectrum, jnp.eye(2)), r"net must be a Network", "input"),
    # free_energy_eigen (45)
    Case("thermo.free_energy_eigen", "beta shape (2,)", run(th.free_energy_eigen, LAM, B2), r"beta must be a scalar.*vmap", "input"),
    Case("thermo.free_energy_eigen", "lam shape (2, 3)", run(th.free_energy_eigen, jnp.ones((2, 3)), 1.0), r"lam must have 1 axes.*vmap", "input"),
    Case("thermo.free_energy_eigen", "NaN in lam", run(th.free_energy_eigen, LAM.at[1].set(jnp.nan), 1.0), r"lam contains NaN", "input"),
    Case("thermo.free_energy_eigen", "beta=0", run(th.free_energy_eigen, LAM, 0.0), r"beta must be finite and > 0", "domain"),
    Case("thermo.free_energy_eigen", "m shape (3,)", run(th.free_energy_eigen, LAM, 1.0, jnp.ones(3)), r"m must be a scalar", "input"),
    Case("thermo.free_energy_eigen", "m NaN", run(th.free_energy_eigen, LAM, 1.0, jnp.nan), r"m contains NaN", "input"),
    Case("thermo.free_energy_eigen", "1 + beta (lambda - m) < 0", run(th.free_energy_eigen, LAM, 1.0, 6.0),
         r"1 \+ beta \(lambda_i - m\) > 0", "domain"),
    Case("thermo.free_energy_eigen", "outside the domain under jit(grad) in lam",
         jit_grad(lambda lam: th.free_energy_eigen(lam, 1.0, 6.0), LAM), r"1 \+ beta \(lambda_i - m\) > 0", "transform"),
    Case("thermo.free_energy_eigen", "one bad beta under jit(vmap(grad))",
         jit_vmap_grad(lambda b: th.free_energy_eigen(LAM, b), jnp.array([1.0, -2.0])), r"beta must be finite and > 0", "transform"),
    Case("thermo.free_energy_eigen", "lam a string", run(th.free_energy_eigen, "0.3", 1.0), r"lam must be a number", "input"),
    # virial_average_loss (46)
    Case("thermo.virial_average_loss", "beta shape (2,)", run(th.virial_average_loss, LAM, B2), r"beta must be a scalar", "input"),
    Case("thermo.virial_average_loss", "lam scalar", run(th.virial_average_loss, 0.3, 1.0), r"lam must have 1 axes", "input"),
    Case("thermo.virial_average_loss", "inf in lam", run(th.virial_average_loss, LAM.at[0].set(jnp.inf), 1.0), r"lam contains NaN or inf", "input"),
    Case("thermo.virial_average_loss", "outside the domain under jit(grad) in beta",
         jit_grad(lambda b: th.virial_average_loss(LAM, b, 6.0), 1.0), r"1 \+ beta \(lambda_i - m\) > 0", "transform"),
] + [
    case
    for name in _DERIVED
    for case in (
        Case(f"thermo.{name}", "beta shape (2,)", run(getattr(th, name), NET, B2), r"beta must be a scalar.*vmap", "input"),
        Case(f"thermo.{name}", "beta=0", run(getattr(th, name), NET, 0.0), r"beta must be finite and > 0", "domain"),
        Case(f"thermo.{name}", "outside the domain under jit(grad) in beta",
             jit_grad(lambda b, name=name: getattr(th, name)(HEAVY, b), 1.0), r"not positive definite", "transform"),
    )
]

EXEMPT = {}  # Thermodynamics is a NamedTuple of results: its one misuse (missing fields) is a case above
