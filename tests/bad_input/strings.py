"""Bad input for nnworld_jax.strings (eqs. (66)-(76)): ensembles, world sheets, metrics, catenoids."""

import jax
import jax.numpy as jnp

from nnworld_jax import strings as S
from nnworld_jax.grid import Grid

from ._harness import Case

X0 = jnp.exp(-jnp.linspace(-2, 2, 8) ** 2)
SIG = jnp.linspace(0, 1, 5)
W = Grid((4, 6))  # (τ, σ)
Y = jnp.zeros((3, 4, 6)).at[1].set(jnp.sin(W.mesh()[1]))
NAN_Y = Y.at[0, 0, 0].set(jnp.nan)
DX = S.worldsheet_derivatives(Y, W, drift=jnp.array([1.0, 0.0, 0.0]))
ETA_ASYM = jnp.diag(jnp.array([-1.0, 1.0, 1.0])).at[0, 1].set(0.5)
ETA_SING = jnp.diag(jnp.array([-1.0, 1.0, 0.0]))
# A sheet wide enough for the fd band path of polyakov_eom (>= 6 rows for fd2): Y's finiteness check
# rides on the tension there instead of on a guarded copy of Y, so it gets its own cases.
WB = Grid((8, 6))
YB = jnp.zeros((3, 8, 6)).at[1].set(jnp.sin(WB.mesh()[1]))
INF_YB = YB.at[2, 5, 3].set(jnp.inf)


def run(fn, *args, **kw):
    return lambda: jax.block_until_ready(fn(*args, **kw))


def jit_grad(scalar_fn, x):
    return lambda: jax.block_until_ready(jax.jit(jax.grad(scalar_fn))(x))


CASES = [
    # ensemble_exact, ensemble_simulate
    Case("strings.ensemble_exact", "batched x0", run(S.ensemble_exact, jnp.ones((2, 8)), 4.0, 1.0),
         r"x0 must have shape \(N,\).*jax\.vmap", "input"),
    Case("strings.ensemble_exact", "NaN in x0", run(S.ensemble_exact, X0.at[0].set(jnp.nan), 4.0, 1.0),
         r"x0 contains NaN", "input"),
    Case("strings.ensemble_exact", "alpha = -4", run(S.ensemble_exact, X0, -4.0, 1.0), r"alpha must be finite and > 0",
         "domain"),
    Case("strings.ensemble_exact", "tau = inf", run(S.ensemble_exact, X0, 4.0, jnp.inf), r"tau contains NaN or inf",
         "input"),
    Case("strings.ensemble_exact", "alpha of shape (2,)", run(S.ensemble_exact, X0, jnp.ones(2), 1.0),
         r"alpha must be a scalar", "input"),
    Case("strings.ensemble_exact", "NaN x0 under jit(grad) (linear in x0)",
         jit_grad(lambda x: jnp.sum(S.ensemble_exact(x, 4.0, 1.0)[0] * X0), X0.at[0].set(jnp.nan)),
         r"x0 contains NaN", "transform"),
    Case("strings.ensemble_exact", "NaN tau under jit(vmap(grad))",
         lambda: jax.block_until_ready(jax.jit(jax.vmap(jax.grad(lambda t: jnp.sum(S.ensemble_exact(X0, 4.0, t)))))(
             jnp.array([1.0, jnp.nan]))), r"tau contains NaN", "transform"),
    Case("strings.ensemble_simulate", "steps = -5", run(S.ensemble_simulate, X0, 4.0, 0.01, -5),
         r"steps must be an integer >= 0", "domain"),
    Case("strings.ensemble_simulate", "steps = 2.5", run(S.ensemble_simulate, X0, 4.0, 0.01, 2.5),
         r"steps must be an integer", "input"),
    Case("strings.ensemble_simulate", "dt = -0.01", run(S.ensemble_simulate, X0, 4.0, -0.01, 2),
         r"dt must be finite and > 0", "domain"),
    Case("strings.ensemble_simulate", "NaN in x0", run(S.ensemble_simulate, X0.at[1].set(jnp.nan), 4.0, 0.01, 2),
         r"x0 contains NaN", "input"),
    # dalembert, dalembert_correction
    Case("strings.dalembert", "profile not callable", run(S.dalembert, 1.0, SIG, 0.5), r"profile must be a callable",
         "input"),
    Case("strings.dalembert", "NaN tau", run(S.dalembert, jnp.sin, SIG, jnp.nan), r"tau contains NaN", "input"),
    Case("strings.dalembert", "sigma of shape (2, 5)", run(S.dalembert, jnp.sin, jnp.ones((2, 5)), 0.5),
         r"sigma must have shape \(N,\)", "input"),
    Case("strings.dalembert", "NaN sigma under jit(grad)",
         jit_grad(lambda s: jnp.sum(S.dalembert(lambda x: x, s, 0.5)), SIG.at[0].set(jnp.nan)),
         r"sigma contains NaN", "transform"),
    Case("strings.dalembert_correction", "alpha = 0", run(S.dalembert_correction, jnp.sin, SIG, 0.5, 0.0),
         r"alpha must be finite and > 0", "domain"),
    Case("strings.dalembert_correction", "NaN in sigma",
         run(S.dalembert_correction, jnp.sin, SIG.at[0].set(jnp.nan), 0.5, 4.0), r"sigma contains NaN", "input"),
    Case("strings.dalembert_correction", "NaN tau under jit(grad) (linear in tau)",
         jit_grad(lambda t: jnp.sum(S.dalembert_correction(jnp.sin, SIG, t, 4.0)), jnp.nan), r"tau contains NaN",
         "transform"),
    # minkowski
    Case("strings.minkowski", "d1 = 0", run(S.minkowski, 0), r"d1 must be an integer >= 2", "domain"),
    Case("strings.minkowski", "d1 = 2.5", run(S.minkowski, 2.5), r"d1 must be an integer", "input"),
    # worldsheet_derivatives
    Case("strings.worldsheet_derivatives", "Y of one component field", run(S.worldsheet_derivatives, Y[0], W),
         r"Y must have shape \(D\+1, 4, 6\).*jax\.vmap", "input"),
    Case("strings.worldsheet_derivatives", "NaN in Y", run(S.worldsheet_derivatives, NAN_Y, W), r"Y contains NaN",
         "input"),
    Case("strings.worldsheet_derivatives", "drift of shape (2,)", run(S.worldsheet_derivatives, Y, W, drift=jnp.ones(2)),
         r"drift must have shape \(3,\)", "input"),
    Case("strings.worldsheet_derivatives", "NaN drift", run(S.worldsheet_derivatives, Y, W, drift=jnp.full(3, jnp.nan)),
         r"drift contains NaN", "input"),
    Case("strings.worldsheet_derivatives", "1-D grid", run(S.worldsheet_derivatives, Y, Grid((6,))), r"must be 2-D",
         "input"),
    Case("strings.worldsheet_derivatives", "unknown method", run(S.worldsheet_derivatives, Y, W, method="fd3"),
         r"method must be", "input"),
    Case("strings.worldsheet_derivatives", "NaN Y under jit(grad) (linear in Y)",
         jit_grad(lambda y: jnp.sum(S.worldsheet_derivatives(y, W)), NAN_Y), r"Y contains NaN", "transform"),
    # polyakov_density, polyakov_action, polyakov_eom
    Case("strings.polyakov_density", "dx of the wrong rank", run(S.polyakov_density, DX[0], None, None, 1.0),
         r"dx must have shape \(2, D\+1", "input"),
    Case("strings.polyakov_density", "NaN in dx", run(S.polyakov_density, DX.at[0, 0, 0, 0].set(jnp.nan), None, None,
                                                      1.0), r"dx contains NaN", "input"),
    Case("strings.polyakov_density", "tension = 0", run(S.polyakov_density, DX, None, None, 0.0),
         r"tension must be finite and > 0", "domain"),
    Case("strings.polyakov_density", "non-symmetric eta", run(S.polyakov_density, DX, None, ETA_ASYM, 1.0),
         r"eta must be symmetric", "domain"),
    Case("strings.polyakov_density", "degenerate h", run(S.polyakov_density, DX, jnp.zeros((2, 2)), None, 1.0),
         r"h must be symmetric, finite and non-degenerate", "domain"),
    Case("strings.polyakov_action", "tension = -1", run(S.polyakov_action, Y, W, tension=-1.0),
         r"tension must be finite and > 0", "domain"),
    Case("strings.polyakov_action", "tension of shape (2,)", run(S.polyakov_action, Y, W, tension=jnp.ones(2)),
         r"tension must be a scalar", "input"),
    Case("strings.polyakov_action", "non-symmetric h", run(S.polyakov_action, Y, W, h=jnp.array([[-1.0, 0.3],
                                                                                                [0.0, 1.0]])),
         r"h must be symmetric", "domain"),
    Case("strings.polyakov_action", "singular eta", run(S.polyakov_action, Y, W, eta=ETA_SING),
         r"eta must be symmetric, finite and non-degenerate", "domain"),
    Case("strings.polyakov_action", "eta of shape (2, 2)", run(S.polyakov_action, Y, W, eta=jnp.eye(2)),
         r"eta must have shape \(3, 3\)", "input"),
    Case("strings.polyakov_action", "NaN in Y", run(S.polyakov_action, NAN_Y, W), r"Y contains NaN", "input"),
    Case("strings.polyakov_action", "tension < 0 under jit(grad) (linear in T)",
         jit_grad(lambda t: S.polyakov_action(Y, W, tension=t), -1.0), r"tension must be finite and > 0", "transform"),
    Case("strings.polyakov_eom", "NaN in Y", run(S.polyakov_eom, NAN_Y, W), r"Y contains NaN", "input"),
    Case("strings.polyakov_eom", "NaN Y under jit (check not discarded)",
         lambda: jax.block_until_ready(jax.jit(lambda y: S.polyakov_eom(y, W))(NAN_Y)), r"Y contains NaN", "transform"),
    Case("strings.polyakov_eom", "non-symmetric eta", run(S.polyakov_eom, Y, W, eta=ETA_ASYM), r"eta must be symmetric",
         "domain"),
    Case("strings.polyakov_eom", "inf in Y (fd2 band path)", run(S.polyakov_eom, INF_YB, WB, method="fd2"),
         r"Y contains NaN or inf", "input"),
    Case("strings.polyakov_eom", "inf Y under jit (fd2 band path)",
         lambda: jax.block_until_ready(jax.jit(lambda y: S.polyakov_eom(y, WB, method="fd2"))(INF_YB)),
         r"Y contains NaN or inf", "transform"),
    Case("strings.polyakov_eom", "inf Y under jit(jvp) (fd2 band path, EOM linear in Y)",
         lambda: jax.block_until_ready(jax.jit(lambda y: jax.jvp(lambda v: S.polyakov_eom(v, WB, method="fd2"),
                                                                 (y,), (YB,))[1])(INF_YB)),
         r"Y contains NaN or inf", "transform"),
    Case("strings.polyakov_eom", "inf Y under jit(vmap) (fd2 band path)",
         lambda: jax.block_until_ready(jax.jit(jax.vmap(lambda y: S.polyakov_eom(y, WB, method="fd2")))(
             jnp.stack([YB, INF_YB]))), r"Y contains NaN or inf", "transform"),
    Case("strings.polyakov_eom", "tension = 0 (fd2 band path)", run(S.polyakov_eom, YB, WB, method="fd2", tension=0.0),
         r"tension must be finite and > 0", "domain"),
    # nambu_goto_density, nambu_goto_action, virasoro_residuals
    Case("strings.nambu_goto_density", "tension = -1", run(S.nambu_goto_density, DX, None, -1.0),
         r"tension must be finite and > 0", "domain"),
    Case("strings.nambu_goto_density", "NaN in dx", run(S.nambu_goto_density, DX.at[1, 0, 0, 0].set(jnp.nan), None,
                                                        1.0), r"dx contains NaN", "input"),
    Case("strings.nambu_goto_density", "non-symmetric eta", run(S.nambu_goto_density, DX, ETA_ASYM, 1.0),
         r"eta must be symmetric", "domain"),
    Case("strings.nambu_goto_action", "tension = nan", run(S.nambu_goto_action, Y, W, tension=jnp.nan),
         r"tension must be finite and > 0", "input"),
    Case("strings.nambu_goto_action", "NaN in Y", run(S.nambu_goto_action, NAN_Y, W), r"Y contains NaN", "input"),
    Case("strings.nambu_goto_action", "batched Y", run(S.nambu_goto_action, jnp.zeros((2, 3, 4, 6)), W),
         r"Y must have shape", "input"),
    Case("strings.nambu_goto_action", "tension < 0 under jit(grad) (linear in T)",
         jit_grad(lambda t: S.nambu_goto_action(Y, W, drift=jnp.array([1.0, 0.0, 0.0]), tension=t), -1.0),
         r"tension must be finite and > 0", "transform"),
    Case("strings.virasoro_residuals", "NaN in Y", run(S.virasoro_residuals, NAN_Y, W), r"Y contains NaN", "input"),
    Case("strings.virasoro_residuals", "singular eta", run(S.virasoro_residuals, Y, W, eta=ETA_SING),
         r"eta must be symmetric, finite and non-degenerate", "domain"),
    Case("strings.virasoro_residuals", "NaN drift", run(S.virasoro_residuals, Y, W, drift=jnp.array([jnp.nan, 0, 0])),
         r"drift contains NaN", "input"),
    Case("strings.virasoro_residuals", "NaN eta under jit(grad) (linear in eta)",
         jit_grad(lambda e: jnp.sum(S.virasoro_residuals(Y, W, eta=e)), jnp.full((3, 3), jnp.nan)),
         r"eta must be symmetric, finite", "transform"),
    # catenoid_parameter, catenoid_profile, ring_surface_area, minimize_ring_surface
    Case("strings.catenoid_parameter", "radius = -1", run(S.catenoid_parameter, -1.0, 1.0),
         r"radius must be a finite number > 0", "domain"),
    Case("strings.catenoid_parameter", "separation = inf", run(S.catenoid_parameter, 1.0, float("inf")),
         r"separation must be a finite number > 0", "input"),
    Case("strings.catenoid_parameter", "radius is a string", run(S.catenoid_parameter, "1", 1.0),
         r"radius must be a finite number", "input"),
    Case("strings.catenoid_parameter", "L/R above the Goldschmidt ratio", run(S.catenoid_parameter, 1.0, 1.5),
         r"Goldschmidt ratio", "domain"),
    Case("strings.catenoid_profile", "a = 0", run(S.catenoid_profile, SIG, 0.0), r"a must be finite and > 0", "domain"),
    Case("strings.catenoid_profile", "NaN in z", run(S.catenoid_profile, SIG.at[0].set(jnp.nan), 1.0),
         r"z contains NaN", "input"),
    Case("strings.catenoid_profile", "a of shape (2,)", run(S.catenoid_profile, SIG, jnp.ones(2)),
         r"a must be a scalar", "input"),
    Case("strings.catenoid_profile", "a < 0 under jit(grad)",
         jit_grad(lambda a: jnp.sum(S.catenoid_profile(SIG, a)), -1.0), r"a must be finite and > 0", "transform"),
    Case("strings.ring_surface_area", "negative radius", run(S.ring_surface_area, SIG - 0.5, 1.0), r"r must be >= 0",
         "domain"),
    Case("strings.ring_surface_area", "one node", run(S.ring_surface_area, jnp.ones(1), 1.0),
         r"r must have shape \(N,\) with N >= 2", "input"),
    Case("strings.ring_surface_area", "separation = 0", run(S.ring_surface_area, SIG, 0.0),
         r"separation must be finite and > 0", "domain"),
    Case("strings.ring_surface_area", "NaN in r", run(S.ring_surface_area, SIG.at[2].set(jnp.nan), 1.0),
         r"r contains NaN", "input"),
    Case("strings.ring_surface_area", "NaN r under jit(grad)",
         jit_grad(lambda r: S.ring_surface_area(r, 1.0), SIG.at[2].set(jnp.nan)), r"r contains NaN", "transform"),
    Case("strings.minimize_ring_surface", "n = 3", run(S.minimize_ring_surface, 1.0, 1.0, 3), r"n must be an integer",
         "domain"),
    Case("strings.minimize_ring_surface", "n = 8.5", run(S.minimize_ring_surface, 1.0, 1.0, 8.5),
         r"n must be an integer", "input"),
    Case("strings.minimize_ring_surface", "max_steps = -5", run(S.minimize_ring_surface, 1.0, 1.0, 8, max_steps=-5),
         r"max_steps must be an integer >= 1", "domain"),
    Case("strings.minimize_ring_surface", "radius = nan", run(S.minimize_ring_surface, float("nan"), 1.0),
         r"radius must be a finite number > 0", "input"),
    Case("strings.minimize_ring_surface", "collapse_tol = 2", run(S.minimize_ring_surface, 1.0, 1.0, collapse_tol=2.0),
         r"collapse_tol must be a number in \(0, 1\)", "domain"),
]

EXEMPT = {
    "strings.GoldschmidtError": "an exception class (raised by catenoid_parameter, case above)",
    "strings.RingSurface": "a NamedTuple of results of minimize_ring_surface",
}
