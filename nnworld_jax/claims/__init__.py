"""Claims of the paper recomputed by ``nnworld reproduce``; importing registers them."""

# Importing a module registers its claims, in paper order.
from . import thermodynamics as thermodynamics  # noqa: F401  (§2, §3, §6: (5)-(17), (45)-(46))
from . import large_networks as large_networks  # noqa: F401  (§3: (45), (60) at N = 10⁶)
from . import fokker_planck as fokker_planck  # noqa: F401  (§4: (18)-(22))
from . import entropic as entropic  # noqa: F401  (§5: (26)-(33))
from . import quantum as quantum  # noqa: F401  (§5: (34)-(36))
from . import hamilton_jacobi as hamilton_jacobi  # noqa: F401  (§6: (38)-(48))
from . import hidden as hidden  # noqa: F401  (§7: (49)-(58))
from . import strings as strings  # noqa: F401  (§7, §8: (49)-(76))
from . import curvature as curvature  # noqa: F401  (§9: (93), (96))
from . import gravity as gravity  # noqa: F401  (§9: (88)-(95))
from . import reduced_gravity as reduced_gravity  # noqa: F401  (§9: (88), (95) reduced)
from . import network_gravity as network_gravity  # noqa: F401  (§9: (77)-(83))
from . import holography as holography  # noqa: F401  (§10: (97)-(102))
from ._registry import (
    OUTCOMES as OUTCOMES,
    REGISTRY as REGISTRY,
    VERDICTS as VERDICTS,
    Claim as Claim,
    Context as Context,
    Result as Result,
    claim as claim,
    evaluate as evaluate,
    judge as judge,
    result_of as result_of,
    running_float64 as running_float64,
    select as select,
    tol as tol,
)

__all__ = ["OUTCOMES", "REGISTRY", "VERDICTS", "Claim", "Context", "Result", "claim", "evaluate", "judge", "result_of",
           "running_float64", "select", "tol"]
